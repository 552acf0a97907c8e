import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { klaviyo, KLAVIYO_DEFAULT_REVISION } from '../../src/destinations/klaviyo';
import { importChunks, KLAVIYO_MAX_IMPORT_BYTES } from '../../src/destinations/klaviyo/payload';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { FakeKlaviyo } from '../support/fakes/klaviyo';
import { Prism } from '../support/prism';
import { actionContext, testContext } from './harness';

const KEY = 'pk_klaviyo_secret_key_0001';
const LIST = 'Y6nRLr';
const action = klaviyo.actions.list_membership;
const SPECS = ['test/specs/klaviyo/profiles.json', 'test/specs/klaviyo/lists.json'];

let upstream: FakeServer;
let prism: Prism;

// Every Klaviyo request goes through Prism (proxy mode, --errors) in front of the fake: a request
// (or a scripted answer) that breaks Klaviyo's published spec fails the test (afterEach).
beforeAll(async () => {
  upstream = await FakeServer.start();
  prism = await Prism.start({ spec: SPECS, upstream: upstream.url, patch: (doc) => void delete doc.servers });
}, 60_000);
afterAll(async () => {
  await prism?.stop();
  await upstream?.close();
});
beforeEach(() => upstream.reset());
afterEach(() => prism.expectNoViolations());

const JSON_API = { 'content-type': 'application/vnd.api+json' };
const answer = (status: number, body?: unknown, headers: Record<string, string> = {}): ScriptedResponse => ({ status, body, headers: body === undefined ? headers : { ...JSON_API, ...headers } });
const jobResource = (id: string, status: string, counts: { total?: number; completed?: number; failed?: number } = {}) => ({
  type: 'profile-bulk-import-job',
  id,
  attributes: { status, created_at: '2026-07-15T00:00:00+00:00', total_count: counts.total ?? 1, completed_count: counts.completed ?? 0, failed_count: counts.failed ?? 0 },
  links: { self: `https://a.klaviyo.com/api/profile-bulk-import-jobs/${id}/` },
});
/** the 202 of a created job */
const job = (id = 'job-1') => answer(202, { data: jobResource(id, 'queued') });
/** a poll of the job */
const jobStatus = (status: string, counts: { total?: number; completed?: number; failed?: number } = {}, id = 'job-1') => answer(200, { data: jobResource(id, status, counts) });
const importError = (id: string, detail: string, extra: { pointer?: string; payload?: Record<string, unknown> }) => ({
  type: 'import-error',
  id,
  attributes: { code: 'invalid', title: 'Invalid input.', detail, source: { pointer: extra.pointer ?? '/data' }, original_payload: extra.payload ?? null },
});
const errorsPage = (items: ReturnType<typeof importError>[], next?: string) =>
  answer(200, { data: items, links: { self: 'https://a.klaviyo.com/api/profile-bulk-import-jobs/job-1/import-errors', ...(next ? { next } : {}) } });
const list = (id: string, name: string) => ({ type: 'list', id, attributes: { name }, links: { self: `https://a.klaviyo.com/api/lists/${id}/` } });
const lists = (...items: ReturnType<typeof list>[]) => answer(200, { data: items, links: { self: 'https://a.klaviyo.com/api/lists/' } });
const profiles = (...ids: string[]) => answer(200, { data: ids.map((id) => ({ type: 'profile', id, attributes: {}, links: { self: `https://a.klaviyo.com/api/profiles/${id}/` } })), links: { self: 'https://a.klaviyo.com/api/profiles/' } });
/** profiles found with the identifier asked for (`fields[profile]`) */
const found = (key: string, ...items: [string, string][]) =>
  answer(200, { data: items.map(([id, value]) => ({ type: 'profile', id, attributes: { [key]: value }, links: { self: `https://a.klaviyo.com/api/profiles/${id}/` } })), links: { self: 'https://a.klaviyo.com/api/profiles/' } });
const clientError = (status: number, ...errors: { detail: string; pointer?: string }[]) =>
  answer(status, { errors: errors.map((e, i) => ({ id: `e${i}`, status, code: 'invalid', title: 'Invalid input.', detail: e.detail, ...(e.pointer ? { source: { pointer: e.pointer } } : {}) })) });

const context = (options: Record<string, unknown> = { list_id: LIST }, state: Record<string, unknown> = { list_id: LIST }) => {
  const ctx = actionContext(klaviyo, 'list_membership', { settings: { api_key: KEY, base_url: prism.url }, options, sync: { name: 'vip', mode: 'audience' } });
  ctx.state = state;
  return ctx;
};
const profilesContext = (mode: 'upsert' | 'update' = 'upsert') => actionContext(klaviyo, 'profiles', { settings: { api_key: KEY, base_url: prism.url }, sync: { name: 'customers', mode } });
const add = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'add', key, fields });
const upsert = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'upsert', key, fields });
const update = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'update', key, fields });
const remove = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'remove', key, fields });

describe('klaviyo: requests (validated by Prism against Klaviyo’s specs)', () => {
  it('add: one bulk import job upserting the profiles into the list, polled to completion; auth and revision headers; bad rows fail alone', async () => {
    upstream.reply(job(), jobStatus('complete', { total: 2, completed: 2 }));
    const ctx = context();
    const results = await action.performBatch(
      [
        add('p1', { email: ' Ada@Example.com ', first_name: 'Ada', last_name: 'Lovelace', plan: 'gold', properties: { score: 3 } }),
        add('p2', { phone_number: '+1 650-253-1234', external_id: 'u2' }),
        add('p3', { email: 'nope' }),
        add('p4', { first_name: 'Nobody' }),
        { op: 'upsert', key: 'p5', fields: { email: 'b@example.com' } },
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no email, phone_number or external_id' },
      { ok: false, error: 'Klaviyo lists only add and remove people (got upsert)' },
    ]);
    // the job had no failures: its errors are not read
    expect(upstream.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/api/profile-bulk-import-jobs'],
      ['GET', '/api/profile-bulk-import-jobs/job-1'],
    ]);
    expect([upstream.last.headers.authorization, upstream.last.headers.revision]).toEqual([`Klaviyo-API-Key ${KEY}`, KLAVIYO_DEFAULT_REVISION]);
    const req = upstream.requests[0];
    expect([req.method, req.path, req.headers.authorization, req.headers.revision, req.headers['content-type']]).toEqual([
      'POST',
      '/api/profile-bulk-import-jobs',
      `Klaviyo-API-Key ${KEY}`,
      KLAVIYO_DEFAULT_REVISION,
      'application/vnd.api+json',
    ]);
    expect(req.json).toEqual({
      data: {
        type: 'profile-bulk-import-job',
        attributes: {
          profiles: {
            data: [
              { type: 'profile', attributes: { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', properties: { plan: 'gold', score: 3 } } },
              { type: 'profile', attributes: { phone_number: '+16502531234', external_id: 'u2' } },
            ],
          },
        },
        relationships: { lists: { data: [{ type: 'list', id: LIST }] } },
      },
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('remove: looks profiles up by identifier (100 per call), then deletes them from the list by id', async () => {
    upstream.reply(profiles('01A'), profiles('01B'), answer(204));
    const ctx = context();
    const results = await action.performBatch([remove('p1', { email: 'A@example.com' }), remove('p2', { external_id: 'u2' }), remove('p3', { email: 'gone@example.com' })], ctx);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(upstream.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/api/profiles', { filter: 'any(email,["a@example.com","gone@example.com"])', 'fields[profile]': 'email', 'page[size]': '100' }],
      ['GET', '/api/profiles', { filter: 'any(external_id,["u2"])', 'fields[profile]': 'external_id', 'page[size]': '100' }],
      ['DELETE', `/api/lists/${LIST}/relationships/profiles`, {}],
    ]);
    expect(upstream.last.json).toEqual({ data: [{ type: 'profile', id: '01A' }, { type: 'profile', id: '01B' }] });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('remove: only the identifiers count (a bad location or a huge property does not fail a removal)', async () => {
    upstream.reply(profiles('01A'), answer(204));
    expect(await action.performBatch([remove('p1', { email: 'a@example.com', location: { town: 'x' }, note: 'x'.repeat(100_001) })], context())).toEqual([{ ok: true }]);
    expect(upstream.requests.map((r) => r.method)).toEqual(['GET', 'DELETE']);
  });

  it('remove: nobody found → no delete', async () => {
    upstream.reply(profiles());
    expect(await action.performBatch([remove('p1', { email: 'a@example.com' })], context())).toEqual([{ ok: true }]);
    expect(upstream.requests).toHaveLength(1);
  });

  it('batches: 1,000 rows by default, 10,000 (one import job) at most; removes split at 100 lookups and 1,000 ids', async () => {
    expect([action.batchSize, action.maxBatchSize]).toEqual([1_000, 10_000]);
    const ids = Array.from({ length: 1_100 }, (_, i) => `id${i}`);
    upstream.handle((req) => {
      if (req.method === 'DELETE') return answer(204);
      const n = Number(/"e(\d+)@/.exec(req.query.filter ?? '')?.[1] ?? 0);
      return profiles(...ids.slice(n, n + 100));
    });
    const rows = ids.map((_, i) => remove(`p${i}`, { email: `e${i}@example.com` }));
    expect(await action.performBatch(rows, context())).toHaveLength(1_100);
    const deletes = upstream.requests.filter((r) => r.method === 'DELETE');
    expect(upstream.requests.filter((r) => r.method === 'GET')).toHaveLength(11);
    expect(deletes.map((r) => (r.json as { data: unknown[] }).data.length)).toEqual([1_000, 100]);
  });

  it('ensure: list_id as given; else finds the list by name (default the sync name); none → creates it', async () => {
    expect(await action.ensure!(context({ list_id: 'Xyz' }, {}))).toEqual({ list_id: 'Xyz' });
    expect(upstream.requests).toHaveLength(0);

    upstream.reply(lists(list('L1', 'VIP')));
    expect(await action.ensure!(context({ list_name: 'VIP' }, {}))).toEqual({ list_id: 'L1' });
    expect([upstream.last.method, upstream.last.path, upstream.last.query]).toEqual(['GET', '/api/lists', { filter: 'equals(name,"VIP")', 'fields[list]': 'name' }]);

    upstream.reset().reply(lists(), answer(201, { data: list('L2', 'vip') }));
    expect(await action.ensure!(context({}, {}))).toEqual({ list_id: 'L2' });
    expect(upstream.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/api/lists', { filter: 'equals(name,"vip")', 'fields[list]': 'name' }],
      ['POST', '/api/lists', {}],
    ]);
    expect(upstream.last.json).toEqual({ data: { type: 'list', attributes: { name: 'vip' } } });

    upstream.reset().reply(lists(list('L1', 'VIP'), list('L3', 'VIP')));
    await expect(action.ensure!(context({ list_name: 'VIP' }, {}))).rejects.toThrow(new ConfigurationError('2 Klaviyo lists are named "VIP" (L1, L3): set list_id'));
  });

  it('Prism reports a request that breaks the spec (no revision header)', async () => {
    const ctx = context();
    const res = await ctx.http.request({ method: 'POST', url: 'api/lists', headers: { revision: '' }, body: { data: { type: 'list' } } });
    expect(res.status).toBe(422);
    expect(upstream.requests).toHaveLength(0);
    expect(prism.clearViolations().length).toBeGreaterThan(0);
  });
});

describe('klaviyo: answers', () => {
  const rows = [add('p1', { email: 'a@example.com' }), add('p2', { email: 'b@example.com' })];

  it('429 with Retry-After → RetryableError with that delay', async () => {
    upstream.reply({ ...clientError(429, { detail: 'Request was throttled.' }), headers: { ...JSON_API, 'retry-after': '7' } });
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(7_000);
  });

  it('400 pointing at profiles → those rows fail with Klaviyo’s reason, the others are ok', async () => {
    upstream.reply(clientError(400, { detail: 'Invalid email address', pointer: '/data/attributes/profiles/data/1/attributes/email' }));
    expect(await action.performBatch(rows, context())).toEqual([{ ok: true }, { ok: false, error: 'Klaviyo rejected this profile: invalid: Invalid email address' }]);
  });

  it('400 without a profile pointer → the batch is rejected (the engine bisects)', async () => {
    upstream.reply(clientError(400, { detail: 'Payload too large' }));
    await expect(action.performBatch(rows, context())).rejects.toBeInstanceOf(BatchRejectedError);
  });

  it.each([401, 403])('%s → ConfigurationError, the key in no message or log', async (status) => {
    upstream.reply(clientError(status, { detail: `bad key ${KEY}` }));
    const ctx = context();
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).not.toContain(KEY);
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('testConnection reads lists; a bad key is a configuration error', async () => {
    upstream.reply(lists(), clientError(401, { detail: 'Missing or invalid private key.' }));
    const settings = { api_key: KEY, base_url: prism.url };
    await klaviyo.testConnection!(testContext(klaviyo, settings));
    await expect(klaviyo.testConnection!(testContext(klaviyo, settings))).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('klaviyo: profiles (modes upsert and update)', () => {
  it('offers upsert and update, no list, no options; a batch is one import job (10,000 profiles)', () => {
    const profilesAction = klaviyo.actions.profiles;
    expect(profilesAction.modes).toEqual(['upsert', 'update']);
    expect([profilesAction.batchSize, profilesAction.maxBatchSize]).toEqual([10_000, 10_000]);
    expect(profilesAction.options.safeParse({}).success).toBe(true);
    expect(profilesAction.options.safeParse({ list_id: 'x' }).success).toBe(false);
    expect(profilesAction.customFields).toBe(true);
    expect(Object.entries(profilesAction.fields).filter(([, f]) => f.identifier).map(([k]) => k)).toEqual(['email', 'phone_number', 'external_id']);
  });

  it('upsert: an import job without a list; standard attributes, location and custom properties; polled until complete', async () => {
    upstream.reply(job(), jobStatus('queued'), jobStatus('processing'), jobStatus('complete', { total: 2, completed: 2 }));
    const ctx = profilesContext();
    const results = await klaviyo.actions.profiles.performBatch(
      [
        upsert('p1', { email: 'Ada@Example.com', first_name: 'Ada', organization: 'Analytical Engines', title: 'Countess', locale: 'en-GB', location: { city: 'London', country: 'GB', latitude: 51.5 }, lifetime_value: 120.5, vip: true }),
        upsert('p2', { external_id: 'u2', properties: { plan: 'pro', tags: ['a', 'b'] } }),
        upsert('p3', { email: 'x@example.com', location: { town: 'Nowhere' } }),
        add('p4', { email: 'b@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'location.town is not a Klaviyo location field (address1, address2, city, region, zip, country, timezone, ip, latitude, longitude)' },
      { ok: false, error: 'Klaviyo profiles only upsert and update (got add)' },
    ]);
    expect(upstream.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/api/profile-bulk-import-jobs'],
      ['GET', '/api/profile-bulk-import-jobs/job-1'],
      ['GET', '/api/profile-bulk-import-jobs/job-1'],
      ['GET', '/api/profile-bulk-import-jobs/job-1'],
    ]);
    expect(upstream.requests[0].json).toEqual({
      data: {
        type: 'profile-bulk-import-job',
        attributes: {
          profiles: {
            data: [
              {
                type: 'profile',
                attributes: {
                  email: 'ada@example.com',
                  first_name: 'Ada',
                  organization: 'Analytical Engines',
                  title: 'Countess',
                  locale: 'en-GB',
                  location: { city: 'London', country: 'GB', latitude: 51.5 },
                  properties: { lifetime_value: 120.5, vip: true },
                },
              },
              { type: 'profile', attributes: { external_id: 'u2', properties: { plan: 'pro', tags: ['a', 'b'] } } },
            ],
          },
        },
      },
    });
    expect(ctx.logger.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['Klaviyo bulk import job created', 'Klaviyo bulk import job over']));
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('update: looks profiles up (email, then phone_number, then external_id), imports the found ones by id; nobody found → that row fails', async () => {
    upstream.reply(found('email', ['01A', 'a@example.com']), found('external_id', ['01C', 'u3']), job(), jobStatus('complete', { total: 2, completed: 2 }));
    const results = await klaviyo.actions.profiles.performBatch(
      [update('p1', { email: 'A@example.com', first_name: 'Ann' }), update('p2', { email: 'new@example.com', first_name: 'New' }), update('p3', { external_id: 'u3', score: 7 })],
      profilesContext('update'),
    );
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'no Klaviyo profile has this email (mode update changes existing profiles only)' }, { ok: true }]);
    expect(upstream.requests.map((r) => [r.method, r.path, r.query.filter])).toEqual([
      ['GET', '/api/profiles', 'any(email,["a@example.com","new@example.com"])'],
      ['GET', '/api/profiles', 'any(external_id,["u3"])'],
      ['POST', '/api/profile-bulk-import-jobs', undefined],
      ['GET', '/api/profile-bulk-import-jobs/job-1', undefined],
    ]);
    expect(upstream.requests[2].json).toEqual({
      data: {
        type: 'profile-bulk-import-job',
        attributes: {
          profiles: {
            data: [
              { type: 'profile', id: '01A', attributes: { email: 'a@example.com', first_name: 'Ann' } },
              { type: 'profile', id: '01C', attributes: { external_id: 'u3', properties: { score: 7 } } },
            ],
          },
        },
      },
    });
  });

  it('a batch of 10,000 rows (the job limit) is one import job of 10,000 profiles', async () => {
    upstream.reply(job(), jobStatus('complete', { total: 10_000, completed: 10_000 }));
    const rows = Array.from({ length: 10_000 }, (_, i) => upsert(`p${i}`, { email: `e${i}@example.com`, rank: i }));
    const results = await klaviyo.actions.profiles.performBatch(rows, profilesContext());
    expect(results.filter((r) => r.ok)).toHaveLength(10_000);
    const posts = upstream.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => (r.json as { data: { attributes: { profiles: { data: unknown[] } } } }).data.attributes.profiles.data.length)).toEqual([10_000]);
  });

  it('update: nobody found at all → no import job', async () => {
    upstream.reply(found('email'));
    expect(await klaviyo.actions.profiles.performBatch([update('p1', { email: 'a@example.com' })], profilesContext('update'))).toEqual([
      { ok: false, error: 'no Klaviyo profile has this email (mode update changes existing profiles only)' },
    ]);
    expect(upstream.requests).toHaveLength(1);
  });

  it('a profile over 100 KB fails alone; import jobs split at 5 MB as well as 10,000 profiles', async () => {
    upstream.reply(job(), jobStatus('complete', { total: 1, completed: 1 }));
    const big = 'x'.repeat(100_001);
    expect(await klaviyo.actions.profiles.performBatch([upsert('p1', { email: 'a@example.com', note: big }), upsert('p2', { email: 'b@example.com', note: 'short' })], profilesContext())).toEqual([
      { ok: false, error: expect.stringMatching(/^the profile is 1000\d\d bytes; Klaviyo takes at most 100000 per profile$/) as string },
      { ok: true },
    ]);
    expect((upstream.requests[0].json as { data: { attributes: { profiles: { data: unknown[] } } } }).data.attributes.profiles.data).toHaveLength(1);
    const item = (i: number, size: number) => ({ index: i, profile: { attributes: { email: `e${i}@example.com`, properties: { note: 'x'.repeat(size) } } } });
    // 60 profiles of ~90 KB: 5.4 MB → two jobs, none over 5 MB
    const jobs = importChunks(Array.from({ length: 60 }, (_, i) => item(i, 90_000)));
    expect(jobs.map((j) => j.length)).toEqual([55, 5]);
    for (const j of jobs) expect(Buffer.byteLength(JSON.stringify(j.map((x) => x.profile.attributes)))).toBeLessThan(KLAVIYO_MAX_IMPORT_BYTES);
    expect(importChunks(Array.from({ length: 10_001 }, (_, i) => item(i, 1))).map((j) => j.length)).toEqual([10_000, 1]);
  });
});

describe('klaviyo: import job results', () => {
  const rows = [
    add('p1', { email: 'a@example.com' }),
    add('p2', { email: 'b@example.com', phone_number: '+16502531234' }),
    add('p3', { external_id: 'u3' }),
    add('p4', { email: 'd@example.com' }),
    add('p5', { external_id: 'u5' }),
  ];

  it('failures counted → the import errors are read page by page (links.next) and mapped to rows by pointer or original_payload', async () => {
    upstream.reply(
      job(),
      jobStatus('processing', { total: 5 }),
      jobStatus('complete', { total: 5, completed: 1, failed: 4 }),
      errorsPage(
        [
          importError('e1', 'Invalid email domain', { payload: { email: 'B@example.com', phone_number: '+16502531234' } }),
          importError('e2', 'Invalid external_id', { payload: { type: 'profile', attributes: { external_id: 'u3' } } }),
        ],
        'https://a.klaviyo.com/api/profile-bulk-import-jobs/job-1/import-errors?page%5Bsize%5D=100&page%5Bcursor%5D=bmV4dA',
      ),
      errorsPage([
        importError('e3', 'Property too long', { pointer: '/data/attributes/profiles/data/3/attributes/properties' }),
        importError('e4', 'Something about a profile we did not send', { payload: { email: 'stranger@example.com' } }),
      ]),
    );
    const ctx = context();
    expect(await action.performBatch(rows, ctx)).toEqual([
      { ok: true },
      { ok: false, error: 'Klaviyo rejected this profile: invalid: Invalid email domain' },
      { ok: false, error: 'Klaviyo rejected this profile: invalid: Invalid external_id' },
      { ok: false, error: 'Klaviyo rejected this profile: invalid: Property too long' },
      { ok: true },
    ]);
    expect(upstream.requests.slice(3).map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/api/profile-bulk-import-jobs/job-1/import-errors', { 'page[size]': '100' }],
      ['GET', '/api/profile-bulk-import-jobs/job-1/import-errors', { 'page[size]': '100', 'page[cursor]': 'bmV4dA' }],
    ]);
    // the error that points at no row is logged, by code only (no email in the logs)
    const warn = ctx.logger.lines.find((l) => l.level === 'warn');
    expect(warn?.obj).toEqual({ destination: 'klaviyo', job_id: 'job-1', unmatched: 1, codes: ['invalid'] });
    expect(ctx.logger.text()).not.toContain('stranger@example.com');
  });

  it('a cancelled job fails each of its rows (sent again next run)', async () => {
    upstream.reply(job(), jobStatus('cancelled', { total: 5 }));
    const results = await action.performBatch(rows, context());
    expect(results).toEqual(rows.map(() => ({ ok: false, error: 'Klaviyo ended import job job-1 as cancelled before importing this profile' })));
    expect(upstream.requests).toHaveLength(2);
  });

  it('a job that does not finish in time → RetryableError (the batch is sent again)', async () => {
    upstream.reply(job()).handle(() => jobStatus('processing', { total: 5 }));
    const ctx = context();
    ctx.polling = { firstDelayMs: 5, maxDelayMs: 10, timeoutMs: 60 };
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as Error).message).toMatch(/^Klaviyo import job job-1 did not finish within 0 s \(last status: processing, \d+ polls\)$/);
  });

  it('a poll throttled or failing → RetryableError (Retry-After kept); an unreadable job → RetryableError', async () => {
    upstream.reply(job(), { ...clientError(429, { detail: 'Request was throttled.' }), headers: { ...JSON_API, 'retry-after': '3' } });
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect([e instanceof RetryableError, (e as RetryableError).retryAfterMs]).toEqual([true, 3_000]);

    upstream.reset().reply(job(), clientError(404, { detail: 'Not found.' }));
    const e2 = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e2).toBeInstanceOf(RetryableError);
    expect((e2 as Error).message).toBe('Klaviyo answered 404 for reading import job job-1: Not found.');
  });
});

describe('klaviyo: throttling signals', () => {
  const rows = [add('p1', { email: 'a@example.com' })];
  const throttled = (headers: Record<string, string>) => ({ ...clientError(429, { detail: 'Request was throttled.' }), headers: { ...JSON_API, ...headers } });

  it.each([
    ['Retry-After (a date)', () => ({ 'retry-after': new Date(Date.now() + 60_000).toUTCString() }), 60_000],
    ['no Retry-After: Klaviyo’s RateLimit-Reset (seconds)', () => ({ 'ratelimit-limit': '150', 'ratelimit-remaining': '0', 'ratelimit-reset': '12' }), 12_000],
    ['no header at all (the engine backs off)', () => ({}), undefined],
  ])('429 with %s → RetryableError', async (_, headers, retryAfter) => {
    upstream.reply(throttled(headers()));
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    if (retryAfter === undefined) expect((e as RetryableError).retryAfterMs).toBeUndefined();
    // an HTTP date has second precision: allow for the second and the time the request took
    else expect((e as RetryableError).retryAfterMs).toBeGreaterThan(retryAfter - 3_000);
    if (retryAfter !== undefined) expect((e as RetryableError).retryAfterMs).toBeLessThanOrEqual(retryAfter);
  });

  it('5xx → RetryableError', async () => {
    upstream.reply(answer(503, { errors: [{ id: 'x', code: 'server_error', title: 'Unavailable', detail: 'Try later.' }] }));
    await expect(action.performBatch(rows, context())).rejects.toBeInstanceOf(RetryableError);
  });
});

describe('klaviyo: against the stateful fake (adds, changes, removals)', () => {
  let fake: FakeKlaviyo;
  beforeEach(() => {
    fake = new FakeKlaviyo();
    upstream.handle(fake.handle);
  });
  afterEach(() => expect(fake.violations).toEqual([]));

  it('list membership: ensure creates the list; adds, a change and a removal leave Klaviyo holding what the segment holds', async () => {
    const ctx = actionContext(klaviyo, 'list_membership', { settings: { api_key: KEY, base_url: prism.url }, sync: { name: 'vip', mode: 'audience' } });
    ctx.state = await action.ensure!(ctx);
    expect(fake.lists.size).toBe(1);

    const run1 = await action.performBatch(
      [add('1', { email: 'a@example.com', first_name: 'Ann' }), add('2', { email: 'b@example.com', first_name: 'Bob' }), add('3', { email: 'c@example.com' }), add('4', { email: 'bad@example.invalid' })],
      ctx,
    );
    expect(run1).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: false, error: 'Klaviyo rejected this profile: invalid: Invalid email address: bad@example.invalid' }]);
    expect(fake.members('vip')).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);

    // run 2: Bob changes, Cy leaves, Di arrives
    const run2 = await action.performBatch([add('2', { email: 'b@example.com', first_name: 'Robert', tier: 'gold' }), remove('3', { email: 'c@example.com' }), add('5', { email: 'd@example.com' })], ctx);
    expect(run2).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(fake.members('vip')).toEqual(['a@example.com', 'b@example.com', 'd@example.com']);
    expect(fake.profile('b@example.com')).toMatchObject({ first_name: 'Robert', properties: { tier: 'gold' } });
    // removed from the list, not deleted
    expect(fake.profile('c@example.com')).toBeDefined();
  });

  it('profiles: upsert creates and changes profiles with custom properties; update changes only existing ones; import errors read across pages', async () => {
    fake.errorsPageSize = 1;
    const ctx = profilesContext();
    const run1 = await klaviyo.actions.profiles.performBatch(
      [upsert('1', { email: 'a@example.com', first_name: 'Ann', plan: 'free' }), upsert('2', { external_id: 'u2', last_name: 'Two' }), upsert('3', { email: 'x@one.invalid' }), upsert('4', { email: 'y@two.invalid' })],
      ctx,
    );
    expect(run1).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'Klaviyo rejected this profile: invalid: Invalid email address: x@one.invalid' },
      { ok: false, error: 'Klaviyo rejected this profile: invalid: Invalid email address: y@two.invalid' },
    ]);
    expect(upstream.requests.filter((r) => r.path.endsWith('/import-errors'))).toHaveLength(2);
    expect(fake.profile('a@example.com')).toMatchObject({ first_name: 'Ann', properties: { plan: 'free' } });

    const run2 = await klaviyo.actions.profiles.performBatch([update('1', { email: 'a@example.com', plan: 'pro' }), update('5', { email: 'nobody@example.com', plan: 'pro' })], profilesContext('update'));
    expect(run2).toEqual([{ ok: true }, { ok: false, error: 'no Klaviyo profile has this email (mode update changes existing profiles only)' }]);
    expect(fake.profile('a@example.com')?.properties).toEqual({ plan: 'pro' });
    expect(fake.profile('nobody@example.com')).toBeUndefined();
    expect([...fake.profiles.values()].map((p) => p.email ?? p.external_id).sort()).toEqual(['a@example.com', 'u2']);
  });
});

/**
 * Bulk Create Events has no spec file here (../shared/specs/klaviyo holds profiles.json and
 * lists.json only), so these requests go to the fake server directly rather than through Prism: the
 * requests are pinned exactly, and the stateful fake checks each body against the spec's
 * `EventsBulkCreateJob` schema (its `violations` must stay empty).
 */
describe('klaviyo: events (event forwarding, mode insert)', () => {
  const events = klaviyo.actions.events;
  const eventContext = () => actionContext(klaviyo, 'events', { settings: { api_key: KEY, base_url: upstream.url }, sync: { name: 'orders_to_klaviyo', mode: 'insert' } });
  const event = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'insert', key, fields });
  const metric = (name: string) => ({ data: { type: 'metric', attributes: { name } } });
  const jobsSent = () => upstream.requests.filter((r) => r.path === '/api/event-bulk-create-jobs');
  type Job = { data: { attributes: { 'events-bulk-create': { data: { attributes: { profile: { data: { attributes: Record<string, unknown> } }; events: { data: { attributes: { unique_id: string } }[] } } }[] } } } };
  const uniqueIds = (i: number) => (jobsSent()[i].json as Job).data.attributes['events-bulk-create'].data.flatMap((e) => e.attributes.events.data.map((x) => x.attributes.unique_id));
  const AT = '2026-07-01T10:00:00.000Z';

  it('definition: mode insert only, 1,000 events a job, one batch at a time, no options', () => {
    expect(events.modes).toEqual(['insert']);
    expect([events.batchSize, events.maxBatchSize, events.concurrency]).toEqual([1_000, 1_000, 1]);
    expect(Object.entries(events.fields).filter(([, f]) => f.identifier).map(([k]) => k)).toEqual(['email', 'phone_number', 'external_id']);
    expect(Object.entries(events.fields).filter(([, f]) => f.required).map(([k]) => k)).toEqual(['event']);
    expect(events.options.safeParse({}).success).toBe(true);
    expect(events.options.safeParse({ list_id: 'x' }).success).toBe(false);
  });

  it('one Bulk Create Events job: an entry per profile (identifiers and traits), its events in row order with unique_id = the message id; 202 → ok; bad rows fail alone; a repeated message id is sent once', async () => {
    upstream.reply({ status: 202 });
    const ctx = eventContext();
    const results = await events.performBatch(
      [
        event('msg-1', { event: 'Placed Order', timestamp: AT, email: ' Ada@Example.com ', value: 42.5, value_currency: 'usd', properties: { order_id: 'o1', items: ['a', 'b'] }, coupon: 'SPRING', traits: { first_name: 'Ada', plan: 'pro', email: 'x@example.com', location: { city: 'London' } } }),
        event('msg-2', { event: 'Viewed Product', timestamp: new Date('2026-07-01T10:05:00Z'), external_id: 'u2', properties: '{"sku":"S1"}' }),
        event('msg-3', { event: 'Placed Order', timestamp: '2026-07-01T10:10:00Z', email: 'ada@example.com', value: '9.5', traits: { first_name: 'Ada', plan: 'pro', location: { city: 'London' } } }),
        event('msg-4', { email: 'd@example.com' }),
        event('msg-5', { event: 'Placed Order', first_name: 'Nobody' }),
        event('msg-6', { event: 'Placed Order', email: 'nope' }),
        event('msg-7', { event: 'Placed Order', email: 'g@example.com', timestamp: '1985-01-01T00:00:00Z' }),
        event('msg-8', { event: 'Placed Order', email: 'h@example.com', value: 'lots' }),
        event('msg-9', { event: 'Placed Order', email: 'i@example.com', properties: 'sku=1' }),
        event('msg-10', { event: 'x'.repeat(128), email: 'j@example.com' }),
        event('msg-11', { event: 'Placed Order', email: 'k@example.com', properties: Object.fromEntries(Array.from({ length: 401 }, (_, i) => [`p${i}`, i])) }),
        event('msg-12', { event: 'Placed Order', email: 'l@example.com', traits: { location: { town: 'x' } } }),
        { op: 'upsert', key: 'msg-13', fields: { event: 'Placed Order', email: 'm@example.com' } },
        event('msg-1', { event: 'Placed Order', timestamp: AT, email: 'ada@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, error: 'the row has no event name (map the event field)' },
      { ok: false, error: 'the row has no email, phone_number or external_id' },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'timestamp must be after 1990 and at most a year ahead (Klaviyo’s limits)' },
      { ok: false, error: 'value must be a number' },
      { ok: false, error: 'properties must be an object' },
      { ok: false, error: 'the event name is 128 characters; Klaviyo metric names are less than 128' },
      { ok: false, error: 'the event has 401 properties; Klaviyo takes at most 400' },
      { ok: false, error: 'location.town is not a Klaviyo location field (address1, address2, city, region, zip, country, timezone, ip, latitude, longitude)' },
      { ok: false, error: 'Klaviyo events take insert (got upsert)' },
      { ok: true },
    ]);
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
    expect([req.method, req.path, req.headers.authorization, req.headers.revision, req.headers['content-type']]).toEqual([
      'POST',
      '/api/event-bulk-create-jobs',
      `Klaviyo-API-Key ${KEY}`,
      KLAVIYO_DEFAULT_REVISION,
      'application/vnd.api+json',
    ]);
    expect(req.json).toEqual({
      data: {
        type: 'event-bulk-create-job',
        attributes: {
          'events-bulk-create': {
            data: [
              {
                type: 'event-bulk-create',
                attributes: {
                  profile: { data: { type: 'profile', attributes: { email: 'ada@example.com', first_name: 'Ada', location: { city: 'London' }, properties: { plan: 'pro' } } } },
                  events: {
                    data: [
                      { type: 'event', attributes: { properties: { order_id: 'o1', items: ['a', 'b'], coupon: 'SPRING' }, time: AT, value: 42.5, value_currency: 'USD', unique_id: 'msg-1', metric: metric('Placed Order') } },
                      { type: 'event', attributes: { properties: {}, time: '2026-07-01T10:10:00.000Z', value: 9.5, unique_id: 'msg-3', metric: metric('Placed Order') } },
                    ],
                  },
                },
              },
              {
                type: 'event-bulk-create',
                attributes: {
                  profile: { data: { type: 'profile', attributes: { external_id: 'u2' } } },
                  events: { data: [{ type: 'event', attributes: { properties: { sku: 'S1' }, time: '2026-07-01T10:05:00.000Z', unique_id: 'msg-2', metric: metric('Viewed Product') } }] },
                },
              },
            ],
          },
        },
      },
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('batching: 1,000 events a job; more are split in order; a job stays under 5 MB', async () => {
    upstream.handle(() => ({ status: 202 }));
    const rows = Array.from({ length: 2_500 }, (_, i) => event(`m${i}`, { event: 'Viewed Product', timestamp: AT, email: `e${i % 40}@example.com` }));
    expect((await events.performBatch(rows, eventContext())).every((r) => r.ok)).toBe(true);
    expect(jobsSent().map((_, i) => uniqueIds(i).length)).toEqual([1_000, 1_000, 500]);
    expect([0, 1, 2].flatMap((i) => uniqueIds(i)).sort()).toEqual(rows.map((r) => r.key).sort());

    upstream.reset().handle(() => ({ status: 202 }));
    const heavy = Array.from({ length: 1_000 }, (_, i) => event(`h${i}`, { event: 'Viewed Product', email: `e${i}@example.com`, properties: { note: 'n'.repeat(6_000) } }));
    expect((await events.performBatch(heavy, eventContext())).every((r) => r.ok)).toBe(true);
    expect(jobsSent().length).toBe(2);
    for (const r of jobsSent()) expect(Buffer.byteLength(r.rawBody)).toBeLessThan(5_000_000);
  });

  it('a 400 pointing at events or a profile fails those rows and sends the others again (Klaviyo processed none); a 400 pointing nowhere rejects the batch', async () => {
    const rows = [
      event('a', { event: 'Viewed', email: 'a@example.com' }),
      event('b', { event: 'Viewed', email: 'b@example.com' }),
      event('c', { event: 'Viewed', email: 'a@example.com' }),
      event('d', { event: 'Viewed', email: 'd@example.com' }),
    ];
    upstream.reply(
      clientError(400, { detail: 'Invalid time', pointer: '/data/attributes/events-bulk-create/data/0/attributes/events/data/1/attributes/time' }, { detail: 'Invalid phone number', pointer: '/data/attributes/events-bulk-create/data/2/attributes/profile/data/attributes/phone_number' }),
      { status: 202 },
      clientError(400, { detail: 'Payload too large' }),
    );
    expect(await events.performBatch(rows, eventContext())).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'Klaviyo rejected this event: invalid: Invalid time' },
      { ok: false, error: 'Klaviyo rejected this event: invalid: Invalid phone number' },
    ]);
    expect([uniqueIds(0), uniqueIds(1)]).toEqual([
      ['a', 'c', 'b', 'd'],
      ['a', 'b'],
    ]);
    await expect(events.performBatch(rows, eventContext())).rejects.toThrow(new BatchRejectedError('Klaviyo answered 400 for creating events: Payload too large'));
  });

  it('throttling: 429 with Retry-After → RetryableError with the delay; 5xx → RetryableError; 401 → ConfigurationError without the key', async () => {
    const rows = [event('a', { event: 'Viewed', email: 'a@example.com' })];
    upstream.reply(
      { ...clientError(429, { detail: 'Request was throttled. Expected available in 4 seconds.' }), headers: { ...JSON_API, 'retry-after': '4' } },
      answer(503, { errors: [{ id: 'x', code: 'server_error', title: 'Unavailable', detail: 'Try later.' }] }),
      clientError(401, { detail: `bad key ${KEY}` }),
    );
    const first = await events.performBatch(rows, eventContext()).catch((e: unknown) => e);
    expect([first instanceof RetryableError, (first as RetryableError).retryAfterMs]).toEqual([true, 4_000]);
    await expect(events.performBatch(rows, eventContext())).rejects.toBeInstanceOf(RetryableError);
    const ctx = eventContext();
    const third = await events.performBatch(rows, ctx).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(ConfigurationError);
    expect(ctx.logger.text() + (third as Error).message).not.toContain(KEY);
  });

  it('against the stateful fake: each profile’s events in order, once (a re-sent job is dropped by unique_id); traits land on the profile; a rejected profile fails alone', async () => {
    const fake = new FakeKlaviyo();
    upstream.handle(fake.handle);
    const batch = [
      event('e1', { event: 'Signed Up', email: 'ann@x.io', timestamp: '2026-07-01T09:00:00Z', traits: { first_name: 'Ann', plan: 'free' } }),
      event('e2', { event: 'Signed Up', email: 'bob@x.io', timestamp: '2026-07-01T09:01:00Z' }),
      event('e3', { event: 'Upgraded', email: 'ann@x.io', timestamp: '2026-07-01T09:02:00Z', properties: { to: 'pro' }, traits: { first_name: 'Ann', plan: 'pro' } }),
      event('e4', { event: 'Signed Up', email: 'zed@bad.invalid' }),
    ];
    const expected = [{ ok: true }, { ok: true }, { ok: true }, { ok: false, error: 'Klaviyo rejected this event: invalid: Invalid email address: zed@bad.invalid' }];
    expect(await events.performBatch(batch, eventContext())).toEqual(expected);
    // a retry after a lost answer: Klaviyo drops the events it has (same profile, metric and unique_id)
    expect(await events.performBatch(batch, eventContext())).toEqual(expected);
    await events.performBatch([event('e5', { event: 'Placed Order', email: 'ann@x.io', timestamp: '2026-07-01T09:03:00Z', value: 9 })], eventContext());
    expect(fake.eventsOf('ann@x.io').map((e) => [e.metric, e.unique_id, e.time, e.properties, e.value])).toEqual([
      ['Signed Up', 'e1', '2026-07-01T09:00:00.000Z', {}, undefined],
      ['Upgraded', 'e3', '2026-07-01T09:02:00.000Z', { to: 'pro' }, undefined],
      ['Placed Order', 'e5', '2026-07-01T09:03:00.000Z', {}, 9],
    ]);
    expect(fake.eventsOf('bob@x.io').map((e) => e.metric)).toEqual(['Signed Up']);
    expect(fake.profile('ann@x.io')).toMatchObject({ first_name: 'Ann', properties: { plan: 'pro' } });
    expect(fake.profile('zed@bad.invalid')).toBeUndefined();
    expect([fake.events.length, fake.duplicates]).toEqual([4, 3]);
    expect(fake.violations).toEqual([]);
  });
});
