import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { queryAll, queryValue } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { TempProject } from '../support/temp-project';
import { answer, type Answer, createSource as createSourceAs, type CreatedSource, startApp } from '../support/test-app';

/**
 * The Segment-compatible tracking API (/v1) over real HTTP: write keys, every way a request can be
 * wrong (each a 400 that says why, and nothing written), partial batches, CORS, and the same core
 * flow against a PostgreSQL warehouse.
 */

const ADMIN_TOKEN = 'test-admin-token-ingest';

const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Call {
  method?: string;
  headers?: Record<string, string>;
  /** sent as JSON unless a string */
  body?: unknown;
  contentType?: string;
}

async function call(base: string, path: string, opts: Call = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] = opts.contentType ?? 'application/json';
  }
  return answer(await fetch(base + path, { method: opts.method ?? 'POST', headers, body }));
}

async function createSource(base: string, name: string): Promise<CreatedSource> {
  const source = await createSourceAs(base, ADMIN_TOKEN, name);
  expect(source).toMatchObject({ id: expect.any(String), name, writeKey: expect.any(String) });
  return source;
}

const track = (extra: Record<string, unknown> = {}) => ({ userId: 'u-1', event: 'Order Completed', properties: { total: 42 }, messageId: `m-${randomUUID()}`, ...extra });

describe('tracking API on DuckDB', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let base: string;
  let ws: Workspace;
  let source: CreatedSource;
  let auth: Record<string, string>;

  const rawCount = async () => Number(await queryValue(ws.warehouse, 'select count(*) from "cdp"."raw_events"'));
  const rowsFor = (messageIds: string[]) =>
    queryAll(ws.warehouse, `select message_id, type, event, user_id, source_id from "cdp"."raw_events" where message_id in (${messageIds.map(() => '?').join(', ')}) order by message_id`, messageIds);

  beforeAll(async () => {
    project = TempProject.demo();
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'error' })));
    ws = app.get(Workspace);
    source = await createSource(base, 'web');
    auth = { authorization: basic(source.writeKey) };
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  describe('authentication', () => {
    it('no Authorization header and no writeKey in the body is a 401, and nothing is written', async () => {
      const before = await rawCount();
      const res = await call(base, '/v1/track', { body: track() });
      expect(res.status).toBe(401);
      expect(res.body.message).toMatch(/write key is required/);
      expect(await rawCount()).toBe(before);
    });

    it('an unknown write key is a 401 (as Basic username and as body writeKey)', async () => {
      const before = await rawCount();
      const viaHeader = await call(base, '/v1/track', { headers: { authorization: basic('wk_not_a_real_key') }, body: track() });
      expect(viaHeader.status).toBe(401);
      expect(viaHeader.body.message).toMatch(/unknown write key/);
      const viaBody = await call(base, '/v1/batch', { body: { writeKey: 'wk_not_a_real_key', batch: [{ type: 'track', ...track() }] } });
      expect(viaBody.status).toBe(401);
      expect(viaBody.body.message).toMatch(/unknown write key/);
      expect(await rawCount()).toBe(before);
    });

    it('Basic auth with the write key as the username is a 200 {"success":true}; the row carries the source id', async () => {
      const withColon = track();
      const withoutColon = track();
      const a = await call(base, '/v1/track', { headers: { authorization: basic(source.writeKey) }, body: withColon });
      expect(a.status).toBe(200);
      expect(a.body).toEqual({ success: true });
      // some clients send the key alone, without the trailing colon
      const b = await call(base, '/v1/track', { headers: { authorization: `Basic ${Buffer.from(source.writeKey).toString('base64')}` }, body: withoutColon });
      expect(b.status).toBe(200);
      const rows = await rowsFor([withColon.messageId, withoutColon.messageId]);
      expect(rows).toHaveLength(2);
      for (const r of rows) expect(r).toMatchObject({ type: 'track', event: 'Order Completed', user_id: 'u-1', source_id: source.id });
    });

    it('writeKey in the body is a 200 (single and batch)', async () => {
      const single = track({ writeKey: source.writeKey });
      const inBatch = track();
      expect((await call(base, '/v1/track', { body: single })).status).toBe(200);
      const res = await call(base, '/v1/batch', { body: { writeKey: source.writeKey, batch: [{ type: 'track', ...inBatch }] } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true });
      expect(await rowsFor([single.messageId, inBatch.messageId])).toHaveLength(2);
    });

    it('the admin token is not a write key', async () => {
      const before = await rawCount();
      for (const headers of [{ authorization: basic(ADMIN_TOKEN) }, { authorization: `Bearer ${ADMIN_TOKEN}` }]) {
        const res = await call(base, '/v1/track', { headers, body: track() });
        expect(res.status).toBe(401);
      }
      expect((await call(base, '/v1/track', { body: track({ writeKey: ADMIN_TOKEN }) })).status).toBe(401);
      expect(await rawCount()).toBe(before);
    });

    it('/api/sources needs the admin token; a write key is not one', async () => {
      for (const method of ['GET', 'POST']) {
        const body = method === 'POST' ? { name: 'sneaky' } : undefined;
        const none = await call(base, '/api/sources', { method, body });
        expect(none.status).toBe(401);
        expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
        const writeKeyAsBearer = await call(base, '/api/sources', { method, body, headers: { authorization: `Bearer ${source.writeKey}` } });
        expect(writeKeyAsBearer.status).toBe(401);
        const writeKeyAsBasic = await call(base, '/api/sources', { method, body, headers: { authorization: basic(source.writeKey) } });
        expect(writeKeyAsBasic.status).toBe(401);
      }
      expect((await call(base, '/api/models', { method: 'GET', headers: { authorization: `Bearer ${source.writeKey}` } })).status).toBe(401);
      const list = await call(base, '/api/sources', { method: 'GET', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(list.status).toBe(200);
      const names = (list.body as { name: string }[]).map((s) => s.name);
      expect(names).toContain('web');
      expect(names).not.toContain('sneaky');
      // the write key is shown once, at creation, and never listed
      expect(JSON.stringify(list.body)).not.toContain(source.writeKey);
    });
  });

  describe('bad input: a 400 that names the reason, and nothing written', () => {
    const big = 'x'.repeat(40 * 1024);
    interface BadCase {
      name: string;
      path: string;
      body: unknown;
      contentType?: string;
      /** the message must match */
      message: RegExp;
      /** for a batch: the index named in errors[] */
      index?: number;
    }
    const cases: BadCase[] = [
      { name: 'malformed JSON (application/json)', path: '/v1/track', body: '{"userId": "u-1", "event": ', message: /JSON/i },
      { name: 'malformed JSON (text/plain, as browser SDKs send)', path: '/v1/track', body: '{"userId": "u-1", "event": ', contentType: 'text/plain', message: /not valid JSON/ },
      { name: 'malformed JSON to /v1/batch', path: '/v1/batch', body: '{"batch": [', message: /JSON/i },
      { name: 'a single message over 32 KB', path: '/v1/track', body: track({ properties: { big } }), message: /message is 4\d KB; the limit is 32 KB/ },
      { name: 'a message over 32 KB inside a batch', path: '/v1/batch', body: { batch: [{ type: 'track', ...track({ properties: { big } }) }] }, message: /message is 4\d KB; the limit is 32 KB/, index: 0 },
      {
        name: 'a request over 500 KB',
        path: '/v1/batch',
        body: { batch: Array.from({ length: 20 }, () => ({ type: 'track', ...track({ properties: { chunk: 'y'.repeat(30 * 1024) } }) })) },
        message: /over the limit of 500 KB/,
      },
      { name: 'neither userId nor anonymousId', path: '/v1/track', body: { event: 'Signed Up', messageId: `m-${randomUUID()}` }, message: /userId or anonymousId is required/ },
      { name: 'neither userId nor anonymousId (identify)', path: '/v1/identify', body: { traits: { email: 'a@example.com' } }, message: /userId or anonymousId is required/ },
      { name: 'userId as an object', path: '/v1/track', body: track({ userId: { id: 1 } }), message: /userId/ },
      { name: 'properties as an array', path: '/v1/track', body: track({ properties: [1, 2] }), message: /properties/ },
      { name: 'timestamp not a date', path: '/v1/track', body: track({ timestamp: 'yesterday-ish' }), message: /timestamp: not a date/ },
      { name: 'event as a number', path: '/v1/track', body: track({ event: 42 }), message: /event/ },
      { name: 'track without an event', path: '/v1/track', body: { userId: 'u-1' }, message: /event/ },
      { name: 'messageId as a number', path: '/v1/identify', body: { userId: 'u-1', messageId: 7 }, message: /messageId/ },
      { name: 'an unknown type in a batch', path: '/v1/batch', body: { batch: [{ ...track(), type: 'purchase' }] }, message: /unknown type "purchase"/, index: 0 },
      { name: 'a batch item without a type', path: '/v1/batch', body: { batch: [track()] }, message: /type is required/, index: 0 },
      { name: 'a batch item that is not an object', path: '/v1/batch', body: { batch: ['track'] }, message: /type is required/, index: 0 },
      { name: 'an empty batch', path: '/v1/batch', body: { batch: [] }, message: /batch is empty/ },
      { name: 'a batch body without batch', path: '/v1/batch', body: { events: [track()] }, message: /batch/ },
      { name: 'alias without previousId', path: '/v1/alias', body: { userId: 'u-1' }, message: /previousId/ },
      { name: 'alias without previousId, in a batch', path: '/v1/batch', body: { batch: [{ type: 'alias', userId: 'u-1' }] }, message: /previousId/, index: 0 },
      { name: 'group without groupId', path: '/v1/group', body: { userId: 'u-1', traits: { name: 'Acme' } }, message: /groupId/ },
      { name: 'page with a numeric name', path: '/v1/page', body: { anonymousId: 'a-1', name: 5 }, message: /name/ },
    ];

    it.each(cases)('$name', async ({ path, body, contentType, message, index }) => {
      const before = await rawCount();
      const res = await call(base, path, { headers: auth, body, contentType });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual(expect.any(String));
      expect(res.body.message).toMatch(message);
      if (index !== undefined) {
        expect(res.body.message).toContain(`batch[${index}]`);
        expect(res.body.accepted).toBe(0);
        expect(res.body.errors).toEqual([expect.objectContaining({ index, reason: expect.stringMatching(message) })]);
      }
      expect(await rawCount()).toBe(before);
    });

    it('a batch mixing good and bad messages stores the good ones exactly once and lists the bad indexes', async () => {
      const good = [track(), { ...track(), type: 'identify', event: undefined, traits: { plan: 'pro' } }, track({ userId: undefined, anonymousId: 'anon-9' })];
      const badNoIds = { type: 'track', event: 'Lost', messageId: `m-${randomUUID()}` };
      const badType = { ...track(), type: 'purchase' };
      const badTimestamp = { type: 'page', ...track({ timestamp: 'not a time' }) };
      const batch = [
        { type: 'track', ...good[0] },
        badNoIds,
        { ...good[1], type: 'identify' },
        badType,
        badTimestamp,
        { type: 'track', ...good[2] },
      ];
      const before = await rawCount();
      const res = await call(base, '/v1/batch', { headers: auth, body: { batch, sentAt: new Date().toISOString() } });
      expect(res.status).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.accepted).toBe(3);
      expect(res.body.message).toMatch(/^3 of 6 messages rejected \(the other 3 were stored\); batch\[1\]/);
      const errors = res.body.errors as { index: number; messageId?: string; reason: string }[];
      expect(errors.map((e) => e.index)).toEqual([1, 3, 4]);
      expect(errors[0]).toMatchObject({ messageId: badNoIds.messageId, reason: expect.stringMatching(/userId or anonymousId is required/) });
      expect(errors[1]).toMatchObject({ messageId: badType.messageId, reason: expect.stringMatching(/unknown type "purchase"/) });
      expect(errors[2].reason).toMatch(/timestamp: not a date/);

      expect(await rawCount()).toBe(before + 3);
      const rows = await rowsFor(good.map((g) => g.messageId));
      expect(rows.map((r) => r.message_id)).toEqual(good.map((g) => g.messageId).sort());
      const byId = new Map(rows.map((r) => [r.message_id, r]));
      expect(byId.get(good[0].messageId)).toMatchObject({ type: 'track', event: 'Order Completed', user_id: 'u-1' });
      expect(byId.get(good[1].messageId)).toMatchObject({ type: 'identify', event: null, user_id: 'u-1' });
      expect(byId.get(good[2].messageId)).toMatchObject({ type: 'track', user_id: null });
      expect(await rowsFor([badNoIds.messageId, badType.messageId, badTimestamp.messageId])).toEqual([]);
    });
  });

  describe('accepted shapes', () => {
    it('every /v1/<type> route stores its message with the type-specific fields', async () => {
      const ids = Object.fromEntries(['track', 'identify', 'page', 'screen', 'group', 'alias'].map((t) => [t, `m-${t}-${randomUUID()}`]));
      const bodies: Record<string, unknown> = {
        track: { userId: 42, event: 'Clicked', properties: { button: 'buy' }, messageId: ids.track },
        identify: { anonymousId: 'anon-1', traits: { email: 'ann@example.com' }, messageId: ids.identify },
        page: { userId: 'u-2', name: 'Pricing', category: 'Docs', properties: { path: '/pricing' }, messageId: ids.page },
        screen: { userId: 'u-2', name: 'Home', messageId: ids.screen },
        group: { userId: 'u-2', groupId: 7, traits: { name: 'Acme' }, messageId: ids.group },
        alias: { userId: 'u-2', previousId: 'anon-1', messageId: ids.alias },
      };
      for (const [type, body] of Object.entries(bodies)) {
        const res = await call(base, `/v1/${type}`, { headers: auth, body });
        expect({ type, status: res.status, body: res.body }).toEqual({ type, status: 200, body: { success: true } });
      }
      const rows = await queryAll(
        ws.warehouse,
        `select message_id, type, event, name, category, user_id, anonymous_id, group_id, previous_id, properties, traits from "cdp"."raw_events" where message_id in (${Object.values(ids)
          .map(() => '?')
          .join(', ')})`,
        Object.values(ids),
      );
      const byType = new Map(rows.map((r) => [r.type as string, r]));
      expect(rows).toHaveLength(6);
      expect(byType.get('track')).toMatchObject({ message_id: ids.track, event: 'Clicked', user_id: '42' });
      expect(JSON.parse(String(byType.get('track')!.properties))).toEqual({ button: 'buy' });
      expect(byType.get('identify')).toMatchObject({ anonymous_id: 'anon-1', user_id: null, event: null });
      expect(JSON.parse(String(byType.get('identify')!.traits))).toEqual({ email: 'ann@example.com' });
      expect(byType.get('page')).toMatchObject({ name: 'Pricing', category: 'Docs' });
      expect(byType.get('screen')).toMatchObject({ name: 'Home' });
      expect(byType.get('group')).toMatchObject({ group_id: '7' });
      expect(byType.get('alias')).toMatchObject({ previous_id: 'anon-1', user_id: 'u-2' });
    });

    it('a JSON body sent as text/plain (browser SDKs skip the preflight so) is accepted', async () => {
      const body = track();
      const res = await call(base, '/v1/track', { headers: auth, body: JSON.stringify(body), contentType: 'text/plain' });
      expect(res.status).toBe(200);
      expect(await rowsFor([body.messageId])).toHaveLength(1);
    });

    it('a message without a messageId gets one', async () => {
      const userId = `u-${randomUUID()}`;
      const res = await call(base, '/v1/track', { headers: auth, body: { userId, event: 'No Id' } });
      expect(res.status).toBe(200);
      const rows = await queryAll(ws.warehouse, 'select message_id from "cdp"."raw_events" where user_id = ?', [userId]);
      expect(rows).toHaveLength(1);
      expect(rows[0].message_id).toMatch(/^api-[0-9a-f-]{36}$/);
    });
  });

  describe('CORS', () => {
    const preflight = (path: string) =>
      fetch(base + path, {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });

    it('a preflight on /v1/track from any origin is allowed', async () => {
      const res = await preflight('/v1/track');
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
      expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect((res.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toMatch(/authorization/);
      const batch = await preflight('/v1/batch');
      expect(batch.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    });

    it('a cross-origin POST to /v1/track gets Access-Control-Allow-Origin', async () => {
      const res = await fetch(`${base}/v1/track`, { method: 'POST', headers: { ...auth, origin: 'https://shop.example.com', 'content-type': 'text/plain' }, body: JSON.stringify(track()) });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    });

    it('/api routes are not open to other origins', async () => {
      for (const path of ['/api/sources', '/api/models']) {
        const res = await preflight(path);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      }
      const get = await fetch(`${base}/api/sources`, { headers: { origin: 'https://shop.example.com', authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(get.status).toBe(200);
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});

describe('tracking API on PostgreSQL', () => {
  let enabled = false;
  let project: TempProject;
  let app: NestFastifyApplication | undefined;
  let base: string;
  const warehouseSchema = uniqueSchema('cdp_ingest_wh');
  const ingestSchema = uniqueSchema('cdp_ingest_raw');

  beforeAll(async () => {
    enabled = await requirePostgres();
    if (!enabled) return;
    project = new TempProject({ 'cdp.yaml': `name: ingest_pg\ningest:\n  schema: ${ingestSchema}\n` });
    const config = project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'error', CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: warehouseSchema });
    expect(config.warehouse).toMatchObject({ type: 'postgres', schema: warehouseSchema });
    expect(config.ingest.schema).toBe(ingestSchema);
    ({ app, base } = await startApp(config));
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
    if (enabled) {
      await dropSchema(ingestSchema);
      await dropSchema(warehouseSchema);
    }
  });

  it('creates a source, takes a batch of 100 and a partial batch, and stores each message once', async () => {
    if (!enabled) return;
    const ws = app!.get(Workspace);
    expect(ws.warehouse.type).toBe('postgres');
    const table = `"${ingestSchema}"."raw_events"`;
    const count = async () => Number(await queryValue(ws.warehouse, `select count(*) from ${table}`));
    expect(await count()).toBe(0);

    const source = await createSource(base, 'pg-web');
    const messages = Array.from({ length: 100 }, (_, i) =>
      i % 4 === 0
        ? { type: 'identify', userId: `u-${i}`, traits: { n: i }, messageId: `pg-${i}-${randomUUID()}` }
        : { type: 'track', userId: `u-${i}`, event: 'Viewed', properties: { n: i }, messageId: `pg-${i}-${randomUUID()}`, timestamp: new Date(Date.now() - 60_000).toISOString() },
    );
    const res = await call(base, '/v1/batch', { headers: { authorization: basic(source.writeKey) }, body: { batch: messages, sentAt: new Date().toISOString() } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect(await count()).toBe(100);
    const rows = await queryAll(ws.warehouse, `select message_id, type, source_id, properties, received_at, timestamp from ${table} order by message_id`);
    expect(rows.map((r) => r.message_id)).toEqual(messages.map((m) => m.messageId).sort());
    expect(rows.filter((r) => r.type === 'identify')).toHaveLength(25);
    for (const r of rows) {
      expect(r.source_id).toBe(source.id);
      expect(r.received_at).not.toBeNull();
      expect(r.timestamp).not.toBeNull();
    }
    const tracked = rows.find((r) => r.message_id === messages[1].messageId)!;
    const props = typeof tracked.properties === 'string' ? JSON.parse(tracked.properties) : tracked.properties;
    expect(props).toEqual({ n: 1 });

    // a partial batch on Postgres too: the good message is stored, the bad one named
    const good = { type: 'track', userId: 'u-x', event: 'Kept', messageId: `pg-good-${randomUUID()}` };
    const partial = await call(base, '/v1/batch', { headers: { authorization: basic(source.writeKey) }, body: { batch: [{ type: 'track', event: 'Lost' }, good] } });
    expect(partial.status).toBe(400);
    expect(partial.body).toMatchObject({ accepted: 1, errors: [expect.objectContaining({ index: 0, reason: expect.stringMatching(/userId or anonymousId/) })] });
    expect(await count()).toBe(101);

    // a wrong key writes nothing
    expect((await call(base, '/v1/track', { headers: { authorization: basic('wk_nope') }, body: track() })).status).toBe(401);
    expect(await count()).toBe(101);
  });
});
