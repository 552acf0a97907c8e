import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineDestination, ROW_OK, type ActionContext, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';
import { buildUsersRequests, elementResults, LINKEDIN_FIELD_KEYS, LINKEDIN_MAX_ELEMENTS } from './payload';
import { ensureSegment } from './segment';

/** A LinkedIn-Version still supported (each monthly version is sunset about a year after release). */
export const LINKEDIN_DEFAULT_VERSION = '202604';
const ACCOUNT_URN = 'urn:li:sponsoredAccount:';

const settings = z.object({
  access_token: z.string().min(1).meta({ writeOnly: true }).describe('a 3-legged OAuth token with rw_dmp_segments, of a member who is not VIEWER on the ad account'),
  ad_account_id: z
    .string()
    .trim()
    .regex(/^(urn:li:sponsoredAccount:)?\d+$/, 'ad_account_id must be the ad account id or its urn (urn:li:sponsoredAccount:123)')
    .transform((v) => (v.startsWith(ACCOUNT_URN) ? v : `${ACCOUNT_URN}${v}`))
    .describe('the sponsored ad account'),
  linkedin_version: z.string().regex(/^\d{6}$/, 'linkedin_version must be YYYYMM').default(LINKEDIN_DEFAULT_VERSION).describe('the LinkedIn-Version header (YYYYMM)'),
  source_platform: z.string().regex(/^[A-Z0-9_]+$/, 'source_platform is the enum value LinkedIn gave you (e.g. YOUR_PLATFORM)').optional().describe('the partner source platform LinkedIn assigned; needed to create segments'),
  base_url: z.url({ protocol: /^https?$/ }).default('https://api.linkedin.com/rest').describe('the REST API base (tests point it at a fake server)'),
});
type LinkedInSettings = z.infer<typeof settings>;

const options = z
  .object({
    segment_id: z.string().regex(/^\d+$/, 'segment_id must be the numeric DMP segment id').optional().describe('the DMP segment to write to'),
    segment_name: z.string().trim().min(1).max(255).optional().describe('the DMP segment to write to, found by name or created (default: the sync name)'),
  })
  .strict()
  .refine((o) => o.segment_id === undefined || o.segment_name === undefined, 'set segment_id or segment_name, not both');
type LinkedInOptions = z.infer<typeof options>;

const field = (description: string, identifier = false) => ({ description: `→ ${description}`, type: 'string' as const, ...(identifier ? { identifier } : {}) });

/** LinkedIn Matched Audiences: users streamed into a DMP segment (README.md). */
export const linkedin = defineDestination<LinkedInSettings>({
  slug: 'linkedin',
  name: 'LinkedIn Matched Audiences',
  category: 'ads',
  description: 'Adds and removes members of a LinkedIn DMP segment (Matched Audiences), matched on hashed email and device ids.',
  settings,
  // the users API allows 600 requests a minute per member (older docs: 500); the token is the member
  accountKey: (s) => createHash('sha256').update(s.access_token).digest('hex').slice(0, 16),
  rateLimit: { requests: 500, perMs: 60_000 },
  baseUrl: (s) => s.base_url,
  headers: (s) => ({ authorization: `Bearer ${s.access_token}`, 'linkedin-version': s.linkedin_version, 'x-restli-protocol-version': '2.0.0' }),

  /** Lists one DMP segment of the account: a bad token, a missing rw_dmp_segments or a VIEWER role fails here. */
  async testConnection({ settings, http }) {
    const res = await http.request({ method: 'GET', url: 'dmpSegments', params: { q: 'account', account: settings.ad_account_id, start: 0, count: 1 } });
    if (res.status !== 200) throw new ConfigurationError(`LinkedIn answered ${res.status} listing the DMP segments of ${settings.ad_account_id}: ${vendorMessage(res.data) || 'no reason given'}`);
  },

  actions: {
    audience: {
      title: 'Sync a DMP segment',
      description: 'Adds entering rows to a LinkedIn DMP segment and removes exiting ones; emails are SHA-256 hashed.',
      modes: ['audience'],
      options,
      fields: {
        email: field(LINKEDIN_FIELD_KEYS.email, true),
        google_aid: field(LINKEDIN_FIELD_KEYS.google_aid, true),
        apple_idfa: field(LINKEDIN_FIELD_KEYS.apple_idfa, true),
        first_name: field(LINKEDIN_FIELD_KEYS.first_name),
        last_name: field(LINKEDIN_FIELD_KEYS.last_name),
        title: field(LINKEDIN_FIELD_KEYS.title),
        company: field(LINKEDIN_FIELD_KEYS.company),
        country: field(LINKEDIN_FIELD_KEYS.country),
      },
      batchSize: 1_000,
      maxBatchSize: LINKEDIN_MAX_ELEMENTS,
      async ensure(ctx) {
        const o = ctx.options as LinkedInOptions;
        const state = await ensureSegment(ctx.http, ctx.settings.ad_account_id, { ...o, segment_name: o.segment_name ?? ctx.sync.name, sourcePlatform: ctx.settings.source_platform });
        ctx.logger.info({ destination: 'linkedin', segment_id: state.segment_id, created: state.created }, state.created ? 'created the LinkedIn DMP segment' : 'using the LinkedIn DMP segment');
        return { segment_id: state.segment_id, ...(state.ready_at ? { ready_at: state.ready_at } : {}) };
      },
      performBatch: (rows, ctx) => sendBatch(rows, ctx),
    },
  },
});

async function sendBatch(rows: OutgoingRow[], ctx: ActionContext<LinkedInSettings>): Promise<RowResult[]> {
  const o = ctx.options as LinkedInOptions;
  const segmentId = typeof ctx.state.segment_id === 'string' ? ctx.state.segment_id : o.segment_id;
  if (!segmentId) throw new ConfigurationError('no LinkedIn DMP segment for this run: ensure did not run and segment_id is not set');
  // a segment created by ensure takes 5 s to accept members
  const wait = typeof ctx.state.ready_at === 'number' ? ctx.state.ready_at - Date.now() : 0;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));

  const plan = buildUsersRequests(rows, segmentId);
  const results: RowResult[] = rows.map((_, i) => plan.failed.get(i) ?? ROW_OK);
  for (const { request, indexes } of plan.requests) {
    const res = await ctx.http.request(request);
    const m = vendorMessage(res.data);
    const reason = `${res.status}${m ? `: ${m}` : ''}`;
    if (res.status === 404) throw new ConfigurationError(`LinkedIn DMP segment ${segmentId} was not found (${reason}): it was deleted, or belongs to another account`);
    if (res.status < 200 || res.status > 299) throw new BatchRejectedError(`LinkedIn rejected the batch (${reason})`);
    const answered = elementResults(indexes.length, res.data);
    indexes.forEach((rowIndex, i) => (results[rowIndex] = answered[i]));
  }
  return results;
}
