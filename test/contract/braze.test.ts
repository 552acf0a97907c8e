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

describe('braze: events (event forwarding, mode insert)', () => {
  const events = braze.actions.events;
  const eventContext = () => actionContext(braze, 'events', { settings: settings(), sync: { name: 'orders_to_braze', mode: 'insert' } });
  const event = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'insert', key, fields });
  const bodies = () => tracks().map((r) => r.json as { attributes?: Record<string, unknown>[]; events: Record<string, unknown>[] });
  const AT = '2026-07-01T10:00:00.000Z';

  it('definition: mode insert only, 75 objects a request, one batch at a time (order per profile), no options', () => {
    expect(events.modes).toEqual(['insert']);
    expect([events.batchSize, events.maxBatchSize, events.concurrency]).toEqual([75, 75, 1]);
    expect(Object.entries(events.fields).filter(([, f]) => f.identifier).map(([k]) => k)).toEqual(['external_id', 'user_alias', 'braze_id', 'email', 'phone']);
    expect(Object.entries(events.fields).filter(([, f]) => f.required).map(([k]) => k)).toEqual(['event', 'timestamp']);
    expect(events.customFields).toBe(true);
    expect(events.options.safeParse({}).success).toBe(true);
    expect(events.options.safeParse({ app_id: 'x' }).success).toBe(false);
  });

  it('one /users/track with the events in row order; traits as the user’s attributes object; bad rows fail alone; a repeated message id is sent once', async () => {
    const ctx = eventContext();
    const results = await events.performBatch(
      [
        event('msg-1', { event: 'Order Completed', timestamp: AT, external_id: 'u1', email: 'Ada@Example.com', properties: { order_id: 'o1', total: 42.5 }, coupon: 'SPRING', traits: { first_name: 'Ada', plan: 'pro', email: 'x@example.com' } }),
        event('msg-2', { event: 'Product Viewed', timestamp: new Date('2026-07-01T10:05:00Z'), email: 'b@example.com', app_id: 'app-123', properties: '{"sku":"S1","seen_at":"2026-07-01"}' }),
        event('msg-3', { event: 'Signed Up', timestamp: 1782900000, user_alias: { alias_name: 'anon-3', alias_label: 'web' } }),
        event('msg-4', { timestamp: AT, external_id: 'u4' }),
        event('msg-5', { event: 'Order Completed', timestamp: AT }),
        event('msg-6', { event: 'Order Completed', external_id: 'u6' }),
        event('msg-7', { event: 'Order Completed', timestamp: 'last tuesday', external_id: 'u7' }),
        event('msg-8', { event: 'Order Completed', timestamp: AT, external_id: 'u8', properties: ['not', 'an', 'object'] }),
        event('msg-9', { event: 'Order Completed', timestamp: AT, external_id: 'u9', properties: { $price: 1 } }),
        event('msg-10', { event: 'Order Completed', timestamp: AT, external_id: 'u10', traits: { gender: 'sometimes' } }),
        { op: 'upsert', key: 'msg-11', fields: { event: 'Order Completed', timestamp: AT, external_id: 'u11' } },
        event('msg-1', { event: 'Order Completed', timestamp: AT, external_id: 'u1', properties: { order_id: 'o1', total: 42.5 } }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'the row has no event name (map the event field)' },
      { ok: false, error: 'the row has no external_id, user_alias, braze_id, email or phone' },
      { ok: false, error: 'the row has no timestamp (Braze records each event at its time: map the timestamp field)' },
      { ok: false, error: 'timestamp is not a date (ISO 8601 or epoch seconds)' },
      { ok: false, error: 'properties must be an object' },
      { ok: false, error: 'event property "$price": Braze property names cannot be empty or start with $' },
      { ok: false, error: 'traits: gender must be M, F, O, N or P (male, female, other, not applicable, prefer not to say)' },
      { ok: false, error: 'Braze events take insert (got upsert)' },
      { ok: true },
    ]);
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual(['POST', '/users/track', `Bearer ${KEY}`, 'application/json']);
    expect(req.json).toEqual({
      attributes: [{ external_id: 'u1', email: 'ada@example.com', first_name: 'Ada', plan: 'pro', _update_existing_only: false }],
      events: [
        { external_id: 'u1', name: 'Order Completed', time: AT, properties: { order_id: 'o1', total: 42.5, coupon: 'SPRING' } },
        { email: 'b@example.com', name: 'Product Viewed', time: '2026-07-01T10:05:00.000Z', app_id: 'app-123', properties: { sku: 'S1', seen_at: '2026-07-01' } },
        { user_alias: { alias_name: 'anon-3', alias_label: 'web' }, name: 'Signed Up', time: '2026-07-01T10:00:00.000Z', properties: {} },
      ],
    });
    expect(fake.events.map((e) => [e.name, e.external_id ?? e.email ?? e.user])).toEqual([
      ['Order Completed', 'u1'],
      ['Product Viewed', 'b@example.com'],
      ['Signed Up', expect.any(String)],
    ]);
    expect(fake.user('u1')?.attributes).toEqual({ first_name: 'Ada', plan: 'pro' });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('batching: 75 events a request; with traits, each new user’s attributes object counts too (75 objects in all)', async () => {
    const rows = Array.from({ length: 160 }, (_, i) => event(`m${i}`, { event: 'Viewed', timestamp: AT, external_id: `u${i % 7}`, n: i }));
    expect((await events.performBatch(rows.slice(0, 75), eventContext())).every((r) => r.ok)).toBe(true);
    expect(bodies().map((b) => [b.attributes?.length ?? 0, b.events.length])).toEqual([[0, 75]]);
    upstream.requests.length = 0;
    expect((await events.performBatch(rows.slice(75), eventContext())).every((r) => r.ok)).toBe(true);
    expect(bodies().map((b) => b.events.length)).toEqual([75, 10]);

    upstream.requests.length = 0;
    const withTraits = Array.from({ length: 40 }, (_, i) => event(`t${i}`, { event: 'Viewed', timestamp: AT, external_id: `v${i}`, traits: { plan: 'pro' } }));
    expect((await events.performBatch(withTraits, eventContext())).every((r) => r.ok)).toBe(true);
    expect(bodies().map((b) => [b.attributes?.length, b.events.length])).toEqual([
      [37, 37],
      [3, 3],
    ]);
    upstream.requests.length = 0;
    const oneUser = Array.from({ length: 75 }, (_, i) => event(`o${i}`, { event: 'Viewed', timestamp: AT, external_id: 'same', traits: { n: i } }));
    await events.performBatch(oneUser, eventContext());
    // one attributes object per user and request (the last traits win), so 74 events fit with it
    expect(bodies().map((b) => [b.attributes, b.events.length])).toEqual([
      [[{ external_id: 'same', n: 73, _update_existing_only: false }], 74],
      [[{ external_id: 'same', n: 74, _update_existing_only: false }], 1],
    ]);
    expect(fake.events.filter((e) => e.external_id === 'same').map((e) => e.properties)).toEqual(oneUser.map(() => ({})));
  });

  it('errors on events[i] fail their rows; an attributes error or an unplaced one fails no row (the events were recorded) and is logged', async () => {
    fake.rejectEvent = (e) => (e.external_id === 'u2' ? "'name' is blacklisted" : undefined);
    fake.rejectObject = (o) => (o.external_id === 'u3' ? 'Invalid custom attribute value' : undefined);
    const rows = [
      event('a', { event: 'Viewed', timestamp: AT, external_id: 'u1' }),
      event('b', { event: 'Viewed', timestamp: AT, external_id: 'u2' }),
      event('c', { event: 'Viewed', timestamp: AT, external_id: 'u3', traits: { plan: { bad: true } } }),
    ];
    const ctx = eventContext();
    expect(await events.performBatch(rows, ctx)).toEqual([{ ok: true }, { ok: false, error: "Braze rejected this event: 'name' is blacklisted" }, { ok: true }]);
    expect(fake.events.map((e) => e.external_id)).toEqual(['u1', 'u3']);
    expect(ctx.logger.lines.filter((l) => l.level === 'warn').map((l) => l.obj.errors)).toEqual([['attributes: Invalid custom attribute value']]);

    upstream.reply(json(201, { message: 'success', errors: [{ type: 'minor error' }] }), json(201, { message: 'success', errors: ['minor error'] }));
    expect(await events.performBatch(rows.slice(0, 2), eventContext())).toEqual([{ ok: true }, { ok: true }]);
    expect(await events.performBatch(rows.slice(0, 1), eventContext())).toEqual([{ ok: false, error: 'Braze rejected this event: minor error' }]);
  });

  it('a fatal 400 → BatchRejectedError (nothing was recorded); 401 → ConfigurationError', async () => {
    upstream.reply(json(400, { message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields." }), json(401, { message: `Invalid API key: ${KEY}` }));
    const rows = [event('a', { event: 'Viewed', timestamp: AT, external_id: 'u1' })];
    await expect(events.performBatch(rows, eventContext())).rejects.toEqual(new BatchRejectedError("Braze answered 400 for /users/track: Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."));
    const ctx = eventContext();
    const e = await events.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(ctx.logger.text() + (e as Error).message).not.toContain(KEY);
  });

  it('throttling: 429 with Retry-After, or Braze’s X-RateLimit-Reset → RetryableError with the delay', async () => {
    const rows = [event('a', { event: 'Viewed', timestamp: AT, external_id: 'u1' })];
    upstream.reply(json(429, { message: 'API rate limit exceeded' }, { 'retry-after': '3' }), json(429, { message: 'API rate limit exceeded' }, { 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 20) }));
    const first = await events.performBatch(rows, eventContext()).catch((x: unknown) => x);
    expect([first instanceof RetryableError, (first as RetryableError).retryAfterMs]).toEqual([true, 3_000]);
    const second = await events.performBatch(rows, eventContext()).catch((x: unknown) => x);
    expect(second).toBeInstanceOf(RetryableError);
    expect((second as RetryableError).retryAfterMs).toBeGreaterThan(17_000);
    expect(fake.events).toHaveLength(0);
  });

  it('throttled after a first request was recorded: the rest fail (sent next run) instead of the whole batch being sent again', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => event(`t${i}`, { event: 'Viewed', timestamp: AT, external_id: `v${i}`, traits: { plan: 'pro' } }));
    let calls = 0;
    upstream.handle((req) => (++calls === 2 ? json(429, { message: 'API rate limit exceeded' }, { 'retry-after': '1' }) : fake.handle(req)));
    const results = await events.performBatch(rows, eventContext());
    expect(results.slice(0, 37).every((r) => r.ok)).toBe(true);
    expect(results.slice(37)).toEqual(rows.slice(37).map(() => ({ ok: false, error: expect.stringMatching(/^not sent \(the batch's earlier events were recorded\): Braze: 429 for POST/) })));
    expect(fake.events).toHaveLength(37);
  });

  it('against the stateful fake: each user’s events arrive in order, once, and the traits land on the user', async () => {
    const ctx = eventContext();
    const stream = [
      event('e1', { event: 'Signed Up', timestamp: '2026-07-01T09:00:00Z', external_id: 'u1', traits: { plan: 'free' } }),
      event('e2', { event: 'Signed Up', timestamp: '2026-07-01T09:01:00Z', external_id: 'u2' }),
      event('e3', { event: 'Upgraded', timestamp: '2026-07-01T09:02:00Z', external_id: 'u1', properties: { to: 'pro' }, traits: { plan: 'pro' } }),
    ];
    await events.performBatch(stream, ctx);
    await events.performBatch([event('e4', { event: 'Order Completed', timestamp: '2026-07-01T09:03:00Z', external_id: 'u1', properties: { total: 9 } })], ctx);
    expect(fake.eventsOf('u1').map((e) => [e.name, e.time, e.properties])).toEqual([
      ['Signed Up', '2026-07-01T09:00:00.000Z', {}],
      ['Upgraded', '2026-07-01T09:02:00.000Z', { to: 'pro' }],
      ['Order Completed', '2026-07-01T09:03:00.000Z', { total: 9 }],
    ]);
    expect(fake.eventsOf('u2').map((e) => e.name)).toEqual(['Signed Up']);
    expect(fake.user('u1')?.attributes).toEqual({ plan: 'pro' });
  });
});
