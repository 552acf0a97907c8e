import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { klaviyo, KLAVIYO_DEFAULT_REVISION } from '../../src/destinations/klaviyo';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
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
const job = (id = 'job-1') => answer(202, { data: { type: 'profile-bulk-import-job', id, attributes: { status: 'queued', created_at: '2026-07-15T00:00:00+00:00', total_count: 1 }, links: { self: `https://a.klaviyo.com/api/profile-bulk-import-jobs/${id}/` } } });
const list = (id: string, name: string) => ({ type: 'list', id, attributes: { name }, links: { self: `https://a.klaviyo.com/api/lists/${id}/` } });
const lists = (...items: ReturnType<typeof list>[]) => answer(200, { data: items, links: { self: 'https://a.klaviyo.com/api/lists/' } });
const profiles = (...ids: string[]) => answer(200, { data: ids.map((id) => ({ type: 'profile', id, attributes: {}, links: { self: `https://a.klaviyo.com/api/profiles/${id}/` } })), links: { self: 'https://a.klaviyo.com/api/profiles/' } });
const clientError = (status: number, ...errors: { detail: string; pointer?: string }[]) =>
  answer(status, { errors: errors.map((e, i) => ({ id: `e${i}`, status, code: 'invalid', title: 'Invalid input.', detail: e.detail, ...(e.pointer ? { source: { pointer: e.pointer } } : {}) })) });

const context = (options: Record<string, unknown> = { list_id: LIST }, state: Record<string, unknown> = { list_id: LIST }) => {
  const ctx = actionContext(klaviyo, 'list_membership', { settings: { api_key: KEY, base_url: prism.url }, options, sync: { name: 'vip', mode: 'audience' } });
  ctx.state = state;
  return ctx;
};
const add = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'add', key, fields });
const remove = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'remove', key, fields });

describe('klaviyo: requests (validated by Prism against Klaviyo’s specs)', () => {
  it('add: one bulk import job upserting the profiles into the list; auth and revision headers; bad rows fail alone', async () => {
    upstream.reply(job());
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
    expect(upstream.requests).toHaveLength(1);
    const req = upstream.last;
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
