import { createHttpClient } from '../../src/destinations/http/http-client';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { customerio } from '../../src/destinations/customerio';
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
