import { createHash } from 'node:crypto';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { meta } from '../../src/destinations/meta';
import { metaCity, metaCountry, metaDateOfBirth, metaEmail, metaGender, metaName, metaPhone, metaRowValues, metaState, metaZip } from '../../src/destinations/meta/normalize';
import { buildUsersRequests, META_MAX_ROWS, NO_MATCH_KEY } from '../../src/destinations/meta/payload';
import { FakeServer } from '../support/fake-server';
import { actionContext, testContext } from './harness';

const TOKEN = 'EAAGm0PX4ZCpsBAMetaSecretToken123';
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
let server: FakeServer;

beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const action = meta.actions.audience;
const settings = () => ({ access_token: TOKEN, ad_account_id: '1234567890', base_url: server.url });
const context = (options: Record<string, unknown> = { audience_id: '23850000000000001' }, state: Record<string, unknown> = { audience_id: '23850000000000001' }) => {
  const ctx = actionContext(meta, 'audience', { settings: settings(), options, sync: { name: 'vip_customers', mode: 'audience' } });
  ctx.state = state;
  return ctx;
};
const ok = (n: number) => ({ status: 200, body: { audience_id: '23850000000000001', session_id: '9778993', num_received: n, num_invalid_entries: 0, invalid_entry_samples: {} } });

describe('meta: settings and limits', () => {
  it('normalizes the ad account id, defaults the version and host, rejects bad values', () => {
    expect(meta.settings.parse({ access_token: 't', ad_account_id: '42' })).toEqual({ access_token: 't', ad_account_id: 'act_42', api_version: 'v25.0', base_url: 'https://graph.facebook.com' });
    expect(meta.settings.parse({ access_token: 't', ad_account_id: 'act_42' }).ad_account_id).toBe('act_42');
    expect(meta.settings.safeParse({ access_token: 't', ad_account_id: 'acct-42' }).success).toBe(false);
    expect(meta.settings.safeParse({ access_token: 't', ad_account_id: '42', api_version: '25' }).success).toBe(false);
  });

  it('takes audience_id or audience_name (not both), and at most 10,000 rows per request', () => {
    expect(action.options.safeParse({}).success).toBe(true);
    expect(action.options.safeParse({ audience_id: '1', audience_name: 'x' }).success).toBe(false);
    expect(action.options.safeParse({ audience_name: 'x', customer_file_source: 'SOMETHING' }).success).toBe(false);
    expect([action.batchSize, action.maxBatchSize, META_MAX_ROWS]).toEqual([10_000, 10_000, 10_000]);
    expect(action.modes).toEqual(['audience']);
  });
});

describe('meta: add and remove requests', () => {
  const rows: OutgoingRow[] = [
    { op: 'add', key: 'p_1', fields: { email: ' John_Smith@Example.com ', phone: '+1 (650) 555-1212', first_name: 'John', last_name: "O'Neil", country: 'US', zip: '94025-1234' } },
    { op: 'add', key: 'p_2', fields: { email: 'jane@example.com' } },
    { op: 'remove', key: 'p_3', fields: { email: 'bob@example.com', external_id: 'crm-3' } },
  ];

  it('POSTs the adds and DELETEs the removes on /{audience_id}/users with a multi-key payload', async () => {
    server.reply(ok(2), ok(1));
    const results = await action.performBatch(rows, context());
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(server.requests).toHaveLength(2);
    const [add, remove] = server.requests;
    expect(add.method).toBe('POST');
    expect(add.path).toBe('/v25.0/23850000000000001/users');
    expect(add.query).toEqual({});
    expect(add.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' });
    expect(add.json).toEqual({
      payload: {
        schema: ['EMAIL', 'PHONE', 'FN', 'LN', 'ZIP', 'COUNTRY'],
        data: [
          [sha('john_smith@example.com'), sha('16505551212'), sha('john'), sha('oneil'), sha('94025'), sha('us')],
          [sha('jane@example.com'), '', '', '', '', ''],
        ],
      },
    });
    expect(remove.method).toBe('DELETE');
    expect(remove.path).toBe('/v25.0/23850000000000001/users');
    expect(remove.json).toEqual({ payload: { schema: ['EMAIL', 'EXTERN_ID'], data: [[sha('bob@example.com'), 'crm-3']] } });
  });

  it('sends only the adds when there are no removes (and the other way round)', async () => {
    await action.performBatch([rows[2]], context());
    expect(server.requests.map((r) => r.method)).toEqual(['DELETE']);
  });

  it('fails a row with nothing to match on without sending it; a batch of only such rows sends nothing', async () => {
    const results = await action.performBatch([{ op: 'add', key: 'p_9', fields: { country: 'us', gender: 'f', email: 'not-an-email' } }], context());
    expect(results).toEqual([{ ok: false, error: NO_MATCH_KEY }]);
    expect(server.requests).toHaveLength(0);
  });

  it('uses the audience ensure found (state) over the option', async () => {
    server.reply(ok(1));
    await action.performBatch([rows[1]], context({ audience_name: 'VIP' }, { audience_id: '777' }));
    expect(server.last.path).toBe('/v25.0/777/users');
  });

  it('splits at 10,000 rows per request, keeping row order in the results', async () => {
    const many: OutgoingRow[] = Array.from({ length: META_MAX_ROWS + 1 }, (_, i) => ({ op: 'add', key: `p_${i}`, fields: { email: `user${i}@example.com` } }));
    server.handle((req) => ok((req.json as { payload: { data: unknown[] } }).payload.data.length));
    const results = await action.performBatch(many, context());
    expect(results).toHaveLength(META_MAX_ROWS + 1);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.requests.map((r) => (r.json as { payload: { data: unknown[] } }).payload.data.length)).toEqual([10_000, 1]);
    expect((server.requests[1].json as { payload: { data: string[][] } }).payload.data[0]).toEqual([sha('user10000@example.com')]);
  });

  it('builds requests as plain data (pure)', () => {
    const plan = buildUsersRequests(rows, '42');
    expect(plan.requests.map((r) => [r.op, r.request.method, r.request.url, r.indexes])).toEqual([
      ['add', 'POST', '42/users', [0, 1]],
      ['remove', 'DELETE', '42/users', [2]],
    ]);
    expect(plan.failed.size).toBe(0);
  });
});

describe('meta: normalization and hashing (Meta customer-file rules, reference §1.2)', () => {
  // Meta Marketing API, "Custom Audiences: hashing and normalization" (summarized in reference §1.2)
  it.each([
    { id: 'EMAIL trim + lowercase', fn: () => metaEmail('  John_Smith@Example.COM '), expected: 'john_smith@example.com' },
    { id: 'EMAIL: no gmail dot rule for Meta', fn: () => metaEmail('j.smith+x@gmail.com'), expected: 'j.smith+x@gmail.com' },
    { id: 'PHONE digits with country code, no +', fn: () => metaPhone('+1 (650) 555-1212'), expected: '16505551212' },
    { id: 'PHONE national number read in the row country', fn: () => metaPhone('(650) 555-1212', 'us'), expected: '16505551212' },
    { id: 'PHONE UK leading 0 dropped', fn: () => metaPhone('07700 900123', 'GB'), expected: '447700900123' },
    { id: 'PHONE not a number', fn: () => metaPhone('n/a'), expected: null },
    { id: 'FN lowercase, no punctuation', fn: () => metaName("  Mary-Jane O'Neil "), expected: 'maryjaneoneil' },
    { id: 'FN UTF-8 letters kept', fn: () => metaName('Jöns'), expected: 'jöns' },
    { id: 'CT no spaces', fn: () => metaCity('Menlo Park'), expected: 'menlopark' },
    { id: 'ST 2-letter code lowercased', fn: () => metaState('CA'), expected: 'ca' },
    { id: 'ZIP US first 5 digits', fn: () => metaZip('94025-1234', 'us'), expected: '94025' },
    { id: 'ZIP+4 shape without a country', fn: () => metaZip('94025 1234'), expected: '94025' },
    { id: 'ZIP UK lowercase no spaces', fn: () => metaZip('SW1A 1AA', 'gb'), expected: 'sw1a1aa' },
    { id: 'COUNTRY alpha-2 lowercase', fn: () => metaCountry(' US '), expected: 'us' },
    { id: 'COUNTRY name is not a code', fn: () => metaCountry('United States'), expected: null },
    { id: 'GEN female', fn: () => metaGender('Female'), expected: 'f' },
    { id: 'GEN m', fn: () => metaGender('M'), expected: 'm' },
    { id: 'GEN unknown', fn: () => metaGender('x'), expected: null },
    { id: 'DOB from a date', fn: () => metaDateOfBirth('1990-07-04'), expected: { DOBY: '1990', DOBM: '07', DOBD: '04' } },
    { id: 'DOB from a timestamp', fn: () => metaDateOfBirth(new Date('1990-07-04T00:00:00Z')), expected: { DOBY: '1990', DOBM: '07', DOBD: '04' } },
    { id: 'DOB not a date', fn: () => metaDateOfBirth('04/07/1990'), expected: null },
  ])('$id', ({ fn, expected }) => expect(fn()).toEqual(expected));

  it('hashes every key except MADID (lowercased, hyphens kept) and EXTERN_ID (as is); already-hashed values pass through lowercased', () => {
    const preHashed = sha('jane@example.com').toUpperCase();
    const values = metaRowValues({
      email: preHashed,
      phone: '650 555 1212',
      country: 'US',
      city: 'Menlo Park',
      state: 'CA',
      gender: 'F',
      date_of_birth: '1990-07-04',
      first_initial: 'J',
      mobile_advertiser_id: 'AB1234CD-E123-12FG-J123-AB12345CD678',
      external_id: 'CRM-0001',
    });
    expect(values).toEqual({
      EMAIL: preHashed.toLowerCase(),
      PHONE: sha('16505551212'),
      COUNTRY: sha('us'),
      CT: sha('menlopark'),
      ST: sha('ca'),
      GEN: sha('f'),
      DOBY: sha('1990'),
      DOBM: sha('07'),
      DOBD: sha('04'),
      FI: sha('j'),
      MADID: 'ab1234cd-e123-12fg-j123-ab12345cd678',
      EXTERN_ID: 'CRM-0001',
    });
  });

  it('reads a national phone in the sync phone_country when the row has no country', () => {
    expect(metaRowValues({ phone: '07700 900123' }, 'GB').PHONE).toBe(sha('447700900123'));
    expect(metaRowValues({ phone: '07700 900123' }).PHONE).toBeUndefined();
  });
});

describe('meta: ensure the audience', () => {
  const audiencesPage = (data: unknown[], after?: string) => ({ status: 200, body: { data, paging: after ? { cursors: { before: 'b', after }, next: `${server.url}/next` } : { cursors: { before: 'b', after: 'z' } } } });

  it('finds the audience by name across pages, without creating one', async () => {
    server.reply(audiencesPage([{ id: '1', name: 'Other', subtype: 'CUSTOM' }], 'cursor1'), audiencesPage([{ id: '2', name: 'VIP', subtype: 'CUSTOM', operation_status: { code: 200 } }]));
    const ctx = context({ audience_name: 'VIP' }, {});
    await expect(action.ensure!(ctx)).resolves.toEqual({ audience_id: '2' });
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/v25.0/act_1234567890/customaudiences', { fields: 'id,name,subtype,operation_status', limit: '500' }],
      ['GET', '/v25.0/act_1234567890/customaudiences', { fields: 'id,name,subtype,operation_status', limit: '500', after: 'cursor1' }],
    ]);
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('creates a CUSTOM audience (named after the sync by default) when none has the name', async () => {
    server.reply(audiencesPage([{ id: '1', name: 'Other', subtype: 'CUSTOM' }]), { status: 200, body: { id: '23850000000000009' } });
    await expect(action.ensure!(context({}, {}))).resolves.toEqual({ audience_id: '23850000000000009' });
    const create = server.last;
    expect([create.method, create.path]).toEqual(['POST', '/v25.0/act_1234567890/customaudiences']);
    expect(create.json).toEqual({ name: 'vip_customers', subtype: 'CUSTOM', customer_file_source: 'USER_PROVIDED_ONLY', description: 'Synced by composable-cdp' });
  });

  it('checks a configured audience_id', async () => {
    server.reply({ status: 200, body: { id: '555', name: 'VIP', subtype: 'CUSTOM' } });
    await expect(action.ensure!(context({ audience_id: '555' }, {}))).resolves.toEqual({ audience_id: '555' });
    expect([server.last.method, server.last.path, server.last.query]).toEqual(['GET', '/v25.0/555', { fields: 'id,name,subtype,operation_status' }]);
  });

  it.each([
    { id: 'two audiences with the name', replies: [audiencesPage([{ id: '1', name: 'VIP' }, { id: '2', name: 'VIP' }])], options: { audience_name: 'VIP' }, message: /2 Meta audiences are named "VIP" \(1, 2\)/ },
    { id: 'a lookalike with the name', replies: [audiencesPage([{ id: '1', name: 'VIP', subtype: 'LOOKALIKE' }])], options: { audience_name: 'VIP' }, message: /LOOKALIKE audience/ },
    { id: 'a flagged audience', replies: [{ status: 200, body: { id: '5', subtype: 'CUSTOM', operation_status: { code: 471 } } }], options: { audience_id: '5' }, message: /flagged/ },
    {
      id: 'an unknown audience_id',
      replies: [{ status: 400, body: { error: { message: 'Unsupported get request. Object with ID 5 does not exist', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'Axyz' } } }],
      options: { audience_id: '5' },
      message: /does not exist/,
    },
  ])('configuration error: $id', async ({ replies, options, message }) => {
    server.reply(...replies);
    const error = await action.ensure!(context(options, {})).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('meta: answers', () => {
  const rows: OutgoingRow[] = ['a', 'b', 'c'].map((k) => ({ op: 'add', key: k, fields: { email: `${k}@example.com` } }));
  const graphError = (code: number, subcode?: number, message = 'error') => ({ error: { message, type: 'OAuthException', code, ...(subcode ? { error_subcode: subcode } : {}), fbtrace_id: 'AbCdEf' } });
  const usage = (minutes: number) => JSON.stringify({ '1234567890': [{ type: 'custom_audience', call_count: 100, total_cputime: 20, total_time: 30, estimated_time_to_regain_access: minutes }] });

  it('fails the rows Meta lists in invalid_entry_samples with its reason; the others are ok', async () => {
    server.reply({ status: 200, body: { audience_id: '1', num_received: 3, num_invalid_entries: 2, invalid_entry_samples: { [sha('b@example.com')]: 'Invalid EMAIL format' } } });
    const ctx = context();
    const results = await action.performBatch(rows, ctx);
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'Meta rejected this entry as invalid: Invalid EMAIL format' }, { ok: true }]);
    const warn = ctx.logger.lines.find((l) => l.level === 'warn');
    expect(warn?.obj).toMatchObject({ invalid: 2, unattributed: 1, op: 'add' });
    expect(ctx.logger.text()).not.toContain(sha('b@example.com'));
  });

  it.each([
    { id: '80003 custom-audience throttle, usage header', status: 400, body: graphError(80003, 2446079, 'There have been too many calls'), headers: { 'x-business-use-case-usage': usage(5) }, delay: 300_000 },
    { id: '17 user request limit', status: 400, body: graphError(17, 2446079, 'User request limit reached'), headers: { 'x-business-use-case-usage': usage(1) }, delay: 60_000 },
    { id: '613 ad-account limit, ad account usage header', status: 400, body: graphError(613, 1487742), headers: { 'x-ad-account-usage': JSON.stringify({ acc_id_util_pct: 100, reset_time_duration: 120 }) }, delay: 120_000 },
    { id: '4 app limit, no delay given', status: 403, body: graphError(4, undefined, 'Application request limit reached'), headers: {}, delay: undefined },
    { id: '32 page limit', status: 400, body: graphError(32), headers: {}, delay: undefined },
    { id: 'transient error', status: 500, body: { error: { message: 'An unknown error occurred', code: 1, is_transient: true } }, headers: {}, delay: undefined },
  ] as { id: string; status: number; body: unknown; headers: Record<string, string>; delay: number | undefined }[])('throttling → RetryableError: $id', async ({ status, body, headers, delay }) => {
    server.reply({ status, body, headers });
    const error = await action.performBatch(rows, context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBe(delay);
  });

  it.each([
    { id: '190 expired token', status: 400, body: graphError(190, 463, 'Error validating access token: Session has expired'), expected: ConfigurationError, message: /invalid or expired/ },
    { id: '200 permission', status: 403, body: graphError(200, undefined, 'Permissions error'), expected: ConfigurationError, message: /lacks a permission/ },
    { id: 'flagged audience', status: 400, body: graphError(100, 1713230, 'Invalid parameter'), expected: ConfigurationError, message: /flagged/ },
    { id: 'plain 401', status: 401, body: 'no', expected: ConfigurationError, message: /401/ },
    { id: 'audience gone', status: 400, body: graphError(100, 33, 'Object does not exist'), expected: ConfigurationError, message: /does not exist/ },
    { id: 'invalid payload', status: 400, body: graphError(100, undefined, 'Invalid parameter'), expected: BatchRejectedError, message: /Meta error 100: Invalid parameter \(fbtrace_id AbCdEf\)/ },
  ])('$id', async ({ status, body, expected, message }) => {
    server.reply({ status, body });
    const error = await action.performBatch(rows, context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(expected);
    expect((error as Error).message).toMatch(message);
  });

  it('keeps the access token out of logs and errors', async () => {
    server.reply({ status: 400, body: graphError(190, undefined, `Invalid OAuth access token ${TOKEN}`) });
    const ctx = context();
    const error = await action.performBatch(rows, ctx).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('[redacted]');
    expect(ctx.logger.text() + (error as Error).message).not.toContain(TOKEN);
    expect(ctx.logger.lines.length).toBeGreaterThan(0);
  });
});

describe('meta: testConnection', () => {
  it('reads the ad account', async () => {
    server.reply({ status: 200, body: { id: 'act_1234567890', name: 'Acme', account_status: 1 } });
    const ctx = testContext(meta, settings());
    await meta.testConnection!(ctx);
    expect([server.last.method, server.last.path, server.last.query]).toEqual(['GET', '/v25.0/act_1234567890', { fields: 'id,name,account_status' }]);
    expect(server.last.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it.each([
    { id: 'disabled account', reply: { status: 200, body: { id: 'act_1234567890', account_status: 2 } }, message: /not active/ },
    { id: 'expired token', reply: { status: 400, body: { error: { message: 'Session has expired', code: 190 } } }, message: /expired/ },
    { id: 'unknown account', reply: { status: 400, body: { error: { message: 'Object does not exist', code: 100, error_subcode: 33 } } }, message: /does not exist/ },
  ])('ConfigurationError: $id', async ({ reply, message }) => {
    server.reply(reply);
    const error = await meta.testConnection!(testContext(meta, settings())).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
  });
});
