import type { OutgoingRow, SyncMode } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { salesforce } from '../../src/destinations/salesforce';
import { MODE_OPERATIONS, type Change } from '../../src/syncs/sync-modes';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { SalesforceFake } from '../support/fakes/salesforce';
import { actionContext, testContext } from './harness';

// Salesforce publishes no OpenAPI spec for its REST and Bulk APIs (reference §2), so no Prism:
// requests are pinned exactly here, and SalesforceFake checks every request against the documented
// contract (a malformed one is a recorded violation, asserted empty after each test).

const ACCESS = '00D000000000001!static.access.token';
const OAUTH = { clientId: '3MVG9-consumer-key', clientSecret: 'consumer-secret-0001', refreshToken: '5Aep861-refresh-token-0001' };
const SECRETS = [ACCESS, OAUTH.clientSecret, OAUTH.refreshToken];
const V = '/services/data/v62.0';

let server: FakeServer;
let org: SalesforceFake;

beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(async () => server?.close());
beforeEach(() => {
  server.reset();
  org = new SalesforceFake({ accessToken: ACCESS, oauth: OAUTH });
});
afterEach(() => expect(org.violations).toEqual([]));

const staticSettings = () => ({ instance_url: server.url, access_token: ACCESS });
const oauthSettings = () => ({ instance_url: server.url, client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, refresh_token: OAUTH.refreshToken });
const context = (options: Record<string, unknown> = { external_id_field: 'Customer_Id__c' }, sync: { mode?: SyncMode; planned?: number } = {}, settings: Record<string, unknown> = staticSettings()) =>
  actionContext(salesforce, 'records', { settings, options, sync: { name: 'crm_contacts', mode: 'upsert', ...sync } });
const action = salesforce.actions.records;
const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const json = (status: number, body?: unknown, headers: Record<string, string> = {}): ScriptedResponse => ({ status, body, headers });
const expectNoSecrets = (text: string) => {
  for (const s of [...SECRETS, ...org.issued]) expect(text).not.toContain(s);
};
/** The fake's describe of Contact, as ensure leaves it in the run state. */
const ready = async (options?: Record<string, unknown>, sync?: { mode?: SyncMode; planned?: number }) => {
  server.handle(org.handler);
  const ctx = context(options, sync);
  ctx.state = await action.ensure!(ctx);
  server.reset();
  return ctx;
};

describe('salesforce: auth', () => {
  it('refresh token flow: exchanges it once (form-encoded), sends the access token as Bearer, keeps it for the run', async () => {
    server.handle(org.handler);
    const ctx = context({ external_id_field: 'Customer_Id__c' }, {}, oauthSettings());
    ctx.state = await action.ensure!(ctx);
    await action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'Lovelace' })], ctx);
    const [token, ...rest] = server.requests;
    expect([token.method, token.path, token.headers['content-type'], token.headers.authorization]).toEqual(['POST', '/services/oauth2/token', 'application/x-www-form-urlencoded', undefined]);
    expect(Object.fromEntries(new URLSearchParams(token.rawBody))).toEqual({ grant_type: 'refresh_token', client_id: OAUTH.clientId, refresh_token: OAUTH.refreshToken, client_secret: OAUTH.clientSecret });
    expect(rest.map((r) => r.headers.authorization)).toEqual([`Bearer ${org.issued[0]}`, `Bearer ${org.issued[0]}`]);
    expect(org.issued).toHaveLength(1);
    expectNoSecrets(ctx.logger.text());
  });

  it('401 INVALID_SESSION_ID: refreshes once and sends the request again', async () => {
    const ctx = await ready();
    const oauth = context({ external_id_field: 'Customer_Id__c' }, {}, { ...oauthSettings(), access_token: 'expired-token' });
    oauth.state = ctx.state;
    server.handle(org.handler);
    expect(await action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'Lovelace' })], oauth)).toEqual([{ ok: true }]);
    expect(server.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['PATCH', `${V}/composite/sobjects/Contact/Customer_Id__c`, 'Bearer expired-token'],
      ['POST', '/services/oauth2/token', undefined],
      ['PATCH', `${V}/composite/sobjects/Contact/Customer_Id__c`, `Bearer ${org.issued[0]}`],
    ]);
    // the refreshed token expires too: one more refresh, then the request goes through
    org.expireSessions();
    expect(await action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'L.' })], oauth)).toEqual([{ ok: true }]);
    expect(org.issued).toHaveLength(2);
    expectNoSecrets(oauth.logger.text());
  });

  it('a session still refused after a refresh, an expired static token, or a refused refresh token stop the run', async () => {
    const ctx = await ready();
    server.reply(json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]));
    await expect(action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1' })], ctx)).rejects.toThrow(
      new ConfigurationError(
        'Salesforce rejected the session: INVALID_SESSION_ID: Session expired or invalid: the access_token expired or was revoked; set a new one, or client_id and refresh_token so the adapter refreshes it',
      ),
    );

    server.reset().handle(org.handler);
    const oauth = context({ external_id_field: 'Customer_Id__c' }, {}, oauthSettings());
    oauth.state = ctx.state;
    server.reply(json(200, { access_token: 'tok-1' }), json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]), json(200, { access_token: 'tok-2' }), json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]));
    const e = await action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1' })], oauth).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).toContain('also with a freshly refreshed token');

    const refused = testContext(salesforce, { ...oauthSettings(), refresh_token: 'revoked-refresh-token' });
    await expect(salesforce.testConnection!(refused)).rejects.toThrow(
      new ConfigurationError('Salesforce refused the refresh token (400: expired access/refresh token): check client_id, client_secret and refresh_token, or connect the integration user again'),
    );
    expectNoSecrets(refused.logger.text() + oauth.logger.text());
    expect(refused.logger.text()).not.toContain('revoked-refresh-token');
  });

  it('settings: access_token, or client_id with refresh_token; api_version v62.0 by default', () => {
    expect(salesforce.settings.parse(staticSettings())).toMatchObject({ api_version: 'v62.0' });
    expect(() => salesforce.settings.parse({ instance_url: 'https://x.my.salesforce.com', client_id: 'a' })).toThrow(/set access_token, or client_id and refresh_token/);
    expect(() => salesforce.settings.parse({ ...staticSettings(), api_version: '62' })).toThrow(/api_version looks like v62.0/);
    expect(action.options.parse({})).toEqual({ object: 'Contact', bulk_threshold: 2000 });
  });

  it('testConnection reads the API version’s resources; an unknown version fails it', async () => {
    server.handle(org.handler);
    const ok = testContext(salesforce, staticSettings());
    await salesforce.testConnection!(ok);
    expect([server.last.method, server.last.path, server.last.headers.authorization]).toEqual(['GET', `${V}/`, `Bearer ${ACCESS}`]);
    await expect(salesforce.testConnection!(testContext(salesforce, { ...staticSettings(), api_version: 'v99.0' }))).rejects.toThrow(
      new ConfigurationError(`Salesforce does not serve API version v99.0 at ${server.url}`),
    );
    await expect(salesforce.testConnection!(testContext(salesforce, { ...staticSettings(), access_token: 'bad-token' }))).rejects.toBeInstanceOf(ConfigurationError);
    expectNoSecrets(ok.logger.text());
  });
});

describe('salesforce: ensure', () => {
  it('describes the object and checks the external id field', async () => {
    server.handle(org.handler);
    const state = await action.ensure!(context({ object: 'contact', external_id_field: 'customer_id__c' }));
    expect(state.external_id_field).toBe('Customer_Id__c');
    expect([server.last.method, server.last.path]).toEqual(['GET', `${V}/sobjects/contact/describe`]);
    await expect(action.ensure!(context({ external_id_field: 'Email' }))).rejects.toThrow(
      new ConfigurationError('Contact.Email is not an External ID field: mark it External ID in Salesforce, or choose another external_id_field'),
    );
    await expect(action.ensure!(context({ object: 'Widget__c', external_id_field: 'Ext__c' }))).rejects.toThrow(new ConfigurationError('Salesforce has no object Widget__c (or the integration user cannot see it)'));
    await expect(action.ensure!(context({}))).rejects.toThrow(new ConfigurationError('upsert needs the external_id_field option: the External ID field records are matched by'));
  });
});

describe('salesforce: sObject Collections (runs up to bulk_threshold rows)', () => {
  it('upsert: PATCH /composite/sobjects/{object}/{externalIdField}, allOrNone false; per-record errors fail their row; bad rows fail alone', async () => {
    const ctx = await ready();
    server.reply(
      json(200, [
        { id: '003000000000001AAA', success: true, errors: [], created: true },
        { success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }] },
        { id: '003000000000002AAA', success: true, errors: [], created: false },
      ]),
    );
    const results = await action.performBatch(
      [
        row('upsert', 'p1', { customer_id__c: 'C1', lastname: 'Lovelace', Email: 'ada@example.com', HasOptedOutOfEmail: false, Lifetime_Value__c: 12.5, Title: null }),
        row('upsert', 'p2', { Customer_Id__c: 'C2', FirstName: 'NoLast' }),
        row('upsert', 'p3', { Customer_Id__c: 42, LastName: 'Babbage', Id: '003XXXXXXXXXXXXXXX', Account: { Account_Number__c: 'A-1' } }),
        row('upsert', 'p4', { LastName: 'No key' }),
        row('upsert', 'p5', { Customer_Id__c: 'C5', Title: { nested: { deep: 1 } } }),
        row('delete', 'p6', { Customer_Id__c: 'C6' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Salesforce rejected this record: REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (LastName)' },
      { ok: true },
      { ok: false, error: 'the row has no Customer_Id__c (the external id field)' },
      { ok: false, error: 'field Title.nested: a relationship holds the related record’s external id (text or number), not an object' },
      { ok: false, error: 'Salesforce records take upsert, update and insert (got delete)' },
    ]);
    expect(server.requests).toHaveLength(1);
    const req = server.last;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual(['PATCH', `${V}/composite/sobjects/Contact/Customer_Id__c`, `Bearer ${ACCESS}`, 'application/json']);
    expect(req.json).toEqual({
      allOrNone: false,
      records: [
        { attributes: { type: 'Contact' }, Customer_Id__c: 'C1', LastName: 'Lovelace', Email: 'ada@example.com', HasOptedOutOfEmail: false, Lifetime_Value__c: 12.5, Title: null },
        { attributes: { type: 'Contact' }, Customer_Id__c: 'C2', FirstName: 'NoLast' },
        { attributes: { type: 'Contact' }, Customer_Id__c: 42, LastName: 'Babbage', Account: { Account_Number__c: 'A-1' } },
      ],
    });
    expectNoSecrets(ctx.logger.text());
  });

  it('a mapped field the object lacks stops the run, named, before anything is sent', async () => {
    const ctx = await ready();
    await expect(action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'L', Shoe_Size__c: 42, favourite: 'x' })], ctx)).rejects.toThrow(
      new ConfigurationError('Contact has no fields Shoe_Size__c, favourite: map to field API names (custom fields end in __c)'),
    );
    expect(server.requests).toHaveLength(0);
  });

  it('insert: POST /composite/sobjects without Id', async () => {
    const ctx = await ready({ object: 'Lead' }, { mode: 'insert' });
    server.reply(json(200, [{ id: '00Q000000000001AAA', success: true, errors: [] }]));
    expect(await action.performBatch([row('insert', 'p1', { LastName: 'Lovelace', Company: 'Analytical Engines', Id: 'ignored' })], ctx)).toEqual([{ ok: true }]);
    expect([server.last.method, server.last.path, server.last.json]).toEqual([
      'POST',
      `${V}/composite/sobjects`,
      { allOrNone: false, records: [{ attributes: { type: 'Lead' }, LastName: 'Lovelace', Company: 'Analytical Engines' }] },
    ]);
  });

  it('update: by Id (PATCH /composite/sobjects); without Id, found by external id with SOQL (quotes escaped); none → the row fails', async () => {
    const ctx = await ready(undefined, { mode: 'update' });
    server.reply(
      json(200, { totalSize: 1, done: true, records: [{ attributes: { type: 'Contact' }, Id: '003000000000009AAA', Customer_Id__c: "O'Brien-1" }] }),
      json(200, [
        { id: '003000000000005AAA', success: true, errors: [] },
        { id: '003000000000009AAA', success: true, errors: [] },
      ]),
    );
    const results = await action.performBatch(
      [row('update', 'p1', { Id: '003000000000005AAA', Title: 'CTO' }), row('update', 'p2', { Customer_Id__c: "O'Brien-1", Title: 'CEO' }), row('update', 'p3', { Customer_Id__c: 'nobody', Title: 'x' }), row('update', 'p4', { Title: 'x' })],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'no Contact has Customer_Id__c nobody (update mode does not create records)' },
      { ok: false, error: 'the row has no Id, nor Customer_Id__c to find the record by' },
    ]);
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', `${V}/query`, { q: "SELECT Id, Customer_Id__c FROM Contact WHERE Customer_Id__c IN ('O\\'Brien-1', 'nobody')" }],
      ['PATCH', `${V}/composite/sobjects`, {}],
    ]);
    expect(server.last.json).toEqual({
      allOrNone: false,
      records: [
        { attributes: { type: 'Contact' }, Id: '003000000000005AAA', Title: 'CTO' },
        { attributes: { type: 'Contact' }, Id: '003000000000009AAA', Customer_Id__c: "O'Brien-1", Title: 'CEO' },
      ],
    });
  });

  it('batches: 10,000 rows by default, 50,000 at most; collections split them 200 a request (200/200/50)', async () => {
    expect([action.batchSize, action.maxBatchSize]).toEqual([10_000, 50_000]);
    const ctx = await ready();
    server.handle(org.handler);
    const rows = Array.from({ length: 450 }, (_, i) => row('upsert', `p${i}`, { Customer_Id__c: `C${i}`, LastName: `Name ${i}` }));
    const results = await action.performBatch(rows, ctx);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.requests.map((r) => (r.json as { records: unknown[] }).records.length)).toEqual([200, 200, 50]);
    expect(org.all('Contact')).toHaveLength(450);
  });

  it('per-record errors from the org (invalid email, duplicate external id in one request) map to their rows', async () => {
    const ctx = await ready();
    server.handle(org.handler);
    const results = await action.performBatch(
      [
        row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'Ok' }),
        row('upsert', 'p2', { Customer_Id__c: 'C2', LastName: 'Bad', Email: 'not-an-email' }),
        row('upsert', 'p3', { Customer_Id__c: 'C3', LastName: 'Twin' }),
        row('upsert', 'p4', { Customer_Id__c: 'c3', LastName: 'Twin' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Salesforce rejected this record: INVALID_EMAIL_ADDRESS: Email: invalid email address: not-an-email (Email)' },
      { ok: false, error: 'Salesforce rejected this record: DUPLICATE_EXTERNAL_ID: Duplicate external id specified: c3 (Customer_Id__c)' },
      { ok: false, error: 'Salesforce rejected this record: DUPLICATE_EXTERNAL_ID: Duplicate external id specified: c3 (Customer_Id__c)' },
    ]);
    expect(org.all('Contact').map((r) => r.Customer_Id__c)).toEqual(['C1']);
  });
});

describe('salesforce: answers', () => {
  const rows = [row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'A' }), row('upsert', 'p2', { Customer_Id__c: 'C2', LastName: 'B' })];

  it.each([
    ['the daily allocation: an hour (the engine stops the run)', 'TotalRequests Limit exceeded.', {}, 3_600_000],
    ['concurrent long-running requests: the engine’s backoff', 'ConcurrentPerOrgLongTxn Limit exceeded', {}, undefined],
    ['with Retry-After', 'TotalRequests Limit exceeded.', { 'retry-after': '30' }, 30_000],
  ])('403 REQUEST_LIMIT_EXCEEDED (%s) → RetryableError, not a configuration error', async (_, message, headers, wait) => {
    const ctx = await ready();
    server.reply(json(403, [{ message, errorCode: 'REQUEST_LIMIT_EXCEEDED' }], headers));
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(wait);
    expect((e as Error).message).toBe(`Salesforce API limit: REQUEST_LIMIT_EXCEEDED: ${message}`);
  });

  it('429 and 503 (with and without Retry-After) → RetryableError', async () => {
    const ctx = await ready();
    server.reply(json(429, 'Too Many Requests', { 'retry-after': '4' }), json(503, [{ message: 'Server unavailable', errorCode: 'SERVER_UNAVAILABLE' }]));
    const throttled = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect([throttled instanceof RetryableError, (throttled as RetryableError).retryAfterMs]).toEqual([true, 4_000]);
    const down = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect([down instanceof RetryableError, (down as RetryableError).retryAfterMs]).toEqual([true, undefined]);
  });

  it('a whole-request 400 → BatchRejectedError; one about the setup (INVALID_FIELD) or another 403 → ConfigurationError', async () => {
    const ctx = await ready();
    server.reply(
      json(400, [{ message: 'Unexpected character at [line:1, column:2]', errorCode: 'JSON_PARSER_ERROR' }]),
      json(400, [{ message: "No such column 'Foo__c' on sobject of type Contact", errorCode: 'INVALID_FIELD' }]),
      json(403, [{ message: 'insufficient access rights on object', errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY' }]),
    );
    await expect(action.performBatch(rows, ctx)).rejects.toThrow(new BatchRejectedError('Salesforce answered 400 for upserting 2 Contact records: JSON_PARSER_ERROR: Unexpected character at [line:1, column:2]'));
    await expect(action.performBatch(rows, ctx)).rejects.toThrow(new ConfigurationError("Salesforce answered 400 for upserting 2 Contact records: INVALID_FIELD: No such column 'Foo__c' on sobject of type Contact"));
    await expect(action.performBatch(rows, ctx)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('fewer results than records: the batch is rejected (rows cannot be matched)', async () => {
    const ctx = await ready();
    server.reply(json(200, [{ id: '003000000000001AAA', success: true, errors: [] }]));
    await expect(action.performBatch(rows, ctx)).rejects.toThrow(new BatchRejectedError('Salesforce answered 1 results for 2 records when upserting 2 Contact records'));
  });

  it('warns once when Sforce-Limit-Info shows 90% of the daily allocation used', async () => {
    const ctx = await ready();
    const ok = json(200, [{ success: true, errors: [] }, { success: true, errors: [] }], { 'sforce-limit-info': 'api-usage=91000/100000' });
    server.reply(ok, ok);
    await action.performBatch(rows, ctx);
    await action.performBatch(rows, ctx);
    expect(ctx.logger.lines.filter((l) => l.level === 'warn').map((l) => l.obj)).toEqual([{ destination: 'salesforce', apiUsage: 91000, apiAllocation: 100000 }]);
  });
});

describe('salesforce: Bulk API 2.0 (runs over bulk_threshold rows)', () => {
  const csv = 'text/csv';
  it('upsert: create job, PUT the CSV (quoting, #N/A for null, empty for absent), close, poll, read results; rows matched by the external id', async () => {
    const ctx = await ready(undefined, { planned: 5_000 });
    const job = { id: '750000000000001AAA', operation: 'upsert', object: 'Contact', state: 'Open' };
    server.reply(
      json(200, job),
      json(201),
      json(200, { ...job, state: 'UploadComplete' }),
      json(200, { ...job, state: 'InProgress' }),
      json(200, { ...job, state: 'JobComplete', numberRecordsProcessed: 3, numberRecordsFailed: 1 }),
      { status: 200, headers: { 'content-type': csv }, body: '"sf__Id","sf__Created","Customer_Id__c","LastName","Title","Email","Lifetime_Value__c","HasOptedOutOfEmail"\n"003A","false","C2","Plain","","","12.5","true"\n"003B","true","C1","O""Brien, Jr.","line1\nline2","#N/A","",""\n' },
      { status: 200, headers: { 'content-type': csv }, body: '"sf__Id","sf__Error","Customer_Id__c","LastName","Title","Email","Lifetime_Value__c","HasOptedOutOfEmail"\n"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","C3","","","","",""\n' },
      { status: 200, headers: { 'content-type': csv }, body: '"Customer_Id__c","LastName","Title","Email","Lifetime_Value__c","HasOptedOutOfEmail"\n"C4","Late","","","",""\n' },
    );
    const results = await action.performBatch(
      [
        row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'O"Brien, Jr.', Title: 'line1\nline2', Email: null }),
        row('upsert', 'p2', { Customer_Id__c: 'C2', LastName: 'Plain', Lifetime_Value__c: 12.5, HasOptedOutOfEmail: true }),
        row('upsert', 'p3', { Customer_Id__c: 'C3' }),
        row('upsert', 'p4', { Customer_Id__c: 'C4', LastName: 'Late' }),
        row('upsert', 'p5', { Customer_Id__c: 'C5', LastName: 'Lost' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'Salesforce rejected this record: REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --' },
      { ok: false, error: 'Salesforce did not process this record (bulk job 750000000000001AAA JobComplete)' },
      { ok: false, error: 'Salesforce returned no result for this record (bulk job 750000000000001AAA)' },
    ]);
    const job1 = `${V}/jobs/ingest/750000000000001AAA`;
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', `${V}/jobs/ingest`],
      ['PUT', `${job1}/batches`],
      ['PATCH', job1],
      ['GET', job1],
      ['GET', job1],
      ['GET', `${job1}/successfulResults`],
      ['GET', `${job1}/failedResults`],
      ['GET', `${job1}/unprocessedrecords`],
    ]);
    expect(server.requests[0].json).toEqual({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'Customer_Id__c', contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' });
    expect(server.requests[1].headers['content-type']).toBe('text/csv');
    expect(server.requests[1].rawBody).toBe(
      'Customer_Id__c,LastName,Title,Email,Lifetime_Value__c,HasOptedOutOfEmail\n' +
        '"C1","O""Brien, Jr.","line1\nline2",#N/A,,\n' +
        '"C2","Plain",,,"12.5","true"\n' +
        '"C3",,,,,\n' +
        '"C4","Late",,,,\n' +
        '"C5","Lost",,,,\n',
    );
    expect(server.requests[2].json).toEqual({ state: 'UploadComplete' });
    expect(server.requests[5].headers.accept).toBe('text/csv');
    expectNoSecrets(ctx.logger.text());
  });

  it('against the org: results come back in another order and still reach the right rows; nulls clear, empty cells keep', async () => {
    const ctx = await ready(undefined, { planned: 2_001 });
    server.handle(org.handler);
    org.seed('Contact', { Customer_Id__c: 'C1', LastName: 'Old', Title: 'Keep me', Email: 'old@example.com' });
    const results = await action.performBatch(
      [
        row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'New', Email: null }),
        row('upsert', 'p2', { Customer_Id__c: 'C2', FirstName: 'No last name' }),
        row('upsert', 'p3', { Customer_Id__c: 'C3', LastName: 'Comma, "quoted"', Email: 'bad email' }),
        row('upsert', 'p4', { Customer_Id__c: 'C4', LastName: 'Fine', Birthdate: '1990-05-01' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Salesforce rejected this record: REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --' },
      { ok: false, error: 'Salesforce rejected this record: INVALID_EMAIL_ADDRESS:Email: invalid email address: bad email:Email --' },
      { ok: true },
    ]);
    expect(org.recordBy('Contact', 'Customer_Id__c', 'C1')).toMatchObject({ LastName: 'New', Title: 'Keep me', Email: null });
    expect(org.recordBy('Contact', 'Customer_Id__c', 'C4')).toMatchObject({ LastName: 'Fine', Birthdate: '1990-05-01' });
    expect([...org.jobs.values()].map((j) => [j.operation, j.state])).toEqual([['upsert', 'JobComplete']]);
  });

  it('insert without an external id: result lines are matched to rows by their whole content', async () => {
    const ctx = await ready({ object: 'Lead', bulk_threshold: 0 }, { mode: 'insert', planned: 3 });
    server.handle(org.handler);
    const results = await action.performBatch(
      [row('insert', 'p1', { LastName: 'A', Company: 'X' }), row('insert', 'p2', { LastName: 'B' }), row('insert', 'p3', { LastName: 'C', Company: 'Z', Email: 'c@example.com' })],
      ctx,
    );
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'Salesforce rejected this record: REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --' }, { ok: true }]);
    expect(org.all('Lead').map((l) => l.LastName)).toEqual(['A', 'C']);
    expect(server.requests.find((r) => r.path.endsWith('/jobs/ingest'))?.json).toEqual({ object: 'Lead', operation: 'insert', contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' });
  });

  it('update by Id through a bulk update job, matched by Id', async () => {
    const ctx = await ready(undefined, { mode: 'update', planned: 10_000 });
    server.handle(org.handler);
    const a = org.seed('Contact', { LastName: 'A', Customer_Id__c: 'C1' });
    const b = org.seed('Contact', { LastName: 'B', Customer_Id__c: 'C2' });
    const results = await action.performBatch([row('update', 'p1', { Id: a, Title: 'CEO' }), row('update', 'p2', { Customer_Id__c: 'C2', Title: 'CTO' }), row('update', 'p3', { Id: '003000000000999AAA', Title: 'x' })], ctx);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: false, error: 'Salesforce rejected this record: ENTITY_IS_DELETED:entity is deleted: --' }]);
    expect([org.all('Contact').find((r) => r.Id === a)?.Title, org.all('Contact').find((r) => r.Id === b)?.Title]).toEqual(['CEO', 'CTO']);
    expect(server.requests.find((r) => r.path.endsWith('/batches'))?.rawBody.split('\n')[0]).toBe('Id,Title,Customer_Id__c');
  });

  it('a job that fails without processing a record (a field Salesforce rejects) stops the run', async () => {
    const ctx = await ready(undefined, { planned: 9_999 });
    const job = { id: '750000000000002AAA', operation: 'upsert', object: 'Contact', state: 'Open' };
    server.reply(json(200, job), json(201), json(200, job), json(200, { ...job, state: 'Failed', numberRecordsProcessed: 0, errorMessage: 'InvalidBatch : Field name not found : Title' }));
    await expect(action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1', Title: 'x' })], ctx)).rejects.toThrow(
      new ConfigurationError('Salesforce bulk job 750000000000002AAA failed without processing a record: InvalidBatch : Field name not found : Title'),
    );
  });

  it('an upload Salesforce refuses aborts the job and rejects the batch', async () => {
    const ctx = await ready(undefined, { planned: 9_999 });
    const job = { id: '750000000000003AAA', operation: 'upsert', object: 'Contact', state: 'Open' };
    server.reply(json(200, job), json(400, [{ errorCode: 'INVALIDJOBSTATE', message: 'Job is not in the Open state' }]), json(200, { ...job, state: 'Aborted' }));
    await expect(action.performBatch([row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'x' })], ctx)).rejects.toBeInstanceOf(BatchRejectedError);
    expect([server.last.method, server.last.json]).toEqual(['PATCH', { state: 'Aborted' }]);
  });

  it('a job still running at the poll timeout → RetryableError; the batch sent again resumes that job (no second load)', async () => {
    const ctx = await ready(undefined, { planned: 9_999 });
    server.handle(org.handler);
    org.pollsBeforeDone = 1_000;
    ctx.polling = { firstDelayMs: 5, maxDelayMs: 10, timeoutMs: 60 };
    const rows = [row('upsert', 'p1', { Customer_Id__c: 'C1', LastName: 'Once' })];
    await expect(action.performBatch(rows, ctx)).rejects.toBeInstanceOf(RetryableError);
    org.pollsBeforeDone = 0;
    expect(await action.performBatch(rows, ctx)).toEqual([{ ok: true }]);
    expect(org.jobs.size).toBe(1);
    expect(server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/jobs/ingest'))).toHaveLength(1);
    expect(org.all('Contact')).toHaveLength(1);
  });
});

describe('salesforce: runs against the stateful org (what Salesforce holds after adds and changes)', () => {
  const send = async (mode: SyncMode, changes: [Change, string, Record<string, unknown>][], opts: { planned?: number; settings?: Record<string, unknown> } = {}) => {
    server.handle(org.handler);
    const ctx = context({ external_id_field: 'Customer_Id__c' }, { mode, planned: opts.planned ?? changes.length }, opts.settings ?? oauthSettings());
    ctx.state = await action.ensure!(ctx);
    const rows = changes.filter(([change]) => MODE_OPERATIONS[mode][change] !== null).map(([change, key, fields]) => row(MODE_OPERATIONS[mode][change]!, key, fields));
    const results = await action.performBatch(rows, ctx);
    expectNoSecrets(ctx.logger.text());
    return results;
  };

  it('upsert (collections, then a large run through Bulk API 2.0), update and insert', async () => {
    await send('upsert', [
      ['add', 'p1', { Customer_Id__c: 'C1', FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' }],
      ['add', 'p2', { Customer_Id__c: 'C2', FirstName: 'Charles', LastName: 'Babbage' }],
    ]);
    expect(org.all('Contact').map((c) => [c.Customer_Id__c, c.LastName])).toEqual([
      ['C1', 'Lovelace'],
      ['C2', 'Babbage'],
    ]);

    // a large run: the same operations through one bulk ingest job
    await send(
      'upsert',
      [
        ['change', 'p1', { Customer_Id__c: 'C1', FirstName: 'Augusta', LastName: 'King', Email: null }],
        ['add', 'p3', { Customer_Id__c: 'C3', LastName: 'Somerville', Loyalty_Tier__c: 'gold' }],
        ['remove', 'p2', { Customer_Id__c: 'C2' }],
      ],
      { planned: 50_000 },
    );
    expect(org.jobs.size).toBe(1);
    expect(org.recordBy('Contact', 'Customer_Id__c', 'C1')).toMatchObject({ FirstName: 'Augusta', LastName: 'King', Email: null });
    expect(org.recordBy('Contact', 'Customer_Id__c', 'C3')).toMatchObject({ LastName: 'Somerville', Loyalty_Tier__c: 'gold' });
    // upsert mode sends nothing for removals: C2 stays
    expect(org.all('Contact').map((c) => c.Customer_Id__c)).toEqual(['C1', 'C2', 'C3']);

    expect(await send('update', [['change', 'p3', { Customer_Id__c: 'C3', Title: 'Astronomer' }], ['add', 'p9', { Customer_Id__c: 'C9', Title: 'Nobody' }]], { settings: staticSettings() })).toEqual([
      { ok: true },
      { ok: false, error: 'no Contact has Customer_Id__c C9 (update mode does not create records)' },
    ]);
    expect(org.recordBy('Contact', 'Customer_Id__c', 'C3')?.Title).toBe('Astronomer');

    await send('insert', [['add', 'p4', { Customer_Id__c: 'C4', LastName: 'Hopper' }], ['change', 'p1', { Customer_Id__c: 'C1', LastName: 'ignored' }]]);
    expect(org.all('Contact').map((c) => c.Customer_Id__c)).toEqual(['C1', 'C2', 'C3', 'C4']);
    expect(org.recordBy('Contact', 'Customer_Id__c', 'C1')?.LastName).toBe('King');
    expect(org.issued.length).toBeGreaterThan(0);
  });
});
