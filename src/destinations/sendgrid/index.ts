import { z } from 'zod';
import { defineDestination, ROW_OK, rowFailed, type ActionContext, type HttpResponse, type Operation, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { normalizeEmail, sha256Hex } from '../pii';
import { describe, errorsOf, unexpectedAnswer } from './errors';
import { contactOf, readCustomFields, type Contact, type CustomFields } from './fields';
import { readJobErrors, waitForJob, type JobResult } from './jobs';
import { ensureList, listExists } from './lists';
import {
  chunks,
  contactBytes,
  deleteRequest,
  removeFromListRequest,
  searchRequest,
  SENDGRID_IDS_PER_CALL,
  SENDGRID_LOOKUP,
  SENDGRID_MAX_BYTES,
  SENDGRID_MAX_CONTACTS,
  sizedChunks,
  upsertRequest,
} from './requests';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const settings = z.object({
  api_key: z.string().trim().min(1).meta({ writeOnly: true }).describe('an API key with Marketing access (contacts, lists and custom fields); sent as a Bearer token'),
  base_url: z.url({ protocol: /^https?$/ }).default('https://api.sendgrid.com').describe('the API host (https://api.eu.sendgrid.com for EU subusers; tests point it at a fake server)'),
});
type SendGridSettings = z.infer<typeof settings>;

const options = z
  .object({
    list_id: z.string().regex(UUID, 'list_id must be a SendGrid list id (a UUID)').optional().describe('audience mode: the list to add contacts to and remove them from'),
    list_name: z.string().trim().min(1).max(100).optional().describe('audience mode: the list, found by name or created (default: the sync name)'),
  })
  .strict()
  .refine((o) => o.list_id === undefined || o.list_name === undefined, 'set list_id or list_name, not both');
type SendGridOptions = z.infer<typeof options>;
type Ctx = ActionContext<SendGridSettings, SendGridOptions>;

const OPERATIONS: readonly Operation[] = ['upsert', 'add', 'delete', 'remove'];
const text = (description: string) => ({ description, type: 'string' as const });

/** SendGrid Marketing Campaigns contacts (API v3): upsert jobs polled to completion, deletes, list membership (README.md). */
export const sendgrid = defineDestination<SendGridSettings>({
  slug: 'sendgrid',
  name: 'SendGrid Marketing Contacts',
  category: 'email',
  description: 'Upserts SendGrid Marketing Campaigns contacts (reserved and custom fields), deletes removed ones, or keeps a contact list in step with a segment.',
  settings,
  // the key is the account's only handle: a digest of it (never the key) keys the shared budget
  accountKey: (s) => sha256Hex(s.api_key).slice(0, 16),
  // SendGrid publishes no number for the Marketing endpoints (limits are per endpoint, told by the
  // X-RateLimit-* headers): a conservative budget; a 429 waits until X-RateLimit-Reset
  rateLimit: { requests: 100, perMs: 60_000 },
  baseUrl: (s) => s.base_url.replace(/\/+$/, ''),
  headers: (s) => ({ authorization: `Bearer ${s.api_key}` }),

  /** Reads the field definitions: a bad key or a key without Marketing access fails here. */
  async testConnection({ http }) {
    await readCustomFields(http);
  },

  actions: {
    contacts: {
      title: 'Sync contacts',
      description:
        'upsert: contacts created or updated (one asynchronous job per batch, polled to completion). mirror: the same, and contacts gone from the source deleted. audience: contacts upserted into a list; leaving ones removed from the list (the contact stays).',
      modes: ['upsert', 'mirror', 'audience'],
      options,
      fields: {
        email: { description: 'the contact email (trimmed, lowercased): how rows are matched', type: 'string', identifier: true, required: true },
        external_id: { description: 'your id for the contact (an extra identifier)', type: 'string', identifier: true },
        phone_number_id: { description: 'a phone number identifier (E.164)', type: 'string', identifier: true },
        anonymous_id: { description: 'an anonymous identifier', type: 'string', identifier: true },
        first_name: text('first name (≤ 50 characters)'),
        last_name: text('last name (≤ 50 characters)'),
        alternate_emails: { description: 'up to 5 other emails of the contact', type: 'object' },
        address_line_1: text('address, first line'),
        address_line_2: text('address, second line'),
        city: text('city'),
        state_province_region: text('state, province or region'),
        postal_code: text('postal code'),
        country: text('country (name or code)'),
        phone_number: text('phone number'),
        whatsapp: text('WhatsApp'),
        line: text('LINE'),
        facebook: text('Facebook'),
        unique_name: text('unique name'),
        custom_fields: { description: 'custom field values by custom field name ({name: value}); any other field is the custom field of its name', type: 'object' },
      },
      customFields: true,
      batchSize: 10_000,
      maxBatchSize: SENDGRID_MAX_CONTACTS,
      ensure: (ctx) => ensure(ctx as Ctx),
      performBatch: (rows, ctx) => sendBatch(rows, ctx as Ctx),
    },
  },
});

/** The custom field definitions, and in audience mode the list found or created. */
async function ensure(ctx: Ctx): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = { custom_fields: await readCustomFields(ctx.http) };
  if (ctx.sync.mode === 'audience') state.list_id = await listOf(ctx);
  return state;
}

async function customFieldsOf(ctx: Ctx): Promise<CustomFields> {
  const known = ctx.state.custom_fields as CustomFields | undefined;
  if (known) return known;
  const fields = await readCustomFields(ctx.http);
  ctx.state.custom_fields = fields;
  return fields;
}

/** The list of this run: from ensure, or found (or created) now. */
async function listOf(ctx: Ctx): Promise<string> {
  if (typeof ctx.state.list_id === 'string') return ctx.state.list_id;
  const name = ctx.options.list_name ?? ctx.sync.name;
  const { list_id, created } = await ensureList(ctx.http, { list_id: ctx.options.list_id, list_name: name });
  if (ctx.options.list_id && !(await listExists(ctx.http, list_id))) throw new ConfigurationError(`SendGrid has no list ${list_id}: check list_id`);
  ctx.logger.info({ destination: 'sendgrid', list_id, list_name: ctx.options.list_id ? undefined : name, created }, created ? 'created the SendGrid list' : 'using the SendGrid list');
  ctx.state.list_id = list_id;
  return list_id;
}

/** Emails to the indexes of the rows that carry them (two rows may share an email). */
type ByEmail = Map<string, number[]>;
const push = (map: ByEmail, email: string, index: number) => map.set(email, [...(map.get(email) ?? []), index]);

/** Upserts (plain, then into the list), list removals, deletes; a result per row. */
async function sendBatch(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const fields = await customFieldsOf(ctx);
  const contacts: Record<'upsert' | 'add', Map<string, Contact>> = { upsert: new Map(), add: new Map() };
  const byOp: Record<'upsert' | 'add' | 'delete' | 'remove', ByEmail> = { upsert: new Map(), add: new Map(), delete: new Map(), remove: new Map() };
  rows.forEach((row, index) => {
    if (!OPERATIONS.includes(row.op)) return void (results[index] = rowFailed(`SendGrid contacts take upsert, add, delete and remove (got ${row.op})`));
    const op = row.op as keyof typeof byOp;
    if (op === 'delete' || op === 'remove') {
      const email = typeof row.fields.email === 'string' ? normalizeEmail(row.fields.email) : null;
      if (email === null) return void (results[index] = rowFailed(row.fields.email === undefined || row.fields.email === null ? 'the row has no email' : 'email is not an email address'));
      return void push(byOp[op], email, index);
    }
    const c = contactOf(row, fields);
    if (!c.ok) return void (results[index] = rowFailed(c.error));
    contacts[op].set(c.contact.email, c.contact); // a later row with the same email wins
    push(byOp[op], c.contact.email, index);
  });
  const fail = (byEmail: ByEmail, failures: Map<string, string>) => {
    for (const [email, error] of failures) for (const i of byEmail.get(email) ?? []) if (results[i].ok) results[i] = rowFailed(error);
  };
  if (contacts.upsert.size > 0) fail(byOp.upsert, await upsertContacts([...contacts.upsert.values()], undefined, ctx));
  if (contacts.add.size > 0) fail(byOp.add, await upsertContacts([...contacts.add.values()], [await listOf(ctx)], ctx));
  if (byOp.remove.size > 0) await removeFromList([...byOp.remove.keys()], await listOf(ctx), ctx);
  if (byOp.delete.size > 0) fail(byOp.delete, await deleteContacts([...byOp.delete.keys()], ctx));
  return results;
}

/**
 * `PUT /v3/marketing/contacts` in chunks of ≤ 30,000 contacts and < 6 MB, then each job polled to
 * completion. A 400 whose errors point at contacts (`contacts[3].email`) fails those rows and the
 * rest is sent again (nothing of a rejected request was queued). Returns the failures by email.
 */
async function upsertContacts(contacts: Contact[], listIds: string[] | undefined, ctx: Ctx): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  const jobs: { jobId: string; emails: string[] }[] = [];
  for (const chunk of sizedChunks(contacts, contactBytes, SENDGRID_MAX_CONTACTS, SENDGRID_MAX_BYTES - 1_024)) {
    let pending = chunk;
    while (pending.length > 0) {
      const res = await ctx.http.request<{ job_id?: unknown }>(upsertRequest(pending, listIds));
      if (res.status === 202 && typeof res.data?.job_id === 'string') {
        jobs.push({ jobId: res.data.job_id, emails: pending.map((c) => c.email) });
        ctx.logger.debug({ destination: 'sendgrid', job_id: res.data.job_id, contacts: pending.length }, 'SendGrid upsert job accepted');
        break;
      }
      if (res.status !== 400) throw unexpectedAnswer(`upserting ${pending.length} contacts`, res);
      const pointed = contactErrors(res, pending.length);
      for (const [i, message] of pointed) failures.set(pending[i].email, `SendGrid rejected this contact: ${message}`);
      pending = pending.filter((_, i) => !pointed.has(i));
    }
  }
  for (const job of jobs) for (const [email, error] of await jobFailures(await waitForJob(job.jobId, ctx.http, ctx), job.emails.map((email) => ({ email })), ctx)) failures.set(email, error);
  return failures;
}

const CONTACT_POINTER = /^contacts\[(\d+)\]/;

/** The errors of a rejected upsert by contact index; BatchRejectedError when one points at no contact. */
function contactErrors(res: HttpResponse, count: number): Map<number, string> {
  const errors = errorsOf(res.data);
  const byIndex = new Map<number, string>();
  for (const e of errors) {
    const index = Number(CONTACT_POINTER.exec(e.field ?? '')?.[1] ?? NaN);
    if (!(index >= 0 && index < count)) throw unexpectedAnswer(`upserting ${count} contacts`, res);
    byIndex.set(index, [byIndex.get(index), describe({ field: e.field?.replace(CONTACT_POINTER, '').replace(/^\./, '') || undefined, message: e.message })].filter(Boolean).join('; '));
  }
  if (byIndex.size === 0) throw unexpectedAnswer(`upserting ${count} contacts`, res);
  return byIndex;
}

/**
 * The rows a finished job failed. `completed`: none. Otherwise the errors file names them (by
 * email or contact id); when it cannot be read or names none of them, a job of one contact fails
 * it, a `failed` job (every contact errored) fails them all, and an `errored` job of several is
 * rejected whole so the engine bisects it down to the contacts at fault (every request is an
 * idempotent upsert or delete, so re-sending is safe).
 */
async function jobFailures(job: JobResult, entries: { email: string; id?: string }[], ctx: Ctx): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  if (job.status === 'completed') return failures;
  const counts = job.errored !== undefined ? ` (${job.errored}${job.requested !== undefined ? ` of ${job.requested}` : ''} contacts errored)` : '';
  const what = `SendGrid ${job.status === 'failed' ? 'failed' : 'finished with errors'} job ${job.id}${counts}`;
  ctx.logger.warn({ destination: 'sendgrid', job_id: job.id, status: job.status, errored: job.errored, requested: job.requested }, 'SendGrid job finished with errors');
  const errors = await readJobErrors(job, ctx.http, ctx);
  if (errors) {
    for (const e of entries) {
      const error = errors.get(e.email) ?? (e.id ? errors.get(e.id.toLowerCase()) : undefined);
      if (error) failures.set(e.email, `SendGrid could not process this contact (job ${job.id}): ${error}`);
    }
    if (failures.size > 0) return failures;
  }
  if (entries.length === 1 || job.status === 'failed') {
    for (const e of entries) failures.set(e.email, `${what}${errors ? '' : '; its errors file could not be read'}`);
    return failures;
  }
  throw new BatchRejectedError(`${what} without naming the contacts at fault: the batch is split to find them`);
}

/** Contact ids by email (`POST …/search/emails`, 100 a call); emails without a contact are left out. */
async function lookupIds(emails: string[], ctx: Ctx): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const group of chunks(emails, SENDGRID_LOOKUP)) {
    const res = await ctx.http.request<{ result?: Record<string, { contact?: { id?: unknown } }> }>(searchRequest(group));
    if (res.status === 404) continue; // none of them is a contact
    if (res.status !== 200 || !res.data?.result || typeof res.data.result !== 'object') throw unexpectedAnswer(`looking up ${group.length} contacts by email`, res);
    for (const [email, found] of Object.entries(res.data.result)) if (typeof found?.contact?.id === 'string') ids.set(email.toLowerCase(), found.contact.id);
  }
  return ids;
}

/**
 * Mirror removals: contacts looked up by email and deleted by id (`DELETE /v3/marketing/contacts?ids=`,
 * 100 a call), each deletion job polled. An email with no contact is already gone.
 */
async function deleteContacts(emails: string[], ctx: Ctx): Promise<Map<string, string>> {
  const ids = await lookupIds(emails, ctx);
  const failures = new Map<string, string>();
  for (const group of chunks([...ids], SENDGRID_IDS_PER_CALL)) {
    const res = await ctx.http.request<{ job_id?: unknown }>(deleteRequest(group.map(([, id]) => id)));
    if (res.status !== 202 && res.status !== 200) throw unexpectedAnswer(`deleting ${group.length} contacts`, res);
    const jobId = res.data?.job_id;
    if (typeof jobId !== 'string') continue; // accepted without a job to follow
    const job = await waitForJob(jobId, ctx.http, ctx);
    for (const [email, error] of await jobFailures(job, group.map(([email, id]) => ({ email, id })), ctx)) failures.set(email, error);
  }
  return failures;
}

/**
 * Audience exits: contacts looked up by email and removed from the list by id (100 a call); they
 * stay in the account. An email with no contact is not in the list. SendGrid answers 404 both for a
 * missing list and for a contact id that no longer exists: the list is checked to tell them apart.
 */
async function removeFromList(emails: string[], listId: string, ctx: Ctx): Promise<void> {
  const ids = [...(await lookupIds(emails, ctx)).values()];
  for (const group of chunks(ids, SENDGRID_IDS_PER_CALL)) {
    const res = await ctx.http.request(removeFromListRequest(listId, group));
    if (res.status === 202 || res.status === 200 || res.status === 204) continue;
    if (res.status !== 404) throw unexpectedAnswer(`removing ${group.length} contacts from list ${listId}`, res);
    if (!(await listExists(ctx.http, listId))) throw new ConfigurationError(`SendGrid list ${listId} no longer exists (deleted during the run?)`);
    throw new RetryableError(`SendGrid answered 404 removing contacts from list ${listId}: a contact was deleted since it was looked up; the batch is retried`);
  }
}
