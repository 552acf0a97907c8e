import { createHash } from 'node:crypto';
import type { OutgoingRow, SyncMode } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { mailchimp } from '../../src/destinations/mailchimp';
import { ConnectionSlots, MAILCHIMP_MAX_CONNECTIONS } from '../../src/destinations/mailchimp/connections';
import { subscriberHash } from '../../src/destinations/mailchimp/members';
import { FakeServer, type ScriptedResponse } from '../support/fake-server';
import { MailchimpFake, problem } from '../support/fakes/mailchimp';
import { actionContext, testContext } from './harness';

// The Mailchimp spec in ../shared/specs is a third-party slice without a licence (reference §2, §4.4):
// it is not copied here, so these tests run against a hand-written fake that follows the documented
// contract (reference §1.7), with exact request assertions instead of Prism.

const KEY = '0123456789abcdef0123456789abcdef-us21';
const LIST = 'a1b2c3d4e5';
const action = mailchimp.actions.members;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

let server: FakeServer;
beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => server.reset());

const settings = (over: Record<string, unknown> = {}) => ({ api_key: KEY, list_id: LIST, base_url: `${server.url}/3.0`, ...over });
const MERGE = { FNAME: 'text', LNAME: 'text', ADDRESS: 'address', PHONE: 'phone', BIRTHDAY: 'birthday' };
const context = (mode: SyncMode = 'upsert', options: Record<string, unknown> = {}, state: Record<string, unknown> = { merge_fields: { ...MERGE } }, over: Record<string, unknown> = {}) => {
  const ctx = actionContext(mailchimp, 'members', { settings: settings(over), options, sync: { name: 'vip', mode } });
  ctx.state = state;
  return ctx;
};
const row = (op: OutgoingRow['op'], key: string, fields: Record<string, unknown>): OutgoingRow => ({ op, key, fields });
const json = (body: unknown, status = 200): ScriptedResponse => ({ status, body, headers: { 'content-type': 'application/json; charset=utf-8' } });
const batchAnswer = (errors: Record<string, unknown>[] = [], created = 0) => json({ new_members: [], updated_members: [], errors, total_created: created, total_updated: 0, error_count: errors.length });
const exists = (email: string) => ({ email_address: email, error: `${email} is already a list member. Use PUT to insert or update list members.`, error_code: 'ERROR_CONTACT_EXISTS' });
const tagAnswer = (errors: { email_addresses: string[]; error: string }[] = []) => json({ members_added: [], members_removed: [], errors, total_added: 0, total_removed: 0, error_count: errors.length });

describe('mailchimp: settings and hashing', () => {
  it('the API host comes from the key’s data center; Basic auth with the key as password', () => {
    const s = mailchimp.settings.parse({ api_key: KEY, list_id: LIST });
    expect(mailchimp.baseUrl!(s)).toBe('https://us21.api.mailchimp.com/3.0');
    expect(mailchimp.headers!(s)).toEqual({ authorization: `Basic ${Buffer.from(`composable-cdp:${KEY}`).toString('base64')}` });
    expect(mailchimp.settings.safeParse({ api_key: '0123456789abcdef', list_id: LIST }).success).toBe(false);
    expect(mailchimp.accountKey!(s)).toMatch(/^us21:[0-9a-f]{16}$/);
    expect(mailchimp.accountKey!(s)).not.toContain('0123456789abcdef0123456789abcdef');
  });

  it.each([
    { email: 'ada@example.com', hash: md5('ada@example.com') },
    { email: 'Ada@Example.COM', hash: md5('ada@example.com') },
    { email: 'urist.mcvankab@freddiesjokes.com', hash: '62eeb292278cc15f5817cb78f7790b08' },
  ])('subscriber hash of $email is the MD5 of the lowercased email', ({ email, hash }) => {
    expect(subscriberHash(email)).toBe(hash);
  });

  it('options: {} is valid (status_if_new subscribed), unknown options are rejected', () => {
    expect(action.options.parse({})).toEqual({ status_if_new: 'subscribed', create_merge_fields: true, skip_merge_validation: false });
    expect(action.options.safeParse({ status_if_new: 'unsubscribed' }).success).toBe(false);
    expect(action.options.safeParse({ list: 'x' }).success).toBe(false);
  });
});

describe('mailchimp: upsert requests', () => {
  it('new members: one batch subscribe (update_existing false, status = status_if_new), merge fields from the mapping; bad rows fail alone', async () => {
    server.reply(batchAnswer([], 2));
    const ctx = context('upsert', { status_if_new: 'pending' });
    const results = await action.performBatch(
      [
        row('upsert', 'p1', { email: ' Ada@Example.com ', first_name: 'Ada', last_name: 'Lovelace', merge_fields: { PHONE: '+44 20 7946 0000' }, language: 'en', vip: true }),
        row('upsert', 'p2', { email: 'bob@example.com', birthday: '12/10', first_name: null }),
        row('upsert', 'p3', { email: 'nope' }),
        row('upsert', 'p4', { first_name: 'Nobody' }),
        row('update', 'p5', { email: 'c@example.com' }),
      ],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, error: 'email is not an email address' },
      { ok: false, error: 'the row has no email' },
      { ok: false, error: 'Mailchimp members take upsert, add, delete and remove (got update)' },
    ]);
    expect(server.requests).toHaveLength(1);
    const req = server.last;
    expect([req.method, req.path, req.query, req.headers.authorization, req.headers['content-type']]).toEqual([
      'POST',
      `/3.0/lists/${LIST}`,
      {},
      `Basic ${Buffer.from(`composable-cdp:${KEY}`).toString('base64')}`,
      'application/json',
    ]);
    expect(req.json).toEqual({
      members: [
        { email_address: 'ada@example.com', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace', PHONE: '+44 20 7946 0000' }, language: 'en', vip: true, status: 'pending' },
        { email_address: 'bob@example.com', merge_fields: { BIRTHDAY: '12/10' }, status: 'pending' },
      ],
      update_existing: false,
    });
    expect(ctx.logger.text()).not.toContain(KEY);
  });

  it('existing members come back as ERROR_CONTACT_EXISTS and are updated one by one with PUT (status_if_new, status untouched); other errors fail their row', async () => {
    server.reply(
      batchAnswer([exists('ada@example.com'), { email_address: 'bad@example.com', error: 'bad@example.com looks fake or invalid, please enter a real email address.', error_code: 'ERROR_GENERIC' }], 1),
      json({ id: md5('ada@example.com'), email_address: 'ada@example.com', status: 'unsubscribed' }),
    );
    const ctx = context('upsert', { skip_merge_validation: true });
    const results = await action.performBatch(
      [row('upsert', 'p1', { email: 'Ada@example.com', first_name: 'Ada' }), row('upsert', 'p2', { email: 'bad@example.com' }), row('upsert', 'p3', { email: 'new@example.com' })],
      ctx,
    );
    expect(results).toEqual([
      { ok: true },
      { ok: false, error: 'Mailchimp rejected this member: ERROR_GENERIC: bad@example.com looks fake or invalid, please enter a real email address.' },
      { ok: true },
    ]);
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['POST', `/3.0/lists/${LIST}`, { skip_merge_validation: 'true' }],
      ['PUT', `/3.0/lists/${LIST}/members/${md5('ada@example.com')}`, { skip_merge_validation: 'true' }],
    ]);
    expect(server.last.json).toEqual({ email_address: 'ada@example.com', merge_fields: { FNAME: 'Ada' }, status_if_new: 'subscribed' });
  });

  it('a PUT rejected (400 problem document) fails that row with Mailchimp’s title and detail', async () => {
    server.reply(batchAnswer([exists('ada@example.com')]), problem(400, 'Member In Compliance State', 'ada@example.com is in a compliance state due to unsubscribe, bounce, or compliance review.'));
    expect(await action.performBatch([row('upsert', 'p1', { email: 'ada@example.com' })], context())).toEqual([
      { ok: false, error: 'Mailchimp rejected this member: Member In Compliance State: ada@example.com is in a compliance state due to unsubscribe, bounce, or compliance review.' },
    ]);
  });

  it('merge fields: a mapped field the audience lacks is created (text) before the members are sent; off → the run stops; a bad name stops it too', async () => {
    server.reply(json({ merge_id: 6, tag: 'PLAN', name: 'PLAN', type: 'text' }), batchAnswer());
    const ctx = context();
    expect(await action.performBatch([row('upsert', 'p1', { email: 'a@example.com', plan: 'gold' })], ctx)).toEqual([{ ok: true }]);
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', `/3.0/lists/${LIST}/merge-fields`],
      ['POST', `/3.0/lists/${LIST}`],
    ]);
    expect(server.requests[0].json).toEqual({ tag: 'PLAN', name: 'PLAN', type: 'text' });
    expect((server.last.json as { members: unknown[] }).members).toEqual([{ email_address: 'a@example.com', merge_fields: { PLAN: 'gold' }, status: 'subscribed' }]);
    expect(ctx.state.merge_fields).toMatchObject({ PLAN: 'text' });

    server.reset();
    await expect(action.performBatch([row('upsert', 'p1', { email: 'a@example.com', plan: 'gold' })], context('upsert', { create_merge_fields: false }))).rejects.toThrow(
      new ConfigurationError(`Mailchimp audience ${LIST} has no merge field PLAN: create them (Audience > Settings > Audience fields) or set create_merge_fields`),
    );
    await expect(action.performBatch([row('upsert', 'p1', { email: 'a@example.com', favourite_colour: 'red' })], context())).rejects.toBeInstanceOf(ConfigurationError);
    expect(server.requests).toHaveLength(0);
  });

  it('merge fields not read by ensure are read once, on the first batch', async () => {
    server.reply(json({ merge_fields: [{ merge_id: 1, tag: 'FNAME', name: 'First Name', type: 'text' }], total_items: 1 }), batchAnswer());
    const ctx = context('upsert', {}, {});
    await action.performBatch([row('upsert', 'p1', { email: 'a@example.com', first_name: 'A' })], ctx);
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', `/3.0/lists/${LIST}/merge-fields`, { count: '1000', offset: '0' }],
      ['POST', `/3.0/lists/${LIST}`, {}],
    ]);
  });
});

describe('mailchimp: mirror and audience requests', () => {
  it('mirror: removed rows are archived (DELETE …/members/{hash}); 404 is already gone; 405 fails the row', async () => {
    server.handle((req) => {
      if (req.path.endsWith(md5('ada@example.com'))) return { status: 204 };
      if (req.path.endsWith(md5('gone@example.com'))) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
      return problem(405, 'Method Not Allowed', 'This list member cannot be removed.  Please contact support.');
    });
    const results = await action.performBatch(
      [row('delete', 'p1', { email: 'Ada@example.com' }), row('delete', 'p2', { email: 'gone@example.com' }), row('delete', 'p3', { email: 'owner@example.com' })],
      context('mirror'),
    );
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: false, error: 'Mailchimp could not archive this member: Method Not Allowed: This list member cannot be removed.  Please contact support.' }]);
    expect(server.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [md5('ada@example.com'), md5('gone@example.com'), md5('owner@example.com')].map((h) => `DELETE /3.0/lists/${LIST}/members/${h}`).sort(),
    );
  });

  it('audience ensure: audience checked, merge fields read, the tag (a static segment) found by name or created', async () => {
    server.reply(
      json({ id: LIST, name: 'Newsletter' }),
      json({ merge_fields: [{ merge_id: 1, tag: 'FNAME', name: 'First Name', type: 'text' }], total_items: 1 }),
      json({ segments: [{ id: 7, name: 'vipers' }], total_items: 1 }),
      json({ id: 8, name: 'vip', type: 'static', member_count: 0 }),
    );
    expect(await action.ensure!(context('audience', {}, {}))).toEqual({ merge_fields: { FNAME: 'text' }, tag_id: 8 });
    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', `/3.0/lists/${LIST}`, { fields: 'id,name' }],
      ['GET', `/3.0/lists/${LIST}/merge-fields`, { count: '1000', offset: '0' }],
      ['GET', `/3.0/lists/${LIST}/segments`, { type: 'static', count: '1000', offset: '0', fields: 'segments.id,segments.name,total_items' }],
      ['POST', `/3.0/lists/${LIST}/segments`, {}],
    ]);
    expect(server.last.json).toEqual({ name: 'vip', static_segment: [] });

    server.reset().reply(json({ id: LIST, name: 'Newsletter' }), json({ merge_fields: [], total_items: 0 }), json({ segments: [{ id: 7, name: 'VIP list' }], total_items: 1 }));
    expect(await action.ensure!(context('audience', { tag: 'VIP list' }, {}))).toEqual({ merge_fields: {}, tag_id: 7 });
    expect(server.requests).toHaveLength(3);

    server.reset().reply(json({ id: LIST, name: 'Newsletter' }), json({ merge_fields: [], total_items: 0 }));
    expect(await action.ensure!(context('upsert', {}, {}))).toEqual({ merge_fields: {} });

    server.reset().reply(problem(404, 'Resource Not Found', 'The requested resource could not be found.'));
    await expect(action.ensure!(context('audience', {}, {}))).rejects.toThrow(new ConfigurationError(`Mailchimp has no audience ${LIST}: check list_id (Audience > Settings > Audience name and defaults)`));
  });

  it('audience: add = upserted then tagged; remove = untagged (the member stays); errors map to addresses', async () => {
    server.reply(
      batchAnswer([exists('b@example.com')]),
      json({ id: md5('b@example.com') }),
      tagAnswer([
        { email_addresses: ['a@example.com'], error: 'Email addresses do not belong to the list' },
        { email_addresses: ['gone@example.com'], error: 'Email address is not a member of this segment' },
      ]),
    );
    const ctx = context('audience', {}, { merge_fields: { ...MERGE }, tag_id: 8 });
    const results = await action.performBatch(
      [row('add', 'p1', { email: 'a@example.com' }), row('add', 'p2', { email: 'B@example.com', first_name: 'B' }), row('remove', 'p3', { email: 'c@example.com' }), row('remove', 'p4', { email: 'gone@example.com' })],
      ctx,
    );
    expect(results).toEqual([{ ok: false, error: 'Mailchimp could not tag this member: Email addresses do not belong to the list' }, { ok: true }, { ok: true }, { ok: true }]);
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', `/3.0/lists/${LIST}`],
      ['PUT', `/3.0/lists/${LIST}/members/${md5('b@example.com')}`],
      ['POST', `/3.0/lists/${LIST}/segments/8`],
    ]);
    expect(server.last.json).toEqual({ members_to_add: ['a@example.com', 'b@example.com'], members_to_remove: ['c@example.com', 'gone@example.com'] });
  });

  it('audience: a member whose upsert failed is not tagged', async () => {
    server.reply(batchAnswer([{ email_address: 'a@example.com', error: 'Your merge fields were invalid.', error_code: 'ERROR_GENERIC' }]));
    const results = await action.performBatch([row('add', 'p1', { email: 'a@example.com' })], context('audience', {}, { merge_fields: {}, tag_id: 8 }));
    expect(results).toEqual([{ ok: false, error: 'Mailchimp rejected this member: ERROR_GENERIC: Your merge fields were invalid.' }]);
    expect(server.requests).toHaveLength(1);
  });
});

describe('mailchimp: batching', () => {
  it('500 rows a batch (Mailchimp’s batch subscribe and static segment limit): one batch subscribe, one tag call', async () => {
    expect([action.batchSize, action.maxBatchSize]).toEqual([500, 500]);
    server.handle((req) => (req.path.endsWith('/segments/8') ? tagAnswer() : batchAnswer()));
    const rows = Array.from({ length: 500 }, (_, i) => row('add', `p${i}`, { email: `e${i}@example.com` }));
    expect((await action.performBatch(rows, context('audience', {}, { merge_fields: {}, tag_id: 8 }))).every((r) => r.ok)).toBe(true);
    expect(server.requests.map((r) => (r.json as { members?: unknown[]; members_to_add?: unknown[] }).members?.length ?? (r.json as { members_to_add: unknown[] }).members_to_add.length)).toEqual([500, 500]);
  });

  it('more than 500 (a batch larger than the limit) is split in calls of 500', async () => {
    server.handle(() => batchAnswer());
    const rows = Array.from({ length: 1_100 }, (_, i) => row('upsert', `p${i}`, { email: `e${i}@example.com` }));
    await action.performBatch(rows, context());
    expect(server.requests.map((r) => (r.json as { members: unknown[] }).members.length)).toEqual([500, 500, 100]);
  });

  it('an error for an address not in the batch cannot be placed: the batch is rejected (the engine bisects)', async () => {
    server.reply(batchAnswer([{ email_address: 'stranger@example.com', error: 'odd', error_code: 'ERROR_GENERIC' }]));
    await expect(action.performBatch([row('upsert', 'p1', { email: 'a@example.com' }), row('upsert', 'p2', { email: 'b@example.com' })], context())).rejects.toBeInstanceOf(BatchRejectedError);
  });
});

describe('mailchimp: throttling and errors', () => {
  const rows = [row('upsert', 'p1', { email: 'a@example.com' })];
  const failure = async (answer: ScriptedResponse) => {
    server.reply(answer);
    const ctx = context();
    const e = await action.performBatch(rows, ctx).catch((x: unknown) => x);
    expect(ctx.logger.text()).not.toContain(KEY);
    expect((e as Error).message).not.toContain(KEY);
    return e as Error;
  };

  it('429 (more than 10 connections) without Retry-After → RetryableError, the engine picks the delay', async () => {
    const e = await failure(problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.'));
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBeUndefined();
    expect(e.message).toBe('Mailchimp answered 429 (at most 10 simultaneous connections per account): Too Many Requests: You have exceeded the limit of 10 simultaneous connections.');
  });

  it('429 with Retry-After → RetryableError with that delay', async () => {
    const e = await failure({ ...problem(429, 'Too Many Requests', 'slow down'), headers: { 'content-type': 'application/problem+json', 'retry-after': '4' } });
    expect(e).toBeInstanceOf(RetryableError);
    expect((e as RetryableError).retryAfterMs).toBe(4_000);
  });

  it.each([
    { what: 'empty body', answer: { status: 403 } },
    { what: 'an HTML page from the edge', answer: { status: 403, headers: { 'content-type': 'text/html' }, body: '<html><body>403 Forbidden</body></html>' } },
    { what: 'a problem document about too many requests', answer: problem(403, 'Forbidden', 'Too many requests: throttled') },
  ])('a bare 403 ($what) is Mailchimp’s throttle → RetryableError', async ({ answer }) => {
    const e = await failure(answer);
    expect(e).toBeInstanceOf(RetryableError);
    expect(e.message).toMatch(/^Mailchimp answered a bare 403, its throttling signal at high volume/);
  });

  it.each([
    { status: 403, title: 'Forbidden', detail: 'You are not permitted to access this resource.' },
    { status: 403, title: 'User Disabled', detail: 'This account has been disabled.' },
    { status: 403, title: 'Wrong Datacenter', detail: 'The API key provided is linked to a different datacenter.' },
    { status: 401, title: 'API Key Invalid', detail: `Your API key may be invalid, or you’ve attempted to access the wrong datacenter. ${KEY}` },
  ])('$status $title (a real permission problem) → ConfigurationError, the key in no message or log', async ({ status, title, detail }) => {
    const e = await failure(problem(status, title, detail));
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(e.message).toContain(title);
  });

  it('5xx → RetryableError; a whole-batch 400 → BatchRejectedError; 404 (no audience) → ConfigurationError', async () => {
    expect(await failure(problem(500, 'Internal Server Error', 'An unexpected internal error has occurred.'))).toBeInstanceOf(RetryableError);
    expect(await failure(problem(400, 'Invalid Resource', 'The resource submitted could not be validated.'))).toBeInstanceOf(BatchRejectedError);
    expect(await failure(problem(404, 'Resource Not Found', 'The requested resource could not be found.'))).toBeInstanceOf(ConfigurationError);
  });

  it('a PUT throttled among several: every request finishes, then the batch is retried whole', async () => {
    server.handle((req) => {
      if (req.method === 'POST') return batchAnswer(['a', 'b', 'c'].map((x) => exists(`${x}@example.com`)));
      if (req.path.endsWith(md5('b@example.com'))) return { status: 403 };
      return json({});
    });
    const e = await action.performBatch(['a', 'b', 'c'].map((x) => row('upsert', x, { email: `${x}@example.com` })), context()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryableError);
    expect(server.requests.filter((r) => r.method === 'PUT')).toHaveLength(3);
  });

  it('testConnection reads the audience: ok; 404 → no such audience; 401 → bad key', async () => {
    server.reply(json({ id: LIST, name: 'Newsletter' }), problem(404, 'Resource Not Found', 'The requested resource could not be found.'), problem(401, 'API Key Invalid', 'Your API key may be invalid.'));
    await mailchimp.testConnection!(testContext(mailchimp, settings()));
    expect([server.last.method, server.last.path]).toEqual(['GET', `/3.0/lists/${LIST}`]);
    await expect(mailchimp.testConnection!(testContext(mailchimp, settings()))).rejects.toThrow(/Mailchimp has no audience a1b2c3d4e5/);
    await expect(mailchimp.testConnection!(testContext(mailchimp, settings()))).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('mailchimp: at most 10 connections per account', () => {
  it('ConnectionSlots never runs more than max at once and serves waiters in order', async () => {
    const slots = new ConnectionSlots(2);
    const order: number[] = [];
    let peak = 0;
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        slots.run(async () => {
          peak = Math.max(peak, slots.inUse);
          order.push(i);
          await new Promise((r) => setTimeout(r, 5));
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(slots.inUse).toBe(0);
  });

  it('PUTs of existing members fan out, but never more than 10 in flight, even with two batches of the same account at once', async () => {
    const fake = new MailchimpFake(LIST, { latencyMs: 15 });
    for (let i = 0; i < 60; i++) fake.seed(`m${i}@example.com`);
    server.handle(fake.handler);
    const batch = (from: number) => Array.from({ length: 30 }, (_, i) => row('upsert', `p${from + i}`, { email: `m${from + i}@example.com`, first_name: `N${from + i}` }));
    const [a, b] = await Promise.all([action.performBatch(batch(0), context()), action.performBatch(batch(30), context())]);
    expect([...a, ...b].every((r) => r.ok)).toBe(true);
    expect(server.requests.filter((r) => r.method === 'PUT')).toHaveLength(60);
    expect(fake.maxInFlight).toBe(MAILCHIMP_MAX_CONNECTIONS);
    expect(fake.member('m42@example.com')?.merge_fields).toEqual({ FNAME: 'N42' });
  });
});

describe('mailchimp: a sync against the stateful fake', () => {
  it('adds, changes and removals: what Mailchimp holds after each run (audience mode, then mirror)', async () => {
    const fake = new MailchimpFake(LIST);
    fake.seed('unsub@example.com', 'unsubscribed', { FNAME: 'Old' });
    server.handle(fake.handler);

    // run 1 (audience): three people enter the segment; one of them had unsubscribed before
    let ctx = context('audience', { status_if_new: 'subscribed', tag: 'VIP' }, {});
    ctx.state = await action.ensure!(ctx);
    let results = await action.performBatch(
      [
        row('add', 'p1', { email: 'ada@example.com', first_name: 'Ada', plan: 'gold' }),
        row('add', 'p2', { email: 'bob@example.com', first_name: 'Bob' }),
        row('add', 'p3', { email: 'unsub@example.com', first_name: 'Una' }),
      ],
      ctx,
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(fake.tagged('VIP')).toEqual(['ada@example.com', 'bob@example.com', 'unsub@example.com']);
    expect(fake.member('ada@example.com')).toMatchObject({ status: 'subscribed', merge_fields: { FNAME: 'Ada', PLAN: 'gold' } });
    expect(fake.member('unsub@example.com')).toMatchObject({ status: 'unsubscribed', merge_fields: { FNAME: 'Una' } }); // consent kept
    expect(fake.mergeFields.map((f) => f.tag)).toContain('PLAN');

    // run 2: Ada changes plan, Bob leaves the segment
    ctx = context('audience', { tag: 'VIP' }, {});
    ctx.state = await action.ensure!(ctx);
    results = await action.performBatch([row('add', 'p1', { email: 'ada@example.com', first_name: 'Ada', plan: 'platinum' }), row('remove', 'p2', { email: 'bob@example.com' })], ctx);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(fake.tagged('VIP')).toEqual(['ada@example.com', 'unsub@example.com']);
    expect(fake.member('ada@example.com')?.merge_fields).toEqual({ FNAME: 'Ada', PLAN: 'platinum' });
    expect(fake.activeEmails()).toEqual(['ada@example.com', 'bob@example.com', 'unsub@example.com']); // untagged, not removed
    expect([...fake.segments.values()].filter((s) => s.name === 'VIP')).toHaveLength(1); // the tag was found, not created again

    // a mirror sync archives Bob; upserting him later restores him
    ctx = context('mirror', {}, {});
    ctx.state = await action.ensure!(ctx);
    expect(await action.performBatch([row('delete', 'p2', { email: 'bob@example.com' })], ctx)).toEqual([{ ok: true }]);
    expect(fake.member('bob@example.com')?.archived).toBe(true);
    expect(fake.activeEmails()).toEqual(['ada@example.com', 'unsub@example.com']);
    expect(await action.performBatch([row('upsert', 'p2', { email: 'bob@example.com', first_name: 'Robert' })], ctx)).toEqual([{ ok: true }]);
    expect(fake.member('bob@example.com')).toMatchObject({ archived: false, merge_fields: { FNAME: 'Robert' } });
  });
});
