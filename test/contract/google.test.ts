import { createHash } from 'node:crypto';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { google } from '../../src/destinations/google';
import { normalizeGoogleEmail, prepareMember } from '../../src/destinations/google/identifiers';
import { FakeServer } from '../support/fake-server';
import { actionContext, testContext } from './harness';

const TOKEN = 'ya29.secret-access-token-0001';
const DEV_TOKEN = 'dev-token-secret-0002';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const action = google.actions.customer_match;

let server: FakeServer;
beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

type Over = { api?: 'data_manager' | 'google_ads'; options?: Record<string, unknown>; login?: string; state?: Record<string, unknown> };
const context = (over: Over = {}) => {
  const ctx = actionContext(google, 'customer_match', {
    settings: {
      api: over.api,
      access_token: TOKEN,
      customer_id: '123-456-7890',
      login_customer_id: over.login,
      developer_token: over.api === 'google_ads' ? DEV_TOKEN : undefined,
      data_manager_url: server.url,
      google_ads_url: server.url,
    },
    options: over.options ?? { user_list_id: '555' },
    sync: { mode: 'audience' },
  });
  ctx.state = over.state ?? { user_list_id: '555' };
  return ctx;
};
const add = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'add', key, fields });
const remove = (key: string, fields: Record<string, unknown>): OutgoingRow => ({ op: 'remove', key, fields });
const destination = { operatingAccount: { accountType: 'GOOGLE_ADS', accountId: '1234567890' }, productDestinationId: '555' };

describe('google (Data Manager API): requests', () => {
  it('adds with audienceMembers:ingest: bearer token, hashed identifiers, HEX encoding, consent and terms when set', async () => {
    server.reply({ status: 200, body: { requestId: 'req-1' } });
    const ctx = context({ options: { user_list_id: '555', ad_user_data_consent: 'granted', ad_personalization_consent: 'denied', accept_terms_of_service: true } });
    const results = await action.performBatch(
      [add('p1', { email: ' Ada@Example.com', phone: '+1 650-253-1234', first_name: 'Ada', last_name: "O'Neil", country_code: 'us', postal_code: '94043' })],
      ctx,
    );
    expect(results).toEqual([{ ok: true }]);
    const req = server.last;
    expect([req.method, req.path, req.query]).toEqual(['POST', '/v1/audienceMembers:ingest', {}]);
    expect(req.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' });
    expect(req.headers['developer-token']).toBeUndefined();
    expect(req.json).toEqual({
      destinations: [destination],
      audienceMembers: [
        {
          userData: {
            userIdentifiers: [
              { emailAddress: sha('ada@example.com') },
              { phoneNumber: sha('+16502531234') },
              { address: { givenName: sha('ada'), familyName: sha('oneil'), regionCode: 'US', postalCode: '94043' } },
            ],
          },
        },
      ],
      consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_DENIED' },
      encoding: 'HEX',
      termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' },
    });
  });

  it('removes with audienceMembers:remove (no consent or terms there); a manager account goes in loginAccount', async () => {
    server.reply({ status: 200, body: { requestId: 'req-2' } });
    const results = await action.performBatch([remove('p1', { email: 'bob@example.com' })], context({ login: '9998887777' }));
    expect(results).toEqual([{ ok: true }]);
    expect([server.last.method, server.last.path]).toEqual(['POST', '/v1/audienceMembers:remove']);
    expect(server.last.json).toEqual({
      destinations: [{ loginAccount: { accountType: 'GOOGLE_ADS', accountId: '9998887777' }, ...destination }],
      audienceMembers: [{ userData: { userIdentifiers: [{ emailAddress: sha('bob@example.com') }] } }],
      encoding: 'HEX',
    });
  });

  it('a batch with adds and removes sends one ingest and one remove; rows without an identifier fail alone', async () => {
    const results = await action.performBatch(
      [add('p1', { email: 'a@example.com' }), remove('p2', { email: 'b@example.com' }), add('p3', { email: 'not-an-email' }), add('p4', {}), { op: 'upsert', key: 'p5', fields: { email: 'c@example.com' } }],
      context(),
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'no identifier: map email, phone or a full address' },
      { ok: false, error: 'Customer Match only adds and removes members (got upsert)' },
    ]);
    expect(server.requests.map((r) => [r.path, (r.json as { audienceMembers: unknown[] }).audienceMembers.length])).toEqual([
      ['/v1/audienceMembers:ingest', 1],
      ['/v1/audienceMembers:remove', 1],
    ]);
  });

  it('splits at 10,000 members per request (Data Manager limit); batch sizes 5,000 by default, 10,000 at most', async () => {
    const rows = Array.from({ length: 10_001 }, (_, i) => add(`p${i}`, { email: sha(`user${i}@example.com`) }));
    const results = await action.performBatch(rows, context());
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.requests.map((r) => (r.json as { audienceMembers: unknown[] }).audienceMembers.length)).toEqual([10_000, 1]);
    expect([action.batchSize, action.maxBatchSize]).toEqual([5_000, 10_000]);
  });

  it('fails a member with more than 10 identifiers (Data Manager limit) without sending it', async () => {
    const emails = Array.from({ length: 11 }, (_, i) => `u${i}@example.com`);
    expect(await action.performBatch([add('p1', { email: emails })], context())).toEqual([{ ok: false, error: '11 identifiers; Google takes at most 10 per member' }]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('google: normalization and hashing', () => {
  // Data Manager API, "Send audience members" quickstart and formatting guide
  // (https://developers.google.com/data-manager/api/get-started/quickstart/send-audience-members):
  // remove leading, trailing and intermediate whitespace, lowercase; gmail.com/googlemail.com drop dots and +suffix.
  it.each([
    { id: 'quickstart row 1', input: 'DanaM@example.com', expected: 'danam@example.com' },
    { id: 'quickstart row 2 (leading space)', input: ' AlexJ@cymbalgroup.com', expected: 'alexj@cymbalgroup.com' },
    { id: 'quickstart row 3 (trailing spaces)', input: 'baklavainthebalkans@gmail.com  ', expected: 'baklavainthebalkans@gmail.com' },
    { id: 'quickstart row 4 (upper-case gmail domain)', input: 'cloudySanFrancisco@GMAIL.com', expected: 'cloudysanfrancisco@gmail.com' },
    { id: 'formatting guide: gmail dots and +suffix', input: 'cloudy.sanfrancisco+shopping@gmail.com', expected: 'cloudysanfrancisco@gmail.com' },
    { id: 'googlemail.com too', input: 'J.Doe+x@googlemail.com', expected: 'jdoe@googlemail.com' },
    { id: 'other domains keep dots and +', input: 'dana.m+news@example.com', expected: 'dana.m+news@example.com' },
    { id: 'intermediate whitespace removed', input: 'dana m@example.com', expected: 'danam@example.com' },
  ])('email: $id', ({ input, expected }) => {
    expect(normalizeGoogleEmail(input)).toBe(expected);
    expect(prepareMember({ email: input }, 10)).toEqual({ ok: true, identifiers: [{ kind: 'email', hash: sha(expected) }] });
  });

  // Google Ads API UserIdentifier / Data Manager formatting guide: phone in E.164; names lowercase, no punctuation;
  // region and postal codes not hashed. sha256("test@example.com") is the reference's known vector.
  it.each([
    { id: 'known vector', fields: { email: 'test@example.com' }, expected: [{ kind: 'email', hash: '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b' }] },
    { id: 'phone already E.164', fields: { phone: '+16502531234' }, expected: [{ kind: 'phone', hash: sha('+16502531234') }] },
    { id: 'national phone with country_code', fields: { phone: '(650) 253-1234', country_code: 'US' }, expected: [{ kind: 'phone', hash: sha('+16502531234') }] },
    { id: 'already-hashed email passes through lowercased', fields: { email: sha('x@example.com').toUpperCase() }, expected: [{ kind: 'email', hash: sha('x@example.com') }] },
    {
      id: 'address: names normalized and hashed, country upper-case, postal code plain',
      fields: { first_name: ' José ', last_name: 'Smith-Jones', country_code: 'gb', postal_code: 'SW1A 1AA' },
      expected: [{ kind: 'address', firstName: sha('josé'), lastName: sha('smithjones'), countryCode: 'GB', postalCode: 'SW1A 1AA' }],
    },
  ])('$id', ({ fields, expected }) => {
    expect(prepareMember(fields, 10)).toEqual({ ok: true, identifiers: expected });
  });

  it('an incomplete address alone is rejected with what is missing', () => {
    expect(prepareMember({ first_name: 'Ada', country_code: 'US' }, 10)).toEqual({ ok: false, error: 'an address needs first_name, last_name, country_code (2 letters) and postal_code' });
  });
});

describe('google (Data Manager API): ensure', () => {
  const ensure = (options: Record<string, unknown>, login?: string) => action.ensure!(context({ options, login }));

  it('uses user_list_id as given, without a request', async () => {
    expect(await ensure({ user_list_id: '777', audience_name: 'ignored' })).toEqual({ user_list_id: '777' });
    expect(server.requests).toHaveLength(0);
  });

  it('finds the list by display name (UserListService list with a filter)', async () => {
    server.reply({ status: 200, body: { userLists: [{ name: 'accountTypes/GOOGLE_ADS/accounts/1234567890/userLists/42', id: '42', displayName: 'VIP "gold"' }] } });
    expect(await ensure({ audience_name: 'VIP "gold"' }, '9998887777')).toEqual({ user_list_id: '42' });
    const req = server.last;
    expect([req.method, req.path]).toEqual(['GET', '/v1/accountTypes/GOOGLE_ADS/accounts/1234567890/userLists']);
    expect(req.query).toEqual({ filter: 'display_name = "VIP \\"gold\\""', pageSize: '50' });
    expect(req.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'login-account': 'accountTypes/GOOGLE_ADS/accounts/9998887777' });
  });

  it('creates a CONTACT_ID (CRM-based) first-party list when none has the name', async () => {
    server.reply({ status: 200, body: {} }, { status: 200, body: { name: 'accountTypes/GOOGLE_ADS/accounts/1234567890/userLists/99', id: '99', displayName: 'VIP' } });
    expect(await ensure({ audience_name: 'VIP', audience_description: 'from the CDP' })).toEqual({ user_list_id: '99' });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/accountTypes/GOOGLE_ADS/accounts/1234567890/userLists', 'POST /v1/accountTypes/GOOGLE_ADS/accounts/1234567890/userLists']);
    expect(server.last.json).toEqual({
      displayName: 'VIP',
      description: 'from the CDP',
      membershipStatus: 'OPEN',
      ingestedUserListInfo: { uploadKeyTypes: ['CONTACT_ID'], contactIdInfo: { dataSourceType: 'DATA_SOURCE_TYPE_FIRST_PARTY' } },
    });
  });

  it('the list name defaults to the sync name; google_ads needs a developer_token', async () => {
    server.reply({ status: 200, body: { userLists: [{ id: '7', displayName: 'vip_customers' }] } });
    expect(await action.ensure!(context({ options: {} }))).toEqual({ user_list_id: '7' });
    expect(server.last.query.filter).toBe('display_name = "vip_customers"');
    expect(google.settings.safeParse({ api: 'google_ads', access_token: 't', customer_id: '1234567890' }).success).toBe(false);
    expect(google.settings.safeParse({ access_token: 't', customer_id: '12345' }).success).toBe(false);
  });
});

describe('google (Data Manager API): failures', () => {
  const rows = [add('p1', { email: 'a@example.com' }), add('p2', { email: 'b@example.com' }), add('p3', { email: 'c@example.com' })];
  const status = (code: number, name: string, details: unknown[] = [], message = 'There was a problem with the request.') => ({ error: { code, message, status: name, details } });

  it('429 RESOURCE_EXHAUSTED with RetryInfo.retryDelay → RetryableError with that delay', async () => {
    server.reply({
      status: 429,
      body: status(429, 'RESOURCE_EXHAUSTED', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'RATE_LIMIT_EXCEEDED', domain: 'datamanager.googleapis.com', metadata: { quota_limit: 'IngestRequestsPerMinutePerProject' } },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' },
      ]),
    });
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(30_000);
  });

  it('429 without details → RetryableError with Retry-After', async () => {
    server.reply({ status: 429, headers: { 'retry-after': '7' }, body: status(429, 'RESOURCE_EXHAUSTED', [], 'Quota exceeded') });
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(7_000);
  });

  it('400 INVALID_ARGUMENT naming members: those rows fail with the reason, the others are sent again', async () => {
    server.reply({
      status: 400,
      body: status(400, 'INVALID_ARGUMENT', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'INVALID_ARGUMENT', domain: 'datamanager.googleapis.com' },
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'audience_members.audience_members[1]', reason: 'INVALID_SHA256_FORMAT' }] },
      ]),
    });
    const results = await action.performBatch(rows, context());
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'Google rejected the member: INVALID_SHA256_FORMAT' }, { ok: true }]);
    expect(server.requests.map((r) => (r.json as { audienceMembers: { userData: { userIdentifiers: { emailAddress: string }[] } }[] }).audienceMembers.map((m) => m.userData.userIdentifiers[0].emailAddress))).toEqual([
      [sha('a@example.com'), sha('b@example.com'), sha('c@example.com')],
      [sha('a@example.com'), sha('c@example.com')],
    ]);
  });

  it('400 INVALID_ARGUMENT for the whole request → BatchRejectedError with the message', async () => {
    server.reply({ status: 400, body: status(400, 'INVALID_ARGUMENT', [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'destinations[0].product_destination_id', description: 'Invalid destination' }] }], 'Invalid destination.') });
    const e = await action.performBatch(rows, context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BatchRejectedError);
    expect((e as Error).message).toContain('INVALID_ARGUMENT Invalid destination.');
  });

  it.each([
    { id: '401 UNAUTHENTICATED', code: 401, name: 'UNAUTHENTICATED' },
    { id: '403 PERMISSION_DENIED', code: 403, name: 'PERMISSION_DENIED' },
    { id: '404 NOT_FOUND (the list)', code: 404, name: 'NOT_FOUND' },
  ])('$id → ConfigurationError; the token never appears in errors or logs', async ({ code, name }) => {
    server.reply({ status: code, body: status(code, name, [], `Request had invalid credentials ${TOKEN}`) });
    const ctx = context();
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).toContain(name);
    expect((e as Error).message).not.toContain(TOKEN);
    expect(ctx.logger.lines.length).toBeGreaterThan(0);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('testConnection lists one user list; a 403 is a configuration error', async () => {
    server.reply({ status: 200, body: { userLists: [] } }, { status: 403, body: status(403, 'PERMISSION_DENIED') });
    const settings = { access_token: TOKEN, customer_id: '1234567890', data_manager_url: server.url };
    await google.testConnection!(testContext(google, settings));
    expect([server.last.path, server.last.query]).toEqual(['/v1/accountTypes/GOOGLE_ADS/accounts/1234567890/userLists', { pageSize: '1' }]);
    await expect(google.testConnection!(testContext(google, settings))).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('google (legacy Google Ads API, OfflineUserDataJob)', () => {
  const JOB = 'customers/1234567890/offlineUserDataJobs/314';
  const flow = () =>
    server.handle((req) => {
      if (req.path.endsWith('offlineUserDataJobs:create')) return { status: 200, body: { resourceName: JOB } };
      if (req.path.endsWith(':addOperations')) return { status: 200, body: {} };
      if (req.path.endsWith(':run')) return { status: 200, body: { name: `${JOB}/operations/1` } };
      return { status: 404 };
    });

  it('create job → addOperations (partial failure on) → run, with developer-token and login-customer-id', async () => {
    flow();
    const ctx = context({ api: 'google_ads', login: '999-888-7777', options: { user_list_id: '555', ad_user_data_consent: 'granted' } });
    const results = await action.performBatch([add('p1', { email: 'Cloudy.SF+x@gmail.com', phone: '+16502531234' }), add('p2', { first_name: 'Ada', last_name: 'Lovelace', country_code: 'GB', postal_code: 'N1' })], ctx);
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v26/customers/1234567890/offlineUserDataJobs:create',
      `POST /v26/${JOB}:addOperations`,
      `POST /v26/${JOB}:run`,
    ]);
    for (const r of server.requests) expect(r.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'developer-token': DEV_TOKEN, 'login-customer-id': '9998887777' });
    expect(server.requests[0].json).toEqual({
      job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: { userList: 'customers/1234567890/userLists/555', consent: { adUserData: 'GRANTED' } } },
    });
    expect(server.requests[1].json).toEqual({
      enablePartialFailure: true,
      operations: [
        { create: { userIdentifiers: [{ hashedEmail: sha('cloudysf@gmail.com') }, { hashedPhoneNumber: sha('+16502531234') }] } },
        { create: { userIdentifiers: [{ addressInfo: { hashedFirstName: sha('ada'), hashedLastName: sha('lovelace'), countryCode: 'GB', postalCode: 'N1' } }] } },
      ],
    });
    expect(server.requests[2].json).toEqual({});
    expect(ctx.logger.text()).not.toContain(DEV_TOKEN);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('removes with remove operations in their own job', async () => {
    flow();
    await action.performBatch([remove('p1', { email: 'a@example.com' })], context({ api: 'google_ads' }));
    expect(server.requests[1].json).toEqual({ enablePartialFailure: true, operations: [{ remove: { userIdentifiers: [{ hashedEmail: sha('a@example.com') }] } }] });
  });

  it('splits addOperations at 10,000 identifiers (Google recommends 10,000; the hard limit is 100,000), one job', async () => {
    flow();
    const rows = Array.from({ length: 5_001 }, (_, i) => add(`p${i}`, { email: sha(`u${i}@example.com`), phone: sha(`+1650000${i}`) }));
    await action.performBatch(rows, context({ api: 'google_ads' }));
    expect(server.requests.map((r) => r.path.split(':')[1])).toEqual(['create', 'addOperations', 'addOperations', 'run']);
    expect(server.requests.slice(1, 3).map((r) => (r.json as { operations: unknown[] }).operations.length)).toEqual([5_000, 1]);
  });

  it('partialFailureError: the operation at fieldPathElements operations[N] fails its row only', async () => {
    flow();
    server.reply(
      { status: 200, body: { resourceName: JOB } },
      {
        status: 200,
        body: {
          partialFailureError: {
            code: 3,
            message: 'Multiple errors in ‘details’.',
            details: [
              {
                '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure',
                errors: [
                  {
                    errorCode: { offlineUserDataJobError: 'INVALID_SHA256_FORMAT' },
                    message: 'The SHA256 encoded value is malformed.',
                    location: { fieldPathElements: [{ fieldName: 'operations', index: 1 }, { fieldName: 'create' }] },
                  },
                ],
              },
            ],
          },
        },
      },
    );
    const results = await action.performBatch([add('p1', { email: 'a@example.com' }), add('p2', { email: 'b@example.com' })], context({ api: 'google_ads' }));
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'Google rejected the member: offlineUserDataJobError.INVALID_SHA256_FORMAT: The SHA256 encoded value is malformed.' }]);
    expect(server.last.path).toBe(`/v26/${JOB}:run`);
  });

  it('QuotaError RESOURCE_EXHAUSTED with quotaErrorDetails.retryDelay → RetryableError with that delay', async () => {
    server.reply({
      status: 429,
      body: {
        error: {
          code: 429,
          message: 'Resource has been exhausted (e.g. check quota).',
          status: 'RESOURCE_EXHAUSTED',
          details: [
            {
              '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure',
              errors: [{ errorCode: { quotaError: 'RESOURCE_TEMPORARILY_EXHAUSTED' }, message: 'Too many requests.', details: { quotaErrorDetails: { rateScope: 'CUSTOMER', rateName: 'Requests per customer', retryDelay: '12s' } } }],
            },
          ],
        },
      },
    });
    const e = await action.performBatch([add('p1', { email: 'a@example.com' })], context({ api: 'google_ads' })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(12_000);
  });

  it('an authorization error in a 400 is a configuration error', async () => {
    server.reply({ status: 400, body: { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.', details: [{ errors: [{ errorCode: { authorizationError: 'DEVELOPER_TOKEN_NOT_APPROVED' }, message: 'The developer token is only approved for use with test accounts.' }] }] } } });
    await expect(action.performBatch([add('p1', { email: 'a@example.com' })], context({ api: 'google_ads' }))).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('ensure finds a CRM_BASED list by name with GAQL, else creates it with userLists:mutate', async () => {
    server.reply({ status: 200, body: { results: [{ userList: { resourceName: 'customers/1234567890/userLists/42', id: '42', name: "Bob's list" } }] } });
    expect(await action.ensure!(context({ api: 'google_ads', options: { audience_name: "Bob's list" } }))).toEqual({ user_list_id: '42' });
    expect([server.last.path, server.last.json]).toEqual([
      '/v26/customers/1234567890/googleAds:search',
      { query: "SELECT user_list.resource_name, user_list.id, user_list.name FROM user_list WHERE user_list.name = 'Bob\\'s list' AND user_list.type = 'CRM_BASED'" },
    ]);
    server.reset().reply({ status: 200, body: {} }, { status: 200, body: { results: [{ resourceName: 'customers/1234567890/userLists/43' }] } });
    expect(await action.ensure!(context({ api: 'google_ads', options: { audience_name: 'New' } }))).toEqual({ user_list_id: '43' });
    expect([server.last.path, server.last.json]).toEqual([
      '/v26/customers/1234567890/userLists:mutate',
      { operations: [{ create: { name: 'New', membershipStatus: 'OPEN', membershipLifeSpan: 10000, crmBasedUserList: { uploadKeyType: 'CONTACT_INFO', dataSourceType: 'FIRST_PARTY' } } }] },
    ]);
  });
});
