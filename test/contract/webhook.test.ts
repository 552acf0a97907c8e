import { Webhook } from 'standardwebhooks';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { webhook } from '../../src/destinations/webhook';
import { nestFields } from '../../src/destinations/webhook/payload';
import { FakeServer } from '../support/fake-server';
import { actionContext, testContext } from './harness';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let server: FakeServer;

beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const send = webhook.actions.send;
const context = (over: { secret?: string; headers?: Record<string, string>; options?: unknown; mode?: 'upsert' | 'mirror' | 'audience' } = {}) =>
  actionContext(webhook, 'send', {
    settings: { url: `${server.url}/hooks/cdp?tenant=t1`, secret: over.secret, headers: over.headers },
    options: over.options,
    sync: { name: 'vip_customers', runId: 'run_0001', mode: over.mode ?? 'upsert' },
  });

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('webhook: the request', () => {
  it.each<{ id: string; mode: 'upsert' | 'mirror' | 'audience'; rows: OutgoingRow[]; operations: unknown[] }>([
    {
      id: 'upsert (dotted fields nested)',
      mode: 'upsert',
      rows: [{ op: 'upsert', key: 'p_1', fields: { email: 'ada@example.com', 'properties.tier': 'gold', 'properties.ltv': 120.5 } }],
      operations: [{ op: 'upsert', key: 'p_1', fields: { email: 'ada@example.com', properties: { tier: 'gold', ltv: 120.5 } } }],
    },
    {
      id: 'mirror: upsert and delete',
      mode: 'mirror',
      rows: [
        { op: 'upsert', key: 'p_1', fields: { email: 'ada@example.com' } },
        { op: 'delete', key: 'p_2', fields: {} },
      ],
      operations: [
        { op: 'upsert', key: 'p_1', fields: { email: 'ada@example.com' } },
        { op: 'delete', key: 'p_2', fields: {} },
      ],
    },
    {
      id: 'audience: add and remove',
      mode: 'audience',
      rows: [
        { op: 'add', key: 'p_1', fields: { email: 'ada@example.com' } },
        { op: 'remove', key: 'p_3', fields: { email: 'bob@example.com' } },
      ],
      operations: [
        { op: 'add', key: 'p_1', fields: { email: 'ada@example.com' } },
        { op: 'remove', key: 'p_3', fields: { email: 'bob@example.com' } },
      ],
    },
  ])('$id', async ({ mode, rows, operations }) => {
    const results = await send.performBatch(rows, context({ mode, headers: { 'X-Api-Key': 'hdr-secret-123' } }));
    expect(results).toEqual(rows.map(() => ({ ok: true })));
    const req = server.last;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks/cdp');
    expect(req.query).toEqual({ tenant: 't1' });
    expect(req.headers).toMatchObject({ 'content-type': 'application/json', 'x-api-key': 'hdr-secret-123', 'webhook-id': expect.stringMatching(/^msg_[\w-]{32}$/) });
    expect(req.headers['webhook-signature']).toBeUndefined();
    expect(req.json).toEqual({ type: 'sync.batch', timestamp: expect.stringMatching(ISO), data: { sync: 'vip_customers', run_id: 'run_0001', operations } });
    expect(req.rawBody).toBe(JSON.stringify(req.json));
  });

  it('signs per Standard Webhooks (verified with the standardwebhooks package)', async () => {
    await send.performBatch([{ op: 'upsert', key: 'p_1', fields: { name: 'Ada "the first", Lovelace' } }], context({ secret: SECRET }));
    const req = server.last;
    const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(new Webhook(SECRET).verify(req.rawBody, headers)).toEqual(req.json);
    expect(() => new Webhook('whsec_' + Buffer.from('another key').toString('base64')).verify(req.rawBody, headers)).toThrow();
  });

  it('keeps the webhook-id of a batch across retries, and changes it for other content or another run', async () => {
    const rows: OutgoingRow[] = [{ op: 'upsert', key: 'p_1', fields: { a: 1 } }];
    server.reply({ status: 503 }, { status: 200 });
    await expect(send.performBatch(rows, context({ secret: SECRET }))).rejects.toBeInstanceOf(RetryableError);
    await new Promise((r) => setTimeout(r, 5)); // a later timestamp in the body
    await send.performBatch(rows, context({ secret: SECRET }));
    await send.performBatch([{ op: 'upsert', key: 'p_1', fields: { a: 2 } }], context({ secret: SECRET }));
    await send.performBatch(rows, actionContext(webhook, 'send', { settings: { url: server.url }, sync: { runId: 'run_0002' } }));
    const ids = server.requests.map((r) => r.headers['webhook-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
  });

  it('rejects settings that are not a URL or a whsec_ secret; batches of 100 by default, 1000 at most', () => {
    expect(webhook.settings.safeParse({ url: 'ftp://x' }).success).toBe(false);
    expect(webhook.settings.safeParse({ url: 'https://x.example', secret: 'abc' }).success).toBe(false);
    expect([send.batchSize, send.maxBatchSize]).toEqual([100, 1000]);
  });
});

describe('webhook: event forwarding (mode insert)', () => {
  it('send serves mode insert: each event goes out as an insert operation keyed by its message id, fields nested, in row order', async () => {
    expect(send.modes).toContain('insert');
    const rows: OutgoingRow[] = [
      {
        op: 'insert',
        key: 'ajs-msg-0001',
        fields: { event: 'Order Completed', timestamp: '2026-07-01T10:00:00.000Z', user_id: 'u1', 'properties.order_id': 'o1', 'properties.total': 42.5, 'traits.plan': 'pro' },
      },
      { op: 'insert', key: 'ajs-msg-0002', fields: { event: 'Product Viewed', timestamp: '2026-07-01T10:05:00.000Z', user_id: 'u1', properties: { sku: 'S1' } } },
    ];
    server.reply({ status: 207, body: { results: [{ key: 'ajs-msg-0001', status: 'ok' }, { key: 'ajs-msg-0002', status: 'error', error: 'unknown user' }] } });
    const ctx = actionContext(webhook, 'send', { settings: { url: server.url, secret: SECRET }, sync: { name: 'orders_to_hook', runId: 'run_0007', mode: 'insert' } });
    expect(await send.performBatch(rows, ctx)).toEqual([{ ok: true }, { ok: false, error: 'unknown user' }]);
    const req = server.last;
    expect(req.json).toEqual({
      type: 'sync.batch',
      timestamp: expect.stringMatching(ISO),
      data: {
        sync: 'orders_to_hook',
        run_id: 'run_0007',
        operations: [
          { op: 'insert', key: 'ajs-msg-0001', fields: { event: 'Order Completed', timestamp: '2026-07-01T10:00:00.000Z', user_id: 'u1', properties: { order_id: 'o1', total: 42.5 }, traits: { plan: 'pro' } } },
          { op: 'insert', key: 'ajs-msg-0002', fields: { event: 'Product Viewed', timestamp: '2026-07-01T10:05:00.000Z', user_id: 'u1', properties: { sku: 'S1' } } },
        ],
      },
    });
    expect(new Webhook(SECRET).verify(req.rawBody, req.headers as Record<string, string>)).toEqual(req.json);
  });
});

describe('webhook: answers', () => {
  const rows: OutgoingRow[] = ['p_1', 'p_2', 'p_3'].map((key) => ({ op: 'upsert', key, fields: {} }));
  const results = (list: unknown[]) => ({ results: list });

  it.each([
    { id: '204 no body', status: 204, body: undefined, expected: [true, true, true] },
    { id: '200 with another body', status: 200, body: { received: true }, expected: [true, true, true] },
    { id: '200 text', status: 200, body: 'accepted', expected: [true, true, true] },
    {
      id: '207 per-row results; a missing row failed',
      status: 207,
      body: results([{ key: 'p_1', status: 'ok' }, { key: 'p_2', status: 'error', error: 'email is invalid' }]),
      expected: [true, 'email is invalid', 'missing from the 207 results'],
    },
    {
      id: '200 per-row results; a missing row ok',
      status: 200,
      body: results([{ key: 'p_3', status: 'error' }]),
      expected: [true, true, 'rejected by the endpoint'],
    },
  ])('$id', async ({ status, body, expected }) => {
    server.reply({ status, body });
    const got = await send.performBatch(rows, context());
    expect(got).toEqual(expected.map((e) => (e === true ? { ok: true } : { ok: false, error: e })));
  });

  it.each([
    { id: '400', status: 400, expected: BatchRejectedError, message: /rejected the batch \(400\): field "email" is required/ },
    { id: '422', status: 422, expected: BatchRejectedError, message: /422/ },
    { id: '413 too large', status: 413, expected: BatchRejectedError, message: /too large/ },
    { id: '410 gone', status: 410, expected: ConfigurationError, message: /retired/ },
    { id: '404', status: 404, expected: ConfigurationError, message: /check the url/ },
    { id: '301 redirect', status: 301, expected: ConfigurationError, message: /redirects/ },
    { id: '401', status: 401, expected: ConfigurationError, message: /401/ },
    { id: '500', status: 500, expected: RetryableError, message: /500/ },
  ])('$id', async ({ status, expected, message }) => {
    server.reply({ status, body: { error: 'field "email" is required' } });
    const error = await send.performBatch(rows, context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(expected);
    expect((error as Error).message).toMatch(message);
  });

  it('429 → RetryableError with the delay', async () => {
    server.reply({ status: 429, headers: { 'retry-after': '30' } });
    const error = await send.performBatch(rows, context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBe(30_000);
  });

  it.each([
    { id: '403 (client error)', status: 403, expected: ConfigurationError },
    { id: '400 (adapter error)', status: 400, expected: BatchRejectedError },
  ])('keeps the secret and header values out of logs and errors: $id', async ({ status, expected }) => {
    server.reply({ status, body: { message: `bad key hdr-secret-123 for ${SECRET}` } });
    const ctx = context({ secret: SECRET, headers: { Authorization: 'hdr-secret-123' } });
    const error = await send.performBatch(rows, ctx).catch((e: Error) => e);
    expect(error).toBeInstanceOf(expected);
    expect((error as Error).message).toContain('bad key [redacted] for [redacted]');
    const everything = ctx.logger.text() + (error as Error).message;
    expect(everything).not.toContain('hdr-secret-123');
    expect(everything).not.toContain(SECRET);
  });
});

describe('webhook: testConnection', () => {
  it('POSTs a signed ping; any 2xx passes', async () => {
    server.reply({ status: 202 });
    await webhook.testConnection!(testContext(webhook, { url: server.url, secret: SECRET }));
    const req = server.last;
    expect(req.json).toEqual({ type: 'ping', timestamp: expect.stringMatching(ISO), data: {} });
    expect(() => new Webhook(SECRET).verify(req.rawBody, req.headers as Record<string, string>)).not.toThrow();
  });

  it('fails with a ConfigurationError otherwise', async () => {
    server.reply({ status: 404, body: 'no such hook' });
    await expect(webhook.testConnection!(testContext(webhook, { url: server.url }))).rejects.toThrow(ConfigurationError);
  });
});

describe('nestFields', () => {
  it.each([
    { id: 'flat', input: { a: 1 }, expected: { a: 1 } },
    { id: 'dotted', input: { 'a.b': 1, 'a.c': 2, d: 3 }, expected: { a: { b: 1, c: 2 }, d: 3 } },
    { id: 'conflict keeps the dotted name', input: { a: 1, 'a.b': 2 }, expected: { a: 1, 'a.b': 2 } },
    { id: 'empty segment stays flat', input: { 'a..b': 1 }, expected: { 'a..b': 1 } },
  ])('$id', ({ input, expected }) => expect(nestFields(input)).toEqual(expected));
});
