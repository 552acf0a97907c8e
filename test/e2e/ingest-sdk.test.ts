import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Analytics, type Context } from '@segment/analytics-node';
import { ModelEngine } from '../../src/models/model-engine';
import { queryAll, queryValue, type Row } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { TempProject } from '../support/temp-project';
import { createSource, startApp } from '../support/test-app';

/**
 * The real Segment Node client (@segment/analytics-node) against the tracking API: every message it
 * sends lands in cdp.raw_events exactly once with Segment's fields, clock skew is corrected, and the
 * staging models dedupe repeated message ids.
 */

const ADMIN_TOKEN = 'test-admin-token-sdk';

/** What one client did: the events it delivered (by messageId), the requests it made and their answers. */
interface Recorder {
  delivered: Map<string, Record<string, unknown>>;
  requests: { url: string; body: { batch: { messageId: string }[]; sentAt: string; writeKey?: string } }[];
  statuses: number[];
  errors: unknown[];
}

function record(analytics: Analytics): Recorder {
  const r: Recorder = { delivered: new Map(), requests: [], statuses: [], errors: [] };
  const onDelivered = (ctx: Context) => r.delivered.set(ctx.event.messageId!, ctx.event as unknown as Record<string, unknown>);
  for (const type of ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const) analytics.on(type, onDelivered);
  analytics.on('http_request', (req) => r.requests.push({ url: req.url, body: JSON.parse(req.body) as Recorder['requests'][number]['body'] }));
  analytics.on('http_response', (res) => r.statuses.push(res.status));
  analytics.on('error', (e) => r.errors.push(e));
  return r;
}

const ms = (v: unknown) => Number(v);

describe('@segment/analytics-node against the tracking API', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let base: string;
  let ws: Workspace;
  let writeKey: string;
  let sourceId: string;

  /** raw_events rows of these message ids, timestamps as epoch milliseconds. */
  const rawRows = async (messageIds: string[]): Promise<Row[]> => {
    const rows: Row[] = [];
    // in chunks: one statement per 500 ids
    for (let i = 0; i < messageIds.length; i += 500) {
      const chunk = messageIds.slice(i, i + 500);
      rows.push(
        ...(await queryAll(
          ws.warehouse,
          `select message_id, type, event, name, category, user_id, anonymous_id, group_id, previous_id,
             epoch_ms("timestamp") as ts, epoch_ms(original_timestamp) as original_ts, epoch_ms(sent_at) as sent_ts, epoch_ms(received_at) as received_ts,
             source_id, context, properties, traits
           from "cdp"."raw_events" where message_id in (${chunk.map(() => '?').join(', ')})`,
          chunk,
        )),
      );
    }
    return rows;
  };

  const newClient = (settings: { flushAt?: number; maxEventsInBatch?: number; flushInterval?: number }) =>
    new Analytics({ writeKey, host: base, path: '/v1/batch', maxRetries: 2, ...settings });

  beforeAll(async () => {
    project = TempProject.demo();
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'error' })));
    ws = app.get(Workspace);
    ({ writeKey, id: sourceId } = await createSource(base, ADMIN_TOKEN, 'node-server'));
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  it('posts to /v1/batch with the write key and stores every call type with its fields (flushAt 1)', async () => {
    const analytics = newClient({ flushAt: 1 });
    const r = record(analytics);
    const t0 = Date.now();
    analytics.track({ userId: 'user-1', event: 'Order Completed', properties: { orderId: 'o-1', total: 99.5, items: [{ sku: 'a' }] }, context: { ip: '10.0.0.1' } });
    analytics.track({ anonymousId: 'anon-1', event: 'Product Viewed', properties: { sku: 'b' } });
    analytics.identify({ userId: 'user-1', traits: { email: 'ann@example.com', plan: 'pro' } });
    analytics.page({ userId: 'user-1', category: 'Docs', name: 'Pricing', properties: { path: '/pricing', url: 'https://example.com/pricing' } });
    analytics.screen({ anonymousId: 'anon-1', name: 'Home', properties: { variant: 'a' } });
    analytics.group({ userId: 'user-1', groupId: 'acme', traits: { name: 'Acme Inc', employees: 12 } });
    analytics.alias({ userId: 'user-1', previousId: 'anon-1' });
    await analytics.closeAndFlush();

    expect(r.errors).toEqual([]);
    expect(r.delivered.size).toBe(7);
    expect(r.requests).toHaveLength(7);
    for (const req of r.requests) {
      expect(new URL(req.url).pathname).toBe('/v1/batch');
      expect(req.body.batch).toHaveLength(1);
      expect(req.body.writeKey).toBe(writeKey);
    }
    expect(r.statuses).toEqual(Array(7).fill(200));

    const ids = [...r.delivered.keys()];
    const rows = await rawRows(ids);
    expect(rows.map((row) => row.message_id).sort()).toEqual([...ids].sort());
    const sentAtById = new Map(r.requests.map((req) => [req.body.batch[0].messageId, Date.parse(req.body.sentAt)]));
    const t1 = Date.now();

    for (const row of rows) {
      const event = r.delivered.get(row.message_id as string)!;
      expect(row.type).toBe(event.type);
      expect(row.source_id).toBe(sourceId);
      expect(row.user_id).toBe(event.userId ?? null);
      expect(row.anonymous_id).toBe(event.anonymousId ?? null);
      // every timestamp is set; the SDK's timestamp is the original one
      expect(ms(row.original_ts)).toBe(new Date(event.timestamp as Date).getTime());
      expect(ms(row.sent_ts)).toBe(sentAtById.get(row.message_id as string));
      expect(ms(row.received_ts)).toBeGreaterThanOrEqual(t0 - 5);
      expect(ms(row.received_ts)).toBeLessThanOrEqual(t1 + 5);
      // Segment's skew correction: timestamp = receivedAt - (sentAt - originalTimestamp)
      expect(ms(row.ts)).toBe(ms(row.received_ts) - (ms(row.sent_ts) - ms(row.original_ts)));
      // the library's context travels with the message
      const context = JSON.parse(row.context as string) as { library?: { name: string; version: string } };
      expect(context.library).toEqual({ name: '@segment/analytics-node', version: expect.any(String) });
    }

    const byType = (type: string, pick: (e: Record<string, unknown>) => boolean = () => true) =>
      rows.find((row) => row.type === type && pick(r.delivered.get(row.message_id as string)!))!;
    const order = byType('track', (e) => e.event === 'Order Completed');
    expect(order).toMatchObject({ event: 'Order Completed', user_id: 'user-1', anonymous_id: null, traits: null });
    expect(JSON.parse(order.properties as string)).toEqual({ orderId: 'o-1', total: 99.5, items: [{ sku: 'a' }] });
    expect(JSON.parse(order.context as string)).toMatchObject({ ip: '10.0.0.1' });
    const viewed = byType('track', (e) => e.event === 'Product Viewed');
    expect(viewed).toMatchObject({ user_id: null, anonymous_id: 'anon-1' });
    expect(JSON.parse(viewed.properties as string)).toEqual({ sku: 'b' });

    const identify = byType('identify');
    expect(identify).toMatchObject({ event: null, user_id: 'user-1', properties: null });
    expect(JSON.parse(identify.traits as string)).toEqual({ email: 'ann@example.com', plan: 'pro' });

    const page = byType('page');
    expect(page).toMatchObject({ name: 'Pricing', category: 'Docs', event: null });
    expect(JSON.parse(page.properties as string)).toMatchObject({ path: '/pricing', url: 'https://example.com/pricing' });

    const screen = byType('screen');
    expect(screen).toMatchObject({ name: 'Home', anonymous_id: 'anon-1' });
    expect(JSON.parse(screen.properties as string)).toMatchObject({ variant: 'a' });

    const group = byType('group');
    expect(group).toMatchObject({ group_id: 'acme', user_id: 'user-1' });
    expect(JSON.parse(group.traits as string)).toEqual({ name: 'Acme Inc', employees: 12 });

    expect(byType('alias')).toMatchObject({ user_id: 'user-1', previous_id: 'anon-1', event: null });
  });

  it('large batches (maxEventsInBatch 100): 2,000 mixed calls, each stored exactly once', async () => {
    const analytics = newClient({ maxEventsInBatch: 100, flushInterval: 50 });
    const r = record(analytics);
    const sentIds: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const messageId = `sdk-bulk-${i}-${randomUUID()}`;
      sentIds.push(messageId);
      const userId = `bulk-user-${i % 37}`;
      if (i % 10 === 0) analytics.identify({ userId, traits: { n: i }, messageId });
      else if (i % 10 === 1) analytics.page({ userId, name: `Page ${i}`, properties: { n: i }, messageId });
      else analytics.track({ userId, event: `Bulk ${i % 5}`, properties: { n: i, tags: ['x', 'y'] }, messageId });
    }
    await analytics.closeAndFlush();

    expect(r.errors).toEqual([]);
    expect(r.statuses.every((s) => s === 200)).toBe(true);
    // the client batched: no request over 100 messages, far fewer requests than messages
    const sizes = r.requests.map((req) => req.body.batch.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(r.requests.length).toBeLessThanOrEqual(100);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2000);
    expect([...r.delivered.keys()].sort()).toEqual([...sentIds].sort());

    const counts = await queryAll(
      ws.warehouse,
      `select message_id, count(*) as copies from "cdp"."raw_events" where message_id like 'sdk-bulk-%' group by message_id`,
    );
    expect(counts).toHaveLength(2000);
    expect(counts.every((c) => Number(c.copies) === 1)).toBe(true);
    expect(counts.map((c) => c.message_id).sort()).toEqual([...sentIds].sort());

    const sample = await rawRows([sentIds[0], sentIds[1], sentIds[1234]]);
    const byId = new Map(sample.map((row) => [row.message_id, row]));
    expect(byId.get(sentIds[0])).toMatchObject({ type: 'identify', user_id: 'bulk-user-0' });
    expect(JSON.parse(byId.get(sentIds[0])!.traits as string)).toEqual({ n: 0 });
    expect(byId.get(sentIds[1])).toMatchObject({ type: 'page', name: 'Page 1' });
    expect(byId.get(sentIds[1234])).toMatchObject({ type: 'track', event: 'Bulk 4', user_id: `bulk-user-${1234 % 37}` });
    expect(JSON.parse(byId.get(sentIds[1234])!.properties as string)).toEqual({ n: 1234, tags: ['x', 'y'] });
  });

  it('flushAt 15 (the default) with several clients at once: nothing lost, nothing doubled', async () => {
    const clients = Array.from({ length: 4 }, () => newClient({ flushAt: 15, flushInterval: 50 }));
    const recorders = clients.map(record);
    const ids: string[] = [];
    clients.forEach((analytics, c) => {
      for (let i = 0; i < 150; i++) {
        const messageId = `sdk-multi-${c}-${i}-${randomUUID()}`;
        ids.push(messageId);
        analytics.track({ anonymousId: `anon-${c}`, event: 'Tick', properties: { c, i }, messageId });
      }
    });
    await Promise.all(clients.map((a) => a.closeAndFlush()));
    for (const r of recorders) {
      expect(r.errors).toEqual([]);
      expect(r.delivered.size).toBe(150);
      expect(Math.max(...r.requests.map((req) => req.body.batch.length))).toBeLessThanOrEqual(15);
    }
    const total = await queryValue(ws.warehouse, `select count(*) from "cdp"."raw_events" where message_id like 'sdk-multi-%'`);
    expect(Number(total)).toBe(600);
    const distinct = await queryValue(ws.warehouse, `select count(distinct message_id) from "cdp"."raw_events" where message_id like 'sdk-multi-%'`);
    expect(Number(distinct)).toBe(600);
  });

  it('corrects clock skew: a client clock 1 hour ahead gives timestamp = received_at - (sent_at - original_timestamp)', async () => {
    const hour = 3600_000;
    const skewedNow = Date.now() + hour;
    const single = { userId: 'skewed', event: 'Skewed Single', messageId: `skew-single-${randomUUID()}`, timestamp: new Date(skewedNow - 5000).toISOString(), sentAt: new Date(skewedNow).toISOString() };
    const inBatch = { type: 'track', userId: 'skewed', event: 'Skewed Batch', messageId: `skew-batch-${randomUUID()}`, timestamp: new Date(skewedNow - 20_000).toISOString() };
    const noSentAt = { userId: 'skewed', event: 'No SentAt', messageId: `skew-none-${randomUUID()}`, timestamp: new Date(skewedNow - 5000).toISOString() };
    const noTimestamp = { userId: 'skewed', event: 'No Timestamp', messageId: `skew-nots-${randomUUID()}` };
    const auth = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' };
    const before = Date.now();
    for (const [path, body] of [
      ['/v1/track', single],
      ['/v1/batch', { batch: [inBatch], sentAt: new Date(skewedNow).toISOString() }],
      ['/v1/track', noSentAt],
      ['/v1/track', noTimestamp],
    ] as const) {
      const res = await fetch(base + path, { method: 'POST', headers: auth, body: JSON.stringify(body) });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    const after = Date.now();
    const rows = new Map((await rawRows([single.messageId, inBatch.messageId, noSentAt.messageId, noTimestamp.messageId])).map((row) => [row.message_id, row]));

    for (const [msg, ago] of [
      [single, 5000],
      [inBatch, 20_000],
    ] as const) {
      const row = rows.get(msg.messageId)!;
      expect(ms(row.original_ts)).toBe(Date.parse(msg.timestamp));
      expect(ms(row.sent_ts)).toBe(skewedNow);
      expect(ms(row.sent_ts) - ms(row.original_ts)).toBe(ago);
      expect(ms(row.received_ts)).toBeGreaterThanOrEqual(before - 5);
      expect(ms(row.received_ts)).toBeLessThanOrEqual(after + 5);
      expect(Math.abs(ms(row.ts) - (ms(row.received_ts) - (ms(row.sent_ts) - ms(row.original_ts))))).toBeLessThanOrEqual(1);
      // so the corrected time is on the server's clock, not an hour in the future
      expect(ms(row.ts)).toBeGreaterThanOrEqual(before - ago - 5);
      expect(ms(row.ts)).toBeLessThanOrEqual(after - ago + 5);
    }
    // without sentAt nothing can be corrected: the client's timestamp stays
    const uncorrected = rows.get(noSentAt.messageId)!;
    expect(uncorrected.sent_ts).toBeNull();
    expect(ms(uncorrected.ts)).toBe(Date.parse(noSentAt.timestamp));
    expect(ms(uncorrected.original_ts)).toBe(Date.parse(noSentAt.timestamp));
    // without a timestamp, the time it was received
    const received = rows.get(noTimestamp.messageId)!;
    expect(received.original_ts).toBeNull();
    expect(ms(received.ts)).toBe(ms(received.received_ts));
  });

  it('a repeated messageId is stored twice in raw_events and once in stg_events / stg_tracks after the staging models run', async () => {
    const dupTrack = `dup-track-${randomUUID()}`;
    const dupIdentify = `dup-identify-${randomUUID()}`;
    const dupPage = `dup-page-${randomUUID()}`;
    const unique = `dup-none-${randomUUID()}`;
    // the SDK sends the same messageId in two separate requests (as a retry after a lost answer would)
    const analytics = newClient({ flushAt: 1 });
    const r = record(analytics);
    analytics.track({ userId: 'dup-user', event: 'Paid', properties: { copy: 1 }, messageId: dupTrack });
    analytics.identify({ userId: 'dup-user', traits: { email: 'dup@example.com' }, messageId: dupIdentify });
    analytics.page({ userId: 'dup-user', name: 'Checkout', properties: { path: '/checkout' }, messageId: dupPage });
    analytics.track({ userId: 'dup-user', event: 'Paid', properties: { copy: 2 }, messageId: dupTrack });
    analytics.track({ userId: 'dup-user', event: 'Once', messageId: unique });
    await analytics.closeAndFlush();
    expect(r.errors).toEqual([]);
    // and a raw client repeats two more
    const auth = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' };
    const res = await fetch(`${base}/v1/batch`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        batch: [
          { type: 'identify', userId: 'dup-user', traits: { email: 'dup@example.com' }, messageId: dupIdentify },
          { type: 'page', userId: 'dup-user', name: 'Checkout', properties: { path: '/checkout' }, messageId: dupPage },
        ],
      }),
    });
    expect(res.status).toBe(200);

    const rawCopies = async (id: string) => Number(await queryValue(ws.warehouse, 'select count(*) from "cdp"."raw_events" where message_id = ?', [id]));
    expect(await rawCopies(dupTrack)).toBe(2);
    expect(await rawCopies(dupIdentify)).toBe(2);
    expect(await rawCopies(dupPage)).toBe(2);
    expect(await rawCopies(unique)).toBe(1);

    const engine = new ModelEngine(ws);
    const run = await engine.run({ select: ['stg_events', 'stg_tracks', 'stg_identifies', 'stg_pages'] });
    expect(run.results.map((x) => [x.node, x.status])).toEqual(
      expect.arrayContaining([
        ['stg_events', 'success'],
        ['stg_tracks', 'success'],
        ['stg_identifies', 'success'],
        ['stg_pages', 'success'],
      ]),
    );
    expect(run.status).toBe('success');

    const stgCopies = async (model: string, id: string) => Number(await queryValue(ws.warehouse, `select count(*) from "analytics"."${model}" where message_id = ?`, [id]));
    expect(await stgCopies('stg_events', dupTrack)).toBe(1);
    expect(await stgCopies('stg_tracks', dupTrack)).toBe(1);
    expect(await stgCopies('stg_events', dupIdentify)).toBe(1);
    expect(await stgCopies('stg_identifies', dupIdentify)).toBe(1);
    expect(await stgCopies('stg_events', dupPage)).toBe(1);
    expect(await stgCopies('stg_pages', dupPage)).toBe(1);
    expect(await stgCopies('stg_tracks', unique)).toBe(1);
    expect(await stgCopies('stg_tracks', dupIdentify)).toBe(0);

    // the first copy wins
    const [kept] = await queryAll(ws.warehouse, 'select properties from "analytics"."stg_tracks" where message_id = ?', [dupTrack]);
    expect(JSON.parse(kept.properties as string)).toEqual({ copy: 1 });
    const [identify] = await queryAll(ws.warehouse, 'select email, user_id from "analytics"."stg_identifies" where message_id = ?', [dupIdentify]);
    expect(identify).toEqual({ email: 'dup@example.com', user_id: 'dup-user' });
    const [page] = await queryAll(ws.warehouse, 'select name, path from "analytics"."stg_pages" where message_id = ?', [dupPage]);
    expect(page).toEqual({ name: 'Checkout', path: '/checkout' });

    // over everything ingested so far, staging has one row per distinct message_id, and the model tests pass
    const distinctRaw = Number(await queryValue(ws.warehouse, 'select count(distinct message_id) from "cdp"."raw_events"'));
    const totalRaw = Number(await queryValue(ws.warehouse, 'select count(*) from "cdp"."raw_events"'));
    expect(totalRaw).toBeGreaterThan(distinctRaw);
    expect(Number(await queryValue(ws.warehouse, 'select count(*) from "analytics"."stg_events"'))).toBe(distinctRaw);
    const tests = await engine.test({ select: ['stg_events', 'stg_tracks', 'stg_identifies', 'stg_pages'] });
    expect(tests.results.length).toBeGreaterThanOrEqual(8);
    expect(tests.results.filter((t) => t.status !== 'pass')).toEqual([]);
  });
});
