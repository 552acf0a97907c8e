import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { defineDestination, type ActionContext, type HttpClient } from '../destination-definition';
import { RetryableError } from '../destination-errors';
import { createHttpClient } from '../http/http-client';
import { pollJob } from '../http/poll-job';
import { unexpectedAnswer } from './errors';

/** What `GET /v3/marketing/contacts/imports/{id}` says of a finished job. */
export interface JobResult {
  id: string;
  status: 'completed' | 'errored' | 'failed';
  requested?: number;
  errored?: number;
  errorsUrl?: string;
}

interface ImportAnswer {
  status?: unknown;
  results?: { requested_count?: unknown; errored_count?: unknown; errors_url?: unknown };
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Polls a contacts job (upsert or delete) until it is no longer `pending` (pollJob: growing waits,
 * RetryableError past the time limit, which re-sends the batch: every request here is idempotent).
 * A 404 right after the job was accepted means it is not visible yet.
 */
export async function waitForJob(jobId: string, http: HttpClient, ctx: Pick<ActionContext, 'polling' | 'logger'>): Promise<JobResult> {
  return pollJob(ctx, `SendGrid contacts job ${jobId}`, async () => {
    const res = await http.request<ImportAnswer>({ method: 'GET', url: `v3/marketing/contacts/imports/${encodeURIComponent(jobId)}` });
    if (res.status === 404) return { done: false, status: 'not visible yet' };
    if (res.status !== 200 || !res.data || typeof res.data !== 'object') throw unexpectedAnswer(`reading contacts job ${jobId}`, res);
    const status = res.data.status;
    if (status === 'completed' || status === 'errored' || status === 'failed') {
      const r = res.data.results ?? {};
      return { done: true, value: { id: jobId, status, requested: num(r.requested_count), errored: num(r.errored_count), errorsUrl: typeof r.errors_url === 'string' && r.errors_url !== '' ? r.errors_url : undefined } };
    }
    return { done: false, status: typeof status === 'string' ? status : 'unknown' };
  });
}

/** The errors file is not a SendGrid API call: a client without the account's Authorization header. */
const errorsFile = defineDestination({
  slug: 'sendgrid',
  name: 'SendGrid errors file',
  category: 'email',
  description: 'the download of a contacts job errors file',
  settings: z.object({}),
  actions: {},
});

/**
 * The per-contact errors of a job, by lower-cased identifier (email), read from `errors_url`; or
 * undefined when they cannot be read (no file, a download refused, a format not understood).
 *
 * The file's format is not documented. It is read as CSV with a header (or JSON: an array of
 * objects, or `{errors: [...]}`) that has an email (or other identifier) column and an error or
 * message column. A file on the API's own host is fetched with the API key; any other host (a
 * signed storage URL) without it, so the key never leaves SendGrid. A throttled or failing
 * download retries the batch; any other failure leaves the rows to the caller's fallback.
 */
export async function readJobErrors(job: JobResult, http: HttpClient, ctx: ActionContext<{ api_key: string; base_url: string }>): Promise<Map<string, string> | undefined> {
  if (!job.errorsUrl || !URL.canParse(job.errorsUrl)) return undefined;
  const sameHost = new URL(job.errorsUrl).origin === new URL(ctx.settings.base_url).origin;
  const client = sameHost ? http : createHttpClient(errorsFile, {}, { instance: 'sendgrid-errors-file', logger: ctx.logger, secrets: [ctx.settings.api_key] });
  try {
    const res = await client.request<unknown>({ method: 'GET', url: job.errorsUrl, headers: { accept: 'text/csv, application/json;q=0.9, */*;q=0.5' } });
    if (res.status !== 200) {
      ctx.logger.warn({ destination: 'sendgrid', job_id: job.id, status: res.status }, 'could not download the SendGrid job errors file');
      return undefined;
    }
    const errors = parseJobErrors(res.data);
    if (!errors) ctx.logger.warn({ destination: 'sendgrid', job_id: job.id }, 'the SendGrid job errors file has no identifier and error columns');
    return errors;
  } catch (e) {
    if (e instanceof RetryableError) throw e;
    ctx.logger.warn({ destination: 'sendgrid', job_id: job.id, error: (e as Error).message }, 'could not download the SendGrid job errors file');
    return undefined;
  }
}

const ID_KEY = /^(e-?mail|email_address|contact_email|identifier|external_id|phone_number_id|anonymous_id)$/i;
const ERROR_KEY = /(error|message|reason)/i;

/** Errors by lower-cased identifier from the file's records (see readJobErrors), or undefined. */
export function parseJobErrors(data: unknown): Map<string, string> | undefined {
  const records = recordsOf(data);
  if (!records || records.length === 0) return undefined;
  const keys = Object.keys(records[0]);
  const idKey = keys.find((k) => /^(e-?mail|email_address|contact_email)$/i.test(k.trim())) ?? keys.find((k) => ID_KEY.test(k.trim()));
  const errorKeys = keys.filter((k) => ERROR_KEY.test(k));
  if (!idKey || errorKeys.length === 0) return undefined;
  const out = new Map<string, string>();
  for (const r of records) {
    const id = r[idKey];
    if (typeof id !== 'string' || id.trim() === '') continue;
    const messages = errorKeys.flatMap((k) => {
      const v = r[k];
      if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
      return typeof v === 'string' && v.trim() !== '' ? [v.trim()] : [];
    });
    const key = id.trim().toLowerCase();
    out.set(key, [out.get(key), ...messages].filter(Boolean).join('; ') || 'no reason given');
  }
  return out.size > 0 ? out : undefined;
}

function recordsOf(data: unknown): Record<string, unknown>[] | undefined {
  if (Array.isArray(data)) return data.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object');
  if (data && typeof data === 'object') {
    const errors = (data as { errors?: unknown }).errors;
    return Array.isArray(errors) ? recordsOf(errors) : undefined;
  }
  if (typeof data !== 'string' || data.trim() === '') return undefined;
  try {
    return parse<Record<string, unknown>>(data, { columns: true, skip_empty_lines: true, relax_column_count: true, trim: true, bom: true });
  } catch {
    return undefined;
  }
}
