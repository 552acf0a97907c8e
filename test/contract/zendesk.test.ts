import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { zendesk } from '../../src/destinations/zendesk';
import { FakeZendesk, jobStatus } from '../support/fakes/zendesk';
import { FakeServer, type RecordedRequest, type ScriptedResponse } from '../support/fake-server';
import { actionContext, testContext } from './harness';

// Zendesk's OpenAPI cannot be loaded by Prism (reference §2): the fake checks each
// create_or_update_many body against the documented request instead (fake.violations).
const EMAIL = 'admin@example.com';
const TOKEN = 'zd_api_token_secret_0001';
const BASIC = `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}`;
const action = zendesk.actions.users;

let upstream: FakeServer;
let fake: FakeZendesk;

beforeAll(async () => {
  upstream = await FakeServer.start();
});
afterAll(async () => {
  await upstream?.close();
});
beforeEach(() => {
  fake = new FakeZendesk({ email: EMAIL, apiToken: TOKEN });
  upstream.reset().handle(fake.handle);
});
afterEach(() => expect(fake.violations).toEqual([]));

const settings = (extra: Record<string, unknown> = {}) => ({ subdomain: 'acme', email: EMAIL, api_token: TOKEN, base_url: upstream.url, ...extra });
const context = (extra: Record<string, unknown> = {}) => actionContext(zendesk, 'users', { settings: settings(extra), sync: { name: 'customers', mode: 'upsert' } });
const upsert = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'upsert', key, fields });
const calls = (requests: RecordedRequest[]) => requests.map((r) => `${r.method} ${r.path}`);
const jobBodies = () => upstream.requests.filter((r) => r.path === '/api/v2/users/create_or_update_many').map((r) => (r.json as { users: Record<string, unknown>[] }).users);
const zendeskError = (status: number, error: string, description: string, headers: Record<string, string> = {}): ScriptedResponse => ({ status, headers, body: { error, description } });

describe('zendesk users: requests', () => {
  it('upsert: one create_or_update_many job for the batch, polled until completed; its results become row results; bad rows fail alone', async () => {
    fake.defineUserField('plan', 'dropdown').defineUserField('renewal', 'date').defineUserField('newsletter', 'checkbox').defineUserField('seats', 'integer').defineUserField('interests', 'multiselect');
    const bob = fake.seed({ email: 'bob@example.com', name: 'Bob' });
    fake.pollsUntilDone = 3;
    const ctx = context();
    const results = await action.performBatch(
      [
        upsert('p1', {
          external_id: 'u1',
          email: ' Ada@Example.com ',
          name: 'Ada',
          phone: '+33 1 23 45 67 89',
          organization_id: '42',
          tags: 'vip, beta',
          verified: true,
          plan: 'gold',
          renewal: '2026-03-01T10:00:00Z',
          newsletter: 'true',
          seats: '3',
          interests: ['a', 'b'],
        }),
        upsert('p2', { email: 'bob@example.com', user_fields: { plan: 'free' } }),
        upsert('p3', { email: 'nope' }),
        upsert('p4', { name: 'Nobody' }),
        { op: 'delete', key: 'p5', fields: { external_id: 'u5' } },
        upsert('p6', { external_id: 'u6', name: 'Six', seats: 'many' }),
        upsert('p7', { external_id: 'u7', organization_id: 'acme' }),
        upsert('p8', { external_id: 'u8' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no email or external_id' },
      { ok: false, error: 'Zendesk users are upserted only (got delete)' },
      { ok: false, error: 'user field seats is an integer: "many" does not fit' },
      { ok: false, error: 'organization_id must be the id of a Zendesk organization (an integer)' },
      { ok: false, error: 'Zendesk rejected this user: UserCreateError: Name: is too short (minimum is 1 character)' },
    ]);
    const job = [...fake.jobs.keys()][0];
    expect(calls(upstream.requests)).toEqual([
      'GET /api/v2/user_fields',
      'POST /api/v2/users/create_or_update_many',
      `GET /api/v2/job_statuses/${job}`,
      `GET /api/v2/job_statuses/${job}`,
      `GET /api/v2/job_statuses/${job}`,
    ]);
    expect(upstream.requests[0].query).toEqual({ page: '1', per_page: '100' });
    const post = upstream.requests[1];
    expect([post.headers.authorization, post.headers['content-type']]).toEqual([BASIC, 'application/json']);
    expect(post.json).toEqual({
      users: [
        {
          external_id: 'u1',
          email: 'ada@example.com',
          name: 'Ada',
          phone: '+33 1 23 45 67 89',
          organization_id: 42,
          tags: ['vip', 'beta'],
          verified: true,
          user_fields: { plan: 'gold', renewal: '2026-03-01', newsletter: true, seats: 3, interests: ['a', 'b'] },
        },
        { email: 'bob@example.com', user_fields: { plan: 'free' } },
        { external_id: 'u8' },
      ],
    });
    expect(fake.find('u1')).toMatchObject({ email: 'ada@example.com', organization_id: 42, tags: ['vip', 'beta'], user_fields: { seats: 3, renewal: '2026-03-01' } });
    expect(fake.users.get(bob.id)).toMatchObject({ name: 'Bob', user_fields: { plan: 'free' } });
    expect(fake.find('u8')).toBeUndefined();
    expect(ctx.logger.text()).not.toContain(TOKEN);
    expect(ctx.logger.text()).not.toContain(BASIC.slice(6));
  });

  it('OAuth: Bearer token instead of Basic email/token', async () => {
    fake = new FakeZendesk({ oauthToken: 'oauth-secret-0002' });
    upstream.reset().handle(fake.handle);
    const ctx = actionContext(zendesk, 'users', { settings: { subdomain: 'acme', oauth_token: 'oauth-secret-0002', base_url: upstream.url } });
    expect(await action.performBatch([upsert('p1', { external_id: 'u1', name: 'Ada' })], ctx)).toEqual([{ ok: true }]);
    expect(upstream.requests[0].headers.authorization).toBe('Bearer oauth-secret-0002');
    expect(ctx.logger.text()).not.toContain('oauth-secret-0002');
  });

  it('a user field the account does not have (or has turned off) stops the run before any job', async () => {
    fake.defineUserField('plan', 'text').defineUserField('legacy', 'text', false);
    await expect(action.performBatch([upsert('p1', { external_id: 'u1', name: 'A', plan: 'x', legacy: 'y', score: 3 })], context())).rejects.toThrow(
      new ConfigurationError('Zendesk has no active user field with the key "legacy", "score": create them in Admin Center (People → Configuration → User fields) or fix the mapping'),
    );
    expect(calls(upstream.requests)).toEqual(['GET /api/v2/user_fields']);
  });

  it('ensure reads the user fields once (following next_page); batches then reuse them', async () => {
    for (let i = 0; i < 150; i++) fake.defineUserField(`f${i}`, 'text');
    const ctx = context();
    ctx.state = await action.ensure!(ctx);
    expect(Object.keys(ctx.state.user_fields as object)).toHaveLength(150);
    expect(upstream.requests.map((r) => r.query.page)).toEqual(['1', '2']);
    upstream.reset().handle(fake.handle);
    expect(await action.performBatch([upsert('p1', { external_id: 'u1', name: 'A', f149: 'x' })], ctx)).toEqual([{ ok: true }]);
    expect(calls(upstream.requests)[0]).toBe('POST /api/v2/users/create_or_update_many');
  });

  it('batches: 100 users per job (Zendesk’s limit), and 3 jobs of a sync in flight', async () => {
    expect([action.batchSize, action.maxBatchSize, action.concurrency]).toEqual([100, 100, 3]);
    const rows = Array.from({ length: 100 }, (_, i) => upsert(`p${i}`, { external_id: `u${i}`, name: `User ${i}` }));
    const results = await action.performBatch(rows, context());
    expect(results.every((r) => r.ok)).toBe(true);
    expect(jobBodies().map((u) => u.length)).toEqual([100]);
    expect(fake.users.size).toBe(100);
  });
});

describe('zendesk users: job results and partial failures', () => {
  it('Failed results fail their own rows (the index says which), the others are done', async () => {
    fake.failUser = (u) => (u.external_id === 'u2' ? { error: 'UserUpdateError', details: 'Email: taken@example.com is already being used by another user' } : undefined);
    const results = await action.performBatch([upsert('p1', { external_id: 'u1', name: 'A' }), upsert('p2', { external_id: 'u2', name: 'B' }), upsert('p3', { external_id: 'u3', name: 'C' })], context());
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'Zendesk rejected this user: UserUpdateError: Email: taken@example.com is already being used by another user' }, { ok: true }]);
    expect([...fake.users.values()].map((u) => u.external_id).sort()).toEqual(['u1', 'u3']);
  });

  it('results in another order are mapped by their index; without an index, by their position', async () => {
    upstream.reply(jobStatus('J1', 'queued'), jobStatus('J1', 'completed', [{ index: 2, id: 3, status: 'Created' }, { index: 0, status: 'Failed', error: 'UserCreateError', details: 'Name: is too short' }, { index: 1, id: 2, status: 'Updated' }]));
    const rows = [upsert('p1', { external_id: 'u1' }), upsert('p2', { external_id: 'u2' }), upsert('p3', { external_id: 'u3' })];
    expect(await action.performBatch(rows, context())).toEqual([{ ok: false, error: 'Zendesk rejected this user: UserCreateError: Name: is too short' }, { ok: true }, { ok: true }]);

    upstream.reset().handle(fake.handle);
    fake.omitIndex = true;
    const positional = await action.performBatch([upsert('p1', { external_id: 'u1', name: 'A' }), upsert('p2', { external_id: 'u2' })], context());
    expect(positional).toEqual([{ ok: true }, { ok: false, error: 'Zendesk rejected this user: UserCreateError: Name: is too short (minimum is 1 character)' }]);
  });

  it('details given as {field: [{description}]} objects are read', async () => {
    upstream.reply(jobStatus('J2', 'queued'), jobStatus('J2', 'completed', [{ index: 0, status: 'Failed', error: 'RecordInvalid', details: { email: [{ description: 'Email is invalid', error: 'InvalidValue' }] } }]));
    expect(await action.performBatch([upsert('p1', { external_id: 'u1' })], context())).toEqual([{ ok: false, error: 'Zendesk rejected this user: RecordInvalid: Email is invalid' }]);
  });

  it('a user without a result fails (sent again next run); a completed job listing no results counts every user done', async () => {
    upstream.reply(jobStatus('J3', 'queued'), jobStatus('J3', 'completed', [{ index: 0, id: 1, status: 'Created' }]));
    const rows = [upsert('p1', { external_id: 'u1' }), upsert('p2', { external_id: 'u2' })];
    expect(await action.performBatch(rows, context())).toEqual([{ ok: true }, { ok: false, error: 'Zendesk reported no result for this user' }]);
    upstream.reset().handle(fake.handle).reply(jobStatus('J4', 'queued'), jobStatus('J4', 'completed', null));
    expect(await action.performBatch(rows, context())).toEqual([{ ok: true }, { ok: true }]);
  });

  it('a failed job: its results still map; users without one fail with the job’s message; no result at all rejects the batch', async () => {
    upstream.reply(jobStatus('J5', 'queued'), jobStatus('J5', 'failed', [{ index: 0, id: 1, status: 'Created' }], 'Internal error'));
    const rows = [upsert('p1', { external_id: 'u1' }), upsert('p2', { external_id: 'u2' })];
    expect(await action.performBatch(rows, context())).toEqual([{ ok: true }, { ok: false, error: 'Zendesk job J5 failed: Internal error' }]);
    upstream.reset().handle(fake.handle).reply(jobStatus('J6', 'queued'), jobStatus('J6', 'failed', null, 'Internal error'));
    await expect(action.performBatch(rows, context())).rejects.toThrow(new BatchRejectedError('Zendesk job J6 failed: Internal error'));
  });

  it('a killed job, an expired one (404) and one that outlasts the polling time are retried', async () => {
    const rows = [upsert('p1', { external_id: 'u1', name: 'A' })];
    upstream.reply(jobStatus('J7', 'queued'), jobStatus('J7', 'killed', null, 'Job was killed'));
    await expect(action.performBatch(rows, context())).rejects.toThrow(new RetryableError('Zendesk killed job J7: Job was killed: the batch is sent again'));
    upstream.reset().handle(fake.handle).reply(jobStatus('J8', 'queued'), zendeskError(404, 'RecordNotFound', 'Not found'));
    await expect(action.performBatch(rows, context())).rejects.toThrow(new RetryableError('Zendesk no longer knows job J8 (jobs expire): the batch is sent again'));
    upstream.reset().handle(fake.handle);
    fake.pollsUntilDone = 1_000;
    const ctx = context();
    ctx.polling = { firstDelayMs: 5, maxDelayMs: 5, timeoutMs: 60 };
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as Error).message).toMatch(/^Zendesk job \w+ did not finish within 0 s \(last status: working, \d+ polls\)$/);
  });
});

describe('zendesk: throttling and errors', () => {
  const rows = [upsert('p1', { external_id: 'u1', name: 'A' })];
  const retryable = async (reply: ScriptedResponse, ...more: ScriptedResponse[]) => {
    upstream.reply(reply, ...more);
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    return e as RetryableError;
  };

  it('429 with Retry-After (seconds) → RetryableError with that delay', async () => {
    expect((await retryable(zendeskError(429, 'APIRateLimitExceeded', 'Number of allowed API requests per minute exceeded', { 'retry-after': '7' }))).retryAfterMs).toBe(7_000);
  });

  it('429 without Retry-After: Zendesk’s ratelimit-reset (seconds to the reset) gives the delay; a bare 429 leaves it to the engine', async () => {
    expect((await retryable(zendeskError(429, 'APIRateLimitExceeded', 'too many', { 'ratelimit-limit': '700', 'ratelimit-remaining': '0', 'ratelimit-reset': '41' }))).retryAfterMs).toBe(41_000);
    expect((await retryable({ status: 429, body: 'Too Many Requests' })).retryAfterMs).toBeUndefined();
  });

  it('the job limit (30 queued jobs per account) → RetryableError waiting 30 s, or the answer’s Retry-After', async () => {
    const full = await retryable(zendeskError(429, 'TooManyJobs', 'Number of allowed background jobs exceeded'));
    expect(full.retryAfterMs).toBe(30_000);
    expect(full.message).toContain('job queue is full');
    expect((await retryable(zendeskError(429, 'TooManyJobs', 'Number of allowed background jobs exceeded', { 'retry-after': '12' }))).retryAfterMs).toBe(12_000);
  });

  it('a 429 or 503 while polling → RetryableError (the batch is sent again)', async () => {
    await retryable(jobStatus('J9', 'queued'), zendeskError(429, 'APIRateLimitExceeded', 'too many', { 'retry-after': '2' }));
    const e = await retryable(jobStatus('J10', 'queued'), { status: 503, headers: { 'retry-after': '5' }, body: 'Service Unavailable' });
    expect(e.retryAfterMs).toBe(5_000);
  });

  it.each([400, 422])('%s on the job request (the whole batch) → BatchRejectedError (the engine bisects)', async (status) => {
    upstream.reply(zendeskError(status, 'InvalidValue', 'Invalid users payload'));
    await expect(action.performBatch(rows, context())).rejects.toThrow(new BatchRejectedError(`Zendesk answered ${status} for creating or updating 1 users: InvalidValue: Invalid users payload`));
  });

  it('401 and 403 (bulk import not enabled) → ConfigurationError; 404 → ConfigurationError (subdomain); the token in no message or log', async () => {
    for (const [reply, text] of [
      [{ status: 401, body: { error: `Couldn't authenticate you ${TOKEN}` } }, '401'],
      [zendeskError(403, 'Forbidden', 'Bulk user import is not enabled for this account'), '403'],
      [zendeskError(404, 'InvalidEndpoint', 'Not found'), 'check subdomain and base_url'],
    ] as const) {
      upstream.reset().handle(fake.handle).reply(reply);
      const ctx = context();
      const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ConfigurationError);
      expect((e as Error).message).toContain(text);
      expect((e as Error).message).not.toContain(TOKEN);
      expect(ctx.logger.text()).not.toContain(TOKEN);
    }
  });

  it('requests_per_minute throttles the account’s requests (plan limit; default 200)', async () => {
    expect(zendesk.settings.parse({ subdomain: 'acme', oauth_token: 't' })).toMatchObject({ requests_per_minute: 200 });
    expect(typeof zendesk.rateLimit === 'function' && zendesk.rateLimit(zendesk.settings.parse({ subdomain: 'acme', oauth_token: 't' }))).toEqual({ requests: 200, perMs: 60_000 });
    // a budget of 60 a minute (one a second after a first burst of 60): 64 requests take at least 4 s
    const plan = settings({ subdomain: 'slowplan', requests_per_minute: 60 });
    const started = Date.now();
    for (let i = 0; i < 32; i++) await zendesk.testConnection!(testContext(zendesk, plan));
    expect(upstream.requests).toHaveLength(64);
    expect(Date.now() - started).toBeGreaterThan(3_500);
    // another account has its own budget
    const other = Date.now();
    await zendesk.testConnection!(testContext(zendesk, settings({ subdomain: 'otherplan', requests_per_minute: 60 })));
    expect(Date.now() - other).toBeLessThan(500);
  }, 30_000);

  it('testConnection: a signed-in admin or agent, and the user fields; bad credentials, an anonymous or end user fail', async () => {
    await zendesk.testConnection!(testContext(zendesk, settings()));
    expect(calls(upstream.requests)).toEqual(['GET /api/v2/users/me', 'GET /api/v2/user_fields']);
    const bad = testContext(zendesk, settings({ api_token: 'wrong-token-0003' }));
    await expect(zendesk.testConnection!(bad)).rejects.toBeInstanceOf(ConfigurationError);
    expect(bad.logger.text()).not.toContain('wrong-token-0003');
    upstream.reply({ status: 200, body: { user: { id: null, name: 'Anonymous user', role: 'end-user' } } });
    await expect(zendesk.testConnection!(testContext(zendesk, settings()))).rejects.toThrow(/anonymous user/);
    upstream.reply({ status: 200, body: { user: { id: 5, name: 'End', role: 'end-user' } } });
    await expect(zendesk.testConnection!(testContext(zendesk, settings()))).rejects.toThrow(new ConfigurationError('the Zendesk user of these credentials is an end-user: creating and updating users needs an admin or agent'));
  });

  it('settings: email with api_token, or oauth_token; the host from the subdomain; options {} only', () => {
    const ok = zendesk.settings.parse({ subdomain: ' Acme ', email: EMAIL, api_token: TOKEN });
    expect(zendesk.baseUrl!(ok)).toBe('https://acme.zendesk.com');
    expect(zendesk.accountKey!(ok)).toBe('acme');
    expect(zendesk.headers!(ok)).toEqual({ authorization: BASIC });
    expect(zendesk.settings.safeParse({ subdomain: 'acme' }).success).toBe(false);
    expect(zendesk.settings.safeParse({ subdomain: 'acme', email: EMAIL }).success).toBe(false);
    expect(zendesk.settings.safeParse({ subdomain: 'acme', email: EMAIL, api_token: TOKEN, oauth_token: 'x' }).success).toBe(false);
    expect(zendesk.settings.safeParse({ subdomain: 'acme.zendesk.com', oauth_token: 'x' }).success).toBe(false);
    expect(action.options.parse({})).toEqual({});
    expect(action.options.safeParse({ role: 'agent' }).success).toBe(false);
  });
});

describe('zendesk: end to end against the stateful fake', () => {
  it('runs of an upsert sync: added and changed users are what Zendesk holds; user fields merge', async () => {
    fake.defineUserField('plan', 'dropdown').defineUserField('score', 'integer');
    fake.pollsUntilDone = 2;
    const run = async (rows: OutgoingRow[]) => {
      const ctx = context();
      ctx.state = await action.ensure!(ctx);
      const results = await action.performBatch(rows, ctx);
      expect(results.every((r) => r.ok)).toBe(true);
    };
    await run([upsert('1', { external_id: 'u1', email: 'a@example.com', name: 'Ada', plan: 'free', score: 1 }), upsert('2', { external_id: 'u2', email: 'b@example.com', name: 'Bob', plan: 'gold' })]);
    expect(fake.users.size).toBe(2);
    // run 2: Ada upgrades (her score unchanged, not sent), Bob's email changes, Cy arrives by email only
    await run([upsert('1', { external_id: 'u1', plan: 'gold' }), upsert('2', { external_id: 'u2', email: 'bob@example.com' }), upsert('3', { email: 'cy@example.com', name: 'Cy' })]);
    expect(fake.users.size).toBe(3);
    expect(fake.find('u1')).toMatchObject({ name: 'Ada', email: 'a@example.com', user_fields: { plan: 'gold', score: 1 } });
    expect(fake.find('u2')).toMatchObject({ email: 'bob@example.com', user_fields: { plan: 'gold' } });
    expect(fake.find('cy@example.com')).toMatchObject({ name: 'Cy', external_id: null, role: 'end-user' });
    expect(fake.queuedJobs).toBe(0);
  });
});
