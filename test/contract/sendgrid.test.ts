import { randomUUID } from 'node:crypto';
import type { OutgoingRow, SyncMode } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { sendgrid } from '../../src/destinations/sendgrid';
import { parseJobErrors } from '../../src/destinations/sendgrid/jobs';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { SendGridFake, sendgridError } from '../support/fakes/sendgrid';
import { operations, Prism, type OpenApiDocument } from '../support/prism';
import { actionContext, testContext } from './harness';

const KEY = 'SG.sendgrid_secret_key_0001.abcdefghijklmnopqrstuvwxyz';
const LIST = 'ca7a3796-e8a8-4029-9ccb-df8937940562';
const action = sendgrid.actions.contacts;
const SPECS = ['test/specs/sendgrid/tsg_mc_contacts_v3.json', 'test/specs/sendgrid/tsg_mc_lists_v3.json', 'test/specs/sendgrid/tsg_mc_custom_fields_v3.json'];

/**
 * Spec fixes, applied to the loaded copy (the files stay as published):
 * - `servers` removed so Prism proxies to the fake at any host (as for Klaviyo);
 * - Delete Contacts declares its 202 `job_id` an object; SendGrid sends the job id string that
 *   Import Contacts Status takes;
 * - no operation lists 429, which SendGrid documents for every endpoint (`{"errors":[{"field":null,
 *   "message":"too many requests"}]}` with X-RateLimit-* headers): added, so throttling answers pass;
 *   the lists and custom fields operations lack the 401/403 the contacts ones have: added too.
 */
function patch(doc: OpenApiDocument): void {
  delete doc.servers;
  const del = (doc.paths?.['/v3/marketing/contacts'] as { delete?: { responses: Record<string, { content: Record<string, { schema: { properties: Record<string, unknown> } }> }> } }).delete;
  if (del) del.responses['202'].content['application/json'].schema.properties.job_id = { type: 'string' };
  const errors = { content: { 'application/json': { schema: { type: 'object', properties: { errors: { type: 'array', items: { type: 'object' } } } } } } };
  for (const [, , op] of operations(doc)) {
    const responses = op.responses as Record<string, unknown>;
    responses['429'] ??= { description: 'too many requests', ...errors };
    responses['401'] ??= { description: 'authorization required', ...errors };
    responses['403'] ??= { description: 'access forbidden', ...errors };
  }
}

let upstream: FakeServer;
let prism: Prism;

// Every SendGrid API request goes through Prism (proxy mode, --errors) in front of the fake: a request
// (or a scripted answer) that breaks SendGrid's published spec fails the test (afterEach). The errors
// file of a job is not an API call: its URL points at the fake directly.
beforeAll(async () => {
  upstream = await FakeServer.start();
  prism = await Prism.start({ spec: SPECS, upstream: upstream.url, patch });
}, 60_000);
afterAll(async () => {
  await prism?.stop();
  await upstream?.close();
});
beforeEach(() => upstream.reset());
afterEach(() => prism.expectNoViolations());

const FIELDS = {
  plan: { id: 'e1_T', name: 'plan', type: 'Text' },
  lifetime_value: { id: 'e2_N', name: 'lifetime_value', type: 'Number' },
  signed_up_at: { id: 'e3_D', name: 'signed_up_at', type: 'Date' },
};
const context = (mode: SyncMode = 'upsert', options: Record<string, unknown> = {}, state: Record<string, unknown> = { custom_fields: FIELDS }) => {
  const ctx = actionContext(sendgrid, 'contacts', { settings: { api_key: KEY, base_url: prism.url }, options, sync: { name: 'vip', mode } });
  ctx.state = state;
  return ctx;
};
const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const json = (status: number, body: unknown, headers: Record<string, string> = {}): ScriptedResponse => ({ status, body, headers: { 'content-type': 'application/json', ...headers } });
const accepted = (jobId = 'job-1') => json(202, { job_id: jobId });
const job = (status: string, results: Record<string, unknown> = {}, id = 'job-1') => json(200, { id, status, job_type: 'upsert', results: { requested_count: 1, ...results } });
const found = (...contacts: { email: string; id: string }[]) =>
  json(200, { result: Object.fromEntries(contacts.map((c) => [c.email, { contact: { id: c.id, email: c.email, list_ids: [], segment_ids: [], created_at: '2026-07-01T00:00:00Z', updated_at: '2026-07-01T00:00:00Z' } }])) });
const ID1 = randomUUID();
const ID2 = randomUUID();

describe('sendgrid: settings and options', () => {
  it('Bearer auth on the API host; options accept {}, a list UUID or a name, not both', () => {
    const s = sendgrid.settings.parse({ api_key: KEY });
    expect([sendgrid.baseUrl!(s), sendgrid.headers!(s)]).toEqual(['https://api.sendgrid.com', { authorization: `Bearer ${KEY}` }]);
    expect(sendgrid.accountKey!(s)).toMatch(/^[0-9a-f]{16}$/);
    expect(action.options.parse({})).toEqual({});
    expect(action.options.safeParse({ list_id: LIST }).success).toBe(true);
    expect(action.options.safeParse({ list_id: 'vip' }).success).toBe(false);
    expect(action.options.safeParse({ list_id: LIST, list_name: 'vip' }).success).toBe(false);
    expect(action.modes).toEqual(['upsert', 'mirror', 'audience']);
  });
});

describe('sendgrid: requests (validated by Prism against SendGrid’s specs)', () => {
  it('upsert: one PUT (reserved fields direct, custom fields by id), its job polled to completion; bad rows fail alone', async () => {
    upstream.reply(accepted(), job('pending'), job('completed', { requested_count: 2, updated_count: 2 }));
    const ctx = context();
    const results = await action.performBatch(
      [
        row('upsert', 'p1', { email: ' Ada@Example.com ', first_name: 'Ada', last_name: 'Lovelace', city: 'London', external_id: 'u1', plan: 'gold', lifetime_value: '12.5', custom_fields: { signed_up_at: '2026-01-02' }, country: null }),
        row('upsert', 'p2', { email: 'bob@example.com', alternate_emails: ['Bobby@example.com'], postal_code: 12345 }),
        row('upsert', 'p3', { email: 'nope' }),
        row('upsert', 'p4', { first_name: 'Nobody' }),
        row('upsert', 'p5', { email: 'c@example.com', lifetime_value: 'a lot' }),
        row('insert', 'p6', { email: 'd@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no email' },
      { ok: false, error: 'custom field lifetime_value is a Number field (got "a lot")' },
      { ok: false, error: 'SendGrid contacts take upsert, add, delete and remove (got insert)' },
    ]);
    expect(upstream.requests.map((r) => [r.method, r.path])).toEqual([
      ['PUT', '/v3/marketing/contacts'],
      ['GET', '/v3/marketing/contacts/imports/job-1'],
      ['GET', '/v3/marketing/contacts/imports/job-1'],
    ]);
    const put = upstream.requests[0];
    expect([put.headers.authorization, put.headers['content-type']]).toEqual([`Bearer ${KEY}`, 'application/json']);
    expect(put.json).toEqual({
      contacts: [
        { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', city: 'London', external_id: 'u1', custom_fields: { e1_T: 'gold', e2_N: 12.5, e3_D: '2026-01-02' } },
        { email: 'bob@example.com', alternate_emails: ['bobby@example.com'], postal_code: '12345' },
      ],
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('a mapped field that is neither reserved nor a custom field of the account stops the run', async () => {
    await expect(action.performBatch([row('upsert', 'p1', { email: 'a@example.com', favourite_colour: 'red' })], context())).rejects.toThrow(
      new ConfigurationError('SendGrid has no custom field named "favourite_colour" (custom fields: lifetime_value, plan, signed_up_at): create it under Marketing > Custom Fields, or rename the mapping field'),
    );
    expect(upstream.requests).toHaveLength(0);
  });

  it('field definitions not read by ensure are read once, on the first batch', async () => {
    upstream.reply(json(200, { custom_fields: [{ id: 'w1_T', name: 'Plan', field_type: 'Text' }], reserved_fields: [] }), accepted(), job('completed'));
    const ctx = context('upsert', {}, {});
    expect(await action.performBatch([row('upsert', 'p1', { email: 'a@example.com', plan: 'gold' })], ctx)).toEqual([{ ok: true }]);
    expect(upstream.requests[0].path).toBe('/v3/marketing/field_definitions');
    expect((upstream.requests[1].json as { contacts: unknown[] }).contacts).toEqual([{ email: 'a@example.com', custom_fields: { w1_T: 'gold' } }]);
  });

  it('mirror: deletes look contacts up by email, delete them by id and poll the deletion job; an unknown email is already gone', async () => {
    upstream.reply(found({ email: 'a@example.com', id: ID1 }, { email: 'b@example.com', id: ID2 }), accepted('job-d'), job('completed', { deleted_count: 2 }, 'job-d'));
    const results = await action.performBatch([row('delete', 'p1', { email: 'A@example.com' }), row('delete', 'p2', { email: 'b@example.com' }), row('delete', 'p3', { email: 'gone@example.com' })], context('mirror'));
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(upstream.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['POST', '/v3/marketing/contacts/search/emails', {}],
      ['DELETE', '/v3/marketing/contacts', { ids: `${ID1},${ID2}` }],
      ['GET', '/v3/marketing/contacts/imports/job-d', {}],
    ]);
    expect(upstream.requests[0].json).toEqual({ emails: ['a@example.com', 'b@example.com', 'gone@example.com'] });

    upstream.reset().reply(sendgridError(404, 'No contacts found'));
    expect(await action.performBatch([row('delete', 'p1', { email: 'gone@example.com' })], context('mirror'))).toEqual([{ ok: true }]);
    expect(upstream.requests).toHaveLength(1);
  });

  it('audience ensure: field definitions, then the list found by name (paged) or created', async () => {
    const fields = json(200, { custom_fields: [], reserved_fields: [{ name: 'first_name', field_type: 'Text' }] });
    const list = (id: string, name: string) => ({ id, name, contact_count: 0 });
    upstream.reply(
      fields,
      json(200, { result: [list(randomUUID(), 'other')], _metadata: { next: 'https://api.sendgrid.com/v3/marketing/lists?page_size=1000&page_token=p2' } }),
      json(200, { result: [list(LIST, 'vip')], _metadata: {} }),
    );
    expect(await action.ensure!(context('audience', {}, {}))).toEqual({ custom_fields: {}, list_id: LIST });
    expect(upstream.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/v3/marketing/field_definitions', {}],
      ['GET', '/v3/marketing/lists', { page_size: '1000' }],
      ['GET', '/v3/marketing/lists', { page_size: '1000', page_token: 'p2' }],
    ]);

    upstream.reset().reply(fields, json(200, { result: [] }), json(201, list(LIST, 'Newsletter VIPs')));
    expect(await action.ensure!(context('audience', { list_name: 'Newsletter VIPs' }, {}))).toEqual({ custom_fields: {}, list_id: LIST });
    expect([upstream.last.method, upstream.last.path, upstream.last.json]).toEqual(['POST', '/v3/marketing/lists', { name: 'Newsletter VIPs' }]);

    upstream.reset().reply(fields, json(200, { result: [list(LIST, 'vip'), list(ID1, 'vip')] }));
    await expect(action.ensure!(context('audience', {}, {}))).rejects.toThrow(new ConfigurationError(`2 SendGrid lists are named "vip" (${LIST}, ${ID1}): set list_id`));

    upstream.reset().reply(fields, json(200, list(LIST, 'vip')));
    expect(await action.ensure!(context('audience', { list_id: LIST }, {}))).toEqual({ custom_fields: {}, list_id: LIST });
    expect(upstream.last.path).toBe(`/v3/marketing/lists/${LIST}`);

    upstream.reset().reply(fields);
    expect(await action.ensure!(context('upsert', {}, {}))).toEqual({ custom_fields: {} });
  });

  it('audience: add = upsert with list_ids (job polled); remove = looked up, then removed from the list by id (the contact stays)', async () => {
    upstream.reply(accepted(), job('completed'), found({ email: 'b@example.com', id: ID2 }), json(202, { job_id: 'job-r' }));
    const ctx = context('audience', {}, { custom_fields: FIELDS, list_id: LIST });
    const results = await action.performBatch([row('add', 'p1', { email: 'a@example.com', first_name: 'A' }), row('remove', 'p2', { email: 'b@example.com' }), row('remove', 'p3', { email: 'x' })], ctx);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: false, error: 'email is not an email address' }]);
    expect(upstream.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['PUT', '/v3/marketing/contacts', {}],
      ['GET', '/v3/marketing/contacts/imports/job-1', {}],
      ['POST', '/v3/marketing/contacts/search/emails', {}],
      ['DELETE', `/v3/marketing/lists/${LIST}/contacts`, { contact_ids: ID2 }],
    ]);
    expect(upstream.requests[0].json).toEqual({ list_ids: [LIST], contacts: [{ email: 'a@example.com', first_name: 'A' }] });
  });

  it('audience: a list removal answered 404 checks the list: gone → the run stops; there → a contact vanished, the batch is retried', async () => {
    const ctx = () => context('audience', {}, { custom_fields: FIELDS, list_id: LIST });
    upstream.reply(found({ email: 'b@example.com', id: ID2 }), sendgridError(404, 'not found'), json(404, [{ message: 'list not found' }]));
    await expect(action.performBatch([row('remove', 'p1', { email: 'b@example.com' })], ctx())).rejects.toBeInstanceOf(ConfigurationError);
    upstream.reset().reply(found({ email: 'b@example.com', id: ID2 }), sendgridError(404, 'not found'), json(200, { id: LIST, name: 'vip', contact_count: 1 }));
    await expect(action.performBatch([row('remove', 'p1', { email: 'b@example.com' })], ctx())).rejects.toBeInstanceOf(RetryableError);
  });

  it('Prism reports a request that breaks the spec (an empty contacts array)', async () => {
    const res = await context().http.request({ method: 'PUT', url: 'v3/marketing/contacts', body: { contacts: [] } });
    expect(res.status).toBe(422);
    expect(upstream.requests).toHaveLength(0);
    expect(prism.clearViolations().length).toBeGreaterThan(0);
  });
});

describe('sendgrid: batching', () => {
  it('10,000 rows by default, 30,000 (SendGrid’s PUT limit) at most: 30,000 small contacts go in one PUT', async () => {
    expect([action.batchSize, action.maxBatchSize]).toEqual([10_000, 30_000]);
    upstream.reply(accepted(), job('completed', { requested_count: 30_000 }));
    const rows = Array.from({ length: 30_000 }, (_, i) => row('upsert', `p${i}`, { email: `e${i}@example.com` }));
    expect((await action.performBatch(rows, context())).every((r) => r.ok)).toBe(true);
    expect((upstream.requests[0].json as { contacts: unknown[] }).contacts).toHaveLength(30_000);
  });

  it('a batch over 6 MB is split in PUTs under 6 MB, each job polled', async () => {
    upstream.handle((req) => (req.method === 'PUT' ? accepted(`job-${upstream.requests.length}`) : job('completed', {}, req.path.split('/').pop())));
    const long = (c: string, n: number) => c.repeat(n);
    const rows = Array.from({ length: 24_000 }, (_, i) =>
      row('upsert', `p${i}`, { email: `person.number.${i}@example.com`, address_line_1: long('a', 100), address_line_2: long('b', 100), city: long('c', 60) }),
    );
    expect((await action.performBatch(rows, context())).every((r) => r.ok)).toBe(true);
    const puts = upstream.requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBe(2);
    for (const p of puts) expect(Buffer.byteLength(p.rawBody)).toBeLessThan(6_000_000);
    expect(puts.reduce((n, p) => n + (p.json as { contacts: unknown[] }).contacts.length, 0)).toBe(24_000);
    expect(upstream.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
  });

  it('removals: lookups of 100 emails, deletions of 100 ids', async () => {
    upstream.handle((req) => {
      if (req.path.endsWith('/search/emails')) return found(...(req.json as { emails: string[] }).emails.map((email) => ({ email, id: randomUUID() })));
      if (req.method === 'DELETE') return accepted(`job-${upstream.requests.length}`);
      return job('completed', {}, req.path.split('/').pop());
    });
    const rows = Array.from({ length: 250 }, (_, i) => row('delete', `p${i}`, { email: `e${i}@example.com` }));
    expect((await action.performBatch(rows, context('mirror'))).every((r) => r.ok)).toBe(true);
    expect(upstream.requests.filter((r) => r.method === 'POST').map((r) => (r.json as { emails: unknown[] }).emails.length)).toEqual([100, 100, 50]);
    expect(upstream.requests.filter((r) => r.method === 'DELETE').map((r) => r.query.ids.split(',').length)).toEqual([100, 100, 50]);
  });
});

describe('sendgrid: throttling', () => {
  const rows = [row('upsert', 'p1', { email: 'a@example.com' })];
  const TOO_MANY = { errors: [{ field: null, message: 'too many requests' }] };

  it('429 with Retry-After → RetryableError with that delay', async () => {
    upstream.reply(json(429, TOO_MANY, { 'retry-after': '3' }));
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(3_000);
  });

  it('429 with SendGrid’s own X-RateLimit-Reset (epoch seconds) → RetryableError until the reset', async () => {
    const reset = Math.floor(Date.now() / 1000) + 20;
    upstream.reply(json(429, TOO_MANY, { 'x-ratelimit-limit': '150', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }));
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    const wait = (e as RetryableError).retryAfterMs!;
    expect(wait).toBeGreaterThan(15_000);
    expect(wait).toBeLessThanOrEqual(20_000);
  });

  it('429 with neither → RetryableError, the engine picks the delay; a throttled job status read retries the batch too', async () => {
    upstream.reply(json(429, TOO_MANY));
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBeUndefined();

    upstream.reset().reply(accepted(), json(429, TOO_MANY, { 'retry-after': '1' }));
    await expect(action.performBatch(rows, context())).rejects.toBeInstanceOf(RetryableError);
  });

  it('a job that never finishes is given up (RetryableError: the batch is sent again)', async () => {
    upstream.reply(accepted()).handle(() => job('pending'));
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as Error).message).toMatch(/^SendGrid contacts job job-1 did not finish within 2 s/);
  });
});

describe('sendgrid: partial failures', () => {
  const three = [row('upsert', 'p1', { email: 'a@example.com' }), row('upsert', 'p2', { email: 'b@example.com' }), row('upsert', 'p3', { email: 'c@example.com' })];

  it('a 400 pointing at contacts fails those rows; the others are sent again', async () => {
    upstream.reply(json(400, { errors: [{ field: 'contacts[1].email', message: 'email address is not valid' }] }), accepted(), job('completed'));
    expect(await action.performBatch(three, context())).toEqual([{ ok: true }, { ok: false, error: 'SendGrid rejected this contact: email: email address is not valid' }, { ok: true }]);
    expect((upstream.requests[1].json as { contacts: { email: string }[] }).contacts.map((c) => c.email)).toEqual(['a@example.com', 'c@example.com']);
  });

  it('a 400 for the whole request → BatchRejectedError (the engine bisects)', async () => {
    upstream.reply(json(400, { errors: [{ field: 'contacts', message: 'request body is too large' }] }));
    await expect(action.performBatch(three, context())).rejects.toThrow(new BatchRejectedError('SendGrid answered 400 for upserting 3 contacts: contacts: request body is too large'));
  });

  it('an errored job: its errors file (fetched without the API key from another host) fails the rows it names', async () => {
    upstream.reply(
      accepted(),
      job('errored', { requested_count: 3, updated_count: 2, errored_count: 1, errors_url: `${upstream.url}/errors/job-1.csv` }),
      { status: 200, headers: { 'content-type': 'text/csv' }, body: 'email,error\nb@example.com,"custom field lifetime_value must be a number"\n' },
    );
    expect(await action.performBatch(three, context())).toEqual([
      { ok: true },
      { ok: false, error: 'SendGrid could not process this contact (job job-1): custom field lifetime_value must be a number' },
      { ok: true },
    ]);
    const file = upstream.last;
    expect([file.method, file.path, file.headers.authorization]).toEqual(['GET', '/errors/job-1.csv', undefined]);
  });

  it('an errored job that names nobody → BatchRejectedError (bisect); alone in its batch → that row fails; a failed job fails all its rows', async () => {
    upstream.reply(accepted(), job('errored', { requested_count: 3, errored_count: 1 }));
    await expect(action.performBatch(three, context())).rejects.toThrow(new BatchRejectedError('SendGrid finished with errors job job-1 (1 of 3 contacts errored) without naming the contacts at fault: the batch is split to find them'));

    upstream.reset().reply(accepted(), job('errored', { requested_count: 1, errored_count: 1 }));
    expect(await action.performBatch([three[0]], context())).toEqual([{ ok: false, error: 'SendGrid finished with errors job job-1 (1 of 1 contacts errored); its errors file could not be read' }]);

    upstream.reset().reply(accepted(), job('failed', { requested_count: 3, errored_count: 3 }));
    const results = await action.performBatch(three, context());
    expect(results).toEqual(three.map(() => ({ ok: false, error: 'SendGrid failed job job-1 (3 of 3 contacts errored); its errors file could not be read' })));
  });

  it('the errors file format is not documented: CSV or JSON with an identifier and an error column are read, anything else is not', () => {
    expect(parseJobErrors('Email,Errors\nA@x.com,bad\n')).toEqual(new Map([['a@x.com', 'bad']]));
    expect(parseJobErrors([{ email: 'a@x.com', errors: ['bad', 'worse'] }])).toEqual(new Map([['a@x.com', 'bad; worse']]));
    expect(parseJobErrors({ errors: [{ external_id: 'U1', message: 'bad' }] })).toEqual(new Map([['u1', 'bad']]));
    expect(parseJobErrors('<html>nope</html>')).toBeUndefined();
    expect(parseJobErrors('a,b\n1,2\n')).toBeUndefined();
  });

  it.each([401, 403])('%s → ConfigurationError, the key in no message or log', async (status) => {
    upstream.reply(json(status, { errors: [{ field: null, message: `authorization required ${KEY}` }] }));
    const ctx = context();
    const e = await action.performBatch(three, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).not.toContain(KEY);
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('testConnection reads the field definitions; a bad key is a configuration error', async () => {
    upstream.reply(json(200, { custom_fields: [], reserved_fields: [] }), json(401, { errors: [{ field: null, message: 'authorization required' }] }));
    const settings = { api_key: KEY, base_url: prism.url };
    await sendgrid.testConnection!(testContext(sendgrid, settings));
    expect(upstream.last.path).toBe('/v3/marketing/field_definitions');
    await expect(sendgrid.testConnection!(testContext(sendgrid, settings))).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('sendgrid: a sync against the stateful fake (through Prism)', () => {
  it('adds, changes and removals: what SendGrid holds after each run (audience mode, then mirror)', async () => {
    const fake = new SendGridFake({ filesUrl: upstream.url, pendingPolls: 2 });
    upstream.handle(fake.handler);

    // run 1: three people enter the segment; the list is created; one has an address SendGrid refuses
    let ctx = context('audience', { list_name: 'VIP' }, {});
    ctx.state = await action.ensure!(ctx);
    let results = await action.performBatch(
      [
        row('add', 'p1', { email: 'ada@example.com', first_name: 'Ada', plan: 'gold', lifetime_value: 100 }),
        row('add', 'p2', { email: 'bob@example.com', first_name: 'Bob' }),
        row('add', 'p3', { email: 'eve@example.invalid', first_name: 'Eve' }),
      ],
      ctx,
    );
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: false, error: expect.stringMatching(/^SendGrid could not process this contact \(job [-0-9a-f]+\): email domain does not accept mail$/) }]);
    expect(fake.listMembers('VIP')).toEqual(['ada@example.com', 'bob@example.com']);
    expect(fake.contact('ada@example.com')).toMatchObject({ fields: { first_name: 'Ada' }, custom_fields: { e1_T: 'gold', e2_N: 100 } });

    // run 2: Ada's plan changes, Bob leaves the segment (he stays a contact)
    ctx = context('audience', { list_name: 'VIP' }, {});
    ctx.state = await action.ensure!(ctx);
    results = await action.performBatch([row('add', 'p1', { email: 'ada@example.com', first_name: 'Ada', plan: 'platinum', lifetime_value: 250 }), row('remove', 'p2', { email: 'bob@example.com' })], ctx);
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    expect(fake.listMembers('VIP')).toEqual(['ada@example.com']);
    expect(fake.emails()).toEqual(['ada@example.com', 'bob@example.com']);
    expect(fake.contact('ada@example.com')?.custom_fields).toEqual({ e1_T: 'platinum', e2_N: 250 });
    expect(fake.lists.size).toBe(1); // found by name, not created again

    // a mirror sync deletes Bob
    ctx = context('mirror', {}, {});
    ctx.state = await action.ensure!(ctx);
    expect(await action.performBatch([row('delete', 'p2', { email: 'bob@example.com' }), row('upsert', 'p4', { email: 'cy@example.com', city: 'Paris' })], ctx)).toEqual([{ ok: true }, { ok: true }]);
    expect(fake.emails()).toEqual(['ada@example.com', 'cy@example.com']);
    expect(fake.contact('cy@example.com')?.fields).toEqual({ city: 'Paris' });
    expect([...fake.jobs.values()].every((j) => j.polls >= 3)).toBe(true); // each job was polled past `pending`
  });
});
