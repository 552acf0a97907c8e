import { z } from 'zod';
import { defineDestination, ROW_OK, rowFailed, type ActionContext, type FieldSpec, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { unexpectedAnswer } from './errors';
import { eventOf, KLAVIYO_MAX_EVENTS, packJobs, sendJob, type PreparedEvent } from './events';
import { runImport } from './jobs';
import { ensureList, findListRequest } from './lists';
import {
  chunks,
  firstIdentifier,
  importChunks,
  KLAVIYO_IDENTIFIERS,
  KLAVIYO_LOCATION,
  KLAVIYO_LOOKUP,
  KLAVIYO_MAX_IMPORT,
  KLAVIYO_MAX_REMOVE,
  lookupRequest,
  profileOf,
  removeRequest,
  type ImportProfile,
  type KlaviyoIdentifier,
  type ProfileAttributes,
} from './payload';

export const KLAVIYO_DEFAULT_REVISION = '2026-07-15';

const settings = z.object({
  api_key: z.string().min(1).meta({ writeOnly: true }).describe('a private API key with lists:write and profiles:write (and read) scopes'),
  revision: z.string().regex(/^\d{4}-\d{2}-\d{2}(\.\w+)?$/, 'revision must look like 2026-07-15').default(KLAVIYO_DEFAULT_REVISION).describe('the API revision header'),
  base_url: z.url({ protocol: /^https?$/ }).default('https://a.klaviyo.com').describe('the API host (tests point it at a fake server)'),
});
type KlaviyoSettings = z.infer<typeof settings>;

const listOptions = z
  .object({
    list_id: z.string().trim().min(1).optional().describe('the list to write to'),
    list_name: z.string().trim().min(1).max(255).optional().describe('the list to write to, found by name or created (default: the sync name)'),
  })
  .strict()
  .refine((o) => o.list_id === undefined || o.list_name === undefined, 'set list_id or list_name, not both');
type ListOptions = z.infer<typeof listOptions>;

type Ctx = ActionContext<KlaviyoSettings>;

const identifier = (description: string): FieldSpec => ({ description, type: 'string', identifier: true });
const attribute = (description: string): FieldSpec => ({ description, type: 'string' });

/** The profile fields both actions map (any other field is a custom property). */
const PROFILE_FIELDS: Record<string, FieldSpec> = {
  email: identifier('the profile email (lowercased)'),
  phone_number: identifier('the profile phone, E.164'),
  external_id: identifier('your id for the profile'),
  first_name: attribute('first name'),
  last_name: attribute('last name'),
  organization: attribute('company or organization'),
  title: attribute('job title'),
  locale: attribute('locale, IETF BCP 47 (en-US)'),
  image: attribute('URL of the profile image'),
  location: { description: `address (location.${KLAVIYO_LOCATION.join(', location.')})`, type: 'object' },
  properties: { description: 'an object whose keys become custom properties (like any field not listed)', type: 'object' },
};

/** Klaviyo profiles and list membership through bulk profile import jobs (README.md). */
export const klaviyo = defineDestination<KlaviyoSettings>({
  slug: 'klaviyo',
  name: 'Klaviyo',
  category: 'email',
  description: 'Creates and updates Klaviyo profiles (with custom properties), adds them to a list and removes them from it, and forwards events.',
  settings,
  // the import and list endpoints share burst 10/s, steady 150/m
  rateLimit: { requests: 150, perMs: 60_000 },
  baseUrl: (s) => s.base_url.replace(/\/+$/, ''),
  headers: (s) => ({ authorization: `Klaviyo-API-Key ${s.api_key}`, revision: s.revision }),

  /** Reads lists: a bad key or a missing scope fails here (401/403 → ConfigurationError). */
  async testConnection({ http }) {
    const res = await http.request(findListRequest('composable-cdp connection test'));
    if (res.status !== 200) throw new ConfigurationError(unexpectedAnswer('reading lists', res).message);
  },

  actions: {
    profiles: {
      title: 'Sync profiles',
      description: 'Creates or updates profiles (mode upsert), or updates existing profiles only (mode update), through bulk import jobs polled to completion.',
      modes: ['upsert', 'update'],
      options: z.object({}).strict(),
      fields: PROFILE_FIELDS,
      customFields: true,
      batchSize: KLAVIYO_MAX_IMPORT,
      maxBatchSize: KLAVIYO_MAX_IMPORT,
      performBatch: (rows, ctx) => sendProfiles(rows, ctx as Ctx),
    },
    list_membership: {
      title: 'Sync list membership',
      description: 'Upserts entering profiles and adds them to a list (bulk import job polled to completion); removes exiting profiles from the list (consent untouched).',
      modes: ['audience'],
      options: listOptions,
      fields: PROFILE_FIELDS,
      customFields: true,
      batchSize: KLAVIYO_MAX_REMOVE,
      maxBatchSize: KLAVIYO_MAX_IMPORT,
      async ensure(ctx) {
        const o = ctx.options as ListOptions;
        const { list_id, created } = await ensureList(ctx.http, { list_id: o.list_id, list_name: o.list_name ?? ctx.sync.name });
        ctx.logger.info({ destination: 'klaviyo', list_id, created }, created ? 'created the Klaviyo list' : 'using the Klaviyo list');
        return { list_id };
      },
      performBatch: (rows, ctx) => sendMembership(rows, ctx as Ctx),
    },
    events: {
      title: 'Forward events',
      description: 'Sends each event (one row, keyed by its message id) in Bulk Create Events jobs with the message id as unique_id; the row’s traits update the profile.',
      modes: ['insert'],
      options: z.object({}).strict(),
      fields: {
        event: { description: 'the event name (the metric name, under 128 characters)', type: 'string', required: true },
        timestamp: { description: 'when the event happened (sent as ISO 8601; default: when Klaviyo receives it)', type: 'datetime' },
        email: identifier('the profile email (lowercased)'),
        phone_number: identifier('the profile phone, E.164'),
        external_id: identifier('your id for the profile'),
        value: { description: 'a numeric, monetary value of the event (a purchase amount)', type: 'number' },
        value_currency: attribute('the ISO 4217 currency of value (USD)'),
        properties: { description: 'an object of event properties (like any field not listed)', type: 'object' },
        traits: { description: 'an object of profile attributes and custom properties, set on the profile with the event', type: 'object' },
      },
      customFields: true,
      batchSize: KLAVIYO_MAX_EVENTS,
      maxBatchSize: KLAVIYO_MAX_EVENTS,
      // one batch at a time: events go out in order per profile
      concurrency: 1,
      performBatch: (rows, ctx) => sendEvents(rows, ctx as Ctx),
    },
  },
});

/**
 * Events grouped by profile into Bulk Create Events jobs (≤ 1,000 events and 5 MB each), sent one
 * after the other; a result per row. A message id repeated in the batch is sent once (Klaviyo
 * fails a whole job that repeats a unique_id for a profile and metric).
 */
async function sendEvents(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const items: PreparedEvent[] = [];
  const seen = new Set<string>();
  rows.forEach((row, index) => {
    if (row.op !== 'insert') return void (results[index] = rowFailed(`Klaviyo events take insert (got ${row.op})`));
    if (seen.has(row.key)) return;
    const p = eventOf(row, index);
    if (!p.ok) return void (results[index] = p.result);
    seen.add(row.key);
    items.push(p.value);
  });
  for (const job of packJobs(items)) {
    await sendJob(job, (req) => ctx.http.request(req), results);
    ctx.logger.debug({ destination: 'klaviyo', profiles: job.length, events: job.reduce((n, e) => n + e.rows.length, 0) }, 'Klaviyo events job sent');
  }
  return results;
}

interface Prepared {
  index: number;
  profile: ProfileAttributes;
}

/** Checks each row (its operation, then its profile); the bad ones get their result, the rest are grouped by operation. */
function prepare(rows: OutgoingRow[], allowed: readonly string[], what: string): { results: RowResult[]; byOp: Map<string, Prepared[]> } {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const byOp = new Map<string, Prepared[]>();
  rows.forEach((row, index) => {
    if (!allowed.includes(row.op)) return void (results[index] = rowFailed(`${what} (got ${row.op})`));
    // a remove needs only the identifiers: its other fields cannot make it fail
    const p = profileOf(row.op === 'remove' ? { ...row, fields: identifiersOf(row.fields) } : row);
    if (!p.ok) return void (results[index] = p.result);
    const group = byOp.get(row.op) ?? [];
    group.push({ index, profile: p.profile });
    byOp.set(row.op, group);
  });
  return { results, byOp };
}

/** Import jobs for the profiles (≤ 10,000 and 5 MB each), each polled to completion; results written per row. */
async function importAll(items: { index: number; profile: ImportProfile }[], listId: string | undefined, results: RowResult[], ctx: Ctx): Promise<void> {
  for (const job of importChunks(items)) {
    const jobResults = await runImport(job.map((i) => i.profile), listId, ctx);
    jobResults.forEach((r, i) => (results[job[i].index] = r));
  }
}

/** Profiles: upserts go to import jobs as they are; updates are looked up first and imported by id, and a row nobody has fails. */
async function sendProfiles(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const { results, byOp } = prepare(rows, ['upsert', 'update'], 'Klaviyo profiles only upsert and update');
  const imports: { index: number; profile: ImportProfile }[] = (byOp.get('upsert') ?? []).map((p) => ({ index: p.index, profile: { attributes: p.profile } }));
  const updates = byOp.get('update') ?? [];
  if (updates.length > 0) {
    const found = await lookupProfiles(updates, ctx);
    for (const u of updates) {
      const id = found.byRow.get(u.index);
      if (id) imports.push({ index: u.index, profile: { id, attributes: u.profile } });
      else results[u.index] = rowFailed(`no Klaviyo profile has this ${firstIdentifier(u.profile)} (mode update changes existing profiles only)`);
    }
    imports.sort((a, b) => a.index - b.index);
  }
  await importAll(imports, undefined, results, ctx);
  return results;
}

/** List membership: adds (import jobs into the list) then removes (lookups, then deletes by id); a result per row. */
async function sendMembership(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const o = ctx.options as ListOptions;
  const listId = typeof ctx.state.list_id === 'string' ? ctx.state.list_id : o.list_id;
  if (!listId) throw new ConfigurationError('no Klaviyo list for this run: ensure did not run and list_id is not set');
  const { results, byOp } = prepare(rows, ['add', 'remove'], 'Klaviyo lists only add and remove people');
  const adds = (byOp.get('add') ?? []).map((p) => ({ index: p.index, profile: { attributes: p.profile } }));
  await importAll(adds, listId, results, ctx);
  const removes = byOp.get('remove') ?? [];
  if (removes.length > 0) {
    const { ids } = await lookupProfiles(removes, ctx);
    for (const group of chunks([...ids], KLAVIYO_MAX_REMOVE)) {
      const res = await ctx.http.request(removeRequest(listId, group));
      if (res.status !== 204 && res.status !== 200) throw unexpectedAnswer(`removing profiles from list ${listId}`, res);
    }
  }
  return results;
}

/**
 * The Klaviyo ids of the rows' profiles: each row is looked up by its first identifier (email, then
 * phone_number, then external_id), 100 values a call. `ids` holds every profile found; `byRow` the
 * rows matched to a profile by the identifier value Klaviyo returns (`fields[profile]`).
 */
async function lookupProfiles(items: Prepared[], ctx: Ctx): Promise<{ ids: Set<string>; byRow: Map<number, string> }> {
  const ids = new Set<string>();
  const byRow = new Map<number, string>();
  for (const key of KLAVIYO_IDENTIFIERS) {
    const mine = items.filter((r) => firstIdentifier(r.profile) === key);
    const values = [...new Set(mine.map((r) => r.profile[key] as string))];
    for (const group of chunks(values, KLAVIYO_LOOKUP)) {
      const res = await ctx.http.request<{ data?: { id?: string; attributes?: Record<string, unknown> }[] }>(lookupRequest(key, group));
      if (res.status !== 200 || !Array.isArray(res.data?.data)) throw unexpectedAnswer(`looking up profiles by ${key}`, res);
      const byValue = new Map<string, string>();
      for (const p of res.data.data) {
        if (typeof p.id !== 'string') continue;
        ids.add(p.id);
        const value = p.attributes?.[key];
        if (typeof value === 'string') byValue.set(comparable(key, value), p.id);
      }
      for (const r of mine) {
        const id = byValue.get(comparable(key, r.profile[key] as string));
        if (id) byRow.set(r.index, id);
      }
    }
  }
  return { ids, byRow };
}

const identifiersOf = (fields: Record<string, unknown>) => Object.fromEntries(KLAVIYO_IDENTIFIERS.filter((k) => k in fields).map((k) => [k, fields[k]]));

const comparable = (key: KlaviyoIdentifier, value: string) => (key === 'email' ? value.trim().toLowerCase() : value.trim());
