import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineDestination, ROW_OK, rowFailed, type HttpClient, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';
import { batchVariables, DEFAULT_BATCH_TEMPLATE, DEFAULT_ROW_TEMPLATE, isTemplate, renderText, rowVariables } from './message';

const settings = z.object({
  webhook_url: z
    .url({ protocol: /^https?$/, error: 'webhook_url must be a Slack incoming webhook URL (https://hooks.slack.com/services/…)' })
    .meta({ writeOnly: true })
    .describe('the incoming webhook URL; it is the credential'),
});
type SlackSettings = z.infer<typeof settings>;

const options = z.object({
  template: z.string().min(1).refine(isTemplate, 'template is not a valid Handlebars template').optional().describe('Handlebars message text (see README.md for the variables)'),
  per: z.enum(['batch', 'row']).default('batch').describe('one message per batch (default) or per row'),
  max_rows_listed: z.number().int().min(0).max(100).default(10).describe('rows listed in a batch message'),
});
type SlackOptions = z.infer<typeof options>;

/** Posts a message to a Slack channel through an incoming webhook for each batch (or row) of a sync. */
export const slack = defineDestination<SlackSettings>({
  slug: 'slack',
  name: 'Slack',
  category: 'messaging',
  description: 'Posts a message to a Slack channel (incoming webhook) when rows enter, leave or change.',
  settings,
  // about one message per second per webhook, with short bursts
  rateLimit: { requests: 5, perMs: 5000 },
  accountKey: (s) => createHash('sha256').update(s.webhook_url).digest('hex').slice(0, 16),
  baseUrl: (s) => s.webhook_url,

  /** Posts an empty payload: a live webhook answers 400 `no_text`/`invalid_payload` and posts nothing; a dead one 403/404/410. */
  async testConnection({ http }) {
    const res = await http.request({ method: 'POST', url: '', body: {} });
    if ((res.status >= 200 && res.status <= 299) || res.status === 400) return;
    throw new ConfigurationError(`Slack answered ${res.status} ${vendorMessage(res.data)}`.trim());
  },

  actions: {
    notify: {
      title: 'Notify a channel',
      description: 'Posts a message per batch (counts and the first rows) or per row, from a Handlebars template.',
      modes: ['audience', 'upsert', 'insert', 'mirror'],
      options,
      fields: {},
      customFields: true,
      batchSize: 100,
      async performBatch(rows, ctx) {
        const o = ctx.options as SlackOptions;
        if (o.per === 'batch') {
          await post(ctx.http, renderText(o.template ?? DEFAULT_BATCH_TEMPLATE, batchVariables(rows, ctx.sync, o.max_rows_listed)));
          return rows.map(() => ROW_OK);
        }
        // one message per row; Slack has no idempotency, so a retried batch posts its rows again
        const results: RowResult[] = [];
        for (const row of rows) {
          try {
            await post(ctx.http, renderText(o.template ?? DEFAULT_ROW_TEMPLATE, rowVariables(row, ctx.sync)));
            results.push(ROW_OK);
          } catch (e) {
            if (!(e instanceof BatchRejectedError)) throw e;
            results.push(rowFailed(e.message));
          }
        }
        return results;
      },
    },
  },
});

/**
 * Sends `{"text": …}`; an empty text (a template that renders nothing for this batch or row) is
 * not sent. Slack answers 200 `ok`; 400 `invalid_payload`/`no_text` → BatchRejectedError; 404
 * `channel_not_found`/`no_service`, 410 `channel_is_archived` and anything else → ConfigurationError.
 * 403 (`action_prohibited`, `invalid_token`), 429 and 5xx are mapped by the HTTP client.
 */
async function post(http: HttpClient, text: string): Promise<void> {
  if (!text) return;
  const res = await http.request({ method: 'POST', url: '', body: { text } });
  if (res.status >= 200 && res.status <= 299) return;
  const reason = vendorMessage(res.data) || 'no reason given';
  if (res.status === 400) throw new BatchRejectedError(`Slack rejected the message (400 ${reason})`);
  throw new ConfigurationError(`Slack answered ${res.status} ${reason}: check the webhook URL and its channel`);
}
