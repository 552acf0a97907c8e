import { createHash } from 'node:crypto';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { linkedin, LINKEDIN_DEFAULT_VERSION } from '../../src/destinations/linkedin';
import { buildUsersRequests, LINKEDIN_MAX_ELEMENTS, NO_USER_ID, userElement } from '../../src/destinations/linkedin/payload';
import { SEGMENT_READY_DELAY_MS } from '../../src/destinations/linkedin/segment';
import { FakeServer } from '../support/fake-server';
import { actionContext, testContext } from './harness';

const TOKEN = 'AQV_linkedin_secret_token_987';
const ACCOUNT = 'urn:li:sponsoredAccount:516848833';
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
let server: FakeServer;

beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const action = linkedin.actions.audience;
const settings = (over: Record<string, unknown> = {}) => ({ access_token: TOKEN, ad_account_id: '516848833', base_url: `${server.url}/rest`, source_platform: 'ACME_CDP', ...over });
const context = (options: Record<string, unknown> = { segment_id: '10804' }, state: Record<string, unknown> = { segment_id: '10804' }, over: Record<string, unknown> = {}) => {
  const ctx = actionContext(linkedin, 'audience', { settings: settings(over), options, sync: { name: 'vip_customers', mode: 'audience' } });
  ctx.state = state;
  return ctx;
};
const statuses = (...s: number[]) => ({ status: 200, body: { elements: s.map((status) => ({ status })) } });

describe('linkedin: settings and limits', () => {
  it('normalizes the account to its urn, defaults the version and base URL', () => {
    expect(linkedin.settings.parse({ access_token: 't', ad_account_id: '42' })).toEqual({
      access_token: 't',
      ad_account_id: 'urn:li:sponsoredAccount:42',
      linkedin_version: LINKEDIN_DEFAULT_VERSION,
      base_url: 'https://api.linkedin.com/rest',
    });
    expect(linkedin.settings.parse({ access_token: 't', ad_account_id: ACCOUNT }).ad_account_id).toBe(ACCOUNT);
    expect(linkedin.settings.safeParse({ access_token: 't', ad_account_id: '42', linkedin_version: '2025-05' }).success).toBe(false);
  });

  it('takes segment_id or segment_name (not both); 1,000 users per batch by default, 5,000 at most', () => {
    expect(action.options.safeParse({}).success).toBe(true);
    expect(action.options.safeParse({ segment_id: '1', segment_name: 'x' }).success).toBe(false);
    expect([action.batchSize, action.maxBatchSize]).toEqual([1_000, LINKEDIN_MAX_ELEMENTS]);
    expect(linkedin.rateLimit).toEqual({ requests: 500, perMs: 60_000 });
  });
});

describe('linkedin: users requests', () => {
  const rows: OutgoingRow[] = [
    { op: 'add', key: 'p_1', fields: { email: '  Ada@Example.com ', google_aid: '38400000-8cf0-11bd-b23e-10b96e40000d', first_name: 'Ada', last_name: 'Lovelace', title: 'Engineer', company: 'Analytical', country: 'GB' } },
    { op: 'remove', key: 'p_2', fields: { email: 'bob@example.com', apple_idfa: 'AB1234CD-E123-12FG-J123-AB12345CD678' } },
  ];

  it('POSTs one BATCH_CREATE to /rest/dmpSegments/{id}/users with ADD and REMOVE elements', async () => {
    server.reply(statuses(201, 201));
    const results = await action.performBatch(rows, context());
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    const req = server.last;
    expect([req.method, req.path, req.query]).toEqual(['POST', '/rest/dmpSegments/10804/users', {}]);
    expect(req.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'linkedin-version': LINKEDIN_DEFAULT_VERSION,
      'x-restli-protocol-version': '2.0.0',
      'x-restli-method': 'BATCH_CREATE',
      'content-type': 'application/json',
    });
    expect(req.json).toEqual({
      elements: [
        {
          action: 'ADD',
          userIds: [
            { idType: 'SHA256_EMAIL', idValue: sha('ada@example.com') },
            { idType: 'GOOGLE_AID', idValue: '38400000-8cf0-11bd-b23e-10b96e40000d' },
          ],
          firstName: 'Ada',
          lastName: 'Lovelace',
          title: 'Engineer',
          company: 'Analytical',
          country: 'GB',
        },
        {
          action: 'REMOVE',
          userIds: [
            { idType: 'SHA256_EMAIL', idValue: sha('bob@example.com') },
            { idType: 'APPLE_IDFA', idValue: 'AB1234CD-E123-12FG-J123-AB12345CD678' },
          ],
        },
      ],
    });
  });

  // LinkedIn Matched Audiences: SHA-256 hex of the trimmed, lowercased email (reference §1.3); no gmail or +tag rule
  it.each<{ id: string; email: unknown; expected: { idType: string; idValue: string }[] | null }>([
    { id: 'trim + lowercase then SHA-256', email: ' Test@Example.com ', expected: [{ idType: 'SHA256_EMAIL', idValue: '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b' }] },
    { id: 'gmail dots and +tag kept', email: 'j.doe+ads@gmail.com', expected: [{ idType: 'SHA256_EMAIL', idValue: sha('j.doe+ads@gmail.com') }] },
    { id: 'SHA-256 hex passes through lowercased', email: sha('x@example.com').toUpperCase(), expected: [{ idType: 'SHA256_EMAIL', idValue: sha('x@example.com') }] },
    { id: 'SHA-512 hex goes as SHA512_EMAIL', email: 'AB'.repeat(64), expected: [{ idType: 'SHA512_EMAIL', idValue: 'ab'.repeat(64) }] },
    { id: 'not an email', email: 'n/a', expected: null },
  ])('email: $id', ({ email, expected }) => {
    const element = userElement({ op: 'add', key: 'k', fields: { email } });
    expect(element === null ? null : element.userIds).toEqual(expected);
  });

  it('accepts first and last name without an id; fails a row with neither, without sending it', async () => {
    expect(userElement({ op: 'add', key: 'k', fields: { first_name: 'Ada', last_name: 'Lovelace' } })).toEqual({ action: 'ADD', userIds: [], firstName: 'Ada', lastName: 'Lovelace' });
    const results = await action.performBatch([{ op: 'add', key: 'k', fields: { first_name: 'Ada', company: 'X' } }], context());
    expect(results).toEqual([{ ok: false, error: NO_USER_ID }]);
    expect(server.requests).toHaveLength(0);
  });

  it('splits at the element limit (pure) and keeps row order in the results', async () => {
    const many: OutgoingRow[] = Array.from({ length: LINKEDIN_MAX_ELEMENTS + 1 }, (_, i) => ({ op: i % 2 ? 'remove' : 'add', key: `p_${i}`, fields: { email: `u${i}@example.com` } }));
    const plan = buildUsersRequests(many, '10804');
    expect(plan.requests.map((r) => r.indexes.length)).toEqual([5_000, 1]);
    server.handle((req) => statuses(...(req.json as { elements: unknown[] }).elements.map(() => 201)));
    const results = await action.performBatch(many, context());
    expect(results).toHaveLength(LINKEDIN_MAX_ELEMENTS + 1);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.requests.map((r) => (r.json as { elements: unknown[] }).elements.length)).toEqual([5_000, 1]);
  });
});

describe('linkedin: answers', () => {
  const rows: OutgoingRow[] = ['a', 'b', 'c'].map((k) => ({ op: 'add', key: k, fields: { email: `${k}@example.com` } }));

  it('maps each element status to its row (2xx ok, others fail with LinkedIn\'s message)', async () => {
    server.reply({ status: 200, body: { elements: [{ status: 201 }, { status: 400, error: { message: 'Invalid idValue for SHA256_EMAIL', status: 400 } }, { status: 201 }] } });
    const results = await action.performBatch(rows, context());
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'LinkedIn rejected this user (400: Invalid idValue for SHA256_EMAIL)' }, { ok: true }]);
  });

  it('429 → RetryableError with Retry-After', async () => {
    server.reply({ status: 429, headers: { 'retry-after': '60' }, body: { message: 'Resource level throttle limit for calls to this resource is reached', status: 429 } });
    const error = await action.performBatch(rows, context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBe(60_000);
  });

  it.each([
    { id: '401 expired token', status: 401, expected: ConfigurationError, message: /401/ },
    { id: '403 missing rw_dmp_segments', status: 403, expected: ConfigurationError, message: /403/ },
    { id: '404 segment gone', status: 404, expected: ConfigurationError, message: /not found/ },
    { id: '400 whole batch', status: 400, expected: BatchRejectedError, message: /rejected the batch \(400: bad request body\)/ },
    { id: '503', status: 503, expected: RetryableError, message: /503/ },
  ])('$id', async ({ status, expected, message }) => {
    server.reply({ status, body: { message: 'bad request body', status } });
    const error = await action.performBatch(rows, context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(expected);
    expect((error as Error).message).toMatch(message);
  });

  it('keeps the token out of logs and errors', async () => {
    server.reply({ status: 401, body: { message: `Invalid access token ${TOKEN}` } });
    const ctx = context();
    const error = await action.performBatch(rows, ctx).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(ctx.logger.text() + (error as Error).message).not.toContain(TOKEN);
  });

  it('waits until a just-created segment is ready', async () => {
    server.reply(statuses(201));
    const started = Date.now();
    await action.performBatch([rows[0]], context({}, { segment_id: '10804', ready_at: Date.now() + 300 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('linkedin: ensure the segment', () => {
  const page = (elements: unknown[], total: number) => ({ status: 200, body: { elements, paging: { start: 0, count: 100, total } } });

  it('finds the USER segment by name with the account finder', async () => {
    server.reply(page([{ id: 1, name: 'Other', type: 'USER' }, { id: 10804, name: 'VIP', type: 'USER' }], 2));
    await expect(action.ensure!(context({ segment_name: 'VIP' }, {}))).resolves.toEqual({ segment_id: '10804' });
    expect(server.requests).toHaveLength(1);
    const req = server.last;
    expect([req.method, req.path, req.query]).toEqual(['GET', '/rest/dmpSegments', { q: 'account', account: ACCOUNT, start: '0', count: '100' }]);
    expect(req.headers).toMatchObject({ 'linkedin-version': LINKEDIN_DEFAULT_VERSION, 'x-restli-protocol-version': '2.0.0' });
  });

  it('pages with start/count', async () => {
    const full = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `s${i}`, type: 'USER' }));
    server.reply(page(full, 101), page([{ id: 777, name: 'VIP', type: 'USER' }], 101));
    await expect(action.ensure!(context({ segment_name: 'VIP' }, {}))).resolves.toEqual({ segment_id: '777' });
    expect(server.requests.map((r) => r.query.start)).toEqual(['0', '100']);
  });

  it('creates a USER segment (named after the sync by default) and marks it ready 5 s later', async () => {
    server.reply(page([], 0), { status: 201, headers: { 'x-restli-id': '98765' } });
    const before = Date.now();
    const state = await action.ensure!(context({}, {}));
    expect(state.segment_id).toBe('98765');
    expect(state.ready_at).toBeGreaterThanOrEqual(before + SEGMENT_READY_DELAY_MS);
    const create = server.last;
    expect([create.method, create.path]).toEqual(['POST', '/rest/dmpSegments']);
    expect(create.json).toEqual({ name: 'vip_customers', account: ACCOUNT, type: 'USER', sourcePlatform: 'ACME_CDP', accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }] });
  });

  it('checks a configured segment_id', async () => {
    server.reply({ status: 200, body: { id: 10804, name: 'VIP', type: 'USER' } });
    await expect(action.ensure!(context({ segment_id: '10804' }, {}))).resolves.toEqual({ segment_id: '10804' });
    expect([server.last.method, server.last.path]).toEqual(['GET', '/rest/dmpSegments/10804']);
  });

  it.each([
    { id: 'two segments with the name', replies: [page([{ id: 1, name: 'VIP' }, { id: 2, name: 'VIP' }], 2)], options: { segment_name: 'VIP' }, over: {}, message: /2 LinkedIn DMP segments are named "VIP"/ },
    { id: 'a COMPANY segment', replies: [page([{ id: 1, name: 'VIP', type: 'COMPANY' }], 1)], options: { segment_name: 'VIP' }, over: {}, message: /COMPANY segment/ },
    { id: 'no source_platform to create with', replies: [page([], 0)], options: { segment_name: 'VIP' }, over: { source_platform: undefined }, message: /source_platform/ },
    { id: 'unknown segment_id', replies: [{ status: 404, body: { message: 'Not found', status: 404 } }], options: { segment_id: '5' }, over: {}, message: /404: Not found/ },
  ])('configuration error: $id', async ({ replies, options, over, message }) => {
    server.reply(...replies);
    const error = await action.ensure!(context(options, {}, over)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('linkedin: testConnection', () => {
  it('lists one segment of the account', async () => {
    server.reply({ status: 200, body: { elements: [], paging: { start: 0, count: 1, total: 0 } } });
    const ctx = testContext(linkedin, settings());
    await linkedin.testConnection!(ctx);
    expect([server.last.method, server.last.path, server.last.query]).toEqual(['GET', '/rest/dmpSegments', { q: 'account', account: ACCOUNT, start: '0', count: '1' }]);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('fails with a ConfigurationError on a bad token', async () => {
    server.reply({ status: 401, body: { message: 'Invalid access token', status: 401 } });
    await expect(linkedin.testConnection!(testContext(linkedin, settings()))).rejects.toThrow(ConfigurationError);
  });
});
