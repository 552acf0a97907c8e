import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { slack } from '../../src/destinations/slack';
import { FakeServer } from '../support/fake-server';
import { actionContext, testContext } from './harness';

let server: FakeServer;
let hooks = 0;
beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const notify = slack.actions.notify;
/** Each test its own webhook path, so the per-webhook rate limit (5 then 1/s) never slows the suite. */
const hookUrl = () => `${server.url}/services/T000/B000/secret${++hooks}xyz`;
const context = (options: unknown = {}, url = hookUrl()) =>
  actionContext(slack, 'notify', { settings: { webhook_url: url }, options, sync: { name: 'vip_customers', runId: 'run_0001', mode: 'audience' } });

const rows: OutgoingRow[] = [
  { op: 'add', key: 'p_1', fields: { email: 'ada@example.com', name: 'Ada <admin> & co' } },
  { op: 'add', key: 'p_2', fields: { email: 'bob@example.com', name: 'Bob' } },
  { op: 'remove', key: 'p_3', fields: { email: 'cy@example.com', name: 'Cy' } },
];
const sentText = (i = -1) => (server.requests.at(i)!.json as { text: string }).text;

describe('slack: the message', () => {
  it('posts {"text"} to the webhook URL, by default the counts and the first rows', async () => {
    server.reply({ status: 200, body: 'ok' });
    const url = hookUrl();
    expect(await notify.performBatch(rows, context({ max_rows_listed: 2 }, url))).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(server.last).toMatchObject({ method: 'POST', path: new URL(url).pathname, headers: { 'content-type': 'application/json' } });
    expect(server.last.json).toEqual({ text: 'vip_customers: 2 entered, 1 left\n• add p_1\n• add p_2\n…and 1 more' });
  });

  it.each([
    { id: 'counts', options: { template: '{{added}} entered {{sync}}, {{removed}} left' }, expected: ['2 entered vip_customers, 1 left'] },
    {
      id: 'rows with fields, escaped for Slack',
      options: { template: '{{#each rows}}{{fields.name}}{{#unless @last}}; {{/unless}}{{/each}}' },
      expected: ['Ada &lt;admin&gt; &amp; co; Bob; Cy'],
    },
    { id: 'per row', options: { per: 'row', template: '{{op}} {{fields.email}}' }, expected: ['add ada@example.com', 'add bob@example.com', 'remove cy@example.com'] },
    { id: 'per row, default template', options: { per: 'row' }, expected: ['vip_customers: add p_1', 'vip_customers: add p_2', 'vip_customers: remove p_3'] },
    { id: 'an empty text is not sent (a row filter)', options: { per: 'row', template: '{{#if fields.vip}}VIP {{key}}{{/if}}' }, expected: [] },
  ])('template: $id', async ({ options, expected }) => {
    server.handle(() => ({ status: 200, body: 'ok' }));
    expect(await notify.performBatch(rows, context(options))).toEqual(rows.map(() => ({ ok: true })));
    expect(server.requests.map((_, i) => sentText(i))).toEqual(expected);
  });

  it('a template that fails to render (unknown helper) is a ConfigurationError', async () => {
    await expect(notify.performBatch(rows, context({ template: '{{#if (eq op "add")}}x{{/if}}' }))).rejects.toThrow(ConfigurationError);
    expect(server.requests).toHaveLength(0);
  });

  it('checks templates and options when the sync is loaded', () => {
    expect(notify.options.safeParse({ template: '{{#each rows}}' }).success).toBe(false);
    expect(notify.options.parse({})).toEqual({ per: 'batch', max_rows_listed: 10 });
    expect(slack.settings.safeParse({ webhook_url: 'not a url' }).success).toBe(false);
  });
});

describe('slack: answers', () => {
  it.each([
    { id: '400 invalid_payload', status: 400, body: 'invalid_payload', expected: BatchRejectedError },
    { id: '403 action_prohibited', status: 403, body: 'action_prohibited', expected: ConfigurationError },
    { id: '403 invalid_token', status: 403, body: 'invalid_token', expected: ConfigurationError },
    { id: '404 channel_not_found', status: 404, body: 'channel_not_found', expected: ConfigurationError },
    { id: '404 no_service', status: 404, body: 'no_service', expected: ConfigurationError },
    { id: '410 channel_is_archived', status: 410, body: 'channel_is_archived', expected: ConfigurationError },
    { id: '500 rollup_error', status: 500, body: 'rollup_error', expected: RetryableError },
  ])('$id', async ({ status, body, expected }) => {
    server.reply({ status, body });
    const ctx = context();
    const error = await notify.performBatch(rows, ctx).catch((e: Error) => e);
    expect(error).toBeInstanceOf(expected);
    expect((error as Error).message).toContain(body);
    expect((error as Error).message + ctx.logger.text()).not.toContain('/services/T000');
  });

  it('429 → RetryableError with Retry-After', async () => {
    server.reply({ status: 429, body: 'rate_limited', headers: { 'retry-after': '12' } });
    const error = await notify.performBatch(rows, context()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBe(12_000);
  });

  it('per row: an invalid_payload fails that row only', async () => {
    server.reply({ status: 200, body: 'ok' }, { status: 400, body: 'invalid_payload' }, { status: 200, body: 'ok' });
    expect(await notify.performBatch(rows, context({ per: 'row' }))).toEqual([{ ok: true }, { ok: false, error: 'Slack rejected the message (400 invalid_payload)' }, { ok: true }]);
  });
});

describe('slack: testConnection', () => {
  it.each([
    { id: 'a live webhook (400 no_text to an empty payload)', status: 400, body: 'no_text', passes: true },
    { id: 'no_service', status: 404, body: 'no_service', passes: false },
    { id: 'invalid_token', status: 403, body: 'invalid_token', passes: false },
    { id: 'channel_is_archived', status: 410, body: 'channel_is_archived', passes: false },
  ])('$id', async ({ status, body, passes }) => {
    server.reply({ status, body });
    const check = slack.testConnection!(testContext(slack, { webhook_url: hookUrl() }));
    if (passes) await expect(check).resolves.toBeUndefined();
    else await expect(check).rejects.toThrow(ConfigurationError);
    expect(server.last.json).toEqual({});
  });
});
