import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { intercom } from '../../src/destinations/intercom';
import { INTERCOM_VERSION } from '../../src/destinations/intercom/settings';
import { contactJson, FakeIntercom, intercomError } from '../support/fakes/intercom';
import { FakeServer, type RecordedRequest } from '../support/fake-server';
import { operations, Prism, type OpenApiDocument } from '../support/prism';
import { actionContext, testContext } from './harness';

const TOKEN = 'dG9rOmludGVyY29tX3NlY3JldF8wMDAxOjE=';
const SPEC = 'test/specs/intercom/api.intercom.io-2.14.yaml';
const USED_PATHS = ['/me', '/data_attributes', '/contacts', '/contacts/search', '/contacts/{contact_id}', '/contacts/{contact_id}/tags', '/contacts/{contact_id}/tags/{tag_id}', '/tags'];

/**
 * The spec as Prism loads it: only the paths the adapter uses (Prism starts faster), no `servers`
 * (the fake is the server), and the error answers Intercom documents outside the spec (rate limiting
 * 429, 409 conflicts, 400/404/422 refusals, 5xx) declared with the spec's own `error` schema, so the
 * fake may give them without Prism reporting an undeclared status.
 */
function patchSpec(doc: OpenApiDocument): void {
  delete doc.servers;
  doc.paths = Object.fromEntries(Object.entries(doc.paths ?? {}).filter(([path]) => USED_PATHS.includes(path)));
  const errorAnswer = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/error' } } } };
  for (const [, , op] of operations(doc)) {
    const responses = (op.responses ??= {}) as Record<string, unknown>;
    for (const status of ['400', '401', '404', '409', '422', '429', '500', '503']) responses[status] ??= errorAnswer;
  }
}

let upstream: FakeServer;
let prism: Prism;
let fake: FakeIntercom;

// Every request goes through Prism (proxy mode, --errors) in front of the fake: a request, or an
// answer of the fake, that breaks Intercom's published 2.14 spec fails the test (afterEach).
beforeAll(async () => {
  upstream = await FakeServer.start();
  prism = await Prism.start({ spec: SPEC, upstream: upstream.url, patch: patchSpec });
}, 90_000);
afterAll(async () => {
  await prism?.stop();
  await upstream?.close();
});
beforeEach(() => {
  fake = new FakeIntercom(TOKEN);
  upstream.reset().handle(fake.handle);
});
afterEach(() => prism.expectNoViolations());

const settings = () => ({ access_token: TOKEN, base_url: prism.url });
const contacts = (options: Record<string, unknown> = {}, mode: 'upsert' | 'update' = 'upsert') =>
  actionContext(intercom, 'contacts', { settings: settings(), options, sync: { name: 'customers', mode } });
const tags = (options: Record<string, unknown> = {}, state: Record<string, unknown> = {}) => {
  const ctx = actionContext(intercom, 'tags', { settings: settings(), options, sync: { name: 'VIP', mode: 'audience' } });
  ctx.state = state;
  return ctx;
};
const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const upsert = (key: string, fields: Record<string, unknown>) => row('upsert', key, fields);
const calls = (requests: RecordedRequest[]) => requests.map((r) => `${r.method} ${r.path}`);
const searches = () => upstream.requests.filter((r) => r.path === '/contacts/search').map((r) => (r.json as { query: unknown }).query);
const writes = () =>
  upstream.requests
    .filter((r) => r.path !== '/contacts/search' && r.path !== '/data_attributes')
    .map((r) => ({ call: `${r.method} ${r.path}`, body: r.json }))
    .sort((a, b) => a.call.localeCompare(b.call));

describe('intercom contacts: requests (validated by Prism against Intercom’s 2.14 spec)', () => {
  it('upsert: searches by external_id, then by email; updates the found contacts, creates the others; bad rows fail alone', async () => {
    fake.defineAttribute('plan', 'string').defineAttribute('trial_ends', 'date').defineAttribute('seats', 'integer');
    const ada = fake.seed({ external_id: 'u1', email: 'ada@old.example.com' });
    const bob = fake.seed({ email: 'bob@example.com' });
    const ctx = contacts();
    const results = await intercom.actions.contacts.performBatch(
      [
        upsert('p1', { external_id: 'u1', email: ' Ada@Example.com ', name: 'Ada', plan: 'gold', trial_ends: '2026-02-01T00:00:00Z', custom_attributes: { seats: 3 } }),
        upsert('p2', { email: 'bob@example.com', phone: '+1 650 253 0000', signed_up_at: 1_767_225_600_000 }),
        upsert('p3', { external_id: 'u3', email: 'cy@example.com', unsubscribed_from_emails: 'true', owner_id: '42' }),
        upsert('p4', { email: 'nope' }),
        upsert('p5', { name: 'Nobody' }),
        row('delete', 'p6', { external_id: 'u6' }),
        upsert('p7', { external_id: 'u7', signed_up_at: 'yesterday' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no external_id or email' },
      { ok: false, error: 'Intercom contacts are upserted or updated (got delete)' },
      { ok: false, error: 'signed_up_at is not a date or timestamp' },
    ]);
    const first = upstream.requests[0];
    expect([first.headers.authorization, first.headers['intercom-version']]).toEqual([`Bearer ${TOKEN}`, INTERCOM_VERSION]);
    expect(calls(upstream.requests.slice(0, 3))).toEqual(['GET /data_attributes', 'POST /contacts/search', 'POST /contacts/search']);
    expect(upstream.requests[0].query).toEqual({ model: 'contact' });
    expect(upstream.requests[1].json).toEqual({ query: { field: 'external_id', operator: 'IN', value: ['u1', 'u3'] }, pagination: { per_page: 150 } });
    expect(upstream.requests[2].json).toEqual({ query: { field: 'email', operator: 'IN', value: ['bob@example.com', 'cy@example.com'] }, pagination: { per_page: 150 } });
    expect(upstream.requests[1].headers['content-type']).toBe('application/json');
    expect(writes()).toEqual([
      { call: 'POST /contacts', body: { role: 'user', external_id: 'u3', email: 'cy@example.com', unsubscribed_from_emails: true, owner_id: 42 } },
      { call: `PUT /contacts/${ada.id}`, body: { external_id: 'u1', email: 'ada@example.com', name: 'Ada', custom_attributes: { plan: 'gold', trial_ends: 1_769_904_000, seats: 3 } } },
      { call: `PUT /contacts/${bob.id}`, body: { email: 'bob@example.com', phone: '+1 650 253 0000', signed_up_at: 1_767_225_600 } },
    ].sort((a, b) => a.call.localeCompare(b.call)));
    expect(fake.find('u1')).toMatchObject({ email: 'ada@example.com', name: 'Ada', custom_attributes: { plan: 'gold', seats: 3, trial_ends: 1_769_904_000 } });
    expect(fake.find('u3')).toMatchObject({ role: 'user', email: 'cy@example.com', owner_id: 42 });
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('email matching: only contacts of the role, not one holding another external_id; two candidates make the row ambiguous', async () => {
    const lead = fake.seed({ role: 'lead', email: 'lead@example.com' });
    const taken = fake.seed({ email: 'taken@example.com', external_id: 'someone-else' });
    const known = fake.seed({ email: 'known@example.com', external_id: 'k1' });
    const twin1 = fake.seed({ email: 'twin@example.com' });
    const twin2 = fake.seed({ email: 'twin@example.com' });
    const results = await intercom.actions.contacts.performBatch(
      [
        upsert('p1', { email: 'lead@example.com', name: 'L' }),
        upsert('p2', { external_id: 'mine', email: 'taken@example.com' }),
        upsert('p3', { email: 'twin@example.com' }),
        upsert('p4', { email: 'known@example.com', name: 'K' }),
      ],
      contacts(),
    );
    expect(results).toEqual([
      { ok: true },
      // Intercom refuses a second user with the email (409 naming the holder): another person, the row fails
      { ok: false, error: `Intercom contact ${taken.id} already has this email, with another external_id (someone-else)` },
      { ok: false, error: `2 Intercom users have the email twin@example.com (${twin1.id}, ${twin2.id}): map an external_id to tell them apart` },
      { ok: true },
    ]);
    expect(writes()).toEqual([
      { call: `GET /contacts/${taken.id}`, body: undefined },
      { call: 'POST /contacts', body: { role: 'user', email: 'lead@example.com', name: 'L' } },
      { call: 'POST /contacts', body: { role: 'user', external_id: 'mine', email: 'taken@example.com' } },
      { call: `PUT /contacts/${known.id}`, body: { email: 'known@example.com', name: 'K' } },
    ]);
    expect(fake.contacts.get(lead.id)?.name).toBeNull();
    expect(fake.contacts.get(taken.id)?.external_id).toBe('someone-else');
    expect(fake.contacts.get(known.id)?.name).toBe('K');
  });

  it('update mode: found contacts are updated; a row that matches nobody fails (nothing is created)', async () => {
    const ada = fake.seed({ external_id: 'u1' });
    const results = await intercom.actions.contacts.performBatch([row('update', 'p1', { external_id: 'u1', name: 'Ada' }), row('update', 'p2', { external_id: 'u2', name: 'Bob' })], contacts({}, 'update'));
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'no Intercom contact has this external_id or email (an update does not create contacts)' }]);
    expect(writes()).toEqual([{ call: `PUT /contacts/${ada.id}`, body: { external_id: 'u1', name: 'Ada' } }]);
    expect(fake.contacts.size).toBe(1);
  });

  it('role lead: created contacts are leads, and email-only rows match leads', async () => {
    await intercom.actions.contacts.performBatch([upsert('p1', { email: 'new@example.com' })], contacts({ role: 'lead' }));
    expect(writes()).toEqual([{ call: 'POST /contacts', body: { role: 'lead', email: 'new@example.com' } }]);
    expect(fake.find('new@example.com')?.role).toBe('lead');
  });

  it('a create that meets 409 (a contact created minutes ago is not searchable yet) updates the contact Intercom names', async () => {
    fake = new FakeIntercom(TOKEN, { searchLag: true });
    upstream.reset().handle(fake.handle);
    const action = intercom.actions.contacts;
    expect(await action.performBatch([upsert('p1', { external_id: 'u1', name: 'First' })], contacts())).toEqual([{ ok: true }]);
    upstream.reset().handle(fake.handle);
    expect(await action.performBatch([upsert('p1', { external_id: 'u1', name: 'Second' })], contacts())).toEqual([{ ok: true }]);
    const id = fake.find('u1')!.id;
    expect(calls(upstream.requests)).toEqual(['POST /contacts/search', 'POST /contacts', `GET /contacts/${id}`, `PUT /contacts/${id}`]);
    expect(upstream.requests[1].json).toEqual({ role: 'user', external_id: 'u1', name: 'Second' });
    expect(fake.contacts.size).toBe(1);
    expect(fake.find('u1')?.name).toBe('Second');
  });

  it('per-contact refusals (400 validation, 409 without an id, 404) fail their own row only', async () => {
    fake.seed({ external_id: 'u1' });
    fake.seed({ external_id: 'gone' });
    upstream.handle((req) => {
      const body = req.json as { email?: string; external_id?: string } | undefined;
      if (req.method === 'POST' && req.path === '/contacts' && body?.email === 'bad@example.com') return intercomError(400, 'parameter_invalid', 'Email address is invalid');
      if (req.method === 'POST' && req.path === '/contacts' && body?.email === 'dup@example.com') return intercomError(409, 'conflict', 'Multiple existing users match this email address - must be more specific');
      if (req.method === 'PUT' && body?.external_id === 'gone') return intercomError(404, 'not_found', 'User Not Found');
      return fake.handle(req);
    });
    const results = await intercom.actions.contacts.performBatch(
      [
        upsert('p1', { external_id: 'u1', name: 'ok' }),
        upsert('p2', { email: 'bad@example.com' }),
        upsert('p3', { email: 'dup@example.com' }),
        upsert('p4', { external_id: 'gone', name: 'x' }),
        upsert('p5', { email: 'fine@example.com' }),
      ],
      contacts(),
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Intercom refused to create the contact (400): parameter_invalid: Email address is invalid' },
      { ok: false, error: 'Intercom refused to create the contact (409): conflict: Multiple existing users match this email address - must be more specific' },
      { ok: false, error: `Intercom refused to update contact ${fake.find('gone')!.id} (404): not_found: User Not Found` },
      { ok: true },
    ]);
  });

  it('custom attributes must exist: a missing one stops the run, unless create_attributes creates it (type from the first value)', async () => {
    fake.defineAttribute('plan', 'string');
    const rows = [upsert('p1', { external_id: 'u1', plan: 'gold', score: 4.5, vip: true, renewal: '2026-03-01' }), upsert('p2', { external_id: 'u2', score: null })];
    await expect(intercom.actions.contacts.performBatch(rows, contacts())).rejects.toThrow(
      new ConfigurationError(
        'Intercom has no custom contact attribute "score", "vip", "renewal": create them in Intercom (Settings → Data → People), or set the sync option create_attributes: true',
      ),
    );
    expect(calls(upstream.requests)).toEqual(['GET /data_attributes']);

    upstream.reset().handle(fake.handle);
    const ctx = contacts({ create_attributes: true });
    ctx.state = await intercom.actions.contacts.ensure!(ctx);
    expect(await intercom.actions.contacts.performBatch(rows, ctx)).toEqual([{ ok: true }, { ok: true }]);
    const created = upstream.requests.filter((r) => r.method === 'POST' && r.path === '/data_attributes').map((r) => r.json as { name: string });
    expect(created.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'renewal', model: 'contact', data_type: 'date' },
      { name: 'score', model: 'contact', data_type: 'float' },
      { name: 'vip', model: 'contact', data_type: 'boolean' },
    ]);
    expect(fake.find('u1')?.custom_attributes).toEqual({ plan: 'gold', score: 4.5, vip: true, renewal: 1_772_323_200 });
    expect(fake.find('u2')?.custom_attributes).toEqual({ score: null });
    expect(ctx.logger.lines.filter((l) => l.msg === 'created the Intercom custom contact attribute')).toHaveLength(3);

    // the catalog is the run's: a second batch creates nothing and reads nothing again
    upstream.reset().handle(fake.handle);
    await intercom.actions.contacts.performBatch([upsert('p3', { external_id: 'u3', score: 1 })], ctx);
    expect(calls(upstream.requests)).toEqual(['POST /contacts/search', 'POST /contacts']);
  });

  it('a value that does not fit its attribute type fails its row; objects are not attribute values', async () => {
    fake.defineAttribute('renewal', 'date').defineAttribute('meta', 'string');
    const results = await intercom.actions.contacts.performBatch([upsert('p1', { external_id: 'u1', renewal: 'soon' }), upsert('p2', { external_id: 'u2', meta: { a: 1 } }), upsert('p3', { external_id: 'u3', renewal: '2026-03-01' })], contacts());
    expect(results).toEqual([
      { ok: false, error: 'custom attribute renewal is a date in Intercom: "soon" is not a date or timestamp' },
      { ok: false, error: 'custom attribute meta: Intercom takes text, numbers, booleans and dates, not objects' },
      { ok: true },
    ]);
  });

  it('batches: 50 rows by default, 150 at most (a search page); identifiers are searched 50 at a time; writes are several in flight', async () => {
    const action = intercom.actions.contacts;
    expect([action.batchSize, action.maxBatchSize, action.concurrency]).toEqual([50, 150, 4]);
    for (let i = 0; i < 150; i += 2) fake.seed({ external_id: `u${i}` });
    let inFlight = 0;
    let most = 0;
    upstream.handle(async (req) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return fake.handle(req);
    });
    const rows = Array.from({ length: 150 }, (_, i) => upsert(`p${i}`, { external_id: `u${i}` }));
    expect((await action.performBatch(rows, contacts())).every((r) => r.ok)).toBe(true);
    expect(searches().map((q) => (q as { value: unknown[] }).value.length)).toEqual([50, 50, 50]);
    expect(upstream.requests.filter((r) => r.method === 'PUT')).toHaveLength(75);
    expect(upstream.requests.filter((r) => r.method === 'POST' && r.path === '/contacts')).toHaveLength(75);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(5);
    expect(fake.contacts.size).toBe(150);
  });

  it('follows the search cursor (pages.next.starting_after) until the last page', async () => {
    const a = fake.seed({ external_id: 'u1' });
    const b = fake.seed({ external_id: 'u2' });
    const page = (contact: typeof a, next?: string) => ({
      status: 200,
      body: { type: 'list', data: [contactJson(contact)], total_count: 2, pages: { type: 'pages', page: next ? 1 : 2, per_page: 1, total_pages: 2, ...(next ? { next: { per_page: 1, starting_after: next } } : {}) } },
    });
    upstream.reply(page(a, 'cursor-1'), page(b));
    expect(await intercom.actions.contacts.performBatch([upsert('p1', { external_id: 'u1' }), upsert('p2', { external_id: 'u2' })], contacts())).toEqual([{ ok: true }, { ok: true }]);
    expect(upstream.requests[1].json).toEqual({ query: { field: 'external_id', operator: 'IN', value: ['u1', 'u2'] }, pagination: { per_page: 150, starting_after: 'cursor-1' } });
    expect(writes().map((w) => w.call)).toEqual([`PUT /contacts/${a.id}`, `PUT /contacts/${b.id}`]);
  });

  it('options: {} is valid (role user, no attribute creation); a bad role is refused', () => {
    expect(intercom.actions.contacts.options.parse({})).toEqual({ role: 'user', create_attributes: false });
    expect(intercom.actions.contacts.options.safeParse({ role: 'admin' }).success).toBe(false);
    expect(intercom.actions.tags.options.parse({})).toEqual({ create_missing: false, role: 'user' });
    expect(intercom.actions.tags.options.safeParse({ tag_id: '1', tag_name: 'x' }).success).toBe(false);
  });

  it('Prism reports a request that breaks the spec (an unknown Intercom-Version)', async () => {
    const ctx = contacts();
    const res = await ctx.http.request({ method: 'POST', url: 'contacts/search', headers: { 'intercom-version': '9.9' }, body: { query: { field: 'email', operator: 'IN', value: ['a@example.com'] } } });
    expect(res.status).toBe(422);
    expect(upstream.requests).toHaveLength(0);
    expect(prism.clearViolations().length).toBeGreaterThan(0);
  });
});

describe('intercom: throttling and errors', () => {
  const rows = [upsert('p1', { external_id: 'u1' }), upsert('p2', { external_id: 'u2' })];

  it('429 with X-RateLimit-Reset (Intercom’s signal, a Unix time) → RetryableError waiting until then', async () => {
    const reset = Math.floor(Date.now() / 1000) + 6;
    upstream.reply(intercomError(429, 'rate_limit_exceeded', 'Exceeded rate limit of 10000 in 60 seconds', { 'x-ratelimit-limit': '10000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }));
    const e = await intercom.actions.contacts.performBatch(rows, contacts()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBeGreaterThan(4_000);
    expect((e as RetryableError).retryAfterMs).toBeLessThanOrEqual(6_000);
  });

  it('429 with Retry-After → that delay; a bare 429 → the engine’s backoff (no delay given)', async () => {
    upstream.reply(intercomError(429, 'rate_limit_exceeded', 'slow down', { 'retry-after': '3' }), intercomError(429, 'rate_limit_exceeded', 'slow down'));
    const first = await intercom.actions.contacts.performBatch(rows, contacts()).catch((x: unknown) => x);
    expect(first).toBeInstanceOf(RetryableError);
    expect((first as RetryableError).retryAfterMs).toBe(3_000);
    const second = await intercom.actions.contacts.performBatch(rows, contacts()).catch((x: unknown) => x);
    expect(second).toBeInstanceOf(RetryableError);
    expect((second as RetryableError).retryAfterMs).toBeUndefined();
  });

  it('a 429 on one contact write, with others in flight, retries the whole batch (not a row error)', async () => {
    fake.seed({ external_id: 'u1' });
    fake.seed({ external_id: 'u2' });
    upstream.handle((req) => (req.method === 'PUT' && (req.json as { external_id?: string }).external_id === 'u2' ? intercomError(429, 'rate_limit_exceeded', 'slow down', { 'retry-after': '1' }) : fake.handle(req)));
    const e = await intercom.actions.contacts.performBatch(rows, contacts()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(1_000);
  });

  it('5xx → RetryableError', async () => {
    upstream.reply(intercomError(503, 'service_unavailable', 'Sorry, the API service is temporarily unavailable'));
    await expect(intercom.actions.contacts.performBatch(rows, contacts())).rejects.toBeInstanceOf(RetryableError);
  });

  it('a 400 on the search (the whole batch) → BatchRejectedError (the engine bisects)', async () => {
    upstream.reply(intercomError(400, 'parameter_invalid', 'Invalid query'));
    await expect(intercom.actions.contacts.performBatch(rows, contacts())).rejects.toThrow(new BatchRejectedError('Intercom answered 400 for searching contacts by external_id: parameter_invalid: Invalid query'));
  });

  it('401 → ConfigurationError; the token is in no message or log line', async () => {
    fake = new FakeIntercom('another-apps-token');
    upstream.reset().handle(fake.handle);
    const ctx = contacts();
    const e = await intercom.actions.contacts.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).toContain('401');
    expect((e as Error).message).not.toContain(TOKEN);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('testConnection: GET /me and the contact attributes; a bad token is a configuration error', async () => {
    await intercom.testConnection!(testContext(intercom, settings()));
    expect(calls(upstream.requests)).toEqual(['GET /me', 'GET /data_attributes']);
    const bad = testContext(intercom, { access_token: 'wrong-token-000', base_url: prism.url });
    await expect(intercom.testConnection!(bad)).rejects.toBeInstanceOf(ConfigurationError);
    expect(bad.logger.text()).not.toContain('wrong-token-000');
  });

  it('settings: region picks the host; base_url overrides it; the rate-limit key is a digest of the token', () => {
    const s = intercom.settings.parse({ access_token: TOKEN, region: 'eu' });
    expect(intercom.baseUrl!(s)).toBe('https://api.eu.intercom.io');
    expect(intercom.baseUrl!(intercom.settings.parse({ access_token: TOKEN }))).toBe('https://api.intercom.io');
    expect(intercom.baseUrl!(intercom.settings.parse({ access_token: TOKEN, region: 'au' }))).toBe('https://api.au.intercom.io');
    expect(intercom.accountKey!(s)).toMatch(/^eu:[0-9a-f]{16}$/);
    expect(intercom.accountKey!(s)).not.toContain(TOKEN);
    expect(intercom.rateLimit).toEqual({ requests: 1_666, perMs: 10_000 });
  });
});

describe('intercom tags (audience)', () => {
  it('ensure: tag_id as given; else the tag found by name, case-insensitive (default the sync name); none → created', async () => {
    const action = intercom.actions.tags;
    expect(await action.ensure!(tags({ tag_id: '7' }))).toEqual({ tag_id: '7' });
    expect(upstream.requests).toHaveLength(0);

    fake.tags.set('100', { id: '100', name: 'vip' });
    expect(await action.ensure!(tags())).toEqual({ tag_id: '100' });
    expect(calls(upstream.requests)).toEqual(['GET /tags']);

    upstream.reset().handle(fake.handle);
    const ctx = tags({ tag_name: 'Churn risk' });
    expect(await action.ensure!(ctx)).toEqual({ tag_id: '101' });
    expect(calls(upstream.requests)).toEqual(['GET /tags', 'POST /tags']);
    expect(upstream.last.json).toEqual({ name: 'Churn risk' });
    expect(ctx.logger.lines.map((l) => l.msg)).toContain('created the Intercom tag');
  });

  it('add tags found contacts, remove untags them; a remove that finds nobody is done; an add that finds nobody fails', async () => {
    fake.tags.set('100', { id: '100', name: 'VIP' });
    const ada = fake.seed({ external_id: 'u1' });
    const bob = fake.seed({ email: 'bob@example.com' });
    fake.contactTags.set(bob.id, new Set(['100']));
    const results = await intercom.actions.tags.performBatch(
      [
        row('add', 'p1', { external_id: 'u1' }),
        row('remove', 'p2', { email: 'Bob@example.com' }),
        row('remove', 'p3', { external_id: 'nobody' }),
        row('add', 'p4', { email: 'ghost@example.com' }),
        row('upsert', 'p5', { external_id: 'u1' }),
      ],
      tags({}, { tag_id: '100' }),
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'no Intercom contact has this external_id or email (set create_missing to create it)' },
      { ok: false, error: 'Intercom tags only add and remove contacts (got upsert)' },
    ]);
    expect(writes()).toEqual([
      { call: `DELETE /contacts/${bob.id}/tags/100`, body: undefined },
      { call: `POST /contacts/${ada.id}/tags`, body: { id: '100' } },
    ]);
    expect(fake.tagged('VIP')).toEqual(['u1']);
  });

  it('create_missing: an entering row that matches nobody becomes a contact (with role), then is tagged', async () => {
    fake.tags.set('100', { id: '100', name: 'VIP' });
    const results = await intercom.actions.tags.performBatch([row('add', 'p1', { external_id: 'u9', email: 'new@example.com' })], tags({ create_missing: true, role: 'lead' }, { tag_id: '100' }));
    expect(results).toEqual([{ ok: true }]);
    const created = fake.find('u9')!;
    expect(writes()).toEqual([
      { call: 'POST /contacts', body: { role: 'lead', external_id: 'u9', email: 'new@example.com' } },
      { call: `POST /contacts/${created.id}/tags`, body: { id: '100' } },
    ]);
    expect(fake.tagged('VIP')).toEqual(['u9']);
  });

  it('untag answering 404 (already gone) is done; tag answering 404 (contact merged away) fails the row', async () => {
    fake.tags.set('100', { id: '100', name: 'VIP' });
    fake.seed({ external_id: 'u1' });
    fake.seed({ external_id: 'u2' });
    upstream.handle((req) => (req.path.includes('/tags') ? intercomError(404, 'not_found', 'User Not Found') : fake.handle(req)));
    const results = await intercom.actions.tags.performBatch([row('remove', 'p1', { external_id: 'u1' }), row('add', 'p2', { external_id: 'u2' })], tags({}, { tag_id: '100' }));
    expect(results).toEqual([{ ok: true }, { ok: false, error: `Intercom refused to tag contact ${fake.find('u2')!.id} (404): not_found: User Not Found` }]);
  });
});

describe('intercom: end to end against the stateful fake', () => {
  it('a contacts sync and a tags sync: adds, changes and removals leave Intercom holding what the source says', async () => {
    fake.defineAttribute('plan', 'string');
    const run = async (action: 'contacts' | 'tags', rows: OutgoingRow[], options: Record<string, unknown> = {}) => {
      const ctx = action === 'contacts' ? contacts(options) : tags(options);
      ctx.state = await intercom.actions[action].ensure!(ctx);
      const results = await intercom.actions[action].performBatch(rows, ctx);
      expect(results.every((r) => r.ok)).toBe(true);
      return ctx;
    };

    // run 1: three people enter; all are contacts, two are VIPs
    await run('contacts', [upsert('1', { external_id: 'u1', email: 'a@example.com', plan: 'free' }), upsert('2', { external_id: 'u2', email: 'b@example.com', plan: 'gold' }), upsert('3', { external_id: 'u3', email: 'c@example.com', plan: 'gold' })]);
    fake.index();
    await run('tags', [row('add', '2', { external_id: 'u2' }), row('add', '3', { external_id: 'u3' })]);
    expect(fake.contacts.size).toBe(3);
    expect(fake.tagged('VIP')).toEqual(['u2', 'u3']);

    // run 2: u1 upgrades (a change, and enters the audience), u3 leaves the audience, u2's email changes
    await run('contacts', [upsert('1', { external_id: 'u1', email: 'a@example.com', plan: 'gold' }), upsert('2', { external_id: 'u2', email: 'b2@example.com', plan: 'gold' })]);
    await run('tags', [row('add', '1', { external_id: 'u1' }), row('remove', '3', { external_id: 'u3' })]);
    expect(fake.contacts.size).toBe(3);
    expect([fake.find('u1')?.custom_attributes.plan, fake.find('u2')?.email]).toEqual(['gold', 'b2@example.com']);
    expect(fake.tagged('vip')).toEqual(['u1', 'u2']);
  });
});
