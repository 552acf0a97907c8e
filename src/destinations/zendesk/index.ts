import { defineDestination, ROW_OK, rowFailed, type ActionContext, type HttpClient, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { classifyZendesk, configurationAnswer } from './errors';
import { awaitJob, jobResults, startJob } from './jobs';
import { userOf, ZENDESK_MAX_USERS, type ZendeskUser } from './payload';
import { usersOptions, zendeskSettings, type UsersOptions, type ZendeskSettings } from './settings';
import { checkUserFields, readUserFields, userFieldValue, type UserFieldCatalog } from './user-fields';

type Ctx = ActionContext<ZendeskSettings, UsersOptions>;

/** Jobs of one sync in flight at once: far below the account's 30 queued jobs, which other integrations share. */
const JOBS_IN_FLIGHT = 3;

const identifier = (description: string) => ({ description, type: 'string' as const, identifier: true });
const text = (description: string) => ({ description, type: 'string' as const });

/** Zendesk Support end users through the bulk create-or-update job API (README.md). */
export const zendesk = defineDestination<ZendeskSettings>({
  slug: 'zendesk',
  name: 'Zendesk Support',
  category: 'support',
  description: 'Creates or updates Zendesk Support users (end users) with their user fields, 100 per background job.',
  settings: zendeskSettings,
  // the plan's limit (Team 200 ... High Volume 2,500 a minute), shared by every sync of the account
  rateLimit: (s) => ({ requests: s.requests_per_minute, perMs: 60_000 }),
  accountKey: (s) => s.subdomain,
  baseUrl: (s) => (s.base_url ?? `https://${s.subdomain}.zendesk.com`).replace(/\/+$/, ''),
  headers: (s) => ({
    authorization: s.oauth_token ? `Bearer ${s.oauth_token}` : `Basic ${Buffer.from(`${s.email}/token:${s.api_token}`).toString('base64')}`,
  }),
  classify: classifyZendesk,

  /** The credentials' user (`GET /api/v2/users/me`) must be a signed-in agent or admin; then the user fields are read. */
  async testConnection({ http }) {
    const me = await http.request<{ user?: { id?: unknown; role?: unknown } }>({ method: 'GET', url: 'api/v2/users/me' });
    if (me.status !== 200) throw configurationAnswer('reading the signed-in user (GET /api/v2/users/me)', me);
    const user = me.data?.user;
    if (!user || user.id === null || user.id === undefined) throw new ConfigurationError('Zendesk did not sign these credentials in (it answered as an anonymous user): check email and api_token, or oauth_token');
    if (user.role !== 'admin' && user.role !== 'agent') throw new ConfigurationError(`the Zendesk user of these credentials is ${typeof user.role === 'string' ? `an ${user.role}` : 'of no known role'}: creating and updating users needs an admin or agent`);
    await readUserFields(http);
  },

  actions: {
    users: {
      title: 'Create or update users',
      description: 'Creates or updates end users, matched by external_id or email, 100 per create_or_update_many job; the job is polled and its per-user results become row results.',
      modes: ['upsert'],
      options: usersOptions,
      fields: {
        external_id: identifier('your id for the user; Zendesk matches existing users on it or on the email'),
        email: identifier('the primary email (trimmed, lowercased)'),
        name: text('full name (Zendesk needs it to create a user)'),
        phone: text('phone number'),
        alias: text('the name shown to end users'),
        details: text('details about the user (address, …)'),
        notes: text('notes about the user'),
        locale: text('locale, e.g. en-US'),
        time_zone: text('time zone, e.g. Europe/Paris'),
        organization_id: { description: 'the id of the user’s organization', type: 'number' },
        tags: { description: 'the user’s tags (a list, or text separated by commas or spaces); replaces their tags' },
        verified: { description: 'whether the primary identity is verified', type: 'boolean' },
        user_fields: { description: 'user fields by key, as an object (any other mapped field is one too)', type: 'object' },
      },
      customFields: true,
      batchSize: ZENDESK_MAX_USERS,
      maxBatchSize: ZENDESK_MAX_USERS,
      concurrency: JOBS_IN_FLIGHT,
      async ensure(ctx) {
        return { user_fields: await readUserFields(ctx.http) };
      },
      performBatch: (rows, ctx) => upsertUsers(rows, ctx as Ctx),
    },
  },
});

/** One job for the batch's valid rows; its per-user results mapped back to the rows. */
async function upsertUsers(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const http = ctx.http;
  const results: RowResult[] = rows.map(() => ROW_OK);
  const prepared: { index: number; user: ZendeskUser }[] = [];
  rows.forEach((row, index) => {
    if (row.op !== 'upsert') return void (results[index] = rowFailed(`Zendesk users are upserted only (got ${row.op})`));
    const u = userOf(row);
    if (!u.ok) return void (results[index] = u.result);
    prepared.push({ index, user: u.value });
  });
  if (prepared.length === 0) return results;
  const usesFields = prepared.some((p) => p.user.user_fields !== undefined);
  const sendable = usesFields ? typeFields(prepared, await catalogOf(ctx, http), results) : prepared;
  if (sendable.length === 0) return results;
  const jobId = await startJob(http, sendable.map((p) => p.user));
  ctx.logger.debug({ destination: 'zendesk', job_id: jobId, users: sendable.length }, 'Zendesk users job created');
  const job = await awaitJob(ctx, http, jobId);
  jobResults(sendable.length, job).forEach((r, i) => (results[sendable[i].index] = r));
  return results;
}

/** The run's user field catalog: from `ensure`, else read once here and kept in the run's state. */
async function catalogOf(ctx: Ctx, http: HttpClient): Promise<UserFieldCatalog> {
  const state = ctx.state as { user_fields?: UserFieldCatalog };
  state.user_fields ??= await readUserFields(http);
  return state.user_fields;
}

/** User field values typed for their field: a key the account lacks stops the run, a value that does not fit fails its row. */
function typeFields(prepared: { index: number; user: ZendeskUser }[], catalog: UserFieldCatalog, results: RowResult[]) {
  checkUserFields(catalog, prepared.flatMap((p) => Object.keys(p.user.user_fields ?? {})));
  return prepared.filter((p) => {
    if (!p.user.user_fields) return true;
    const typed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(p.user.user_fields)) {
      const v = userFieldValue(key, value, catalog[key]);
      if (!v.ok) {
        results[p.index] = v.result;
        return false;
      }
      typed[key] = v.value;
    }
    p.user.user_fields = typed;
    return true;
  });
}
