import { createHttpClient } from '../../src/destinations/http/http-client';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { customerio } from '../../src/destinations/customerio';
import { eventId } from '../../src/destinations/customerio/events';
import { ModelEngine } from '../../src/models/model-engine';
import { syncSchema, type SyncDefinitionInput } from '../../src/syncs/sync-definition';
import { SyncRunner, type SyncTarget } from '../../src/syncs/sync-runner';
import { Workspace } from '../../src/workspace/workspace';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { contractViolations, CustomerIoFake } from '../support/fakes/customerio';
import { memoryLogger } from '../support/recording-destination';
import { TempProject } from '../support/temp-project';
import { actionContext, testContext } from './harness';

/**
 * Customer.io has no spec this repository may hold (the machine-readable Track API spec is a
 * third-party mirror of vendor content without a licence), so instead of Prism every request the
 * fake server receives is checked against the documented request shapes written out in
 * test/support/fakes/customerio.ts (`trackApiContract`): afterEach fails a test whose requests break it.
 */
const SITE = 'site_0001';
const KEY = 'cio_track_secret_key_0001';
const APP_KEY = 'cio_app_secret_key_0001';
const BASIC = `Basic ${Buffer.from(`${SITE}:${KEY}`).toString('base64')}`;
const people = customerio.actions.people;
const segments = customerio.actions.segment_membership;

let upstream: FakeServer;

beforeAll(async () => {
  upstream = await FakeServer.start();
});
afterAll(async () => {
  await upstream?.close();
});
beforeEach(() => upstream.reset());
afterEach(() => expect(contractViolations(upstream.requests)).toEqual([]));

const settings = (extra: Record<string, unknown> = {}) => ({ site_id: SITE, api_key: KEY, base_url: upstream.url, app_base_url: upstream.url, ...extra });
const context = (action: 'people' | 'segment_membership', options: Record<string, unknown> = {}, extra: { settings?: Record<string, unknown>; state?: Record<string, unknown> } = {}) => {
  const ctx = actionContext(customerio, action, { settings: settings(extra.settings), options, sync: { name: 'vip', mode: action === 'people' ? 'mirror' : 'audience' } });
  ctx.state = extra.state ?? {};
  return ctx;
};
const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const ok = (body: unknown = {}): ScriptedResponse => ({ status: 200, body });
const multiStatus = (...errors: { batch_index: number; reason?: string; field?: string; message?: string }[]): ScriptedResponse => ({ status: 207, body: { errors } });
const batchOf = (i = -1) => (upstream.requests.filter((r) => r.path === '/api/v2/batch').at(i)?.json as { batch: unknown[] }).batch;

describe('customerio people: requests (checked against the Track API contract)', () => {
  it('upsert: one v2 batch of identify operations; one identifier each (cio_id, then id, then email); the rest are attributes; bad rows fail alone', async () => {
    upstream.reply(ok());
    const ctx = context('people');
    const results = await people.performBatch(
      [
        row('upsert', 'p1', { id: 42, email: ' Ada@Example.com ', first_name: 'Ada', created_at: '2024-01-02T03:04:05Z', plan: 'gold', attributes: { score: 3, joined: new Date('2024-01-01T00:00:00Z') } }),
        row('upsert', 'p2', { email: 'bob@example.com', unsubscribed: true, created_at: 1704164645123, visits: 12n }),
        row('upsert', 'p3', { cio_id: 'cio_a3000001', id: 'u3', email: 'cy@example.com' }),
        row('upsert', 'p4', { email: 'not-an-email' }),
        row('upsert', 'p5', { first_name: 'Nobody' }),
        row('add', 'p6', { id: 'u6' }),
        row('upsert', 'p7', { id: 'x'.repeat(151) }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no cio_id, id or email' },
      { ok: false, error: 'Customer.io people take upsert, update and delete (got add)' },
      { ok: false, error: 'id is longer than 150 bytes' },
    ]);
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual(['POST', '/api/v2/batch', BASIC, 'application/json']);
    expect(req.json).toEqual({
      batch: [
        {
          type: 'person',
          identifiers: { id: '42' },
          action: 'identify',
          attributes: { email: 'ada@example.com', first_name: 'Ada', created_at: 1704164645, plan: 'gold', score: 3, joined: 1704067200 },
        },
        { type: 'person', identifiers: { email: 'bob@example.com' }, action: 'identify', attributes: { unsubscribed: true, created_at: 1704164645, visits: 12 } },
        { type: 'person', identifiers: { cio_id: 'a3000001' }, action: 'identify', attributes: { id: 'u3', email: 'cy@example.com' } },
      ],
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('update: identify with _update: true, so Customer.io changes existing people only', async () => {
    upstream.reply(ok());
    expect(await people.performBatch([row('update', 'p1', { id: 'u1', plan: 'pro' })], context('people'))).toEqual([{ ok: true }]);
    expect(batchOf()).toEqual([{ type: 'person', identifiers: { id: 'u1' }, action: 'identify', attributes: { plan: 'pro', _update: true } }]);
  });

  it('mirror: removed people are deleted in the same batch, by their identifier only, in row order', async () => {
    upstream.reply(ok());
    const results = await people.performBatch([row('upsert', 'p1', { id: 'u1', plan: 'pro' }), row('delete', 'p2', { id: 'u2', email: 'b@example.com', plan: 'free' })], context('people'));
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    expect(batchOf()).toEqual([
      { type: 'person', identifiers: { id: 'u1' }, action: 'identify', attributes: { plan: 'pro' } },
      { type: 'person', identifiers: { id: 'u2' }, action: 'delete' },
    ]);
  });

  it('identify_by: email names people by email even when they have an id (the id becomes an attribute)', async () => {
    upstream.reply(ok());
    await people.performBatch([row('upsert', 'p1', { id: 'u1', email: 'a@example.com' }), row('upsert', 'p2', { id: 'u2' })], context('people', { identify_by: 'email' }));
    expect(batchOf()).toEqual([
      { type: 'person', identifiers: { email: 'a@example.com' }, action: 'identify', attributes: { id: 'u1' } },
      { type: 'person', identifiers: { id: 'u2' }, action: 'identify' },
    ]);
  });

  it('batches: 1,000 rows by default, 10,000 at most; split into requests under 500 KB in row order; an operation over 32 KB fails alone', async () => {
    expect([people.batchSize, people.maxBatchSize]).toEqual([1_000, 10_000]);
    upstream.handle(() => ok());
    const rows = Array.from({ length: 1_200 }, (_, i) => row('upsert', `p${i}`, { id: `u${i}`, bio: 'x'.repeat(900) }));
    rows.push(row('upsert', 'big', { id: 'big', bio: 'y'.repeat(33_000) }));
    const results = await people.performBatch(rows, context('people'));
    expect(results.slice(0, 1_200).every((r) => r.ok)).toBe(true);
    expect(results[1_200]).toEqual({ ok: false, error: expect.stringMatching(/^the person's data is \d+ bytes; Customer.io takes at most 32000 per operation$/) as string });
    const sent = upstream.requests.map((r) => r.json as { batch: { identifiers: { id: string } }[] });
    expect(sent.length).toBeGreaterThan(2);
    for (const r of upstream.requests) expect(Buffer.byteLength(r.rawBody)).toBeLessThan(500_000);
    expect(sent.flatMap((b) => b.batch.map((op) => op.identifiers.id))).toEqual(rows.slice(0, 1_200).map((r) => r.fields.id));
  });

  it('207: the operations Customer.io names by batch_index fail with its reason; the others (and the skipped bad rows) keep their results', async () => {
    upstream.reply(multiStatus({ batch_index: 1, reason: 'invalid', field: 'attributes.plan', message: 'value too long' }));
    const results = await people.performBatch([row('upsert', 'p0', { email: 'bad' }), row('upsert', 'p1', { id: 'u1' }), row('upsert', 'p2', { id: 'u2', plan: 'z' }), row('upsert', 'p3', { id: 'u3' })], context('people'));
    expect(results).toEqual([
      { ok: false, error: 'email is not an email address' },
      { ok: true },
      { ok: false, error: 'Customer.io rejected this person: invalid: value too long (field attributes.plan)' },
      { ok: true },
    ]);
  });

  it('207 across split requests: batch_index counts within each request', async () => {
    const rows = Array.from({ length: 800 }, (_, i) => row('upsert', `p${i}`, { id: `u${i}`, bio: 'x'.repeat(900) }));
    upstream.reply(ok(), multiStatus({ batch_index: 0, reason: 'invalid', message: 'nope' }));
    upstream.handle(() => ok());
    const results = await people.performBatch(rows, context('people'));
    const firstSize = batchOf(0).length;
    expect(results.filter((r) => !r.ok)).toHaveLength(1);
    expect(results[firstSize]).toEqual({ ok: false, error: 'Customer.io rejected this person: invalid: nope' });
  });

  it('207 naming no operation of the request, and 400 for the whole request → the batch is rejected (the engine bisects)', async () => {
    const rows = [row('upsert', 'p1', { id: 'u1' }), row('upsert', 'p2', { id: 'u2' })];
    upstream.reply(multiStatus({ batch_index: 5, reason: 'invalid', message: '?' }), { status: 400, body: { errors: [{ reason: 'malformed', field: 'batch', message: 'unexpected token' }] } });
    await expect(people.performBatch(rows, context('people'))).rejects.toBeInstanceOf(BatchRejectedError);
    await expect(people.performBatch(rows, context('people'))).rejects.toThrow(new BatchRejectedError('Customer.io answered 400 for sending a batch of people: malformed: unexpected token (field batch)'));
  });
  it('the contract check catches a request that breaks the documented shape (two identifiers in one operation), and the fake answers 400 like Customer.io', async () => {
    upstream.handle(new CustomerIoFake({ siteId: SITE, apiKey: KEY }).handler);
    const ctx = context('people');
    const res = await ctx.http.request({ method: 'POST', url: 'api/v2/batch', body: { batch: [{ type: 'person', identifiers: { id: 'u1', email: 'a@example.com' }, action: 'identify' }] } });
    expect(res.status).toBe(400);
    expect(contractViolations(upstream.requests)).toEqual([expect.stringContaining('POST /api/v2/batch: body.batch.0') as string]);
    upstream.requests.length = 0;
  });
});

describe('customerio: throttling and failures', () => {
  const rows = [row('upsert', 'p1', { id: 'u1' })];

  it('429 with Retry-After → RetryableError with that delay; without it → RetryableError with no delay (the engine backs off); 503 → RetryableError', async () => {
    upstream.reply({ status: 429, headers: { 'retry-after': '7' }, body: { meta: { error: 'rate limited' } } }, { status: 429, body: { meta: { error: 'rate limited' } } }, { status: 503, body: 'unavailable' });
    const first = await people.performBatch(rows, context('people')).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(RetryableError);
    expect((first as RetryableError).retryAfterMs).toBe(7_000);
    const second = await people.performBatch(rows, context('people')).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(RetryableError);
    expect((second as RetryableError).retryAfterMs).toBeUndefined();
    await expect(people.performBatch(rows, context('people'))).rejects.toBeInstanceOf(RetryableError);
  });

  it.each([401, 403])('%s → ConfigurationError; the API key is in no message or log line', async (status) => {
    upstream.reply({ status, body: { meta: { error: `bad credentials ${KEY}` } } });
    const ctx = context('people');
    const e = await people.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).not.toContain(KEY);
    expect(ctx.logger.text()).not.toContain(KEY);
    expect(ctx.logger.text()).not.toContain(BASIC.slice(6));
  });

  it('testConnection: the region endpoint accepts the credentials; a workspace in the other region, or a bad key, is a configuration error', async () => {
    const fake = new CustomerIoFake({ siteId: SITE, apiKey: KEY, appApiKey: APP_KEY });
    upstream.handle(fake.handler);
    await customerio.testConnection!(testContext(customerio, settings()));
    expect(upstream.last.path).toBe('/api/v1/accounts/region');

    // the region check applies when the host comes from `region` (no base_url); the request still goes to the fake
    fake.region = 'eu';
    const regional = { ...settings(), base_url: undefined };
    const client = testContext(customerio, regional);
    const http = createHttpClient(customerio, customerio.settings.parse(settings()), { instance: 'test', logger: client.logger, secrets: [] });
    await expect(customerio.testConnection!({ ...client, http })).rejects.toThrow(new ConfigurationError('these Customer.io credentials belong to the eu region: set region: eu'));

    await expect(customerio.testConnection!(testContext(customerio, settings({ api_key: 'wrong' })))).rejects.toBeInstanceOf(ConfigurationError);
    // with an App API key, that key is checked too
    fake.region = 'us';
    upstream.reset().handle(fake.handler);
    await customerio.testConnection!(testContext(customerio, settings({ app_api_key: APP_KEY })));
    expect(upstream.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/api/v1/accounts/region', BASIC],
      ['/v1/segments', `Bearer ${APP_KEY}`],
    ]);
    await expect(customerio.testConnection!(testContext(customerio, settings({ app_api_key: 'wrong-app-key' })))).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('settings: region picks the Track host (us by default, eu: track-eu); options accept {}', () => {
    expect(customerio.baseUrl!(customerio.settings.parse({ site_id: SITE, api_key: KEY }))).toBe('https://track.customer.io');
    expect(customerio.baseUrl!(customerio.settings.parse({ site_id: SITE, api_key: KEY, region: 'eu' }))).toBe('https://track-eu.customer.io');
    expect(people.options.safeParse({}).success).toBe(true);
    expect(segments.options.safeParse({}).success).toBe(true);
    expect(segments.options.safeParse({ segment_id: 3, segment_name: 'x' }).error?.issues[0].message).toBe('set segment_id or segment_name, not both');
  });
});

describe('customerio segment_membership: requests', () => {
  const SEG = 7;
  const ctx = (options: Record<string, unknown> = { segment_id: SEG }) => context('segment_membership', options, { state: { segment_id: SEG } });

  it('add: identifies entering people (v2 batch), then adds the accepted ones by id; remove: remove_customers; bad rows fail alone', async () => {
    upstream.reply(multiStatus({ batch_index: 1, reason: 'invalid', message: 'bad attribute' }), ok(), ok());
    const results = await segments.performBatch(
      [
        row('add', 'p1', { id: 'u1', email: 'A@example.com', plan: 'gold' }),
        row('add', 'p2', { id: 'u2', plan: 'x' }),
        row('add', 'p3', { email: 'c@example.com' }),
        row('remove', 'p4', { id: 'u4', email: 'd@example.com' }),
        row('upsert', 'p5', { id: 'u5' }),
      ],
      ctx(),
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Customer.io rejected this person: invalid: bad attribute' },
      { ok: false, error: "the row has no id (the segment's id_type)" },
      { ok: true },
      { ok: false, error: 'Customer.io segments only add and remove people (got upsert)' },
    ]);
    expect(upstream.requests.map((r) => [r.method, r.path, r.query, r.json])).toEqual([
      [
        'POST',
        '/api/v2/batch',
        {},
        {
          batch: [
            { type: 'person', identifiers: { id: 'u1' }, action: 'identify', attributes: { email: 'a@example.com', plan: 'gold' } },
            { type: 'person', identifiers: { id: 'u2' }, action: 'identify', attributes: { plan: 'x' } },
          ],
        },
      ],
      ['POST', `/api/v1/segments/${SEG}/add_customers`, { id_type: 'id' }, { ids: ['u1'] }],
      ['POST', `/api/v1/segments/${SEG}/remove_customers`, { id_type: 'id' }, { ids: ['u4'] }],
    ]);
    expect(upstream.requests.every((r) => r.headers.authorization === BASIC)).toBe(true);
  });

  it('identify: false skips the v2 batch; id_type: email names members by their (lowercased) email', async () => {
    upstream.handle(() => ok());
    await segments.performBatch([row('add', 'p1', { email: 'A@Example.com' }), row('remove', 'p2', { email: 'b@example.com' })], ctx({ segment_id: SEG, identify: false, id_type: 'email' }));
    expect(upstream.requests.map((r) => [r.path, r.query, r.json])).toEqual([
      [`/api/v1/segments/${SEG}/add_customers`, { id_type: 'email' }, { ids: ['a@example.com'] }],
      [`/api/v1/segments/${SEG}/remove_customers`, { id_type: 'email' }, { ids: ['b@example.com'] }],
    ]);
  });

  it('batches: 1,000 rows by default and at most (add_customers takes ≤ 1,000 ids); more ids are split at 1,000', async () => {
    expect([segments.batchSize, segments.maxBatchSize]).toEqual([1_000, 1_000]);
    upstream.handle(() => ok());
    const rows = Array.from({ length: 2_400 }, (_, i) => row(i % 4 === 0 ? 'remove' : 'add', `p${i}`, { id: `u${i}` }));
    expect((await segments.performBatch(rows, ctx({ segment_id: SEG, identify: false }))).every((r) => r.ok)).toBe(true);
    expect(upstream.requests.map((r) => [r.path.split('/').at(-1), (r.json as { ids: string[] }).ids.length])).toEqual([
      ['add_customers', 1_000],
      ['add_customers', 800],
      ['remove_customers', 600],
    ]);
  });

  it('a missing segment (404) stops the run; a 400 rejects the batch; 429 is retried', async () => {
    const rows = [row('remove', 'p1', { id: 'u1' })];
    upstream.reply({ status: 404, body: { meta: { error: 'segment not found' } } }, { status: 400, body: { meta: { errors: ['ids: too many'] } } }, { status: 429, headers: { 'retry-after': '2' } });
    await expect(segments.performBatch(rows, ctx())).rejects.toThrow(new ConfigurationError(`Customer.io answered 404 for removing people from segment ${SEG}: segment not found`));
    await expect(segments.performBatch(rows, ctx())).rejects.toThrow(new BatchRejectedError(`Customer.io answered 400 for removing people from segment ${SEG}: ids: too many`));
    const e = await segments.performBatch(rows, ctx()).catch((x: unknown) => x);
    expect((e as RetryableError).retryAfterMs).toBe(2_000);
  });

  it('ensure: segment_id as given; else the manual segment with the name (default: the sync name) through the App API, created when missing', async () => {
    const fake = new CustomerIoFake({ siteId: SITE, apiKey: KEY, appApiKey: APP_KEY });
    upstream.handle(fake.handler);
    const app = { settings: { app_api_key: APP_KEY } };
    expect(await segments.ensure!(context('segment_membership', { segment_id: 12 }))).toEqual({ segment_id: 12 });
    expect(upstream.requests).toHaveLength(0);

    const existing = fake.addSegment('Winners');
    fake.addSegment('Winners (dynamic)', 'dynamic');
    expect(await segments.ensure!(context('segment_membership', { segment_name: 'Winners' }, app))).toEqual({ segment_id: existing });
    expect(upstream.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([['GET', '/v1/segments', `Bearer ${APP_KEY}`]]);

    upstream.requests.length = 0;
    const created = await segments.ensure!(context('segment_membership', {}, app));
    expect(created).toEqual({ segment_id: expect.any(Number) as number });
    expect(fake.segments.get(created.segment_id as number)).toMatchObject({ name: 'vip', type: 'manual' });
    expect(upstream.last.json).toEqual({ segment: { name: 'vip', description: 'Kept in step by composable-cdp' } });

    fake.addSegment('Winners');
    await expect(segments.ensure!(context('segment_membership', { segment_name: 'Winners' }, app))).rejects.toThrow(/2 Customer.io manual segments are named "Winners"/);
    fake.addSegment('Dyn', 'dynamic');
    await expect(segments.ensure!(context('segment_membership', { segment_name: 'Dyn' }, app))).rejects.toThrow(new ConfigurationError('the Customer.io segment "Dyn" is data-driven; people can only be added to manual segments (set segment_id or another segment_name)'));
    await expect(segments.ensure!(context('segment_membership', { segment_name: 'Other' }))).rejects.toThrow(/set segment_id \(a manual segment\), or app_api_key/);
  });
});

describe('customerio: a stateful fake keeps what Customer.io would hold', () => {
  it('people in mirror mode over three runs: creates, changes attributes and identifiers, deletes; update mode creates nobody', async () => {
    const fake = new CustomerIoFake({ siteId: SITE, apiKey: KEY });
    upstream.handle(fake.handler);
    const send = (rows: OutgoingRow[]) => people.performBatch(rows, context('people'));
    await send([row('upsert', '1', { id: 'u1', email: 'ann@x.io', plan: 'free' }), row('upsert', '2', { id: 'u2', email: 'bob@x.io', plan: 'pro' }), row('upsert', '3', { id: 'u3', plan: 'free' })]);
    expect(fake.people.map((p) => [p.id, p.email, p.attributes.plan])).toEqual([
      ['u1', 'ann@x.io', 'free'],
      ['u2', 'bob@x.io', 'pro'],
      ['u3', undefined, 'free'],
    ]);
    // run 2: u2 changes plan and email, u3 leaves, u4 arrives with an attribute too long for Customer.io
    const results = await send([row('upsert', '2', { id: 'u2', email: 'robert@x.io', plan: 'team' }), row('delete', '3', { id: 'u3' }), row('upsert', '4', { id: 'u4', bio: 'z'.repeat(1_001) })]);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: false, error: 'Customer.io rejected this person: too_long: attribute values are at most 1000 bytes (field attributes.bio)' }]);
    expect(fake.people.map((p) => [p.id, p.email, p.attributes.plan])).toEqual([
      ['u1', 'ann@x.io', 'free'],
      ['u2', 'robert@x.io', 'team'],
    ]);
    // update mode: changes u1, does not create u9
    await people.performBatch([row('update', '1', { id: 'u1', plan: 'pro' }), row('update', '9', { id: 'u9', plan: 'pro' })], context('people'));
    expect(fake.person('u1')?.attributes.plan).toBe('pro');
    expect(fake.person('u9')).toBeUndefined();
  });

  it('a real sync (DuckDB, the sync engine) to a manual segment found by name: adds, changes and removals land in the segment', async () => {
    const fake = new CustomerIoFake({ siteId: SITE, apiKey: KEY, appApiKey: APP_KEY });
    upstream.handle(fake.handler);
    await withWarehouse(async ({ setPeople, run }) => {
      const target = syncTarget({
        name: 'cio_vips',
        source: { model: 'people' },
        primary_key: 'id',
        destination: 'cio',
        action: 'segment_membership',
        mode: 'audience',
        options: { segment_name: 'VIPs' },
        mapping: { id: 'id', email: 'email', first_name: 'name', 'attributes.plan': 'plan' },
      });
      await setPeople([
        [1, 'ann@x.io', 'Ann', 'free'],
        [2, 'bob@x.io', 'Bob', 'pro'],
        [3, 'cy@x.io', 'Cy', 'free'],
      ]);
      expect(await run(target)).toMatchObject({ status: 'succeeded', added: 3, succeeded: 3, failed: 0 });
      const [segment] = [...fake.segments.values()];
      expect(segment).toMatchObject({ name: 'VIPs', type: 'manual' });
      expect(fake.members(segment.id)).toEqual(['1', '2', '3']);
      expect(fake.person('2')).toMatchObject({ email: 'bob@x.io', attributes: { first_name: 'Bob', plan: 'pro' } });

      await setPeople([
        [1, 'ann@x.io', 'Ann', 'free'],
        [2, 'bob@x.io', 'Bob', 'team'],
        [4, 'di@x.io', 'Di', 'pro'],
      ]);
      expect(await run(target)).toMatchObject({ status: 'succeeded', added: 1, changed: 1, removed: 1, failed: 0 });
      expect(fake.members(segment.id)).toEqual(['1', '2', '4']);
      expect(fake.person('2')?.attributes.plan).toBe('team');
      expect(fake.person('3')).toBeDefined(); // leaving the segment keeps the person
    });
  });
});

/** A temporary DuckDB project with a `people` table, and a runner of real syncs against the fake server. */
async function withWarehouse(fn: (w: { setPeople: (rows: [number, string, string, string][]) => Promise<void>; run: (t: SyncTarget) => Promise<Record<string, unknown>> }) => Promise<void>): Promise<void> {
  const p = new TempProject({ 'cdp.yaml': 'name: cio_sync\nwarehouse: { type: duckdb }\n', 'seeds/people.csv': 'id,email,name,plan\n0,z@x.io,Z,free\n' });
  const ws = await Workspace.open(p.config({ CDP_WAREHOUSE_SCHEMA: 'cio_main' }));
  try {
    await new ModelEngine(ws).seed({});
    const table = ws.warehouse.dialect.relation({ schema: 'cio_main', name: 'people' });
    const runner = new SyncRunner(ws, memoryLogger(), { sleep: () => Promise.resolve(), baseDelayMs: 1 });
    await fn({
      setPeople: async (rows) => {
        await ws.warehouse.execute(`delete from ${table}`);
        for (const r of rows) await ws.warehouse.execute(`insert into ${table} (id, email, name, plan) values (?, ?, ?, ?)`, r);
      },
      run: async (t) => (await runner.run(t, ws.project(), { trigger: 'manual' })) as unknown as Record<string, unknown>,
    });
  } finally {
    await ws.close();
    p.cleanup();
  }
}

function syncTarget(input: SyncDefinitionInput): SyncTarget {
  const definition = syncSchema.parse(input);
  const destinationSettings = customerio.settings.parse(settings({ app_api_key: APP_KEY }));
  const action = customerio.actions[definition.action as string];
  return {
    definition,
    where: `syncs/${definition.name}.yaml`,
    destination: { name: 'cio', definition: customerio, settings: destinationSettings, secrets: [KEY, APP_KEY] },
    actionName: definition.action as string,
    action,
    options: action.options.parse(definition.options) as Record<string, unknown>,
    http: createHttpClient(customerio, destinationSettings, { instance: 'cio', logger: memoryLogger(), secrets: [KEY, APP_KEY] }),
  };
}

describe('customerio events (event forwarding, mode insert)', () => {
  const events = customerio.actions.events;
  const eventContext = (options: Record<string, unknown> = {}) => actionContext(customerio, 'events', { settings: settings(), options, sync: { name: 'orders_to_cio', mode: 'insert' } });
  const event = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'insert', key, fields });
  const AT = '2026-07-01T10:00:00.000Z';
  const AT_S = Date.parse(AT) / 1000;
  const MSG_ULID = '01J1V5ZK3Q8Y7X6W5V4T3S2R1P';

  it('definition: mode insert only, 1,000 events a batch (10,000 at most), one batch at a time, options like people', () => {
    expect(events.modes).toEqual(['insert']);
    expect([events.batchSize, events.maxBatchSize, events.concurrency]).toEqual([1_000, 10_000, 1]);
    expect(Object.entries(events.fields).filter(([, f]) => f.identifier).map(([k]) => k)).toEqual(['id', 'email', 'cio_id']);
    expect(Object.entries(events.fields).filter(([, f]) => f.required).map(([k]) => k)).toEqual(['event']);
    expect(events.options.safeParse({}).success).toBe(true);
    expect(events.options.safeParse({ identify_by: 'email' }).success).toBe(true);
    expect(events.options.safeParse({ segment_id: 3 }).success).toBe(false);
  });

  it('eventId: a ULID message id as it is; any other becomes a ULID of the event time and a hash of the message id, the same every time', () => {
    expect(eventId(MSG_ULID.toLowerCase(), undefined)).toBe(MSG_ULID);
    const derived = eventId('ajs-next-1a2b3c', new Date(AT));
    expect(derived).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(eventId('ajs-next-1a2b3c', new Date(AT))).toBe(derived);
    expect(eventId('ajs-next-1a2b3d', new Date(AT))).not.toBe(derived);
    // the first 10 characters are the time in ms (Crockford base32), as in any ULID
    const ms = [...derived.slice(0, 10)].reduce((n, c) => n * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c), 0);
    expect(ms).toBe(Date.parse(AT));
    expect(eventId('no-time', undefined)).toMatch(/^0000000000[0-9A-HJKMNP-TV-Z]{16}$/);
  });

  it('one v2 batch of event operations in row order: one identifier, name, id from the message id, Unix seconds, data with traits; bad rows fail alone; a repeated message id is sent once', async () => {
    upstream.reply(ok());
    const ctx = eventContext();
    const results = await events.performBatch(
      [
        event(MSG_ULID, { event: 'Order Completed', timestamp: AT, id: 42, email: 'Ada@Example.com', properties: { order_id: 'o1', total: 42.5, shipped_at: new Date(AT) }, coupon: 'SPRING', traits: { plan: 'pro', since: new Date('2024-01-01T00:00:00Z') } }),
        event('msg-2', { event: 'Product Viewed', timestamp: new Date('2026-07-01T10:05:00Z'), email: 'b@example.com', properties: '{"sku":"S1"}' }),
        event('msg-3', { event: 'Signed Up', cio_id: 'cio_a3000001' }),
        event('msg-4', { id: 'u4' }),
        event('msg-5', { event: 'Order Completed' }),
        event('msg-6', { event: 'Order Completed', email: 'nope' }),
        event('msg-7', { event: 'Order Completed', id: 'u7', timestamp: 'last tuesday' }),
        event('msg-8', { event: 'Order Completed', id: 'u8', properties: 3 }),
        { op: 'upsert', key: 'msg-9', fields: { event: 'Order Completed', id: 'u9' } },
        event(MSG_ULID, { event: 'Order Completed', timestamp: AT, id: 42 }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'the row has no event name (map the event field)' },
      { ok: false, error: 'the row has no cio_id, id or email' },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'timestamp is not a date (ISO 8601 or epoch seconds)' },
      { ok: false, error: 'properties must be an object' },
      { ok: false, error: 'Customer.io events take insert (got upsert)' },
      { ok: true },
    ]);
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual(['POST', '/api/v2/batch', BASIC, 'application/json']);
    expect(req.json).toEqual({
      batch: [
        {
          type: 'person',
          identifiers: { id: '42' },
          action: 'event',
          name: 'Order Completed',
          id: MSG_ULID,
          timestamp: AT_S,
          attributes: { order_id: 'o1', total: 42.5, shipped_at: AT_S, coupon: 'SPRING', traits: { plan: 'pro', since: 1704067200 } },
        },
        { type: 'person', identifiers: { email: 'b@example.com' }, action: 'event', name: 'Product Viewed', id: eventId('msg-2', new Date('2026-07-01T10:05:00Z')), timestamp: AT_S + 300, attributes: { sku: 'S1' } },
        { type: 'person', identifiers: { cio_id: 'a3000001' }, action: 'event', name: 'Signed Up', id: eventId('msg-3', undefined) },
      ],
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('identify_by: email names the person by email even when the row has an id', async () => {
    upstream.reply(ok());
    await events.performBatch([event('m1', { event: 'Viewed', id: 'u1', email: 'a@example.com' })], eventContext({ identify_by: 'email' }));
    expect(batchOf()).toEqual([{ type: 'person', identifiers: { email: 'a@example.com' }, action: 'event', name: 'Viewed', id: eventId('m1', undefined) }]);
  });

  it('batching: requests under 500 KB in row order (1,000 events a batch by default); an event over 32 KB fails alone', async () => {
    upstream.handle(() => ok());
    const rows = Array.from({ length: 1_000 }, (_, i) => event(`m${i}`, { event: 'Viewed', id: `u${i % 10}`, timestamp: AT, properties: { note: 'x'.repeat(900) } }));
    rows.push(event('big', { event: 'Viewed', id: 'u1', properties: { note: 'y'.repeat(33_000) } }));
    const results = await events.performBatch(rows, eventContext());
    expect(results.slice(0, 1_000).every((r) => r.ok)).toBe(true);
    expect(results[1_000]).toEqual({ ok: false, error: expect.stringMatching(/^the event is \d+ bytes; Customer.io takes at most 32000 per operation$/) as string });
    expect(upstream.requests.length).toBeGreaterThan(1);
    for (const r of upstream.requests) expect(Buffer.byteLength(r.rawBody)).toBeLessThan(500_000);
    const sent = upstream.requests.flatMap((r) => (r.json as { batch: { id: string }[] }).batch.map((op) => op.id));
    expect(sent).toEqual(rows.slice(0, 1_000).map((r) => eventId(r.key, new Date(AT))));
  });

  it('207: the events Customer.io names by batch_index fail with its reason, the others are ok; 207 naming none, or 400 → the batch is rejected (re-sending is safe: ids)', async () => {
    const rows = [event('a', { event: 'Viewed', id: 'u1' }), event('b', { event: 'Viewed', id: 'u2' }), event('c', { event: 'Viewed', id: 'u3' })];
    upstream.reply(multiStatus({ batch_index: 1, reason: 'invalid', field: 'name', message: 'event name too long' }), multiStatus({ batch_index: 9, reason: 'invalid' }), { status: 400, body: { errors: [{ reason: 'malformed', message: 'bad json' }] } });
    expect(await events.performBatch(rows, eventContext())).toEqual([{ ok: true }, { ok: false, error: 'Customer.io rejected this event: invalid: event name too long (field name)' }, { ok: true }]);
    await expect(events.performBatch(rows, eventContext())).rejects.toBeInstanceOf(BatchRejectedError);
    await expect(events.performBatch(rows, eventContext())).rejects.toThrow(new BatchRejectedError('Customer.io answered 400 for sending a batch of events: malformed: bad json'));
  });

  it('throttling: 429 with Retry-After → RetryableError with the delay, without → no delay; 401 → ConfigurationError', async () => {
    const rows = [event('a', { event: 'Viewed', id: 'u1' })];
    upstream.reply({ status: 429, headers: { 'retry-after': '5' }, body: { meta: { error: 'rate limited' } } }, { status: 429, body: { meta: { error: 'rate limited' } } }, { status: 401, body: 'Unauthorized request' });
    const first = await events.performBatch(rows, eventContext()).catch((e: unknown) => e);
    expect([first instanceof RetryableError, (first as RetryableError).retryAfterMs]).toEqual([true, 5_000]);
    const second = await events.performBatch(rows, eventContext()).catch((e: unknown) => e);
    expect([second instanceof RetryableError, (second as RetryableError).retryAfterMs]).toEqual([true, undefined]);
    await expect(events.performBatch(rows, eventContext())).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('against the stateful fake: events land in order on each person, once, even when a batch is sent again (Customer.io drops a known id)', async () => {
    const fake = new CustomerIoFake({ siteId: SITE, apiKey: KEY });
    upstream.handle(fake.handler);
    const batch = [
      event('e1', { event: 'Signed Up', id: 'u1', timestamp: '2026-07-01T09:00:00Z', traits: { plan: 'free' } }),
      event('e2', { event: 'Signed Up', email: 'bob@x.io', timestamp: '2026-07-01T09:01:00Z' }),
      event('e3', { event: 'Upgraded', id: 'u1', timestamp: '2026-07-01T09:02:00Z', properties: { to: 'pro' } }),
    ];
    expect((await events.performBatch(batch, eventContext())).every((r) => r.ok)).toBe(true);
    // a retry after a lost answer: the same events again, then a new one
    expect((await events.performBatch(batch, eventContext())).every((r) => r.ok)).toBe(true);
    await events.performBatch([event('e4', { event: 'Order Completed', id: 'u1', timestamp: '2026-07-01T09:03:00Z', properties: { total: 9 } })], eventContext());
    expect(fake.eventsOf('u1').map((e) => [e.name, e.timestamp, e.attributes])).toEqual([
      ['Signed Up', Date.parse('2026-07-01T09:00:00Z') / 1000, { traits: { plan: 'free' } }],
      ['Upgraded', Date.parse('2026-07-01T09:02:00Z') / 1000, { to: 'pro' }],
      ['Order Completed', Date.parse('2026-07-01T09:03:00Z') / 1000, { total: 9 }],
    ]);
    expect(fake.eventsOf('bob@x.io').map((e) => e.name)).toEqual(['Signed Up']);
    expect(fake.duplicates).toBe(3);
    // a message id that is not a ULID, sent raw, is what Customer.io rejects: hence the derived id
    const raw = await eventContext().http.request<{ errors: unknown[] }>({ method: 'POST', url: 'api/v2/batch', body: { batch: [{ type: 'person', identifiers: { id: 'u1' }, action: 'event', name: 'Viewed', id: 'e5' }] } });
    expect([raw.status, raw.data.errors]).toEqual([207, [{ batch_index: 0, reason: 'invalid', field: 'id', message: 'id must be a ULID' }]]);
  });

  it('a real sync (DuckDB, the sync engine) of an event table in mode insert: each event is sent once, new events only on the next run', async () => {
    const fake = new CustomerIoFake({ siteId: SITE, apiKey: KEY });
    upstream.handle(fake.handler);
    const p = new TempProject({ 'cdp.yaml': 'name: cio_events\nwarehouse: { type: duckdb }\n', 'seeds/order_events.csv': 'message_id,user_id,event,ts,total\nm0,u0,Seed,2026-07-01T08:00:00Z,0\n' });
    const ws = await Workspace.open(p.config({ CDP_WAREHOUSE_SCHEMA: 'cio_ev' }));
    try {
      await new ModelEngine(ws).seed({});
      const table = ws.warehouse.dialect.relation({ schema: 'cio_ev', name: 'order_events' });
      const runner = new SyncRunner(ws, memoryLogger(), { sleep: () => Promise.resolve(), baseDelayMs: 1 });
      const definition = syncSchema.parse({
        name: 'orders_to_cio',
        source: { model: 'order_events' },
        primary_key: 'message_id',
        destination: 'cio',
        mode: 'insert',
        mapping: { id: 'user_id', event: 'event', timestamp: 'ts', 'properties.total': { column: 'total', type: 'number' } },
      });
      const destinationSettings = customerio.settings.parse(settings());
      const target: SyncTarget = {
        definition,
        where: 'syncs/orders_to_cio.yaml',
        destination: { name: 'cio', definition: customerio, settings: destinationSettings, secrets: [KEY] },
        actionName: 'events',
        action: events,
        options: events.options.parse({}) as Record<string, unknown>,
        http: createHttpClient(customerio, destinationSettings, { instance: 'cio', logger: memoryLogger(), secrets: [KEY] }),
      };
      const insert = async (rows: [string, string, string, string, number][]) => {
        for (const r of rows) await ws.warehouse.execute(`insert into ${table} (message_id, user_id, event, ts, total) values (?, ?, ?, ?, ?)`, r);
      };
      await ws.warehouse.execute(`delete from ${table}`);
      await insert([
        ['m1', 'u1', 'Signed Up', '2026-07-01T09:00:00Z', 0],
        ['m2', 'u1', 'Order Completed', '2026-07-01T09:05:00Z', 30],
      ]);
      expect(await runner.run(target, ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', added: 2, succeeded: 2, failed: 0 });
      await insert([['m3', 'u1', 'Order Completed', '2026-07-01T09:10:00Z', 12]]);
      expect(await runner.run(target, ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', added: 1, succeeded: 1, failed: 0 });
      expect(fake.eventsOf('u1').map((e) => [e.name, e.attributes.total])).toEqual([
        ['Signed Up', 0],
        ['Order Completed', 30],
        ['Order Completed', 12],
      ]);
      expect(fake.duplicates).toBe(0);
    } finally {
      await ws.close();
      p.cleanup();
    }
  });
});
