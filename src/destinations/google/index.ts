import { defineDestination, ROW_OK, rowFailed, type ActionContext, type HttpClient, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import * as dm from './data-manager';
import { classifyGoogle, failure, googleAdsErrors, googleStatus, memberViolations } from './errors';
import * as ads from './google-ads';
import { prepareMember, type Identifier } from './identifiers';
import { customerMatchOptions, googleSettings, type CustomerMatchOptions, type GoogleSettings } from './settings';

type Ctx = ActionContext<GoogleSettings, CustomerMatchOptions>;
interface Member {
  /** the row's position in the batch */
  index: number;
  identifiers: Identifier[];
}

/** Google Customer Match through the Data Manager API (default) or the legacy Google Ads API (README.md). */
export const google = defineDestination<GoogleSettings>({
  slug: 'google',
  name: 'Google Ads Customer Match',
  category: 'ads',
  description: 'Adds and removes people in Google Ads Customer Match lists (Data Manager API, or the Google Ads API OfflineUserDataJob flow).',
  settings: googleSettings,
  // Data Manager: 300 requests per minute per Cloud project; we budget per Google Ads account
  rateLimit: { requests: 300, perMs: 60_000 },
  accountKey: (s) => s.customer_id,
  baseUrl: (s) => (s.api === 'google_ads' ? s.google_ads_url : s.data_manager_url),
  headers: (s) => ({ authorization: `Bearer ${s.access_token}`, ...(s.api === 'google_ads' ? ads.googleAdsHeaders(s) : {}) }),
  classify: classifyGoogle,

  async testConnection({ settings, http }) {
    const res = await http.request(settings.api === 'google_ads' ? ads.probeRequest(settings) : dm.probeRequest(settings));
    if (res.status < 200 || res.status > 299) throw new ConfigurationError(failure(res, 'the connection test').message);
  },

  actions: {
    customer_match: {
      title: 'Customer Match list',
      description: 'Keeps a Customer Match list in step with a segment: rows entering are added, rows leaving removed. Emails, phones and names are normalized and SHA-256 hashed per Google.',
      modes: ['audience'],
      options: customerMatchOptions,
      fields: {
        email: { description: 'email address (or a list of them), plain or SHA-256 hex', identifier: true },
        phone: { description: 'phone number (or a list), E.164 or national with country_code; plain or SHA-256 hex', identifier: true },
        first_name: { description: 'first name (address match, with last_name, country_code, postal_code)' },
        last_name: { description: 'last name (address match)' },
        country_code: { description: 'ISO 3166-1 alpha-2 country (address match; reads national phone numbers)' },
        postal_code: { description: 'postal code (address match, not hashed)' },
      },
      batchSize: 5_000,
      maxBatchSize: dm.DM_MAX_MEMBERS,
      ensure: (ctx) => ensureUserList(ctx as Ctx),
      performBatch: (rows, ctx) => performBatch(rows, ctx as Ctx),
    },
  },
});

/** The user list of the sync: `user_list_id` as given, else the CRM-based list named `audience_name`, created when missing. */
async function ensureUserList(ctx: Ctx): Promise<Record<string, unknown>> {
  const { settings: s, options: o, http } = ctx;
  if (o.user_list_id) return { user_list_id: o.user_list_id };
  const name = o.audience_name ?? ctx.sync.name;
  if (s.api === 'google_ads') {
    const found = await call(http, ads.searchUserListRequest(s, name), 'finding the user list');
    const id = ads.readSearch(found) ?? ads.readMutate(await call(http, ads.createUserListRequest(s, name, o.audience_description), 'creating the user list'));
    if (!id) throw new ConfigurationError(`Google did not return the id of user list "${name}"`);
    return { user_list_id: id };
  }
  let pageToken: string | undefined;
  for (let page = 0; page < 100; page++) {
    const { id, nextPageToken } = dm.readUserLists(await call(http, dm.findUserListRequest(s, name, pageToken), 'finding the user list'), name);
    if (id) return { user_list_id: id };
    if (!nextPageToken) break;
    pageToken = nextPageToken;
  }
  const created = await call(http, dm.createUserListRequest(s, name, o.audience_description), 'creating the user list');
  const id = dm.userListId((created ?? {}) as Record<string, unknown>);
  if (!id) throw new ConfigurationError(`Google did not return the id of the created user list "${name}"`);
  ctx.logger.info({ destination: 'google', userList: id, name }, 'created Customer Match user list');
  return { user_list_id: id };
}

async function performBatch(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const fromState = ctx.state.user_list_id;
  const userListId = typeof fromState === 'string' || typeof fromState === 'number' ? String(fromState) : (ctx.options.user_list_id ?? '');
  if (!userListId) throw new ConfigurationError('no user list for this sync (ensure did not run)');
  const legacy = ctx.settings.api === 'google_ads';
  const results: RowResult[] = rows.map(() => ROW_OK);
  const groups: Record<'add' | 'remove', Member[]> = { add: [], remove: [] };
  rows.forEach((row, index) => {
    if (row.op !== 'add' && row.op !== 'remove') {
      results[index] = rowFailed(`Customer Match only adds and removes members (got ${row.op})`);
      return;
    }
    const member = prepareMember(row.fields, legacy ? ads.ADS_MAX_IDENTIFIERS : dm.DM_MAX_IDENTIFIERS, ctx.options.default_country);
    if (!member.ok) results[index] = rowFailed(member.error);
    else groups[row.op].push({ index, identifiers: member.identifiers });
  });
  for (const kind of ['add', 'remove'] as const) {
    if (groups[kind].length === 0) continue;
    if (legacy) await sendJob(ctx, kind, groups[kind], userListId, results);
    else for (let i = 0; i < groups[kind].length; i += dm.DM_MAX_MEMBERS) await sendMembers(ctx, kind, groups[kind].slice(i, i + dm.DM_MAX_MEMBERS), userListId, results);
  }
  return results;
}

/**
 * One Data Manager request. A 400 whose field violations name members rejects the whole request:
 * those rows fail with Google's reason and the others are sent again (at most three rounds); a 400
 * naming no member rejects the batch (the engine bisects it).
 */
async function sendMembers(ctx: Ctx, kind: 'add' | 'remove', members: Member[], userListId: string, results: RowResult[]): Promise<void> {
  let pending = members;
  for (let round = 0; round < 3 && pending.length > 0; round++) {
    const res = await ctx.http.request(dm.membersRequest(kind, pending.map((m) => m.identifiers), ctx.settings, ctx.options, userListId));
    if (res.status >= 200 && res.status < 300) return;
    const rejected = res.status === 400 ? memberViolations(googleStatus(res.data)) : new Map<number, string>();
    if (rejected.size === 0) throw failure(res, `audienceMembers:${kind === 'add' ? 'ingest' : 'remove'}`);
    for (const [i, reason] of rejected) if (pending[i]) results[pending[i].index] = rowFailed(`Google rejected the member: ${reason}`);
    pending = pending.filter((_, i) => !rejected.has(i));
  }
  if (pending.length > 0) throw new BatchRejectedError('Google kept rejecting members of this batch after three rounds');
}

/**
 * Legacy: one OfflineUserDataJob per operation kind and batch: create, `addOperations` in chunks of
 * 10,000 identifiers with partial failure on (an operation's error fails its row only), then run.
 * The job runs asynchronously at Google; its outcome is not awaited.
 */
async function sendJob(ctx: Ctx, kind: 'add' | 'remove', members: Member[], userListId: string, results: RowResult[]): Promise<void> {
  const { settings: s, http } = ctx;
  const created = (await call(http, ads.createJobRequest(s, ctx.options, userListId), 'creating the OfflineUserDataJob')) as { resourceName?: unknown } | undefined;
  const job = typeof created?.resourceName === 'string' ? created.resourceName : undefined;
  if (!job) throw new BatchRejectedError('Google did not return the resource name of the OfflineUserDataJob');
  for (const chunk of ads.chunkByIdentifiers(members, ads.ADS_IDENTIFIERS_PER_REQUEST)) {
    const data = await call(
      http,
      ads.addOperationsRequest(
        s,
        job,
        kind === 'add' ? 'create' : 'remove',
        chunk.map((m) => m.identifiers),
      ),
      'addOperations',
    );
    const partial = googleStatus({ error: (data as { partialFailureError?: unknown } | undefined)?.partialFailureError });
    for (const e of partial ? googleAdsErrors(partial.details) : []) {
      const member = e.index === undefined ? undefined : chunk[e.index];
      if (member) results[member.index] = rowFailed(`Google rejected the member: ${e.code}: ${e.message}`);
    }
  }
  await call(http, ads.runJobRequest(s, job), 'running the OfflineUserDataJob');
  ctx.logger.info({ destination: 'google', job, operations: members.length, kind }, 'Customer Match job running');
}

/** Sends a request; a non-2xx answer becomes the matching destination error. */
async function call(http: HttpClient, req: Parameters<HttpClient['request']>[0], what: string): Promise<unknown> {
  const res = await http.request(req);
  if (res.status >= 200 && res.status < 300) return res.data;
  throw failure(res, what);
}
