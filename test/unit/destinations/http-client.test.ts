import { z } from 'zod';
import { defineDestination, type DestinationDefinition } from '../../../src/destinations/destination-definition';
import { ConfigurationError, RetryableError } from '../../../src/destinations/destination-errors';
import { createHttpClient } from '../../../src/destinations/http/http-client';
import { parseRetryAfter, retryAfterMs } from '../../../src/destinations/http/retry-after';
import { redactQuery } from '../../../src/destinations/http/redact';
import { captureLogger } from '../../contract/harness';
import { FakeServer, type ScriptedResponse } from '../../support/fake-server';

const API_KEY = 'sk_live_4f9a8b7c6d5e';
type Settings = { api_key: string; account?: string };
let server: FakeServer;
let slugs = 0;

beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

/** A throwaway definition (unique slug, so rate-limit budgets do not leak between tests). */
function testDefinition(over: Partial<DestinationDefinition<Settings>> = {}): DestinationDefinition<Settings> {
  return defineDestination<Settings>({
    slug: `test_${++slugs}`,
    name: 'Test API',
    category: 'generic',
    description: 'test',
    settings: z.object({ api_key: z.string().meta({ writeOnly: true }), account: z.string().optional() }),
    baseUrl: () => `${server.url}/v1/`,
    headers: (s) => ({ Authorization: `Bearer ${s.api_key}` }),
    actions: {},
    ...over,
  });
}

function client(definition = testDefinition(), settings: Settings = { api_key: API_KEY }, timeoutMs?: number) {
  const logger = captureLogger();
  return { logger, http: createHttpClient(definition, settings, { instance: 'prod', logger, secrets: [], timeoutMs }) };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('parseRetryAfter / retryAfterMs', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  it.each([
    { id: 'seconds', input: '120', expected: 120_000 },
    { id: 'fractional seconds', input: '1.5', expected: 1_500 },
    { id: 'HTTP date', input: 'Fri, 01 May 2026 12:00:30 GMT', expected: 30_000 },
    { id: 'date in the past', input: 'Fri, 01 May 2026 11:00:00 GMT', expected: 0 },
    { id: 'garbage', input: 'soon', expected: undefined },
    { id: 'negative', input: '-5', expected: undefined },
  ])('$id', ({ input, expected }) => expect(parseRetryAfter(input, now)).toBe(expected));

  it.each<{ id: string; headers: Record<string, string>; expected: number | undefined }>([
    { id: 'X-RateLimit-Reset as epoch seconds', headers: { 'x-ratelimit-reset': String(now / 1000 + 10) }, expected: 10_000 },
    { id: 'RateLimit-Reset as delta seconds', headers: { 'ratelimit-reset': '4' }, expected: 4_000 },
    { id: 'Retry-After wins', headers: { 'retry-after': '2', 'x-ratelimit-reset': '9' }, expected: 2_000 },
    { id: 'nothing', headers: {}, expected: undefined },
  ])('$id', ({ headers, expected }) => expect(retryAfterMs(headers, now)).toBe(expected));
});

describe('createHttpClient: requests', () => {
  it('joins the base URL, adds params, auth headers and a JSON body', async () => {
    server.reply({ status: 200, body: { id: 7 }, headers: { 'x-request-id': 'req-42' } });
    const { http, logger } = client();
    const res = await http.request({ method: 'POST', url: '/contacts', params: { page: 2, skip: undefined }, body: { email: 'a@b.c' } });
    expect(res).toMatchObject({ status: 200, data: { id: 7 } });
    expect(server.last).toMatchObject({ method: 'POST', path: '/v1/contacts', query: { page: '2' }, rawBody: '{"email":"a@b.c"}' });
    expect(server.last.headers).toMatchObject({ authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' });
    expect(logger.lines).toEqual([
      {
        level: 'debug',
        msg: 'http request',
        obj: { destination: expect.any(String), instance: 'prod', method: 'POST', url: `${server.url}/v1/contacts?page=2`, status: 200, durationMs: expect.any(Number), requestId: 'req-42' },
      },
    ]);
  });

  it('sends a string body byte for byte and returns a text answer as text', async () => {
    server.reply({ status: 200, body: 'ok' });
    const res = await client().http.request({ method: 'POST', url: '', headers: { 'Content-Type': 'application/json' }, body: ' {"a" : 1} ' });
    expect(server.last.rawBody).toBe(' {"a" : 1} ');
    expect(res.data).toBe('ok');
  });

  it('returns other statuses to the adapter as they are', async () => {
    server.reply({ status: 422, body: { errors: [{ message: 'bad email' }] } });
    await expect(client().http.request({ method: 'GET', url: 'x' })).resolves.toMatchObject({ status: 422, data: { errors: [{ message: 'bad email' }] } });
  });
});

describe('createHttpClient: error mapping', () => {
  const inFive = () => new Date(Date.now() + 5_000).toUTCString();
  it.each<{ id: string; response: () => ScriptedResponse; expected: typeof RetryableError | typeof ConfigurationError; retryAfter?: [number, number]; message?: RegExp }>([
    { id: '429 Retry-After seconds', response: () => ({ status: 429, headers: { 'retry-after': '3' } }), expected: RetryableError, retryAfter: [3000, 3000] },
    { id: '429 Retry-After HTTP date', response: () => ({ status: 429, headers: { 'retry-after': inFive() } }), expected: RetryableError, retryAfter: [3500, 5000] },
    { id: '500', response: () => ({ status: 500, body: 'boom' }), expected: RetryableError, message: /500.*boom/ },
    { id: '502', response: () => ({ status: 502 }), expected: RetryableError },
    { id: '503 with Retry-After', response: () => ({ status: 503, headers: { 'retry-after': '7' } }), expected: RetryableError, retryAfter: [7000, 7000] },
    { id: '504', response: () => ({ status: 504 }), expected: RetryableError },
    { id: '408', response: () => ({ status: 408 }), expected: RetryableError },
    { id: '401', response: () => ({ status: 401, body: { message: 'Invalid token' } }), expected: ConfigurationError, message: /401 Unauthorized.*Invalid token/ },
    { id: '403', response: () => ({ status: 403, body: { error: { message: 'missing scope crm.write' } } }), expected: ConfigurationError, message: /403 Forbidden.*missing scope crm.write/ },
  ])('$id', async ({ response, expected, retryAfter, message }) => {
    server.reply(response());
    const error = await failure(client().http.request({ method: 'GET', url: 'x' }));
    expect(error).toBeInstanceOf(expected);
    if (message) expect(error.message).toMatch(message);
    if (retryAfter) {
      expect((error as RetryableError).retryAfterMs).toBeGreaterThanOrEqual(retryAfter[0]);
      expect((error as RetryableError).retryAfterMs).toBeLessThanOrEqual(retryAfter[1]);
    }
  });

  it('a timeout is retryable', async () => {
    server.reply({ status: 200, delayMs: 1_000 });
    const error = await failure(client(undefined, undefined, 100).http.request({ method: 'GET', url: 'slow' }));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/timed out after 100 ms/);
  });

  it('a refused connection is retryable', async () => {
    const gone = await FakeServer.start();
    await gone.close();
    const error = await failure(client(testDefinition({ baseUrl: () => gone.url })).http.request({ method: 'GET', url: '' }));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('a dropped connection (socket hang up) is retryable', async () => {
    server.reply({ destroy: true });
    const error = await failure(client().http.request({ method: 'GET', url: '' }));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/ECONNRESET/);
  });

  it("the definition's classify runs first: a vendor signal in a 200, and a 403 that means throttling", async () => {
    const definition = testDefinition({
      classify: (res) => {
        const code = (res.data as { code?: number } | undefined)?.code;
        if (code === 40100) return new RetryableError('TikTok rate limit (40100)', 1_000);
        if (res.status === 403 && JSON.stringify(res.data).includes('REQUEST_LIMIT_EXCEEDED')) return new RetryableError('Salesforce request limit');
        return undefined;
      },
    });
    const { http } = client(definition);
    server.reply({ status: 200, body: { code: 40100, message: 'Too many requests' } }, { status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED' }] }, { status: 200, body: { code: 0 } });
    const first = await failure(http.request({ method: 'GET', url: '' }));
    expect(first).toBeInstanceOf(RetryableError);
    expect((first as RetryableError).retryAfterMs).toBe(1_000);
    await expect(http.request({ method: 'GET', url: '' })).rejects.toThrow('Salesforce request limit');
    await expect(http.request({ method: 'GET', url: '' })).resolves.toMatchObject({ status: 200 });
  });
});

describe('createHttpClient: shared rate-limit budget', () => {
  const limited = () => testDefinition({ rateLimit: { requests: 2, perMs: 200 }, accountKey: (s) => s.account ?? 'none' });

  it('two clients of the same account share one budget (waiting, not failing)', async () => {
    const definition = limited();
    const a = client(definition, { api_key: API_KEY, account: 'acme' }).http;
    const b = client(definition, { api_key: API_KEY, account: 'acme' }).http;
    const started = Date.now();
    // 6 requests against 2 per 200 ms: 2 at once, then one every 100 ms → at least 400 ms
    await Promise.all([a, b, a, b, a, b].map((c) => c.request({ method: 'GET', url: '' })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(server.requests).toHaveLength(6);
  });

  it('other accounts have their own budget', async () => {
    const definition = limited();
    const a = client(definition, { api_key: API_KEY, account: 'acme' }).http;
    const b = client(definition, { api_key: API_KEY, account: 'globex' }).http;
    const started = Date.now();
    await Promise.all([a, a, b, b].map((c) => c.request({ method: 'GET', url: '' })));
    expect(Date.now() - started).toBeLessThan(180); // shared, the last two would wait 100 and 200 ms
  });
});

describe('createHttpClient: secrets', () => {
  it('never appear in log lines or error messages', async () => {
    const extra = 'extra-secret-XYZ123';
    const logger = captureLogger();
    const http = createHttpClient(testDefinition(), { api_key: API_KEY }, { instance: 'prod', logger, secrets: [extra] });
    server.reply(
      { status: 200 },
      { status: 401, body: { message: `key ${API_KEY} is revoked` } },
      { status: 500, body: `bad header Bearer ${API_KEY} and ${extra}` },
      { status: 429, body: encodeURIComponent(extra) },
    );
    await http.request({ method: 'GET', url: `/lists/${extra}`, params: { api_key: API_KEY, access_token: 'tok', page: 1 } });
    const errors = [
      await failure(http.request({ method: 'GET', url: '' })),
      await failure(http.request({ method: 'GET', url: '' })),
      await failure(http.request({ method: 'GET', url: '' })),
    ];
    const everything = logger.text() + errors.map((e) => e.message).join('\n');
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(extra);
    expect(everything).not.toContain(encodeURIComponent(extra));
    expect(everything).not.toContain('tok&');
    expect(logger.lines[0].obj.url).toBe(`${server.url}/v1/lists/[redacted]?api_key=[redacted]&access_token=[redacted]&page=1`);
    expect(errors[0].message).toMatch(/key \[redacted\] is revoked/);
  });

  it.each([
    { id: 'secret-looking keys', input: 'https://x/y?apiKey=1&token=2&q=3#f', expected: 'https://x/y?apiKey=[redacted]&token=[redacted]&q=3#f' },
    { id: 'no query', input: 'https://x/y', expected: 'https://x/y' },
    { id: 'signature', input: '/a?sig=abc&signature=d', expected: '/a?sig=[redacted]&signature=[redacted]' },
  ])('redactQuery: $id', ({ input, expected }) => expect(redactQuery(input)).toBe(expected));
});
