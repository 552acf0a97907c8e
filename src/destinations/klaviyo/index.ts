import { z } from 'zod';
import { defineDestination, ROW_OK, rowFailed, type ActionContext, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { importErrorResults, unexpectedAnswer } from './errors';
import { ensureList, findListRequest } from './lists';
import {
  chunks,
  importJobRequest,
  KLAVIYO_IDENTIFIERS,
  KLAVIYO_LOOKUP,
  KLAVIYO_MAX_IMPORT,
  KLAVIYO_MAX_REMOVE,
  lookupRequest,
  profileOf,
  removeRequest,
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

const options = z
  .object({
    list_id: z.string().trim().min(1).optional().describe('the list to write to'),
    list_name: z.string().trim().min(1).max(255).optional().describe('the list to write to, found by name or created (default: the sync name)'),
  })
  .strict()
  .refine((o) => o.list_id === undefined || o.list_name === undefined, 'set list_id or list_name, not both');
type KlaviyoOptions = z.infer<typeof options>;

const identifier = (description: string) => ({ description, type: 'string' as const, identifier: true });
const attribute = (description: string) => ({ description, type: 'string' as const });

/** Klaviyo list membership through the bulk profile import and list relationships APIs (README.md). */
export const klaviyo = defineDestination<KlaviyoSettings>({
  slug: 'klaviyo',
  name: 'Klaviyo',
  category: 'email',
  description: 'Adds profiles (created or updated) to a Klaviyo list and removes them from it.',
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
    list_membership: {
      title: 'Sync list membership',
      description: 'Upserts entering profiles and adds them to a list (bulk import job); removes exiting profiles from the list (consent untouched).',
      modes: ['audience'],
      options,
      fields: {
        email: identifier('the profile email (lowercased)'),
        phone_number: identifier('the profile phone, E.164'),
        external_id: identifier('your id for the profile'),
        first_name: attribute('first name'),
        last_name: attribute('last name'),
      },
      customFields: true,
      batchSize: KLAVIYO_MAX_REMOVE,
      maxBatchSize: KLAVIYO_MAX_IMPORT,
      async ensure(ctx) {
        const o = ctx.options as KlaviyoOptions;
        const { list_id, created } = await ensureList(ctx.http, { list_id: o.list_id, list_name: o.list_name ?? ctx.sync.name });
        ctx.logger.info({ destination: 'klaviyo', list_id, created }, created ? 'created the Klaviyo list' : 'using the Klaviyo list');
        return { list_id };
      },
      performBatch: (rows, ctx) => sendBatch(rows, ctx),
    },
  },
});

/** Adds (one import job) then removes (lookups, then deletes by id); a result per row. */
async function sendBatch(rows: OutgoingRow[], ctx: ActionContext<KlaviyoSettings>): Promise<RowResult[]> {
  const o = ctx.options as KlaviyoOptions;
  const listId = typeof ctx.state.list_id === 'string' ? ctx.state.list_id : o.list_id;
  if (!listId) throw new ConfigurationError('no Klaviyo list for this run: ensure did not run and list_id is not set');
  const results: RowResult[] = rows.map(() => ROW_OK);
  const adds: { index: number; profile: ProfileAttributes }[] = [];
  const removes: { index: number; profile: ProfileAttributes }[] = [];
  rows.forEach((row, index) => {
    if (row.op !== 'add' && row.op !== 'remove') return void (results[index] = rowFailed(`Klaviyo lists only add and remove people (got ${row.op})`));
    const p = profileOf(row);
    if (!p.ok) return void (results[index] = p.result);
    (row.op === 'add' ? adds : removes).push({ index, profile: p.profile });
  });
  for (const batch of chunks(adds, KLAVIYO_MAX_IMPORT)) {
    const res = await ctx.http.request<{ data?: { id?: string } }>(importJobRequest(batch.map((a) => a.profile), listId));
    if (res.status === 202) {
      ctx.logger.info({ destination: 'klaviyo', list_id: listId, job_id: res.data?.data?.id, profiles: batch.length }, 'Klaviyo bulk import job created');
      continue;
    }
    if (res.status !== 400) throw unexpectedAnswer(`importing profiles into list ${listId}`, res);
    importErrorResults(batch.length, res).forEach((r, i) => (results[batch[i].index] = r));
  }
  if (removes.length > 0) await removeFromList(removes, listId, ctx);
  return results;
}

/**
 * Removing takes profile ids: each row is looked up by its first identifier (email, then
 * phone_number, then external_id), 100 at a time; a row with no profile has nobody to remove.
 */
async function removeFromList(removes: { profile: ProfileAttributes }[], listId: string, ctx: ActionContext<KlaviyoSettings>): Promise<void> {
  const ids = new Set<string>();
  for (const key of KLAVIYO_IDENTIFIERS) {
    const values = [...new Set(removes.filter((r) => firstIdentifier(r.profile) === key).map((r) => r.profile[key] as string))];
    for (const group of chunks(values, KLAVIYO_LOOKUP)) {
      const res = await ctx.http.request<{ data?: { id?: string }[] }>(lookupRequest(key, group));
      if (res.status !== 200 || !Array.isArray(res.data?.data)) throw unexpectedAnswer(`looking up profiles by ${key}`, res);
      for (const p of res.data.data) if (typeof p.id === 'string') ids.add(p.id);
    }
  }
  for (const group of chunks([...ids], KLAVIYO_MAX_REMOVE)) {
    const res = await ctx.http.request(removeRequest(listId, group));
    if (res.status !== 204 && res.status !== 200) throw unexpectedAnswer(`removing profiles from list ${listId}`, res);
  }
}

const firstIdentifier = (p: ProfileAttributes): KlaviyoIdentifier | undefined => KLAVIYO_IDENTIFIERS.find((k) => p[k] !== undefined);
