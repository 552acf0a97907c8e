import type { OutgoingRow, SyncMode } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { audienceAttribute, braze } from '../../src/destinations/braze';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { FakeBraze } from '../support/fakes/braze';
import { actionContext, testContext } from './harness';

/**
 * Braze publishes no OpenAPI spec (reference §2: only a Postman collection; the third-party
 * conversion has untyped bodies), so there is no Prism here: the requests are pinned exactly, and
 * the stateful fake (test/support/fakes/braze.ts) checks every body against Braze's documented
 * contract, failing the test through `violations`.
 */
const KEY = 'braze-test-key';
const action = braze.actions.users;

let upstream: FakeServer;
let fake: FakeBraze;

beforeAll(async () => {
  upstream = await FakeServer.start();
});
afterAll(() => upstream.close());
beforeEach(() => {
  fake = new FakeBraze();
  upstream.reset().handle(fake.handle);
});
afterEach(() => expect(fake.violations).toEqual([]));

const settings = () => ({ api_key: KEY, rest_endpoint: upstream.url });
const context = (mode: SyncMode, options: Record<string, unknown> = {}, name = 'vip_customers') => actionContext(braze, 'users', { settings: settings(), options, sync: { name, mode } });
const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const json = (status: number, body: unknown, headers: Record<string, string> = {}): ScriptedResponse => ({ status, body, headers: { 'content-type': 'application/json', ...headers } });
const tracks = () => upstream.requests.filter((r) => r.path === '/users/track');
const attributesOf = (i = 0) => (tracks()[i].json as { attributes: Record<string, unknown>[] }).attributes;

describe('braze: definition', () => {
  it('settings: a secret api_key and the instance REST endpoint (no default: each workspace is on its own cluster)', () => {
    expect(braze.settings.safeParse({ api_key: 'k' }).success).toBe(false);
    expect(braze.settings.safeParse({ api_key: 'k', rest_endpoint: 'rest.iad-01.braze.com' }).success).toBe(false);
    expect(braze.settings.parse({ api_key: 'k', rest_endpoint: 'https://rest.fra-01.braze.eu' })).toEqual({ api_key: 'k', rest_endpoint: 'https://rest.fra-01.braze.eu' });
    expect(braze.accountKey!(braze.settings.parse({ api_key: 'k', rest_endpoint: 'https://rest.fra-01.braze.eu/' }))).toMatch(/^rest\.fra-01\.braze\.eu:[0-9a-f]{16}$/);
    expect([braze.slug, braze.category, braze.rateLimit]).toEqual(['braze', 'messaging', { requests: 3_000, perMs: 3_000 }]);
  });

  it('action users: modes, 75 objects per call, options checked', () => {
    expect(action.modes).toEqual(['upsert', 'update', 'mirror', 'audience']);
    expect([action.batchSize, action.maxBatchSize, action.concurrency]).toEqual([75, 75, 4]);
    expect(Object.entries(action.fields).filter(([, f]) => f.identifier).map(([k]) => k)).toEqual(['external_id', 'user_alias', 'braze_id', 'email', 'phone']);
    expect(action.options.safeParse({}).success).toBe(true);
    expect(action.options.safeParse({ audience_attribute: 'in_vip', audience_value: 'vip' }).success).toBe(true);
    expect(action.options.safeParse({ audience_attribute: 'email' }).success).toBe(false);
    expect(action.options.safeParse({ audience_attribute: '$vip' }).success).toBe(false);
    expect(action.options.safeParse({ list_id: 'x' }).success).toBe(false);
    expect(audienceAttribute({ options: {}, sync: { name: 'vip-customers.eu', runId: 'r', mode: 'audience' } })).toBe('cdp_vip_customers_eu');
  });
});

describe('braze: requests per mode', () => {
  it('upsert: one POST /users/track; Bearer key; standard fields normalized, custom attributes kept, null clears; bad rows fail alone', async () => {
    const ctx = context('upsert');
    const results = await action.performBatch(
      [
        row('upsert', '1', {
          external_id: 'u1',
          email: ' Ada@Example.COM ',
          phone: '(650) 253-0000',
          country: 'us',
          first_name: 'Ada',
          gender: 'female',
          dob: new Date('1815-12-10T00:00:00Z'),
          email_subscribe: 'Opted_In',
          home_city: null,
          lifetime_value: 120.5,
          last_order_at: new Date('2026-07-01T10:00:00Z'),
          custom_attributes: { plan: 'pro', tags: ['a', 'b'] },
        }),
        row('upsert', '2', { user_alias: { alias_name: 'anon-2', alias_label: 'crm' }, first_name: 'Two' }),
        row('upsert', '3', { email: 'c@example.com', last_name: 'Three' }),
        row('upsert', '4', { phone: '+44 20 7946 0000' }),
        row('upsert', '5', { email: 'not-an-email', external_id: 'u5' }),
        row('upsert', '6', { first_name: 'Nobody' }),
        row('upsert', '7', { external_id: 'u7', gender: 'sometimes' }),
        row('upsert', '8', { external_id: 'u8', dob: 'yesterday' }),
        row('upsert', '9', { user_alias: { alias_name: 'x' } }),
        row('insert', '10', { external_id: 'u10' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no external_id, user_alias, braze_id, email or phone' },
      { ok: false, error: 'gender must be M, F, O, N or P (male, female, other, not applicable, prefer not to say)' },
      { ok: false, error: 'dob must be a date (YYYY-MM-DD)' },
      { ok: false, error: 'user_alias needs alias_name and alias_label' },
      { ok: false, error: 'Braze users take upsert, update, delete, add and remove (got insert)' },
    ]);
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual(['POST', '/users/track', `Bearer ${KEY}`, 'application/json']);
    expect(req.json).toEqual({
      attributes: [
        {
          external_id: 'u1',
          _update_existing_only: false,
          email: 'ada@example.com',
          phone: '+16502530000',
          country: 'US',
          first_name: 'Ada',
          gender: 'F',
          dob: '1815-12-10',
          email_subscribe: 'opted_in',
          home_city: null,
          lifetime_value: 120.5,
          last_order_at: '2026-07-01T10:00:00.000Z',
          plan: 'pro',
          tags: ['a', 'b'],
        },
        { user_alias: { alias_name: 'anon-2', alias_label: 'crm' }, _update_existing_only: false, first_name: 'Two' },
        { email: 'c@example.com', _update_existing_only: false, last_name: 'Three' },
        { phone: '+442079460000', _update_existing_only: false },
      ],
    });
    expect(fake.user('u1')?.attributes).toMatchObject({ first_name: 'Ada', plan: 'pro' });
    expect(fake.user('anon-2', 'alias_name')).toBeDefined();
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('update: `_update_existing_only: true`: Braze changes the users it has and creates nobody', async () => {
    fake.addUser({ external_id: 'u1', attributes: { first_name: 'Ann' } });
    const results = await action.performBatch([row('update', '1', { external_id: 'u1', first_name: 'Anne' }), row('update', '2', { external_id: 'u2', first_name: 'New' })], context('update'));
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    expect(attributesOf()).toEqual([
      { external_id: 'u1', first_name: 'Anne', _update_existing_only: true },
      { external_id: 'u2', first_name: 'New', _update_existing_only: true },
    ]);
    expect(fake.user('u1')?.attributes).toEqual({ first_name: 'Anne' });
    expect(fake.user('u2')).toBeUndefined();
  });

  it('mirror: upserts go to /users/track, deletes to /users/delete, one identifier kind per request; email deletes carry a prioritization; a phone-only delete fails', async () => {
    const results = await action.performBatch(
      [
        row('upsert', '1', { external_id: 'u1', first_name: 'Ann' }),
        row('delete', '2', { external_id: 'u2', email: 'b@example.com' }),
        row('delete', '3', { email: 'C@example.com' }),
        row('delete', '4', { user_alias: { alias_name: 'anon-4', alias_label: 'crm' } }),
        row('delete', '5', { external_id: 'u5' }),
        row('delete', '6', { phone: '+16502530000' }),
      ],
      context('mirror'),
    );
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: false, error: 'Braze deletes users by external_id, user_alias, braze_id or email; this row has only a phone' }]);
    expect(upstream.requests.map((r) => [r.path, r.json])).toEqual([
      ['/users/track', { attributes: [{ external_id: 'u1', first_name: 'Ann', _update_existing_only: false }] }],
      ['/users/delete', { external_ids: ['u2', 'u5'] }],
      ['/users/delete', { email_addresses: [{ email: 'c@example.com', prioritization: ['identified', 'most_recently_updated'] }] }],
      ['/users/delete', { user_aliases: [{ alias_name: 'anon-4', alias_label: 'crm' }] }],
    ]);
  });

  it('audience: a boolean custom attribute (default cdp_<sync name>): true with the fields on add, false (update-only) on remove', async () => {
    const results = await action.performBatch(
      [row('add', '1', { external_id: 'u1', first_name: 'Ann' }), row('remove', '2', { email: 'b@example.com', first_name: 'Bob' }), row('upsert', '3', { external_id: 'u3' })],
      context('audience'),
    );
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(attributesOf()).toEqual([
      { external_id: 'u1', first_name: 'Ann', cdp_vip_customers: true, _update_existing_only: false },
      { email: 'b@example.com', cdp_vip_customers: false, _update_existing_only: true },
      { external_id: 'u3', _update_existing_only: false },
    ]);
  });

  it('audience and mirror: a remove or delete needs only its identifiers (other bad fields do not fail it)', async () => {
    await action.performBatch([row('remove', '1', { external_id: 'u1', gender: 'sometimes', dob: 'never' })], context('audience'));
    await action.performBatch([row('delete', '2', { external_id: 'u2', country: 'Narnia' })], context('mirror'));
    expect(upstream.requests.map((r) => r.json)).toEqual([{ attributes: [{ external_id: 'u1', cdp_vip_customers: false, _update_existing_only: true }] }, { external_ids: ['u2'] }]);
  });

  it('audience with audience_value: an array attribute several syncs share ({add: [value]} / {remove: [value]})', async () => {
    fake.addUser({ external_id: 'u2', attributes: { cdp_segments: ['churn_risk', 'vip'] } });
    const ctx = context('audience', { audience_attribute: 'cdp_segments', audience_value: 'vip' });
    await action.performBatch([row('add', '1', { external_id: 'u1' }), row('remove', '2', { external_id: 'u2' })], ctx);
    expect(attributesOf()).toEqual([
      { external_id: 'u1', cdp_segments: { add: ['vip'] }, _update_existing_only: false },
      { external_id: 'u2', cdp_segments: { remove: ['vip'] }, _update_existing_only: true },
    ]);
    expect([fake.user('u1')?.attributes.cdp_segments, fake.user('u2')?.attributes.cdp_segments]).toEqual([['vip'], ['churn_risk']]);
  });
});

describe('braze: batching', () => {
  it('75 rows → one /users/track request of 75 objects; more rows given at once are split at 75', async () => {
    const rows = Array.from({ length: 160 }, (_, i) => row('upsert', String(i), { external_id: `u${i}`, n: i }));
    expect(await action.performBatch(rows.slice(0, 75), context('upsert'))).toHaveLength(75);
    expect(tracks().map((r) => (r.json as { attributes: unknown[] }).attributes.length)).toEqual([75]);
    upstream.requests.length = 0;
    const results = await action.performBatch(rows, context('upsert'));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(tracks().map((r) => (r.json as { attributes: unknown[] }).attributes.length)).toEqual([75, 75, 10]);
    expect(fake.users.size).toBe(160);
  });

  it('deletes: at most 50 identifiers per /users/delete request', async () => {
    const rows = Array.from({ length: 75 }, (_, i) => row('delete', String(i), { external_id: `u${i}` }));
    await action.performBatch(rows, context('mirror'));
    expect(upstream.requests.map((r) => [r.path, (r.json as { external_ids: string[] }).external_ids.length])).toEqual([
      ['/users/delete', 50],
      ['/users/delete', 25],
    ]);
  });
});

describe('braze: partial failures and rejected requests', () => {
  const rows = [row('upsert', '1', { external_id: 'u1' }), row('upsert', '2', { email: 'b@example.com' }), row('upsert', '3', { external_id: 'u3' })];

  it('"success" with errors: each error’s index fails its row with Braze’s reason, the others are ok', async () => {
    fake.rejectObject = (o) => (o.external_id === 'u3' ? "'external_id' is blacklisted and disallowed" : undefined);
    upstream.reply(
      json(201, { message: 'success', attributes_processed: 1, errors: [{ type: 'The value provided for the email field is not valid.', input_array: 'attributes', index: 1 }] }),
    );
    expect(await action.performBatch(rows, context('upsert'))).toEqual([{ ok: true }, { ok: false, error: 'Braze rejected this user: The value provided for the email field is not valid.' }, { ok: true }]);
    // the stateful fake answers the same way
    expect(await action.performBatch(rows, context('upsert'))).toEqual([{ ok: true }, { ok: true }, { ok: false, error: "Braze rejected this user: 'external_id' is blacklisted and disallowed" }]);
    expect(fake.user('u3')).toBeUndefined();
  });

  it('an error without an index: the row of a one-object request fails; a larger request is rejected (the engine bisects)', async () => {
    upstream.reply(json(201, { message: 'success', errors: ['minor error'] }), json(201, { message: 'success', errors: [{ type: 'minor error' }] }));
    expect(await action.performBatch([rows[0]], context('upsert'))).toEqual([{ ok: false, error: 'Braze rejected this user: minor error' }]);
    await expect(action.performBatch(rows, context('upsert'))).rejects.toEqual(new BatchRejectedError('Braze reported errors that point at no object of the request: minor error'));
  });

  it('202 "queued" (maintenance) is accepted; a 2xx without "success" is a rejected request', async () => {
    upstream.reply(json(202, { message: 'queued' }), json(201, { message: 'something odd' }));
    expect(await action.performBatch(rows, context('upsert'))).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    await expect(action.performBatch(rows, context('upsert'))).rejects.toEqual(new BatchRejectedError('Braze answered 201 to /users/track without success: something odd'));
  });

  it('a fatal 400 → BatchRejectedError with Braze’s message; 404 (wrong endpoint) → ConfigurationError', async () => {
    upstream.reply(json(400, { message: 'Invalid attributes', errors: [{ type: 'bad', input_array: 'attributes', index: 0 }] }), json(404, { message: 'Not found' }));
    await expect(action.performBatch(rows, context('upsert'))).rejects.toEqual(new BatchRejectedError('Braze answered 400 for /users/track: Invalid attributes'));
    const e = await action.performBatch(rows, context('upsert')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).toMatch(/^Braze answered 404 for \/users\/track: Not found \(check rest_endpoint/);
  });

  it('a delete rejected → BatchRejectedError', async () => {
    upstream.reply(json(400, { message: 'Only one of external_ids, user_aliases, braze_ids, email_addresses or phone_numbers' }));
    await expect(action.performBatch([row('delete', '1', { external_id: 'u1' })], context('mirror'))).rejects.toBeInstanceOf(BatchRejectedError);
  });

  it.each([401, 403])('%s → ConfigurationError; the key in no message or log', async (status) => {
    upstream.reply(json(status, { message: `Invalid API key: ${KEY}` }));
    const ctx = context('upsert');
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).not.toContain(KEY);
    expect(ctx.logger.text()).not.toContain(KEY);
  });
});

describe('braze: throttling', () => {
  const rows = [row('upsert', '1', { external_id: 'u1' })];

  it('429 with Retry-After → RetryableError after that delay', async () => {
    upstream.reply(json(429, { message: 'API rate limit exceeded' }, { 'retry-after': '4' }));
    const e = await action.performBatch(rows, context('upsert')).catch((x: unknown) => x);
    expect([e instanceof RetryableError, (e as RetryableError).retryAfterMs]).toEqual([true, 4_000]);
  });

  it('429 without Retry-After → the delay until Braze’s X-RateLimit-Reset (epoch seconds)', async () => {
    const reset = Math.floor(Date.now() / 1000) + 30;
    upstream.reply(json(429, { message: 'API rate limit exceeded' }, { 'x-ratelimit-limit': '3000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }));
    const e = await action.performBatch(rows, context('upsert')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    const ms = (e as RetryableError).retryAfterMs!;
    expect(ms).toBeGreaterThan(27_000);
    expect(ms).toBeLessThanOrEqual(30_000);
  });

  it('429 with no header → RetryableError without a delay (the engine backs off); 5xx → RetryableError', async () => {
    upstream.reply(json(429, { message: 'API rate limit exceeded' }), json(503, { message: 'Service unavailable' }));
    const e = await action.performBatch(rows, context('upsert')).catch((x: unknown) => x);
    expect([e instanceof RetryableError, (e as RetryableError).retryAfterMs]).toEqual([true, undefined]);
    await expect(action.performBatch(rows, context('upsert'))).rejects.toBeInstanceOf(RetryableError);
  });

  it('deletes are throttled the same way', async () => {
    upstream.reply(json(429, { message: 'API rate limit exceeded' }, { 'retry-after': '2' }));
    const e = await action.performBatch([row('delete', '1', { external_id: 'u1' })], context('mirror')).catch((x: unknown) => x);
    expect([e instanceof RetryableError, (e as RetryableError).retryAfterMs]).toEqual([true, 2_000]);
  });
});

describe('braze: testConnection', () => {
  it('sends an update-only object for an id nobody has: the key works and nothing is created', async () => {
    await braze.testConnection!(testContext(braze, settings()));
    expect(upstream.last.json).toEqual({ attributes: [{ external_id: 'composable-cdp-connection-test', _update_existing_only: true }] });
    expect(fake.users.size).toBe(0);
  });

  it('a bad key, or a wrong endpoint, is a configuration error', async () => {
    const ctx = testContext(braze, { api_key: 'wrong-key-123456', rest_endpoint: upstream.url });
    await expect(braze.testConnection!(ctx)).rejects.toBeInstanceOf(ConfigurationError);
    expect(ctx.logger.text()).not.toContain('wrong-key-123456');
    upstream.reply(json(404, { message: 'Not found' }));
    await expect(braze.testConnection!(testContext(braze, settings()))).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('braze: against the stateful fake (adds, changes, removals)', () => {
  it('mirror: Braze ends up holding the model’s users, with their attributes', async () => {
    const ctx = context('mirror');
    const run1 = await action.performBatch(
      [
        row('upsert', '1', { external_id: 'u1', email: 'a@example.com', first_name: 'Ann', plan: 'free' }),
        row('upsert', '2', { external_id: 'u2', email: 'b@example.com', first_name: 'Bob', plan: 'pro' }),
        row('upsert', '3', { email: 'c@example.com', first_name: 'Cy' }),
      ],
      ctx,
    );
    expect(run1.every((r) => r.ok)).toBe(true);
    // run 2: Bob changes plan and loses his first name, Cy leaves, Di arrives
    const run2 = await action.performBatch(
      [row('upsert', '2', { external_id: 'u2', email: 'b@example.com', first_name: null, plan: 'team' }), row('delete', '3', { email: 'c@example.com' }), row('upsert', '4', { external_id: 'u4', email: 'd@example.com' })],
      ctx,
    );
    expect(run2.every((r) => r.ok)).toBe(true);
    expect([...fake.users.values()].map((u) => u.email).sort()).toEqual(['a@example.com', 'b@example.com', 'd@example.com']);
    expect(fake.user('u2')?.attributes).toEqual({ plan: 'team' });
  });

  it('audience: members carry the attribute true, leavers false; leavers Braze does not know are not created', async () => {
    const ctx = context('audience', {}, 'vip');
    await action.performBatch([row('add', '1', { external_id: 'u1' }), row('add', '2', { external_id: 'u2' }), row('remove', '9', { external_id: 'u9' })], ctx);
    await action.performBatch([row('remove', '1', { external_id: 'u1' }), row('add', '3', { email: 'c@example.com' })], ctx);
    expect([...fake.users.values()].map((u) => [u.external_id ?? u.email, u.attributes.cdp_vip])).toEqual([
      ['u1', false],
      ['u2', true],
      ['c@example.com', true],
    ]);
    expect(fake.user('u9')).toBeUndefined();
  });
});
