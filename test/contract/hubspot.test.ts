import type { OutgoingRow, SyncMode } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { hubspot } from '../../src/destinations/hubspot';
import { MODE_OPERATIONS, type Change } from '../../src/syncs/sync-modes';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { HubSpotFake } from '../support/fakes/hubspot';
import { actionContext, testContext } from './harness';

// HubSpot's OpenAPI spec is proprietary ("not licensed for external use", reference §2), so no
// Prism: requests are pinned exactly here, and HubSpotFake checks every body against the documented
// contract (a malformed one is a recorded violation, asserted empty after each test).

const TOKEN = 'pat-na1-hubspot-secret-token-0001';
let server: FakeServer;
let fake: HubSpotFake;

beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(async () => server?.close());
beforeEach(() => {
  server.reset();
  fake = new HubSpotFake(TOKEN, { properties: [HubSpotFake.property('customer_id', { hasUniqueValue: true }), HubSpotFake.property('loyalty_tier')] });
});
afterEach(() => expect(fake.violations).toEqual([]));

const settings = () => ({ access_token: TOKEN, base_url: server.url });
const context = (action: 'contacts' | 'list_membership', options: Record<string, unknown> = {}, mode: SyncMode = 'upsert') =>
  actionContext(hubspot, action, { settings: settings(), options, sync: { name: 'vip', mode } });

const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const json = (status: number, body?: unknown, headers: Record<string, string> = {}): ScriptedResponse => ({ status, body, headers });
const record = (id: string, props: Record<string, string>, trace?: string) => ({ id, properties: { hs_object_id: id, ...props }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', archived: false, ...(trace ? { objectWriteTraceId: trace } : {}) });
const batch = (results: unknown[], errors: unknown[] = []) => json(errors.length ? 207 : 200, { status: 'COMPLETE', results, ...(errors.length ? { errors, numErrors: errors.length } : {}) });
const err = (category: string, message: string, context: Record<string, string[]>) => ({ status: 'error', category, message, context });

/** A context whose properties are already read (as ensure leaves it): the standard ones, loyalty_tier, customer_id (unique). */
const ready = (action: 'contacts' | 'list_membership', options: Record<string, unknown> = {}, mode: SyncMode = 'upsert', state: Record<string, unknown> = {}) => {
  const ctx = context(action, options, mode);
  const names = ['email', 'firstname', 'lastname', 'address', 'loyalty_tier', 'customer_id'];
  ctx.state = { properties: new Map(names.map((name) => [name, { name, hasUniqueValue: name === 'customer_id' }])), ...state };
  return ctx;
};

describe('hubspot contacts: requests', () => {
  it('upsert: one batch/upsert by email with a trace id per input; Bearer auth; values as text; bad rows fail alone', async () => {
    const ctx = ready('contacts');
    server.reply(batch([record('11', { email: 'ada@example.com' }, '0'), record('12', { email: 'bob@example.com' }, '1')]));
    const results = await hubspot.actions.contacts.performBatch(
      [
        row('upsert', 'p1', { email: ' Ada@Example.com ', firstname: 'Ada', loyalty_tier: 3, lastname: null }),
        row('upsert', 'p2', { email: 'bob@example.com', properties: { loyalty_tier: true, firstname: ['x', 'y'] } }),
        row('upsert', 'p3', { email: 'not-an-email' }),
        row('upsert', 'p4', { firstname: 'Nobody' }),
        row('upsert', 'p5', { email: 'c@example.com', address: { street: '1 Main St' } }),
        row('add', 'p6', { email: 'd@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no email (the id property)' },
      { ok: false, error: 'field address is an object: HubSpot properties take text, numbers, booleans, dates or lists' },
      { ok: false, error: 'HubSpot contacts take upsert, update and delete (got add)' },
    ]);
    expect(server.requests).toHaveLength(1);
    const req = server.last;
    expect([req.method, req.path, req.headers.authorization, req.headers['content-type']]).toEqual(['POST', '/crm/v3/objects/contacts/batch/upsert', `Bearer ${TOKEN}`, 'application/json']);
    expect(req.json).toEqual({
      inputs: [
        { idProperty: 'email', id: 'ada@example.com', properties: { firstname: 'Ada', loyalty_tier: '3', lastname: '' }, objectWriteTraceId: '0' },
        { idProperty: 'email', id: 'bob@example.com', properties: { loyalty_tier: 'true', firstname: 'x;y' }, objectWriteTraceId: '1' },
      ],
    });
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('upsert by a custom unique id property: idProperty and id from that field; email goes as a property', async () => {
    const ctx = ready('contacts', { id_property: 'customer_id' });
    server.reply(batch([record('11', { customer_id: 'C-1' }, '0')]));
    expect(await hubspot.actions.contacts.performBatch([row('upsert', 'p1', { customer_id: 'C-1', email: 'A@example.com' }), row('upsert', 'p2', { email: 'b@example.com' })], ctx)).toEqual([
      { ok: true },
      { ok: false, error: 'the row has no customer_id (the id property)' },
    ]);
    expect(server.last.json).toEqual({ inputs: [{ idProperty: 'customer_id', id: 'C-1', properties: { email: 'A@example.com' }, objectWriteTraceId: '0' }] });
  });

  it('upsert: the same email twice in a batch goes in a second call (HubSpot rejects duplicate ids), in row order', async () => {
    server.handle(fake.handler);
    const ctx = context('contacts');
    expect(await hubspot.actions.contacts.performBatch([row('upsert', 'p1', { email: 'a@example.com', firstname: 'First' }), row('upsert', 'p2', { email: 'A@example.com', firstname: 'Second' })], ctx)).toEqual([
      { ok: true },
      { ok: true },
    ]);
    const upserts = server.requests.filter((r) => r.path.endsWith('/batch/upsert'));
    expect(upserts.map((r) => (r.json as { inputs: { properties: unknown }[] }).inputs.map((i) => i.properties))).toEqual([[{ firstname: 'First' }], [{ firstname: 'Second' }]]);
    expect(fake.contactBy('email', 'a@example.com')?.properties.firstname).toBe('Second');
  });

  it('update: looks contacts up by email (batch/read), then updates by record id; a contact HubSpot lacks fails (update never creates)', async () => {
    const ctx = ready('contacts', {}, 'update');
    server.reply(
      batch([record('21', { email: 'a@example.com' })], [err('OBJECT_NOT_FOUND', 'Could not get some CONTACT objects, they may be deleted or not exist.', { ids: ['new@example.com'] })]),
      batch([record('21', { firstname: 'Ada' }, '0')]),
    );
    const results = await hubspot.actions.contacts.performBatch([row('update', 'p1', { email: 'A@example.com', firstname: 'Ada' }), row('update', 'p2', { email: 'new@example.com', firstname: 'New' })], ctx);
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'HubSpot has no contact with email new@example.com (update mode does not create contacts)' }]);
    expect(server.requests.map((r) => [r.method, r.path, r.json])).toEqual([
      ['POST', '/crm/v3/objects/contacts/batch/read', { idProperty: 'email', inputs: [{ id: 'a@example.com' }, { id: 'new@example.com' }], properties: ['email'], propertiesWithHistory: [] }],
      ['POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: '21', properties: { firstname: 'Ada' }, objectWriteTraceId: '0' }] }],
    ]);
  });

  it('mirror: deletes look the contacts up and archive them by record id (batch/archive, 204); an unknown contact is already gone', async () => {
    const ctx = ready('contacts', {}, 'mirror');
    server.reply(batch([record('31', { email: 'gone@example.com' })], [err('OBJECT_NOT_FOUND', 'Could not get some CONTACT objects', { ids: ['never@example.com'] })]), json(204));
    expect(await hubspot.actions.contacts.performBatch([row('delete', 'p1', { email: 'gone@example.com' }), row('delete', 'p2', { email: 'never@example.com' }), row('delete', 'p3', {})], ctx)).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'the row has no email (the id property)' },
    ]);
    expect(server.requests.map((r) => r.path)).toEqual(['/crm/v3/objects/contacts/batch/read', '/crm/v3/objects/contacts/batch/archive']);
    expect(server.last.json).toEqual({ inputs: [{ id: '31' }] });
  });

  it('batches: 100 rows by default and at most (the batch endpoints’ limit); a larger batch is split 100/100/50', async () => {
    expect([hubspot.actions.contacts.batchSize, hubspot.actions.contacts.maxBatchSize, hubspot.actions.list_membership.maxBatchSize]).toEqual([100, 100, 100]);
    server.handle(fake.handler);
    const ctx = context('contacts');
    const rows = Array.from({ length: 250 }, (_, i) => row('upsert', `p${i}`, { email: `e${i}@example.com` }));
    const results = await hubspot.actions.contacts.performBatch(rows, ctx);
    expect(results.every((r) => r.ok)).toBe(true);
    const upserts = server.requests.filter((r) => r.path.endsWith('/batch/upsert'));
    expect(upserts.map((r) => (r.json as { inputs: unknown[] }).inputs.length)).toEqual([100, 100, 50]);
    expect(fake.emails()).toHaveLength(250);
  });

  it('options: {} means id_property email, create_properties false; a bad id_property is a clear error', () => {
    expect(hubspot.actions.contacts.options.parse({})).toEqual({ id_property: 'email', create_properties: false });
    expect(() => hubspot.actions.contacts.options.parse({ id_property: 'Customer ID' })).toThrow(/id_property is a contact property internal name/);
    expect(() => hubspot.actions.list_membership.options.parse({ list_id: '1', list_name: 'x' })).toThrow(/set list_id or list_name, not both/);
  });
});

describe('hubspot contacts: custom properties', () => {
  it('ensure reads the properties and checks the id property (exists, unique values)', async () => {
    server.handle(fake.handler);
    const state = await hubspot.actions.contacts.ensure!(context('contacts', { id_property: 'customer_id' }));
    expect(state.properties).toBeInstanceOf(Map);
    expect([server.last.method, server.last.path, server.last.query]).toEqual(['GET', '/crm/v3/properties/contacts', { archived: 'false' }]);
    await expect(hubspot.actions.contacts.ensure!(context('contacts', { id_property: 'loyalty_tier' }))).rejects.toThrow(
      new ConfigurationError('the HubSpot contact property "loyalty_tier" does not require unique values: id_property must be email or a property with "Require unique values" set'),
    );
    await expect(hubspot.actions.contacts.ensure!(context('contacts', { id_property: 'nope' }))).rejects.toThrow(new ConfigurationError('HubSpot has no contact property "nope" (the id_property option)'));
  });

  it('mapped properties HubSpot lacks stop the run, named, before anything is written', async () => {
    server.handle(fake.handler);
    const ctx = context('contacts');
    const e = await hubspot.actions.contacts.performBatch([row('upsert', 'p1', { email: 'a@example.com', favourite_color: 'red', shoe_size: 42 })], ctx).catch((x: unknown) => x);
    expect(e).toEqual(new ConfigurationError('HubSpot has no contact properties favourite_color, shoe_size: create them in HubSpot (Settings → Properties), or set the option create_properties: true'));
    expect(server.requests.map((r) => r.path)).toEqual(['/crm/v3/properties/contacts']);
  });

  it('create_properties: creates the missing ones typed from the values (text, number, bool, date, datetime), once per run', async () => {
    server.handle(fake.handler);
    const ctx = context('contacts', { create_properties: true });
    const rows = [row('upsert', 'p1', { email: 'a@example.com', favourite_color: 'red', shoe_size: 42, vip: true, born_on: '1990-05-01', last_order_at: '2026-01-02T03:04:05.000Z' })];
    expect(await hubspot.actions.contacts.performBatch(rows, ctx)).toEqual([{ ok: true }]);
    expect(await hubspot.actions.contacts.performBatch(rows, ctx)).toEqual([{ ok: true }]);
    const created = server.requests.filter((r) => r.method === 'POST' && r.path === '/crm/v3/properties/contacts').map((r) => r.json);
    expect(created).toEqual([
      { name: 'favourite_color', label: 'Favourite color', groupName: 'contactinformation', type: 'string', fieldType: 'text' },
      { name: 'shoe_size', label: 'Shoe size', groupName: 'contactinformation', type: 'number', fieldType: 'number' },
      {
        name: 'vip',
        label: 'Vip',
        groupName: 'contactinformation',
        type: 'bool',
        fieldType: 'booleancheckbox',
        options: [
          { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
          { label: 'No', value: 'false', displayOrder: 1, hidden: false },
        ],
      },
      { name: 'born_on', label: 'Born on', groupName: 'contactinformation', type: 'date', fieldType: 'date' },
      { name: 'last_order_at', label: 'Last order at', groupName: 'contactinformation', type: 'datetime', fieldType: 'date' },
    ]);
    expect(fake.contactBy('email', 'a@example.com')?.properties).toMatchObject({ favourite_color: 'red', shoe_size: '42', vip: 'true', born_on: '1990-05-01' });
    expect(ctx.logger.lines.filter((l) => l.msg === 'created HubSpot contact properties')).toHaveLength(1);
  });

  it('a mapped name that is not an internal name, or a read-only property, is a configuration error', async () => {
    server.handle(fake.handler);
    await expect(hubspot.actions.contacts.performBatch([row('upsert', 'p1', { email: 'a@example.com', FirstName: 'Ada' })], context('contacts', { create_properties: true }))).rejects.toThrow(
      new ConfigurationError('HubSpot property names are lowercase letters, digits and underscores: "FirstName" (map to internal names, e.g. firstname)'),
    );
    await expect(hubspot.actions.contacts.performBatch([row('upsert', 'p1', { email: 'a@example.com', createdate: '2020-01-01' })], context('contacts'))).rejects.toThrow(
      new ConfigurationError('these HubSpot contact properties are read-only: createdate'),
    );
  });
});

describe('hubspot contacts: answers', () => {
  const rows = [row('upsert', 'p1', { email: 'a@example.com' }), row('upsert', 'p2', { email: 'b@example.com' }), row('upsert', 'p3', { email: 'c@example.com' })];

  it('207: errors naming an input (objectWriteTraceId or ids) fail that row with HubSpot’s reason; the others are ok', async () => {
    const ctx = ready('contacts');
    server.reply(
      batch(
        [record('1', { email: 'a@example.com' }, '0')],
        [
          { ...err('VALIDATION_ERROR', 'Property values were not valid', { objectWriteTraceId: ['1'] }), errors: [{ message: 'Email address b@example.com is invalid', code: 'INVALID_EMAIL' }] },
          err('CONFLICT', 'Contact already exists', { ids: ['C@example.com'] }),
        ],
      ),
    );
    expect(await hubspot.actions.contacts.performBatch(rows, ctx)).toEqual([
      { ok: true },
      { ok: false, error: 'HubSpot rejected this contact: VALIDATION_ERROR: Property values were not valid; Email address b@example.com is invalid' },
      { ok: false, error: 'HubSpot rejected this contact: CONFLICT: Contact already exists' },
    ]);
  });

  it('207 with an error that names no input → the batch is rejected (the engine bisects it)', async () => {
    const ctx = ready('contacts');
    server.reply(batch([], [err('VALIDATION_ERROR', 'Something failed', {})]));
    const e = await hubspot.actions.contacts.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BatchRejectedError);
    expect((e as Error).message).toBe('HubSpot rejected part of an upsert without naming the contacts: VALIDATION_ERROR: Something failed');
  });

  it('the fake’s per-contact validation comes back as row errors through the real 207 path', async () => {
    server.handle(fake.handler);
    fake.rejectedEmails.add('b@example.com');
    expect(await hubspot.actions.contacts.performBatch(rows, context('contacts'))).toEqual([
      { ok: true },
      { ok: false, error: expect.stringContaining('HubSpot rejected this contact: VALIDATION_ERROR: Property values were not valid') as string },
      { ok: true },
    ]);
    expect(fake.emails()).toEqual(['a@example.com', 'c@example.com']);
  });

  it('400 for the whole batch → BatchRejectedError with HubSpot’s message', async () => {
    const ctx = ready('contacts');
    server.reply(json(400, { status: 'error', message: 'Invalid input JSON on line 1', category: 'VALIDATION_ERROR', correlationId: 'x' }));
    await expect(hubspot.actions.contacts.performBatch(rows, ctx)).rejects.toThrow(new BatchRejectedError('HubSpot answered 400 for upserting 3 contacts: Invalid input JSON on line 1'));
  });

  it.each([
    ['Retry-After honoured', { 'retry-after': '7' }, 'TEN_SECONDLY_ROLLING', 7_000],
    ['no Retry-After: the rolling window header', { 'x-hubspot-ratelimit-interval-milliseconds': '10000', 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-remaining': '0' }, 'TEN_SECONDLY_ROLLING', 10_000],
    ['no header at all: the rolling window, 10 s', {}, 'TEN_SECONDLY_ROLLING', 10_000],
    ['the secondly limit: 1 s', {}, 'SECONDLY', 1_000],
    ['the daily limit: an hour (the engine stops the run)', {}, 'DAILY', 3_600_000],
  ])('429 (%s) → RetryableError', async (_, headers, policyName, wait) => {
    const ctx = ready('contacts');
    server.reply(json(429, { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', policyName, correlationId: 'x' }, headers));
    const e = await hubspot.actions.contacts.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(wait);
    expect((e as Error).message).toContain(`HubSpot rate limit (${policyName})`);
  });

  it('423 Locked → RetryableError after 2 s; 502 → RetryableError', async () => {
    const ctx = ready('contacts');
    server.reply(json(423, { status: 'error', message: 'Record is locked', category: 'LOCKED' }), json(502, 'Bad Gateway'));
    const locked = await hubspot.actions.contacts.performBatch(rows, ctx).catch((x: unknown) => x);
    expect([locked instanceof RetryableError, (locked as RetryableError).retryAfterMs]).toEqual([true, 2_000]);
    await expect(hubspot.actions.contacts.performBatch(rows, ctx)).rejects.toBeInstanceOf(RetryableError);
  });

  it.each([401, 403])('%s → ConfigurationError; the token is in no message or log', async (status) => {
    const ctx = ready('contacts');
    server.reply(json(status, { status: 'error', message: `Authentication failed for ${TOKEN}`, category: 'INVALID_AUTHENTICATION' }));
    const e = await hubspot.actions.contacts.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).not.toContain(TOKEN);
    expect(ctx.logger.text()).not.toContain(TOKEN);
  });

  it('testConnection reads the contact properties; a bad token fails it', async () => {
    server.handle(fake.handler);
    const ok = testContext(hubspot, settings());
    await hubspot.testConnection!(ok);
    expect([server.last.method, server.last.path, server.last.headers.authorization]).toEqual(['GET', '/crm/v3/properties/contacts', `Bearer ${TOKEN}`]);
    const bad = testContext(hubspot, { access_token: 'pat-wrong-token', base_url: server.url });
    await expect(hubspot.testConnection!(bad)).rejects.toBeInstanceOf(ConfigurationError);
    expect(ok.logger.text() + bad.logger.text()).not.toContain(TOKEN);
  });
});

describe('hubspot list_membership', () => {
  it('ensure: finds the list by name (default the sync name), creates a MANUAL one when there is none, refuses a DYNAMIC one', async () => {
    server.handle(fake.handler);
    const existing = fake.seedList('VIP customers');
    expect(await hubspot.actions.list_membership.ensure!(context('list_membership', { list_name: 'vip customers' }, 'audience'))).toMatchObject({ list_id: existing });
    expect([server.last.method, server.last.path]).toEqual(['GET', '/crm/v3/lists/object-type-id/0-1/name/vip%20customers']);

    server.requests.length = 0;
    const state = await hubspot.actions.list_membership.ensure!(context('list_membership', {}, 'audience'));
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/crm/v3/properties/contacts'],
      ['GET', '/crm/v3/lists/object-type-id/0-1/name/vip'],
      ['POST', '/crm/v3/lists'],
    ]);
    expect(server.last.json).toEqual({ name: 'vip', objectTypeId: '0-1', processingType: 'MANUAL' });
    expect(state.list_id).toBe(fake.list('vip')?.listId);

    fake.seedList('active', 'DYNAMIC');
    await expect(hubspot.actions.list_membership.ensure!(context('list_membership', { list_name: 'active' }, 'audience'))).rejects.toThrow(
      new ConfigurationError('HubSpot list "active" is a DYNAMIC list: its members come from its filters; use a MANUAL list (a new list_name is created as one)'),
    );
    await expect(hubspot.actions.list_membership.ensure!(context('list_membership', { list_id: '999' }, 'audience'))).rejects.toThrow(/HubSpot answered 404 for reading the list 999/);
  });

  it('remove: batch/read, then PUT memberships/remove; add: upserts the contacts for their record ids, then PUT memberships/add', async () => {
    const ctx = ready('list_membership', { list_id: '55' }, 'audience', { list_id: '55' });
    server.reply(
      batch([record('43', { email: 'c@example.com' })], [err('OBJECT_NOT_FOUND', 'Could not get some CONTACT objects', { ids: ['d@example.com'] })]),
      json(200, { recordIdsRemoved: ['43'], recordIdsMissing: [] }),
      batch([record('41', { email: 'a@example.com' }, '0'), record('42', { email: 'b@example.com' }, '1')]),
      json(200, { recordIdsAdded: ['41'], recordIdsMissing: ['42'] }),
    );
    const results = await hubspot.actions.list_membership.performBatch(
      [
        row('add', 'p1', { email: 'a@example.com', firstname: 'Ada' }),
        row('add', 'p2', { email: 'b@example.com' }),
        row('remove', 'p3', { email: 'c@example.com' }),
        row('remove', 'p4', { email: 'd@example.com' }),
        row('upsert', 'p5', { email: 'e@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'HubSpot did not find contact 42 when adding it to list 55' },
      { ok: true },
      { ok: true },
      { ok: false, error: 'HubSpot lists only add and remove contacts (got upsert)' },
    ]);
    expect(server.requests.map((r) => [r.method, r.path, r.json])).toEqual([
      ['POST', '/crm/v3/objects/contacts/batch/read', { idProperty: 'email', inputs: [{ id: 'c@example.com' }, { id: 'd@example.com' }], properties: ['email'], propertiesWithHistory: [] }],
      ['PUT', '/crm/v3/lists/55/memberships/remove', ['43']],
      [
        'POST',
        '/crm/v3/objects/contacts/batch/upsert',
        {
          inputs: [
            { idProperty: 'email', id: 'a@example.com', properties: { firstname: 'Ada' }, objectWriteTraceId: '0' },
            { idProperty: 'email', id: 'b@example.com', properties: {}, objectWriteTraceId: '1' },
          ],
        },
      ],
      ['PUT', '/crm/v3/lists/55/memberships/add', ['41', '42']],
    ]);
  });

  it('a membership change HubSpot refuses (list deleted or no longer MANUAL) stops the run', async () => {
    const ctx = ready('list_membership', { list_id: '55' }, 'audience', { list_id: '55' });
    server.reply(batch([record('41', { email: 'a@example.com' }, '0')]), json(404, { status: 'error', message: 'List 55 does not exist', category: 'OBJECT_NOT_FOUND' }));
    await expect(hubspot.actions.list_membership.performBatch([row('add', 'p1', { email: 'a@example.com' })], ctx)).rejects.toThrow(
      new ConfigurationError('HubSpot answered 404 for adding contacts to list 55: List 55 does not exist'),
    );
  });
});

describe('hubspot: runs against the stateful fake (what HubSpot holds after adds, changes and removals)', () => {
  /** The engine's operations for a mode's changes (syncs/sync-modes.ts). */
  const send = async (action: 'contacts' | 'list_membership', mode: SyncMode, changes: [Change, string, Record<string, unknown>][], options: Record<string, unknown> = {}) => {
    const ctx = context(action, options, mode);
    ctx.state = await hubspot.actions[action].ensure!(ctx);
    const rows = changes.map(([change, key, fields]) => row(MODE_OPERATIONS[mode][change]!, key, fields));
    const results = await hubspot.actions[action].performBatch(rows, ctx);
    expect(ctx.logger.text()).not.toContain(TOKEN);
    return results;
  };

  it('mirror: adds create contacts, changes update them, removals archive them', async () => {
    server.handle(fake.handler);
    const opts = { create_properties: true };
    await send('contacts', 'mirror', [
      ['add', 'p1', { email: 'ada@example.com', firstname: 'Ada', loyalty_tier: 'gold' }],
      ['add', 'p2', { email: 'bob@example.com', firstname: 'Bob', orders: 3 }],
    ], opts);
    expect(fake.emails()).toEqual(['ada@example.com', 'bob@example.com']);
    expect(fake.properties.get('orders')?.type).toBe('number');

    await send('contacts', 'mirror', [
      ['change', 'p1', { email: 'ada@example.com', firstname: 'Augusta', loyalty_tier: 'platinum' }],
      ['remove', 'p2', { email: 'bob@example.com' }],
      ['add', 'p3', { email: 'cy@example.com', firstname: 'Cy' }],
    ], opts);
    expect(fake.emails()).toEqual(['ada@example.com', 'cy@example.com']);
    expect(fake.contactBy('email', 'ada@example.com')?.properties).toMatchObject({ firstname: 'Augusta', loyalty_tier: 'platinum' });
    expect([...fake.contacts.values()].find((c) => c.properties.email === 'bob@example.com')?.archived).toBe(true);

    // the same email leaves under one key and comes back under another in one batch: kept, not archived
    const cy = fake.contactBy('email', 'cy@example.com')?.id;
    await send('contacts', 'mirror', [
      ['remove', 'p3', { email: 'cy@example.com' }],
      ['add', 'p4', { email: 'CY@example.com', firstname: 'Cyrus' }],
    ], opts);
    expect(fake.contactBy('email', 'cy@example.com')).toMatchObject({ id: cy, properties: { firstname: 'Cyrus' } });
    expect(server.requests.filter((r) => r.path.endsWith('/batch/archive'))).toHaveLength(1);
  });

  it('update mode changes only existing contacts', async () => {
    server.handle(fake.handler);
    fake.seedContact({ email: 'ada@example.com', firstname: 'Ada' });
    const results = await send('contacts', 'update', [
      ['change', 'p1', { email: 'ada@example.com', firstname: 'Augusta' }],
      ['add', 'p2', { email: 'new@example.com', firstname: 'New' }],
    ]);
    expect(results).toEqual([{ ok: true }, { ok: false, error: 'HubSpot has no contact with email new@example.com (update mode does not create contacts)' }]);
    expect(fake.emails()).toEqual(['ada@example.com']);
    expect(fake.contactBy('email', 'ada@example.com')?.properties.firstname).toBe('Augusta');
  });

  it('audience: entering contacts are created and listed, changed ones updated, exits leave the list (the contact stays)', async () => {
    server.handle(fake.handler);
    await send('list_membership', 'audience', [
      ['add', 'p1', { email: 'ada@example.com', firstname: 'Ada' }],
      ['add', 'p2', { email: 'bob@example.com' }],
    ]);
    expect(fake.list('vip')?.processingType).toBe('MANUAL');
    expect(fake.memberEmails('vip')).toEqual(['ada@example.com', 'bob@example.com']);

    await send('list_membership', 'audience', [
      ['remove', 'p2', { email: 'bob@example.com' }],
      ['change', 'p1', { email: 'ada@example.com', firstname: 'Augusta' }],
      ['remove', 'p9', { email: 'stranger@example.com' }],
    ]);
    expect(fake.memberEmails('vip')).toEqual(['ada@example.com']);
    expect(fake.emails()).toEqual(['ada@example.com', 'bob@example.com']);
    expect(fake.contactBy('email', 'ada@example.com')?.properties.firstname).toBe('Augusta');
    expect(fake.lists.size).toBe(1);

    // removed under one key and added under another in the same batch: still a member
    await send('list_membership', 'audience', [
      ['remove', 'p1', { email: 'ada@example.com' }],
      ['add', 'p7', { email: 'ada@example.com' }],
    ]);
    expect(fake.memberEmails('vip')).toEqual(['ada@example.com']);
    expect(server.requests.filter((r) => r.path.endsWith('/memberships/remove'))).toHaveLength(1);
  });
});
