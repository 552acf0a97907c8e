import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { createHttpClient } from '../../src/destinations/http/http-client';
import { iterable } from '../../src/destinations/iterable';
import { ModelEngine } from '../../src/models/model-engine';
import { syncSchema, type SyncDefinitionInput } from '../../src/syncs/sync-definition';
import { SyncRunner, type SyncTarget } from '../../src/syncs/sync-runner';
import { Workspace } from '../../src/workspace/workspace';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { IterableFake } from '../support/fakes/iterable';
import { operations, Prism, type OpenApiDocument } from '../support/prism';
import { memoryLogger } from '../support/recording-destination';
import { TempProject } from '../support/temp-project';
import { actionContext, testContext } from './harness';

const KEY = 'iterable_server_key_0000000000000001';
const LIST = 4242;
const users = iterable.actions.users;
const lists = iterable.actions.list_membership;

/**
 * Iterable's published spec (Iterable/api-client `api-docs.json`, Swagger 2.0, MIT: test/specs/iterable/)
 * with two patches made here rather than in the copy:
 * - top-level `consumes`/`produces: [application/json]`: without them Prism rejects every JSON body
 *   ("No supported content types"; reference §3);
 * - a 429 answer (`IterableApiResponse`) on the operations the adapter calls: Iterable throttles with
 *   HTTP 429 and `code: RateLimitExceeded` (reference §1.12), which the spec does not list.
 */
const patch = (doc: OpenApiDocument) => {
  doc.consumes = ['application/json'];
  doc.produces = ['application/json'];
  for (const [, , op] of operations(doc)) {
    const responses = op.responses as Record<string, unknown>;
    responses['429'] ??= { description: 'rate limited', schema: { $ref: '#/definitions/IterableApiResponse' } };
  }
};

let upstream: FakeServer;
let prism: Prism;

// Every Iterable request goes through Prism (proxy mode, --errors) in front of the fake: a request,
// or a scripted answer, that breaks Iterable's published spec fails the test (afterEach).
beforeAll(async () => {
  upstream = await FakeServer.start();
  prism = await Prism.start({ spec: 'test/specs/iterable/api-docs.json', upstream: upstream.url, patch });
}, 60_000);
afterAll(async () => {
  await prism?.stop();
  await upstream?.close();
});
beforeEach(() => upstream.reset());
afterEach(() => prism.expectNoViolations());

const settings = (extra: Record<string, unknown> = {}) => ({ api_key: KEY, base_url: prism.url, ...extra });
const context = (action: 'users' | 'list_membership', options: Record<string, unknown> = {}, state: Record<string, unknown> = {}) => {
  const ctx = actionContext(iterable, action, { settings: settings(), options, sync: { name: 'vip', mode: action === 'users' ? 'mirror' : 'audience' } });
  ctx.state = state;
  return ctx;
};
const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const bulk = (successCount: number, failCount = 0, failedUpdates: Record<string, string[]> = {}): ScriptedResponse => ({
  status: 200,
  body: { successCount, failCount, failedUpdates, createdFields: [], filteredOutFields: [] },
});
const apiResponse = (status: number, code: string, msg: string, headers: Record<string, string> = {}): ScriptedResponse => ({ status, body: { code, msg, params: {} }, headers });

describe('iterable users: requests (validated by Prism against Iterable’s spec)', () => {
  it('upsert: one bulkUpdate; one identifier per user (the other goes to dataFields); data fields typed for Iterable; bad rows fail alone', async () => {
    upstream.reply(bulk(2));
    const ctx = context('users');
    const results = await users.performBatch(
      [
        row('upsert', 'p1', { email: ' Ada@Example.com ', userId: 'u1', firstName: 'Ada', phoneNumber: '+1 650-253-0000', plan: 'gold', dataFields: { score: 3, since: new Date('2024-01-02T03:04:05Z') } }),
        row('upsert', 'p2', { userId: 'u2', lastName: 'Byron', visits: 12n }),
        row('upsert', 'p3', { email: 'not-an-email' }),
        row('upsert', 'p4', { firstName: 'Nobody' }),
        row('upsert', 'p5', { email: 'c@example.com', phoneNumber: '12' }),
        row('add', 'p6', { email: 'd@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no email or userId' },
      { ok: false, error: 'phoneNumber must be E.164 (+ and country code)' },
      { ok: false, error: 'Iterable users take upsert and delete (got add)' },
    ]);
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
    expect([req.method, req.path, req.headers['api-key'], req.headers['content-type']]).toEqual(['POST', '/api/users/bulkUpdate', KEY, 'application/json']);
    expect(req.json).toEqual({
      users: [
        { email: 'ada@example.com', dataFields: { firstName: 'Ada', phoneNumber: '+16502530000', plan: 'gold', score: 3, since: '2024-01-02 03:04:05 +00:00', userId: 'u1' } },
        { userId: 'u2', dataFields: { lastName: 'Byron', visits: 12 }, preferUserId: true },
      ],
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('options: identifier userId (email then goes to dataFields), merge_nested_objects, create_new_fields', async () => {
    upstream.reply(bulk(2));
    await users.performBatch(
      [row('upsert', 'p1', { email: 'a@example.com', userId: 'u1', prefs: { sms: true } }), row('upsert', 'p2', { email: 'b@example.com' })],
      context('users', { identifier: 'userId', merge_nested_objects: true, create_new_fields: false }),
    );
    expect(upstream.last.json).toEqual({
      users: [
        { userId: 'u1', dataFields: { prefs: { sms: true }, email: 'a@example.com' }, preferUserId: true, mergeNestedObjects: true },
        { email: 'b@example.com', mergeNestedObjects: true },
      ],
      createNewFields: false,
    });
  });

  it('mirror: each removed user is deleted by email (URL-encoded) or by userId; an unknown user is already gone; other refusals fail the row', async () => {
    upstream.handle((req) => {
      if (req.path === '/api/users/gone%40example.com') return apiResponse(400, 'UnknownEmailError', 'No user exists with email gone@example.com');
      if (req.path === '/api/users/byUserId/u9') return apiResponse(400, 'BadParams', 'userId-based project');
      return apiResponse(200, 'Success', 'User deletion queued');
    });
    const results = await users.performBatch(
      [row('delete', 'p1', { email: 'A+b/c@example.com', plan: 'x' }), row('delete', 'p2', { userId: 'u 2' }), row('delete', 'p3', { email: 'gone@example.com' }), row('delete', 'p4', { userId: 'u9' })],
      context('users'),
    );
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: false, error: 'Iterable did not delete this user: 400 BadParams: userId-based project' }]);
    expect(upstream.requests.map((r) => [r.method, r.path]).sort()).toEqual(
      [
        ['DELETE', '/api/users/a%2Bb%2Fc%40example.com'],
        ['DELETE', '/api/users/byUserId/u%202'],
        ['DELETE', '/api/users/gone%40example.com'],
        ['DELETE', '/api/users/byUserId/u9'],
      ].sort(),
    );
  });

  it('batches: 1,000 users a call (default and most); split further to keep a body under 4 MB', async () => {
    expect([users.batchSize, users.maxBatchSize]).toEqual([1_000, 1_000]);
    upstream.handle((req) => bulk((req.json as { users: unknown[] }).users.length));
    const many = Array.from({ length: 2_500 }, (_, i) => row('upsert', `p${i}`, { email: `e${i}@example.com` }));
    expect((await users.performBatch(many, context('users'))).every((r) => r.ok)).toBe(true);
    expect(upstream.requests.map((r) => (r.json as { users: unknown[] }).users.length)).toEqual([1_000, 1_000, 500]);

    upstream.reset().handle((req) => bulk((req.json as { users: unknown[] }).users.length));
    const heavy = Array.from({ length: 1_000 }, (_, i) => row('upsert', `p${i}`, { email: `e${i}@example.com`, notes: 'n'.repeat(4_500) }));
    expect((await users.performBatch(heavy, context('users'))).every((r) => r.ok)).toBe(true);
    expect(upstream.requests.length).toBe(2);
    for (const r of upstream.requests) expect(Buffer.byteLength(r.rawBody)).toBeLessThan(4_000_000);
    expect(upstream.requests.reduce((n, r) => n + (r.json as { users: unknown[] }).users.length, 0)).toBe(1_000);
  });

  it('partial failure: the users Iterable names in failedUpdates (by email or userId, in any list) fail with the reason; the others are ok', async () => {
    upstream.reply(bulk(2, 3, { invalidEmails: ['b@example.com'], conflictUserIds: ['u3'], invalidDataEmails: ['d@example.com'] }));
    const results = await users.performBatch(
      [
        row('upsert', 'p1', { email: 'a@example.com' }),
        row('upsert', 'p2', { email: 'B@example.com' }),
        row('upsert', 'p3', { email: 'c@example.com', userId: 'u3' }),
        row('upsert', 'p4', { email: 'd@example.com', age: 'x' }),
        row('upsert', 'p5', { userId: 'u5' }),
      ],
      context('users'),
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Iterable rejected this user: invalid email' },
      { ok: false, error: 'Iterable rejected this user: the userId belongs to another user' },
      { ok: false, error: 'Iterable rejected this user: invalid data fields (a field’s type cannot change)' },
      { ok: true },
    ]);
  });

  it('more failures counted than named → the batch is rejected whole (the engine bisects); a 400 too', async () => {
    const rows = [row('upsert', 'p1', { email: 'a@example.com' }), row('upsert', 'p2', { email: 'b@example.com' })];
    upstream.reply(bulk(0, 2, { invalidEmails: ['b@example.com'] }), apiResponse(400, 'BatchTooLarge', 'Too many users'));
    await expect(users.performBatch(rows, context('users'))).rejects.toThrow(new BatchRejectedError('Iterable reported 2 failures for updating users but named only 1 of the users'));
    await expect(users.performBatch(rows, context('users'))).rejects.toThrow(new BatchRejectedError('Iterable answered 400 for updating users: BatchTooLarge: Too many users'));
  });

  it('Prism reports a request that breaks the spec (bulkUpdate without users)', async () => {
    const res = await context('users').http.request({ method: 'POST', url: 'api/users/bulkUpdate', body: { people: [] } });
    expect(res.status).toBe(422);
    expect(upstream.requests).toHaveLength(0);
    expect(prism.clearViolations().map((v) => v.message)).toEqual([expect.stringContaining("must have required property 'users'") as string]);
  });
});

describe('iterable: throttling and failures', () => {
  const rows = [row('upsert', 'p1', { email: 'a@example.com' })];

  it('429 with Retry-After → RetryableError with that delay; without it → no delay (the engine backs off)', async () => {
    upstream.reply(apiResponse(429, 'RateLimitExceeded', 'Exceeded rate limit for endpoint: /api/users/bulkUpdate', { 'retry-after': '3' }), apiResponse(429, 'RateLimitExceeded', 'Exceeded rate limit'));
    const first = await users.performBatch(rows, context('users')).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(RetryableError);
    expect((first as RetryableError).retryAfterMs).toBe(3_000);
    const second = await users.performBatch(rows, context('users')).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(RetryableError);
    expect((second as RetryableError).retryAfterMs).toBeUndefined();
  });

  it('Iterable’s own signal: code RateLimitExceeded under another status (400) is throttling too', async () => {
    upstream.reply(apiResponse(400, 'RateLimitExceeded', 'Exceeded rate limit for endpoint: /api/lists/subscribe'));
    const e = await lists.performBatch([row('add', 'p1', { email: 'a@example.com' })], context('list_membership', {}, { list_id: LIST })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as Error).message).toBe('Iterable answered 400 RateLimitExceeded: Exceeded rate limit for endpoint: /api/lists/subscribe: rate limited');
  });

  it('401, and a 400 with code BadApiKey → ConfigurationError; the key is in no message or log line', async () => {
    upstream.reply(apiResponse(401, 'BadApiKey', `Invalid API key ${KEY}`), apiResponse(400, 'BadApiKey', 'Mobile keys cannot call this endpoint'));
    for (let i = 0; i < 2; i++) {
      const ctx = context('users');
      const e = await users.performBatch(rows, ctx).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ConfigurationError);
      expect((e as Error).message).not.toContain(KEY);
      expect(ctx.logger.text()).not.toContain(KEY);
    }
  });

  it('testConnection lists the lists; a bad key is a configuration error', async () => {
    upstream.reply({ status: 200, body: { lists: [] } }, apiResponse(401, 'BadApiKey', 'Invalid API key'));
    await iterable.testConnection!(testContext(iterable, settings()));
    expect([upstream.last.method, upstream.last.path, upstream.last.headers['api-key']]).toEqual(['GET', '/api/lists', KEY]);
    await expect(iterable.testConnection!(testContext(iterable, settings()))).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('settings: region picks the host (us by default, eu: api.eu.iterable.com); options accept {}', () => {
    expect(iterable.baseUrl!(iterable.settings.parse({ api_key: KEY }))).toBe('https://api.iterable.com');
    expect(iterable.baseUrl!(iterable.settings.parse({ api_key: KEY, region: 'eu' }))).toBe('https://api.eu.iterable.com');
    expect(users.options.safeParse({}).success).toBe(true);
    expect(lists.options.safeParse({}).success).toBe(true);
    expect(lists.options.safeParse({ list_id: 1, list_name: 'x' }).error?.issues[0].message).toBe('set list_id or list_name, not both');
  });
});

describe('iterable list_membership: requests', () => {
  const ctx = (options: Record<string, unknown> = {}) => context('list_membership', options, { list_id: LIST });

  it('add: subscribe with the users’ data fields (created or updated); remove: unsubscribe by identifier only, consent untouched', async () => {
    upstream.reply(bulk(2), bulk(1));
    const results = await lists.performBatch(
      [
        row('add', 'p1', { email: 'A@example.com', firstName: 'Ada' }),
        row('add', 'p2', { userId: 'u2' }),
        row('remove', 'p3', { email: 'c@example.com', firstName: 'Cy' }),
        row('remove', 'p4', { email: 'bad' }),
        row('upsert', 'p5', { email: 'e@example.com' }),
      ],
      ctx(),
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'Iterable lists only add and remove users (got upsert)' },
    ]);
    expect(upstream.requests.map((r) => [r.method, r.path, r.json])).toEqual([
      [
        'POST',
        '/api/lists/subscribe',
        {
          listId: LIST,
          subscribers: [
            { email: 'a@example.com', dataFields: { firstName: 'Ada' } },
            { userId: 'u2', preferUserId: true },
          ],
        },
      ],
      ['POST', '/api/lists/unsubscribe', { listId: LIST, subscribers: [{ email: 'c@example.com' }] }],
    ]);
  });

  it('failures: a subscriber Iterable names fails; an unsubscribed user Iterable does not know is already off the list', async () => {
    upstream.reply(bulk(1, 1, { invalidEmails: ['b@example.com'] }), bulk(1, 1, { notFoundEmails: ['d@example.com'] }));
    const results = await lists.performBatch(
      [row('add', 'p1', { email: 'a@example.com' }), row('add', 'p2', { email: 'b@example.com' }), row('remove', 'p3', { email: 'c@example.com' }), row('remove', 'p4', { email: 'd@example.com' })],
      ctx(),
    );
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'Iterable rejected this user: invalid email' }, { ok: true }, { ok: true }]);
  });

  it('batches: 1,000 subscribers a call', async () => {
    expect([lists.batchSize, lists.maxBatchSize]).toEqual([1_000, 1_000]);
    upstream.handle((req) => bulk((req.json as { subscribers: unknown[] }).subscribers.length));
    const rows = Array.from({ length: 1_300 }, (_, i) => row(i < 1_100 ? 'add' : 'remove', `p${i}`, { email: `e${i}@example.com` }));
    expect((await lists.performBatch(rows, ctx())).every((r) => r.ok)).toBe(true);
    expect(upstream.requests.map((r) => [r.path, (r.json as { subscribers: unknown[] }).subscribers.length])).toEqual([
      ['/api/lists/subscribe', 1_000],
      ['/api/lists/subscribe', 100],
      ['/api/lists/unsubscribe', 200],
    ]);
  });

  it('ensure: list_id as given; else the static list with the name (default: the sync name), created when missing', async () => {
    const fake = new IterableFake(KEY);
    upstream.handle(fake.handler);
    expect(await lists.ensure!(context('list_membership', { list_id: 77 }))).toEqual({ list_id: 77 });
    expect(upstream.requests).toHaveLength(0);

    const vip = fake.addList('VIP');
    fake.addList('VIP dyn', 'Dynamic');
    expect(await lists.ensure!(context('list_membership', { list_name: 'VIP' }))).toEqual({ list_id: vip });
    expect([upstream.last.method, upstream.last.path]).toEqual(['GET', '/api/lists']);

    upstream.requests.length = 0;
    const created = await lists.ensure!(context('list_membership'));
    expect(fake.lists.get(created.list_id as number)?.name).toBe('vip');
    expect(upstream.requests.map((r) => [r.method, r.path, r.json])).toEqual([
      ['GET', '/api/lists', undefined],
      ['POST', '/api/lists', { name: 'vip', description: 'Kept in step by composable-cdp' }],
    ]);

    fake.addList('VIP');
    await expect(lists.ensure!(context('list_membership', { list_name: 'VIP' }))).rejects.toThrow(/2 Iterable lists are named "VIP"/);
    await expect(lists.ensure!(context('list_membership', { list_name: 'VIP dyn' }))).rejects.toThrow(
      new ConfigurationError('the Iterable list "VIP dyn" is a Dynamic list; only static (Standard) lists take subscribers (set list_id or another list_name)'),
    );
  });
});

describe('iterable: a stateful fake keeps what Iterable would hold', () => {
  it('users in mirror mode over runs: creates, updates, deletes; type changes, forgotten users and conflicts fail their rows', async () => {
    const fake = new IterableFake(KEY);
    fake.forgotten.add('gdpr@x.io');
    upstream.handle(fake.handler);
    const send = (rows: OutgoingRow[]) => users.performBatch(rows, context('users'));
    expect(
      await send([
        row('upsert', '1', { email: 'ann@x.io', userId: 'u1', plan: 'free', seats: 1 }),
        row('upsert', '2', { email: 'bob@x.io', plan: 'pro' }),
        row('upsert', '3', { userId: 'u3', plan: 'free' }),
        row('upsert', '4', { email: 'gdpr@x.io' }),
      ]),
    ).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: false, error: 'Iterable rejected this user: the user was forgotten (GDPR)' }]);
    expect(fake.users.map((u) => [u.email, u.userId, u.dataFields.plan])).toEqual([
      ['ann@x.io', 'u1', 'free'],
      ['bob@x.io', undefined, 'pro'],
      [undefined, 'u3', 'free'],
    ]);
    // run 2: bob changes plan, u3 leaves, ann's seats would change type, dan takes ann's userId
    expect(
      await send([row('upsert', '2', { email: 'bob@x.io', plan: 'team' }), row('delete', '3', { userId: 'u3' }), row('upsert', '1', { email: 'ann@x.io', seats: 'many' }), row('upsert', '5', { email: 'dan@x.io', userId: 'u1' })]),
    ).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'Iterable rejected this user: invalid data fields (a field’s type cannot change)' },
      { ok: false, error: 'Iterable rejected this user: the userId belongs to another user' },
    ]);
    expect(fake.users.map((u) => [u.email, u.dataFields.plan])).toEqual([
      ['ann@x.io', 'free'],
      ['bob@x.io', 'team'],
    ]);
    expect(fake.deleted).toEqual(['userId:u3']);
  });

  it('a real sync (DuckDB, the sync engine) to a list found by name, through Prism: adds, changes and removals land on the list', async () => {
    const fake = new IterableFake(KEY);
    upstream.handle(fake.handler);
    const p = new TempProject({ 'cdp.yaml': 'name: it_sync\nwarehouse: { type: duckdb }\n', 'seeds/people.csv': 'id,email,name,plan\n0,z@x.io,Z,free\n' });
    const ws = await Workspace.open(p.config({ CDP_WAREHOUSE_SCHEMA: 'it_main' }));
    try {
      await new ModelEngine(ws).seed({});
      const table = ws.warehouse.dialect.relation({ schema: 'it_main', name: 'people' });
      const setPeople = async (rows: [number, string, string, string][]) => {
        await ws.warehouse.execute(`delete from ${table}`);
        for (const r of rows) await ws.warehouse.execute(`insert into ${table} (id, email, name, plan) values (?, ?, ?, ?)`, r);
      };
      const runner = new SyncRunner(ws, memoryLogger(), { sleep: () => Promise.resolve(), baseDelayMs: 1 });
      const target = syncTarget({
        name: 'it_vips',
        source: { model: 'people' },
        primary_key: 'id',
        destination: 'it',
        action: 'list_membership',
        mode: 'audience',
        options: { list_name: 'VIPs' },
        mapping: { email: 'email', firstName: 'name', 'dataFields.plan': 'plan' },
      });
      await setPeople([
        [1, 'ann@x.io', 'Ann', 'free'],
        [2, 'bob@x.io', 'Bob', 'pro'],
        [3, 'cy@x.io', 'Cy', 'free'],
      ]);
      expect(await runner.run(target, ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', added: 3, succeeded: 3, failed: 0 });
      const [list] = [...fake.lists.values()];
      expect(list.name).toBe('VIPs');
      expect(fake.members(list.id)).toEqual(['ann@x.io', 'bob@x.io', 'cy@x.io']);
      expect(fake.user('bob@x.io')?.dataFields).toEqual({ firstName: 'Bob', plan: 'pro' });

      await setPeople([
        [1, 'ann@x.io', 'Ann', 'free'],
        [2, 'bob@x.io', 'Bob', 'team'],
        [4, 'di@x.io', 'Di', 'pro'],
      ]);
      expect(await runner.run(target, ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', added: 1, changed: 1, removed: 1, failed: 0 });
      expect(fake.members(list.id)).toEqual(['ann@x.io', 'bob@x.io', 'di@x.io']);
      expect(fake.user('bob@x.io')?.dataFields.plan).toBe('team');
      expect(fake.user('cy@x.io')).toBeDefined(); // leaving the list keeps the user
    } finally {
      await ws.close();
      p.cleanup();
    }
  });
});

function syncTarget(input: SyncDefinitionInput): SyncTarget {
  const definition = syncSchema.parse(input);
  const destinationSettings = iterable.settings.parse(settings());
  const action = iterable.actions[definition.action as string];
  return {
    definition,
    where: `syncs/${definition.name}.yaml`,
    destination: { name: 'it', definition: iterable, settings: destinationSettings, secrets: [KEY] },
    actionName: definition.action as string,
    action,
    options: action.options.parse(definition.options) as Record<string, unknown>,
    http: createHttpClient(iterable, destinationSettings, { instance: 'it', logger: memoryLogger(), secrets: [KEY] }),
  };
}

describe('iterable events (event forwarding, mode insert; validated by Prism)', () => {
  const events = iterable.actions.events;
  const eventContext = (options: Record<string, unknown> = {}) => actionContext(iterable, 'events', { settings: settings(), options, sync: { name: 'orders_to_iterable', mode: 'insert' } });
  const event = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'insert', key, fields });
  const tracked = (successCount: number, failCount = 0, failedUpdates: Record<string, string[]> = {}, extra: Record<string, unknown> = {}): ScriptedResponse => ({
    status: 200,
    body: { successCount, failCount, failedUpdates, createdFields: [], filteredOutFields: [], ...extra },
  });
  const sentEvents = (i = -1) => (upstream.requests.filter((r) => r.path === '/api/events/trackBulk').at(i)?.json as { events: Record<string, unknown>[] }).events;
  const AT = '2026-07-01T10:00:00.000Z';
  const AT_S = Date.parse(AT) / 1000;

  it('definition: mode insert only, 1,000 events a call, one batch at a time; options identifier and create_new_fields', () => {
    expect(events.modes).toEqual(['insert']);
    expect([events.batchSize, events.maxBatchSize, events.concurrency]).toEqual([1_000, 1_000, 1]);
    expect(Object.entries(events.fields).filter(([, f]) => f.identifier).map(([k]) => k)).toEqual(['email', 'userId']);
    expect(Object.entries(events.fields).filter(([, f]) => f.required).map(([k]) => k)).toEqual(['event']);
    expect(events.options.parse({})).toEqual({ identifier: 'email' });
    expect(events.options.safeParse({ identifier: 'userId', create_new_fields: true }).success).toBe(true);
    expect(events.options.safeParse({ list_id: 1 }).success).toBe(false);
  });

  it('one trackBulk in row order: one identifier, eventName, id = the message id, createdAt in seconds, data fields with traits; bad rows fail alone; a repeated message id is sent once', async () => {
    upstream.reply(tracked(3));
    const ctx = eventContext();
    const results = await events.performBatch(
      [
        event('msg-1', { event: 'Order Completed', timestamp: AT, email: ' Ada@Example.com ', userId: 'u1', properties: { order_id: 'o1', total: 42.5, shipped: new Date(AT) }, coupon: 'SPRING', traits: { plan: 'pro' } }),
        event('msg-2', { event: 'Product Viewed', timestamp: new Date('2026-07-01T10:05:00Z'), userId: 'u2', properties: '{"sku":"S1"}' }),
        event('msg-3', { event: 'Signed Up', email: 'c@example.com' }),
        event('msg-4', { email: 'd@example.com' }),
        event('msg-5', { event: 'Order Completed' }),
        event('msg-6', { event: 'Order Completed', email: 'nope' }),
        event('m'.repeat(513), { event: 'Order Completed', email: 'e@example.com' }),
        event('msg-8', { event: 'Order Completed', email: 'f@example.com', timestamp: 'soon' }),
        event('msg-9', { event: 'Order Completed', email: 'g@example.com', traits: 'plan=pro' }),
        { op: 'upsert', key: 'msg-10', fields: { event: 'Order Completed', email: 'h@example.com' } },
        event('msg-1', { event: 'Order Completed', timestamp: AT, email: 'ada@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'the row has no event name (map the event field)' },
      { ok: false, error: 'the row has no email or userId' },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: "the message id is longer than 512 bytes (Iterable's limit for an event id)" },
      { ok: false, error: 'timestamp is not a date (ISO 8601 or epoch seconds)' },
      { ok: false, error: 'traits must be an object' },
      { ok: false, error: 'Iterable events take insert (got upsert)' },
      { ok: true },
    ]);
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
    expect([req.method, req.path, req.headers['api-key'], req.headers['content-type']]).toEqual(['POST', '/api/events/trackBulk', KEY, 'application/json']);
    expect(req.json).toEqual({
      events: [
        {
          email: 'ada@example.com',
          eventName: 'Order Completed',
          id: 'msg-1',
          createdAt: AT_S,
          dataFields: { order_id: 'o1', total: 42.5, shipped: '2026-07-01 10:00:00 +00:00', coupon: 'SPRING', traits: { plan: 'pro' } },
        },
        { userId: 'u2', eventName: 'Product Viewed', id: 'msg-2', createdAt: AT_S + 300, dataFields: { sku: 'S1' } },
        { email: 'c@example.com', eventName: 'Signed Up', id: 'msg-3' },
      ],
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('options: identifier userId picks the userId when the row has both; create_new_fields is sent on each event', async () => {
    upstream.reply(tracked(2));
    await events.performBatch([event('m1', { event: 'Viewed', email: 'a@example.com', userId: 'u1' }), event('m2', { event: 'Viewed', email: 'b@example.com' })], eventContext({ identifier: 'userId', create_new_fields: true }));
    expect(sentEvents()).toEqual([
      { userId: 'u1', eventName: 'Viewed', id: 'm1', createNewFields: true },
      { email: 'b@example.com', eventName: 'Viewed', id: 'm2', createNewFields: true },
    ]);
  });

  it('batching: 1,000 events a call; split further to keep a body under 4 MB', async () => {
    upstream.handle((req) => tracked((req.json as { events: unknown[] }).events.length));
    const many = Array.from({ length: 2_500 }, (_, i) => event(`m${i}`, { event: 'Viewed', email: `e${i % 50}@example.com` }));
    expect((await events.performBatch(many, eventContext())).every((r) => r.ok)).toBe(true);
    expect(upstream.requests.map((r) => (r.json as { events: unknown[] }).events.length)).toEqual([1_000, 1_000, 500]);
    expect(upstream.requests.flatMap((r) => (r.json as { events: { id: string }[] }).events.map((e) => e.id))).toEqual(many.map((r) => r.key));

    upstream.reset().handle((req) => tracked((req.json as { events: unknown[] }).events.length));
    const heavy = Array.from({ length: 1_000 }, (_, i) => event(`h${i}`, { event: 'Viewed', email: 'a@example.com', properties: { notes: 'n'.repeat(4_500) } }));
    expect((await events.performBatch(heavy, eventContext())).every((r) => r.ok)).toBe(true);
    expect(upstream.requests.length).toBe(2);
    for (const r of upstream.requests) expect(Buffer.byteLength(r.rawBody)).toBeLessThan(4_000_000);
  });

  it('partial failure: events whose user Iterable names in failedUpdates, or whose name it disallows, fail with the reason; the others are ok', async () => {
    upstream.reply(tracked(2, 4, { invalidEmails: ['b@example.com'], notFoundUserIds: ['u3'], forgottenEmails: ['d@example.com'] }, { disallowedEventNames: ['Secret'] }));
    const results = await events.performBatch(
      [
        event('a', { event: 'Viewed', email: 'a@example.com' }),
        event('b', { event: 'Viewed', email: 'B@example.com' }),
        event('c', { event: 'Viewed', userId: 'u3' }),
        event('d', { event: 'Viewed', email: 'd@example.com' }),
        event('e', { event: 'Secret', email: 'e@example.com' }),
        event('f', { event: 'Viewed', email: 'a@example.com' }),
      ],
      eventContext(),
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Iterable rejected this event: invalid email' },
      { ok: false, error: 'Iterable rejected this event: no user with this userId' },
      { ok: false, error: 'Iterable rejected this event: the user was forgotten (GDPR)' },
      { ok: false, error: 'Iterable rejected this event: the event name is not allowed in this project' },
      { ok: true },
    ]);
  });

  it('more failures counted than named → the batch is rejected whole (re-sent events update the same ids); a 400 too', async () => {
    const rows = [event('a', { event: 'Viewed', email: 'a@example.com' }), event('b', { event: 'Viewed', email: 'b@example.com' })];
    upstream.reply(tracked(0, 2, { invalidEmails: ['b@example.com'] }), apiResponse(400, 'BadParams', 'events: too many'));
    await expect(events.performBatch(rows, eventContext())).rejects.toThrow(new BatchRejectedError('Iterable reported 2 failures for tracking events but named only 1 of the events'));
    await expect(events.performBatch(rows, eventContext())).rejects.toThrow(new BatchRejectedError('Iterable answered 400 for tracking events: BadParams: events: too many'));
  });

  it('throttling: 429 with Retry-After → RetryableError with the delay; code RateLimitExceeded under a 400 too; 401 → ConfigurationError', async () => {
    const rows = [event('a', { event: 'Viewed', email: 'a@example.com' })];
    upstream.reply(
      apiResponse(429, 'RateLimitExceeded', 'Exceeded rate limit for endpoint: /api/events/trackBulk', { 'retry-after': '2' }),
      apiResponse(400, 'RateLimitExceeded', 'Exceeded rate limit for endpoint: /api/events/trackBulk'),
      apiResponse(401, 'BadApiKey', `Invalid API key ${KEY}`),
    );
    const first = await events.performBatch(rows, eventContext()).catch((e: unknown) => e);
    expect([first instanceof RetryableError, (first as RetryableError).retryAfterMs]).toEqual([true, 2_000]);
    await expect(events.performBatch(rows, eventContext())).rejects.toBeInstanceOf(RetryableError);
    const ctx = eventContext();
    const third = await events.performBatch(rows, ctx).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(ConfigurationError);
    expect(ctx.logger.text() + (third as Error).message).not.toContain(KEY);
  });

  it('Prism reports a trackBulk request that breaks the spec (an event without eventName)', async () => {
    const res = await eventContext().http.request({ method: 'POST', url: 'api/events/trackBulk', body: { events: [{ email: 'a@example.com' }] } });
    expect(res.status).toBe(422);
    expect(upstream.requests).toHaveLength(0);
    expect(prism.clearViolations().map((v) => v.message)).toEqual([expect.stringContaining("must have required property 'eventName'") as string]);
  });

  it('against the stateful fake: each user’s events in order, once, even when a batch is sent again; unknown userIds and disallowed names fail', async () => {
    const fake = new IterableFake(KEY);
    fake.disallowedEventNames.add('Internal');
    upstream.handle(fake.handler);
    const batch = [
      event('e1', { event: 'Signed Up', email: 'ann@x.io', timestamp: '2026-07-01T09:00:00Z', traits: { plan: 'free' } }),
      event('e2', { event: 'Signed Up', email: 'bob@x.io', timestamp: '2026-07-01T09:01:00Z' }),
      event('e3', { event: 'Upgraded', email: 'ann@x.io', timestamp: '2026-07-01T09:02:00Z', properties: { to: 'pro' } }),
      event('e4', { event: 'Viewed', userId: 'ghost' }),
      event('e5', { event: 'Internal', email: 'ann@x.io' }),
    ];
    const expected = [{ ok: true }, { ok: true }, { ok: true }, { ok: false, error: 'Iterable rejected this event: no user with this userId' }, { ok: false, error: 'Iterable rejected this event: the event name is not allowed in this project' }];
    expect(await events.performBatch(batch, eventContext())).toEqual(expected);
    // a retry after a lost answer: the same events again update the same ids
    expect(await events.performBatch(batch, eventContext())).toEqual(expected);
    await events.performBatch([event('e6', { event: 'Order Completed', email: 'ann@x.io', timestamp: '2026-07-01T09:03:00Z', properties: { total: 9 } })], eventContext());
    expect(fake.eventsOf('ann@x.io').map((e) => [e.id, e.eventName, e.createdAt, e.dataFields])).toEqual([
      ['e1', 'Signed Up', Date.parse('2026-07-01T09:00:00Z') / 1000, { traits: { plan: 'free' } }],
      ['e3', 'Upgraded', Date.parse('2026-07-01T09:02:00Z') / 1000, { to: 'pro' }],
      ['e6', 'Order Completed', Date.parse('2026-07-01T09:03:00Z') / 1000, { total: 9 }],
    ]);
    expect(fake.eventsOf('bob@x.io').map((e) => e.eventName)).toEqual(['Signed Up']);
    expect([fake.events.length, fake.eventUpdates]).toEqual([4, 3]);
  });
});
