import { z } from 'zod';
import { defineDestination, ROW_OK, type ActionContext, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { CUSTOMER_FILE_SOURCES, ensureAudience } from './audience';
import { classifyMeta, unexpectedAnswer } from './errors';
import { META_FIELD_KEYS } from './normalize';
import { buildUsersRequests, META_MAX_ROWS, type MetaPayload } from './payload';
import { usersResults, type MetaUsersAnswer } from './results';

export const META_DEFAULT_API_VERSION = 'v25.0';

const settings = z.object({
  access_token: z.string().min(1).meta({ writeOnly: true }).describe('a system-user access token with ads_management, admin on the ad account'),
  ad_account_id: z
    .string()
    .trim()
    .regex(/^(act_)?\d+$/, 'ad_account_id must be the ad account id: act_ followed by digits (or the digits alone)')
    .transform((v) => (v.startsWith('act_') ? v : `act_${v}`))
    .describe('the ad account (act_1234567890)'),
  api_version: z.string().regex(/^v\d+\.\d+$/, 'api_version must look like v25.0').default(META_DEFAULT_API_VERSION).describe('the Graph API version'),
  base_url: z.url({ protocol: /^https?$/ }).default('https://graph.facebook.com').describe('the Graph API host (tests point it at a fake server)'),
});
type MetaSettings = z.infer<typeof settings>;

const options = z
  .object({
    audience_id: z.string().regex(/^\d+$/, 'audience_id must be the numeric custom audience id').optional().describe('the custom audience to write to'),
    audience_name: z.string().trim().min(1).max(255).optional().describe('the custom audience to write to, found by name or created (default: the sync name)'),
    customer_file_source: z.enum(CUSTOMER_FILE_SOURCES).default('USER_PROVIDED_ONLY').describe('where the data comes from, for an audience this sync creates'),
    phone_country: z.string().regex(/^[A-Za-z]{2}$/, 'phone_country must be an ISO 3166-1 alpha-2 code such as US').optional().describe('the country of phone numbers written without a country code, when the row has no country'),
  })
  .strict()
  .refine((o) => o.audience_id === undefined || o.audience_name === undefined, 'set audience_id or audience_name, not both');
type MetaOptions = z.infer<typeof options>;

const identifier = (description: string) => ({ description, type: 'string' as const, identifier: true });
const attribute = (description: string) => ({ description, type: 'string' as const });

/** Meta (Facebook) Custom Audiences from customer files, through the Marketing API (README.md). */
export const meta = defineDestination<MetaSettings>({
  slug: 'meta',
  name: 'Meta Custom Audiences',
  category: 'ads',
  description: 'Adds and removes people in a Meta (Facebook, Instagram) customer-file custom audience, matched on hashed email, phone and other keys.',
  settings,
  accountKey: (s) => s.ad_account_id,
  // Meta budgets by Business Use Case and says so with error codes, not a fixed rate: this only keeps bursts polite
  rateLimit: { requests: 60, perMs: 60_000 },
  baseUrl: (s) => `${s.base_url.replace(/\/+$/, '')}/${s.api_version}`,
  headers: (s) => ({ authorization: `Bearer ${s.access_token}` }),
  classify: classifyMeta,

  /** Reads the ad account: a bad token, a missing permission or a disabled account fails here. */
  async testConnection({ settings, http }) {
    const res = await http.request<{ id?: string; account_status?: number }>({ method: 'GET', url: settings.ad_account_id, params: { fields: 'id,name,account_status' } });
    if (res.status !== 200 || typeof res.data?.id !== 'string') throw new ConfigurationError(unexpectedAnswer(`reading ad account ${settings.ad_account_id}`, res).message);
    if (res.data.account_status !== undefined && res.data.account_status !== 1) {
      throw new ConfigurationError(`Meta ad account ${settings.ad_account_id} is not active (account_status ${res.data.account_status})`);
    }
  },

  actions: {
    audience: {
      title: 'Sync a custom audience',
      description: 'Adds entering rows to a customer-file custom audience and removes exiting ones; values are normalized and SHA-256 hashed per Meta.',
      modes: ['audience'],
      options,
      fields: {
        email: identifier(`→ ${META_FIELD_KEYS.email} (trimmed, lowercased, hashed)`),
        phone: identifier(`→ ${META_FIELD_KEYS.phone} (digits with country code, hashed)`),
        first_name: attribute(`→ ${META_FIELD_KEYS.first_name} (lowercase letters, hashed)`),
        last_name: attribute(`→ ${META_FIELD_KEYS.last_name} (lowercase letters, hashed)`),
        first_initial: attribute(`→ ${META_FIELD_KEYS.first_initial} (hashed)`),
        city: attribute(`→ ${META_FIELD_KEYS.city} (lowercase letters, hashed)`),
        state: attribute(`→ ${META_FIELD_KEYS.state} (2-letter code lowercased, hashed)`),
        zip: attribute(`→ ${META_FIELD_KEYS.zip} (lowercase, no spaces; US first 5 digits; hashed)`),
        country: attribute(`→ ${META_FIELD_KEYS.country} (ISO alpha-2 lowercased, hashed)`),
        date_of_birth: { description: `→ ${META_FIELD_KEYS.date_of_birth} (YYYY, MM, DD, hashed)`, type: 'datetime' },
        gender: attribute(`→ ${META_FIELD_KEYS.gender} (m or f, hashed)`),
        mobile_advertiser_id: identifier(`→ ${META_FIELD_KEYS.mobile_advertiser_id} (IDFA/AAID, lowercased, not hashed)`),
        external_id: identifier(`→ ${META_FIELD_KEYS.external_id} (sent as is)`),
      },
      batchSize: META_MAX_ROWS,
      maxBatchSize: META_MAX_ROWS,
      async ensure(ctx) {
        const o = ctx.options as MetaOptions;
        const { audience_id, created } = await ensureAudience(ctx.http, ctx.settings.ad_account_id, { ...o, audience_name: o.audience_name ?? ctx.sync.name });
        ctx.logger.info({ destination: 'meta', audience_id, created }, created ? 'created the Meta custom audience' : 'using the Meta custom audience');
        return { audience_id };
      },
      performBatch: (rows, ctx) => sendBatch(rows, ctx),
    },
  },
});

/** The requests of a batch (adds, then removes), sent one after the other; a result per row. */
async function sendBatch(rows: OutgoingRow[], ctx: ActionContext<MetaSettings>): Promise<RowResult[]> {
  const o = ctx.options as MetaOptions;
  const audienceId = typeof ctx.state.audience_id === 'string' ? ctx.state.audience_id : o.audience_id;
  if (!audienceId) throw new ConfigurationError('no Meta audience for this run: ensure did not run and audience_id is not set');
  const plan = buildUsersRequests(rows, audienceId, { phoneCountry: o.phone_country });
  const results: RowResult[] = rows.map((_, i) => plan.failed.get(i) ?? ROW_OK);
  for (const { op, request, indexes } of plan.requests) {
    const res = await ctx.http.request<MetaUsersAnswer>(request);
    if (res.status !== 200) throw unexpectedAnswer(`${op === 'add' ? 'adding to' : 'removing from'} Meta audience ${audienceId}`, res);
    const sent = (request.body as { payload: MetaPayload }).payload.data;
    const { results: answered, unattributed } = usersResults(sent, res.data ?? {});
    indexes.forEach((rowIndex, i) => (results[rowIndex] = answered[i]));
    if (res.data?.num_invalid_entries) {
      ctx.logger.warn(
        { destination: 'meta', audience_id: audienceId, op, received: res.data.num_received, invalid: res.data.num_invalid_entries, unattributed },
        'Meta reported invalid entries',
      );
    }
  }
  return results;
}

