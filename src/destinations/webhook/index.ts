import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineDestination, type HttpClient, type HttpResponse, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';
import { batchMessageId, buildBatchPayload } from './payload';
import { rowResults } from './results';
import { signatureHeaders, WEBHOOK_SECRET } from './signature';

const settings = z.object({
  url: z.url({ protocol: /^https?$/, error: 'url must be an http:// or https:// address' }).describe('the endpoint every batch is POSTed to'),
  secret: z
    .string()
    .regex(WEBHOOK_SECRET, 'secret must be a Standard Webhooks secret: whsec_ followed by base64')
    .meta({ writeOnly: true })
    .optional()
    .describe('signs every request (Standard Webhooks); receivers verify with it'),
  headers: z.record(z.string(), z.string()).optional().describe('extra headers on every request (their values are treated as secrets in logs)'),
});
type WebhookSettings = z.infer<typeof settings>;


/** A generic HTTPS endpoint: batches of operations as JSON, signed per Standard Webhooks (README.md). */
export const webhook = defineDestination<WebhookSettings>({
  slug: 'webhook',
  name: 'Webhook',
  category: 'generic',
  description: 'POSTs each batch of operations as JSON to your endpoint, signed per Standard Webhooks.',
  settings,
  baseUrl: (s) => s.url,
  headers: (s) => s.headers ?? {},

  async testConnection({ settings, http }) {
    const body = JSON.stringify({ type: 'ping', timestamp: new Date().toISOString(), data: {} });
    const res = await post(http, settings, `msg_ping_${randomUUID()}`, body);
    if (res.status < 200 || res.status > 299) {
      throw new ConfigurationError(`the webhook answered ${res.status} to a ping${suffix(res.data)}`);
    }
  },

  actions: {
    send: {
      title: 'Send operations',
      description: 'POSTs each batch as a `sync.batch` message: one operation per row (upsert, update, insert, delete, add, remove).',
      modes: ['upsert', 'update', 'insert', 'mirror', 'audience'],
      options: z.object({}).strict(),
      fields: {},
      customFields: true,
      batchSize: 100,
      maxBatchSize: 1000,
      performBatch: (rows, ctx) => sendBatch(rows, ctx.sync, ctx.settings, ctx.http),
    },
  },
});

async function sendBatch(rows: OutgoingRow[], sync: { name: string; runId: string }, s: WebhookSettings, http: HttpClient): Promise<RowResult[]> {
  const payload = buildBatchPayload(rows, sync);
  const res = await post(http, s, batchMessageId(payload), JSON.stringify(payload));
  const { status } = res;
  if (status >= 200 && status <= 299) return rowResults(rows, status, res.data);
  if (status >= 300 && status <= 399) {
    throw new ConfigurationError(`the webhook redirects (${status}); set url to the final address${res.headers.location ? ` (${res.headers.location})` : ''}`);
  }
  if (status === 410) throw new ConfigurationError(`the webhook endpoint is gone (410): it was retired; update or remove the destination${suffix(res.data)}`);
  if (status === 404 || status === 405 || status === 501) throw new ConfigurationError(`the webhook answered ${status}: check the url${suffix(res.data)}`);
  if (status === 413) throw new BatchRejectedError(`the webhook rejected the batch as too large (413)${suffix(res.data)}`);
  throw new BatchRejectedError(`the webhook rejected the batch (${status})${suffix(res.data)}`);
}

/** POSTs a JSON body, signed when the instance has a secret. */
function post(http: HttpClient, s: WebhookSettings, id: string, body: string): Promise<HttpResponse> {
  const signed = s.secret ? signatureHeaders(s.secret, id, body) : { 'webhook-id': id };
  return http.request({ method: 'POST', url: '', headers: { 'content-type': 'application/json', ...signed }, body });
}

function suffix(data: unknown): string {
  const m = vendorMessage(data);
  return m ? `: ${m}` : '';
}
