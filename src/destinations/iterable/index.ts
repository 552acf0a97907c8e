import { defineDestination, ROW_OK, rowFailed, type ActionContext, type FieldSpec, type HttpResponse, type OutgoingRow, type RateLimit, type RowResult } from '../destination-definition';
import { ConfigurationError, RetryableError } from '../destination-errors';
import { sharedRateLimiter } from '../http/rate-limiter';
import { sha256Hex } from '../pii';
import { asConfiguration, bulkResults, classifyIterable, iterableCode, unexpectedAnswer, type BulkAnswer } from './errors';
import { eventOf, ITERABLE_MAX_EVENTS, packEvents, trackBulkRequest, trackBulkResults, type PreparedEvent, type TrackBulkAnswer } from './events';
import { ensureList, getListsRequest } from './lists';
import { bulkUpdateRequest, deleteRequest, ITERABLE_MAX_USERS, listRequest, packUsers, userOf, type PreparedUser } from './payload';
import { baseUrl, eventsOptions, iterableSettings, listOptions, usersOptions, type EventsOptions, type IterableSettings, type ListOptions, type UsersOptions } from './settings';

export { iterableSettings, type IterableSettings } from './settings';

/** bulkUpdate: 5 requests a second per project (spec). The list calls publish no figure: they get the same budget. */
export const ITERABLE_BULK_LIMIT: RateLimit = { requests: 5, perMs: 1_000 };
/** trackBulk: 10 requests a second per project (spec). */
export const ITERABLE_TRACK_BULK_LIMIT: RateLimit = { requests: 10, perMs: 1_000 };
/** Deletes in flight at once in a mirror batch (they also wait for the 100/s budget). */
const DELETE_CONCURRENCY = 10;

/** The project's key for shared budgets: a short hash of the API key (one key, one project). */
const projectKey = (s: IterableSettings) => `key-${sha256Hex(s.api_key).slice(0, 16)}`;

/** The per-endpoint budget of a bulk endpoint, shared by every sync of the project, on top of the 100/s one. */
const bulkBudget = (s: IterableSettings, endpoint: 'bulkUpdate' | 'lists' | 'trackBulk') =>
  sharedRateLimiter(`iterable:${projectKey(s)}:${endpoint}`, endpoint === 'trackBulk' ? ITERABLE_TRACK_BULK_LIMIT : ITERABLE_BULK_LIMIT);

const identifier = (description: string): FieldSpec => ({ description, type: 'string', identifier: true });

const USER_FIELDS: Record<string, FieldSpec> = {
  email: identifier('the email address (trimmed, lowercased)'),
  userId: identifier('your id for the user (userID-based and hybrid projects)'),
  firstName: { description: 'first name', type: 'string' },
  lastName: { description: 'last name', type: 'string' },
  phoneNumber: { description: 'phone number, sent in E.164 (for SMS)', type: 'string' },
  dataFields: { description: 'an object of custom data fields (merged with the other custom fields)', type: 'object' },
};

/** Iterable users (bulk update, delete) and static list membership (subscribe, unsubscribe): README.md. */
export const iterable = defineDestination<IterableSettings>({
  slug: 'iterable',
  name: 'Iterable',
  category: 'email',
  description: 'Creates and updates Iterable users in bulk (deleting them in mirror mode), keeps a static list in step with a sync, and forwards events.',
  settings: iterableSettings,
  // most endpoints the adapter calls (GET /api/lists, user deletes) allow 100 requests/s per project;
  // the bulk endpoints take from their own 5/s budget as well (bulkBudget)
  rateLimit: { requests: 100, perMs: 1_000 },
  accountKey: projectKey,
  baseUrl,
  headers: (s) => ({ 'api-key': s.api_key }),
  classify: classifyIterable,

  /** Lists the project's lists: a bad or client-side key fails here (401 → ConfigurationError). */
  async testConnection({ http }) {
    const res = await http.request(getListsRequest);
    if (res.status !== 200) throw asConfiguration(unexpectedAnswer('listing lists', res));
  },

  actions: {
    users: {
      title: 'Sync users',
      description: 'Creates or updates users with their data fields (bulk update); in mirror mode deletes the users that left the source.',
      modes: ['upsert', 'mirror'],
      options: usersOptions,
      fields: USER_FIELDS,
      customFields: true,
      batchSize: ITERABLE_MAX_USERS,
      maxBatchSize: ITERABLE_MAX_USERS,
      performBatch: (rows, ctx) => sendUsers(rows, ctx as ActionContext<IterableSettings, UsersOptions>),
    },
    list_membership: {
      title: 'Sync static list membership',
      description: 'Subscribes entering users to a static list (creating or updating them with their data fields) and unsubscribes exiting ones from it.',
      modes: ['audience'],
      options: listOptions,
      fields: USER_FIELDS,
      customFields: true,
      batchSize: ITERABLE_MAX_USERS,
      maxBatchSize: ITERABLE_MAX_USERS,
      async ensure(ctx) {
        const o = ctx.options as ListOptions;
        const { list_id, created } = await ensureList(ctx.http, { list_id: o.list_id, list_name: o.list_name ?? ctx.sync.name });
        ctx.logger.info({ destination: 'iterable', list_id, created }, created ? 'created the Iterable list' : 'using the Iterable list');
        return { list_id };
      },
      performBatch: (rows, ctx) => sendListMembership(rows, ctx as ActionContext<IterableSettings, ListOptions>),
    },
    events: {
      title: 'Forward events',
      description: 'Sends each event (one row, keyed by its message id) through bulk event tracking, with the message id as the event id (Iterable keeps one event per id).',
      modes: ['insert'],
      options: eventsOptions,
      fields: {
        event: { description: 'the event name (eventName)', type: 'string', required: true },
        timestamp: { description: 'when the event happened (createdAt, Unix seconds; default: when Iterable receives it)', type: 'datetime' },
        email: identifier('the email address (trimmed, lowercased)'),
        userId: identifier('your id for the user (userID-based and hybrid projects)'),
        properties: { description: 'an object of event data fields (like any field not listed)', type: 'object' },
        traits: { description: 'an object of profile traits, sent in the event data fields under `traits`', type: 'object' },
      },
      customFields: true,
      batchSize: ITERABLE_MAX_EVENTS,
      maxBatchSize: ITERABLE_MAX_EVENTS,
      // one batch at a time: events go out in order per profile (Iterable: "send them all to the same endpoint")
      concurrency: 1,
      performBatch: (rows, ctx) => sendEvents(rows, ctx as ActionContext<IterableSettings, EventsOptions>),
    },
  },
});

/**
 * Events in row order, ≤ 1,000 and 4 MB a trackBulk call (each call also waits for the project's
 * 10/s trackBulk budget); a result per row. A message id repeated in the batch is sent once.
 */
async function sendEvents(rows: OutgoingRow[], ctx: ActionContext<IterableSettings, EventsOptions>): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const events: PreparedEvent[] = [];
  const seen = new Set<string>();
  rows.forEach((row, index) => {
    if (row.op !== 'insert') return void (results[index] = rowFailed(`Iterable events take insert (got ${row.op})`));
    if (seen.has(row.key)) return;
    const p = eventOf(row, index, { identifier: ctx.options.identifier, createNewFields: ctx.options.create_new_fields });
    if (!p.ok) return void (results[index] = p.result);
    seen.add(row.key);
    events.push(p.value);
  });
  for (const group of packEvents(events)) {
    await bulkBudget(ctx.settings, 'trackBulk').take();
    const res = await ctx.http.request<TrackBulkAnswer>(trackBulkRequest(group.map((g) => g.event)));
    trackBulkResults(group, res).forEach((r, i) => (results[group[i].index] = r));
    const dropped = res.data?.filteredOutFields;
    if (Array.isArray(dropped) && dropped.length > 0) {
      ctx.logger.warn({ destination: 'iterable', filteredOutFields: dropped }, 'Iterable dropped event data fields the project does not know (set create_new_fields: true to add them)');
    }
  }
  return results;
}

/** Upserts go to bulkUpdate (≤ 1,000 users and 4 MB a call); deletes one call per user. */
async function sendUsers(rows: OutgoingRow[], ctx: ActionContext<IterableSettings, UsersOptions>): Promise<RowResult[]> {
  const o = ctx.options;
  const results: RowResult[] = rows.map(() => ROW_OK);
  const upserts: PreparedUser[] = [];
  const deletes: PreparedUser[] = [];
  rows.forEach((row, index) => {
    if (row.op !== 'upsert' && row.op !== 'delete') return void (results[index] = rowFailed(`Iterable users take upsert and delete (got ${row.op})`));
    const p = userOf(row, index, { identifier: o.identifier, withData: row.op === 'upsert' });
    if (!p.ok) return void (results[index] = p.result);
    if (row.op === 'upsert' && o.merge_nested_objects) p.value.user.mergeNestedObjects = true;
    (row.op === 'upsert' ? upserts : deletes).push(p.value);
  });

  for (const group of packUsers(upserts)) {
    await bulkBudget(ctx.settings, 'bulkUpdate').take();
    const res = await ctx.http.request<BulkAnswer>(bulkUpdateRequest(group.map((g) => g.user), o.create_new_fields));
    bulkResults(group, res, 'updating users').forEach((r, i) => (results[group[i].index] = r));
    const dropped = res.data?.filteredOutFields;
    if (Array.isArray(dropped) && dropped.length > 0) {
      ctx.logger.warn({ destination: 'iterable', filteredOutFields: dropped }, 'Iterable dropped data fields the project does not know (set create_new_fields: true to add them)');
    }
  }

  await eachLimited(deletes, DELETE_CONCURRENCY, async (d) => {
    results[d.index] = deleteResult(await ctx.http.request(deleteRequest(d.user)));
  });
  return results;
}

/** Codes Iterable may answer for a user it does not have: deleting them is already done. */
const GONE = new Set(['NotFound', 'UnknownEmailError', 'UnknownUserIdError']);

function deleteResult(res: HttpResponse): RowResult {
  const { code, msg } = iterableCode(res.data);
  if (res.status === 200 || res.status === 404 || (code !== undefined && GONE.has(code))) return ROW_OK;
  return rowFailed(`Iterable did not delete this user: ${res.status}${code ? ` ${code}` : ''}${msg ? `: ${msg}` : ''}`);
}

/** Adds subscribe (creating or updating users with their data fields), removes unsubscribe; ≤ 1,000 a call. */
async function sendListMembership(rows: OutgoingRow[], ctx: ActionContext<IterableSettings, ListOptions>): Promise<RowResult[]> {
  const o = ctx.options;
  const listId = typeof ctx.state.list_id === 'number' ? ctx.state.list_id : o.list_id;
  if (listId === undefined) throw new ConfigurationError('no Iterable list for this run: ensure did not run and list_id is not set');
  const results: RowResult[] = rows.map(() => ROW_OK);
  const adds: PreparedUser[] = [];
  const removes: PreparedUser[] = [];
  rows.forEach((row, index) => {
    if (row.op !== 'add' && row.op !== 'remove') return void (results[index] = rowFailed(`Iterable lists only add and remove users (got ${row.op})`));
    const p = userOf(row, index, { identifier: o.identifier, withData: row.op === 'add' });
    if (!p.ok) return void (results[index] = p.result);
    (row.op === 'add' ? adds : removes).push(p.value);
  });
  for (const [change, users] of [
    ['subscribe', adds],
    ['unsubscribe', removes],
  ] as const) {
    for (const group of packUsers(users)) {
      await bulkBudget(ctx.settings, 'lists').take();
      const res = await ctx.http.request<BulkAnswer>(listRequest(change, listId, group.map((g) => g.user)));
      bulkResults(group, res, `${change === 'subscribe' ? 'subscribing users to' : 'unsubscribing users from'} list ${listId}`, { notFoundOk: change === 'unsubscribe' }).forEach(
        (r, i) => (results[group[i].index] = r),
      );
    }
  }
  return results;
}

/** Runs `fn` over the items with at most `limit` in flight; the first error is thrown once all have settled. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failure ??= e instanceof Error ? e : new RetryableError(String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure;
}
