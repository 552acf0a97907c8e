import { createHash } from 'node:crypto';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { tiktok } from '../../src/destinations/tiktok';
import { normalizeTikTokEmail, prepareIds } from '../../src/destinations/tiktok/identifiers';
import { FakeServer, type RecordedRequest } from '../support/fake-server';
import { operations, Prism } from '../support/prism';
import { actionContext, testContext } from './harness';

const TOKEN = 'tt-secret-access-token-0001';
const ADVERTISER = '7001234567890';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const action = tiktok.actions.audience;
/** TikTok file paths are opaque ids (the create spec wants exactly 16 characters) */
const FILE_PATH = '7f3a9c1d2e4b6a80';
const SPECS = ['list', 'file_upload', 'create', 'update'].map((n) => `test/specs/tiktok/dmp_custom_audience_${n}.yml`);

let upstream: FakeServer;
let prism: Prism;

// Every TikTok request goes through Prism (proxy mode, --errors) in front of the fake: a request
// that breaks TikTok's published spec fails the test with Prism's message (afterEach).
beforeAll(async () => {
  upstream = await FakeServer.start();
  prism = await Prism.start({
    spec: SPECS,
    upstream: upstream.url,
    // the SDK's specs declare Access-Token as a query parameter; the API (and the SDK) take it as a header
    patch: (doc) => {
      delete doc.servers;
      for (const [, , op] of operations(doc)) for (const p of (op.parameters ?? []) as { name: string; in: string }[]) if (p.name === 'Access-Token') p.in = 'header';
    },
  });
}, 60_000);
afterAll(async () => {
  await prism?.stop();
  await upstream?.close();
});
beforeEach(() => upstream.reset());
afterEach(() => prism.expectNoViolations());

const ok = (data: unknown = {}) => ({ status: 200, body: { code: 0, message: 'OK', request_id: 'req-1', data } });
const code = (c: number, message: string) => ({ status: 200, body: { code: c, message, request_id: 'req-2', data: {} } });
const context = (options: Record<string, unknown> = { audience_id: '900' }, state: Record<string, unknown> = { audience_id: '900' }) => {
  const ctx = actionContext(tiktok, 'audience', { settings: { access_token: TOKEN, advertiser_id: ADVERTISER, base_url: prism.url }, options, sync: { name: 'vip', mode: 'audience' } });
  ctx.state = state;
  return ctx;
};
const add = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'add', key, fields });
const remove = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'remove', key, fields });

/** The parts of a multipart/form-data body. */
function formParts(req: RecordedRequest): Record<string, { value: string; filename?: string }> {
  const boundary = /boundary=(.+)$/.exec(String(req.headers['content-type']))?.[1] ?? '';
  const out: Record<string, { value: string; filename?: string }> = {};
  for (const part of req.rawBody.split(`--${boundary}`).slice(1, -1)) {
    const [head, ...rest] = part.replace(/^\r\n/, '').split('\r\n\r\n');
    const name = /name="([^"]+)"/.exec(head)?.[1] ?? '';
    out[name] = { value: rest.join('\r\n\r\n').replace(/\r\n$/, ''), filename: /filename="([^"]+)"/.exec(head)?.[1] };
  }
  return out;
}

/** answers the file upload, create and update endpoints like TikTok */
const tiktokFake = () =>
  upstream.handle((req) => {
    if (req.path.endsWith('/file/upload/')) return ok({ file_path: FILE_PATH });
    if (req.path.endsWith('/create/')) return ok({ custom_audience_id: '901' });
    return ok();
  });

describe('tiktok: requests (validated by Prism against TikTok’s specs)', () => {
  it('add: uploads a MULTIPLE_TYPES customer file (MD5 signature) then APPENDs it to the audience', async () => {
    tiktokFake();
    const ctx = context();
    const results = await action.performBatch([add('p1', { email: 'Ada+news@Example.com', phone: '+1 650 253 1234' }), add('p2', { idfa: 'AEBE52E7-03EE-455A-B3C4-E57283966239' })], ctx);
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    const [uploadReq, update] = upstream.requests;
    expect([uploadReq.method, uploadReq.path, uploadReq.query]).toEqual(['POST', '/dmp/custom_audience/file/upload/', {}]);
    expect(uploadReq.headers['access-token']).toBe(TOKEN);
    const file = `EMAIL_SHA256,PHONE_SHA256,IDFA_SHA256\n${sha('ada@example.com')},${sha('+16502531234')},\n,,${sha('aebe52e7-03ee-455a-b3c4-e57283966239')}\n`;
    const parts = formParts(uploadReq);
    expect(Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v.value]))).toEqual({ advertiser_id: ADVERTISER, calculate_type: 'MULTIPLE_TYPES', file_signature: md5(file), file });
    expect(parts.file.filename).toBe(`vip-add-${md5(file).slice(0, 12)}.csv`);
    expect([update.method, update.path, update.headers['access-token'], update.json]).toEqual([
      'POST',
      '/dmp/custom_audience/update/',
      TOKEN,
      { advertiser_id: ADVERTISER, custom_audience_id: '900', action: 'APPEND', file_paths: [FILE_PATH] },
    ]);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('remove: uploads a file and REMOVEs it; rows without an identifier fail alone', async () => {
    tiktokFake();
    const results = await action.performBatch([remove('p1', { email: 'a@example.com' }), remove('p2', { email: 'nope' }), { op: 'upsert', key: 'p3', fields: { email: 'b@example.com' } }], context());
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'email is not an email address' }, { ok: false, error: 'TikTok audiences only add and remove people (got upsert)' }]);
    expect(formParts(upstream.requests[0]).file.value).toBe(`EMAIL_SHA256\n${sha('a@example.com')}\n`);
    expect(upstream.requests[1].json).toEqual({ advertiser_id: ADVERTISER, custom_audience_id: '900', action: 'REMOVE', file_paths: [FILE_PATH] });
  });

  it('no audience yet: the first adds create it from their file (create needs a file), later batches update it', async () => {
    tiktokFake();
    const ctx = context({ audience_name: 'VIP buyers' }, {});
    await action.performBatch([add('p1', { email: 'a@example.com' })], ctx);
    expect(upstream.requests.map((r) => r.path)).toEqual(['/dmp/custom_audience/file/upload/', '/dmp/custom_audience/create/']);
    expect(upstream.last.json).toEqual({ advertiser_id: ADVERTISER, custom_audience_name: 'VIP buyers', calculate_type: 'MULTIPLE_TYPES', file_paths: [FILE_PATH] });
    expect(ctx.state.audience_id).toBe('901');
    await action.performBatch([remove('p1', { email: 'a@example.com' })], ctx);
    expect(upstream.last.json).toEqual({ advertiser_id: ADVERTISER, custom_audience_id: '901', action: 'REMOVE', file_paths: [FILE_PATH] });
  });

  it('removes before the audience exists send nothing (nobody to remove)', async () => {
    expect(await action.performBatch([remove('p1', { email: 'a@example.com' })], context({ audience_name: 'VIP' }, {}))).toEqual([{ ok: true }]);
    expect(upstream.requests).toHaveLength(0);
  });

  it('ensure: audience_id as given; else pages through dmp/custom_audience/list/ by name; none → created later', async () => {
    expect(await action.ensure!(context({ audience_id: '42', audience_name: 'x' }, {}))).toEqual({ audience_id: '42' });
    expect(upstream.requests).toHaveLength(0);
    upstream.reply(
      ok({ list: [{ audience_id: '1', name: 'Other' }], page_info: { page: 1, page_size: 100, total_number: 2, total_page: 2 } }),
      ok({ list: [{ audience_id: '2', name: 'VIP' }], page_info: { page: 2, page_size: 100, total_number: 2, total_page: 2 } }),
    );
    expect(await action.ensure!(context({ audience_name: 'VIP' }, {}))).toEqual({ audience_id: '2' });
    expect(upstream.requests.map((r) => [r.method, r.path, r.query, r.headers['access-token']])).toEqual([
      ['GET', '/dmp/custom_audience/list/', { advertiser_id: ADVERTISER, page: '1', page_size: '100' }, TOKEN],
      ['GET', '/dmp/custom_audience/list/', { advertiser_id: ADVERTISER, page: '2', page_size: '100' }, TOKEN],
    ]);
    upstream.reset().reply(ok({ list: [{ audience_id: '3', name: 'vip' }], page_info: { page: 1, page_size: 100, total_number: 1, total_page: 1 } }));
    expect(await action.ensure!(context({}, {}))).toEqual({ audience_id: '3' }); // the name defaults to the sync name
    upstream.reset().reply(ok({ list: [], page_info: { page: 1, page_size: 100, total_number: 0, total_page: 0 } }));
    expect(await action.ensure!(context({ audience_name: 'VIP' }, {}))).toEqual({});
  });

  it('batches of 10,000 rows by default, 50,000 at most (one customer file per batch and operation)', () => {
    expect([action.batchSize, action.maxBatchSize]).toEqual([10_000, 50_000]);
  });

  it('Prism reports a request that breaks the spec (and the helper turns it into a test failure)', async () => {
    const ctx = context();
    const res = await ctx.http.request({ method: 'POST', url: 'dmp/custom_audience/update/', body: { advertiser_id: Number(ADVERTISER), action: 'APPEND' } });
    expect(res.status).toBe(422);
    expect(upstream.requests).toHaveLength(0);
    expect(() => prism.expectNoViolations()).toThrow(/custom_audience_id/);
  });
});

describe('tiktok: normalization and hashing', () => {
  // TikTok customer-file help (Audience > Customer File > formatting): email lowercase and trimmed,
  // "+" and what follows it up to the "@" removed; phone with "+" and country code (E.164).
  it.each([
    { id: 'lowercase and trim', input: '  John.Doe@Example.COM ', expected: 'john.doe@example.com' },
    { id: '+tag removed', input: 'john.doe+promo@example.com', expected: 'john.doe@example.com' },
    { id: '+tag removed on gmail too, dots kept', input: 'j.doe+x@gmail.com', expected: 'j.doe@gmail.com' },
  ])('email: $id', ({ input, expected }) => {
    expect(normalizeTikTokEmail(input)).toBe(expected);
    expect(prepareIds({ email: input })).toEqual({ ok: true, ids: { EMAIL_SHA256: sha(expected) } });
  });

  it.each([
    { id: 'phone E.164', fields: { phone: '+1 (650) 253-1234' }, expected: { PHONE_SHA256: sha('+16502531234') } },
    { id: 'national phone with country_code', fields: { phone: '020 7946 0018', country_code: 'GB' }, expected: { PHONE_SHA256: sha('+442079460018') } },
    { id: 'IDFA lowercased', fields: { idfa: 'AEBE52E7-03EE-455A-B3C4-E57283966239' }, expected: { IDFA_SHA256: sha('aebe52e7-03ee-455a-b3c4-e57283966239') } },
    { id: 'GAID', fields: { gaid: '38400000-8cf0-11bd-b23e-10b96e40000d' }, expected: { GAID_SHA256: sha('38400000-8cf0-11bd-b23e-10b96e40000d') } },
    { id: 'known vector', fields: { email: 'test@example.com' }, expected: { EMAIL_SHA256: '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b' } },
    { id: 'already-hashed passthrough', fields: { email: sha('x@example.com').toUpperCase() }, expected: { EMAIL_SHA256: sha('x@example.com') } },
  ])('$id', ({ fields, expected }) => {
    expect(prepareIds(fields)).toEqual({ ok: true, ids: expected });
  });
});

describe('tiktok: answers (HTTP 200 with a code)', () => {
  const rows = [add('p1', { email: 'a@example.com' })];

  it('code 40100 (too frequent) → RetryableError', async () => {
    upstream.reply(code(40100, 'Too many requests. Please retry in some time.'));
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as Error).message).toContain('40100');
  });

  it('code 40100 with a Retry-After header → that delay', async () => {
    upstream.reply({ ...code(40100, 'Too many requests.'), headers: { 'retry-after': '3' } });
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect((e as RetryableError).retryAfterMs).toBe(3_000);
  });

  it.each([
    { id: '40102 access token expired', c: 40102, type: ConfigurationError },
    { id: '40105 access token invalid', c: 40105, type: ConfigurationError },
    { id: '40001 no permission', c: 40001, type: ConfigurationError },
    { id: '40062 PII not hashed', c: 40062, type: BatchRejectedError },
    { id: '40061 invalid batch size', c: 40061, type: BatchRejectedError },
    { id: '51000 internal error', c: 51000, type: RetryableError },
  ])('$id', async ({ c, type }) => {
    upstream.reply(code(c, `message ${c} ${TOKEN}`));
    const ctx = context();
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(type);
    expect((e as Error).message).toContain(String(c));
    expect((e as Error).message).not.toContain(TOKEN);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('any other code after the upload (here the audience would fall under 1,000) rejects the batch with TikTok’s message', async () => {
    upstream.reply(ok({ file_path: FILE_PATH }), code(40002, 'The audience size is less than 1000 after the operation.'));
    await expect(action.performBatch([remove('p1', { email: 'a@example.com' })], context())).rejects.toThrow(new BatchRejectedError('TikTok answered code 40002 The audience size is less than 1000 after the operation. (request_id req-2) for removing from audience 900'));
  });

  it('20001 (partial OK) and 40050 (duplicated request: a retried batch) count as accepted', async () => {
    upstream.reply({ ...ok({ file_path: 'f' }), body: { code: 20001, message: 'partial', request_id: 'r', data: { file_path: 'f' } } }, code(40050, 'Duplicated request'));
    expect(await action.performBatch(rows, context())).toEqual([{ ok: true }]);
  });

  it('testConnection lists one audience; an expired token is a configuration error', async () => {
    upstream.reply(ok({ list: [], page_info: {} }), code(40102, 'Access token expired'));
    const settings = { access_token: TOKEN, advertiser_id: ADVERTISER, base_url: prism.url };
    await tiktok.testConnection!(testContext(tiktok, settings));
    expect(upstream.last.query).toEqual({ advertiser_id: ADVERTISER, page: '1', page_size: '1' });
    await expect(tiktok.testConnection!(testContext(tiktok, settings))).rejects.toBeInstanceOf(ConfigurationError);
  });
});
