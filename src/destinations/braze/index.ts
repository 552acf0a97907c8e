import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineDestination, ROW_OK, rowFailed, type ActionContext, type FieldSpec, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { sharedRateLimiter } from '../http/rate-limiter';
import { BRAZE_IDENTIFIERS, BRAZE_RESERVED, prepareUser, type BrazeAttributes, type DeleteKey } from './attributes';
import { checkDeleted, rejected, trackResults } from './errors';
import { packEvents, prepareEvent, trackEventsRequest, trackEventsResults, type PreparedEvent } from './events';
import { BRAZE_MAX_DELETE, BRAZE_MAX_OBJECTS, chunks, connectionTestRequest, deleteRequest, trackRequest } from './requests';

const settings = z.object({
  api_key: z.string().min(1).meta({ writeOnly: true }).describe('a REST API key with users.track (and users.delete for mode mirror)'),
  rest_endpoint: z
    .url({ protocol: /^https?$/ })
    .describe("your instance's REST endpoint, like https://rest.iad-01.braze.com or https://rest.fra-01.braze.eu (Settings › APIs and Identifiers)"),
});
type BrazeSettings = z.infer<typeof settings>;

const options = z
  .object({
    audience_attribute: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .regex(/^[^$]/, 'a custom attribute name cannot start with $')
      .optional()
      .describe('mode audience: the custom attribute that marks members (default cdp_<sync name>)'),
    audience_value: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .optional()
      .describe('mode audience: make the attribute an array and add/remove this value, so several syncs can share one attribute'),
  })
  .strict()
  .refine((o) => o.audience_attribute === undefined || !BRAZE_RESERVED.has(o.audience_attribute), 'audience_attribute cannot be one of Braze’s own profile fields');
type BrazeOptions = z.infer<typeof options>;
type Ctx = ActionContext<BrazeSettings, BrazeOptions>;

/** Braze's per-workspace budget for /users/delete (shared with /users/alias/new, /users/identify, /users/merge). */
const DELETE_LIMIT = { requests: 20_000, perMs: 60_000 };

const accountKey = (s: BrazeSettings) => `${new URL(s.rest_endpoint).host}:${createHash('sha256').update(s.api_key).digest('hex').slice(0, 16)}`;

const identifier = (description: string, type: FieldSpec['type'] = 'string'): FieldSpec => ({ description, type, identifier: true });
const field = (description: string, type: FieldSpec['type'] = 'string'): FieldSpec => ({ description, type });

/** Braze users through /users/track and /users/delete (README.md). */
export const braze = defineDestination<BrazeSettings>({
  slug: 'braze',
  name: 'Braze',
  category: 'messaging',
  description: 'Creates, updates and deletes Braze users (standard and custom attributes), marks segment members with a custom attribute, and forwards events.',
  settings,
  // /users/track: 3,000 requests per 3 seconds per workspace
  rateLimit: { requests: 3_000, perMs: 3_000 },
  accountKey,
  baseUrl: (s) => s.rest_endpoint.replace(/\/+$/, ''),
  headers: (s) => ({ authorization: `Bearer ${s.api_key}` }),

  /** An update-only object for an external id nobody has: checks the key and its users.track permission, changes nothing. */
  async testConnection({ http }) {
    const res = await http.request<{ message?: unknown }>(connectionTestRequest());
    if (res.status < 200 || res.status >= 300) {
      const e = rejected('the connection test (/users/track)', res);
      throw e instanceof ConfigurationError ? e : new ConfigurationError(e.message);
    }
    const message = res.data?.message;
    if (message !== 'success' && message !== 'queued') throw new ConfigurationError(`Braze answered ${res.status} to the connection test without success${typeof message === 'string' ? `: ${message}` : ''}`);
  },

  actions: {
    users: {
      title: 'Sync users',
      description:
        'Upserts users (mode upsert), updates existing users only (update), also deletes users who left the model (mirror), or marks the members of a segment with a custom attribute (audience).',
      modes: ['upsert', 'update', 'mirror', 'audience'],
      options,
      fields: {
        external_id: identifier('your id for the user (preferred identifier)'),
        user_alias: identifier('an alias object: map user_alias.alias_name and user_alias.alias_label', 'object'),
        braze_id: identifier('the id Braze gave the user'),
        email: identifier('email (lowercased, checked); identifies the user when there is no id'),
        phone: identifier('phone, E.164 (a national number is read in country); identifies the user when there is no id or email'),
        first_name: field('first name'),
        last_name: field('last name'),
        country: field('ISO 3166-1 alpha-2 country code'),
        home_city: field('home city'),
        language: field('ISO 639-1 language code'),
        gender: field('M, F, O, N or P (male, female, other, not applicable, prefer not to say)'),
        dob: field('date of birth, YYYY-MM-DD', 'datetime'),
        time_zone: field('IANA time zone (America/New_York)'),
        email_subscribe: field('opted_in, subscribed or unsubscribed'),
        push_subscribe: field('opted_in, subscribed or unsubscribed'),
        image_url: field('URL of the user image'),
        custom_attributes: field('an object whose keys become custom attributes (like any field not listed)', 'object'),
      },
      customFields: true,
      batchSize: BRAZE_MAX_OBJECTS,
      maxBatchSize: BRAZE_MAX_OBJECTS,
      // Braze's budget (1,000 requests a second) is far above one request at a time; a run's users are distinct
      concurrency: 4,
      performBatch: (rows, ctx) => sendUsers(rows, ctx as Ctx),
    },
    events: {
      title: 'Forward events',
      description: 'Sends each event (one row, keyed by its message id) to /users/track as a Braze custom event, with the profile traits of the row as user attributes in the same request.',
      modes: ['insert'],
      options: z.object({}).strict(),
      fields: {
        event: { description: 'the event name', type: 'string', required: true },
        timestamp: { description: 'when the event happened (sent as ISO 8601; Braze requires it)', type: 'datetime', required: true },
        external_id: identifier('your id for the user (preferred identifier)'),
        user_alias: identifier('an alias object: map user_alias.alias_name and user_alias.alias_label', 'object'),
        braze_id: identifier('the id Braze gave the user'),
        email: identifier('email (lowercased, checked); identifies the user when there is no id'),
        phone: identifier('phone, E.164; identifies the user when there is no id or email'),
        app_id: field('the Braze app identifier the event belongs to (optional)'),
        properties: field('an object of event properties (like any field not listed)', 'object'),
        traits: field('an object of profile traits, sent as the user’s attributes in the same request', 'object'),
      },
      customFields: true,
      batchSize: BRAZE_MAX_OBJECTS,
      maxBatchSize: BRAZE_MAX_OBJECTS,
      // one batch at a time: events go out in order per profile
      concurrency: 1,
      performBatch: (rows, ctx) => sendEvents(rows, ctx as Ctx),
    },
  },
});

/** The audience attribute of a sync: the option, else `cdp_<sync name>` (characters other than letters, digits and _ as _). */
export function audienceAttribute(ctx: Pick<Ctx, 'options' | 'sync'>): string {
  return ctx.options.audience_attribute ?? `cdp_${ctx.sync.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * One `/users/track` request for the batch's upserts, updates, adds and removes (≤ 75 objects), and
 * `/users/delete` requests for its deletes (≤ 50 identifiers of one kind each); a result per row.
 * `_update_existing_only` is always explicit: false where a user may be created (upsert, add), true
 * where only existing users change (update, remove).
 */
async function sendUsers(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const tracked: { index: number; object: BrazeAttributes }[] = [];
  const deletes = new Map<DeleteKey['kind'], { index: number; value: DeleteKey['value'] }[]>();
  const attribute = audienceAttribute(ctx);
  const value = ctx.options.audience_value;
  rows.forEach((row, index) => {
    // a remove or delete needs only the user's identifiers: its other fields cannot make it fail
    const p = prepareUser(row.op === 'remove' || row.op === 'delete' ? { ...row, fields: identifiersOf(row.fields) } : row);
    if (!p.ok) return void (results[index] = rowFailed(p.error));
    const { identity, attributes, deleteKey } = p.user;
    switch (row.op) {
      case 'upsert':
        return void tracked.push({ index, object: { ...attributes, _update_existing_only: false } });
      case 'update':
        return void tracked.push({ index, object: { ...attributes, _update_existing_only: true } });
      case 'add':
        return void tracked.push({ index, object: { ...attributes, [attribute]: value === undefined ? true : { add: [value] }, _update_existing_only: false } });
      case 'remove':
        return void tracked.push({ index, object: { ...identity, [attribute]: value === undefined ? false : { remove: [value] }, _update_existing_only: true } });
      case 'delete': {
        if (!deleteKey) return void (results[index] = rowFailed('Braze deletes users by external_id, user_alias, braze_id or email; this row has only a phone'));
        const group = deletes.get(deleteKey.kind) ?? [];
        group.push({ index, value: deleteKey.value });
        return void deletes.set(deleteKey.kind, group);
      }
      default:
        results[index] = rowFailed(`Braze users take upsert, update, delete, add and remove (got ${row.op})`);
    }
  });

  for (const chunk of chunks(tracked, BRAZE_MAX_OBJECTS)) {
    const res = await ctx.http.request(trackRequest(chunk.map((c) => c.object)));
    if (res.status < 200 || res.status >= 300) throw rejected('/users/track', res);
    trackResults(chunk.length, res).forEach((r, i) => (results[chunk[i].index] = r));
  }
  const budget = sharedRateLimiter(`braze:${accountKey(ctx.settings)}:users-delete`, DELETE_LIMIT);
  for (const [kind, items] of deletes) {
    for (const chunk of chunks(items, BRAZE_MAX_DELETE)) {
      await budget.take();
      checkDeleted(await ctx.http.request(deleteRequest(kind, chunk.map((c) => c.value))));
    }
  }
  return results;
}

/**
 * Events in row order, in `/users/track` requests of at most 75 objects (events and their users'
 * attributes objects together); a result per row. A message id seen twice in the batch is sent once
 * (the second row is ok): Braze would record it twice.
 */
async function sendEvents(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const items: PreparedEvent[] = [];
  const seen = new Set<string>();
  rows.forEach((row, index) => {
    if (row.op !== 'insert') return void (results[index] = rowFailed(`Braze events take insert (got ${row.op})`));
    if (seen.has(row.key)) return;
    const p = prepareEvent(row);
    if (!p.ok) return void (results[index] = rowFailed(p.error));
    seen.add(row.key);
    items.push({ index, ...p.event });
  });
  const requests = packEvents(items);
  for (const [n, request] of requests.entries()) {
    try {
      const res = await ctx.http.request(trackEventsRequest(request));
      if (res.status < 200 || res.status >= 300) throw rejected('/users/track', res);
      trackEventsResults(request, res, ctx.logger).forEach((r, i) => (results[request.rows[i]] = r));
    } catch (e) {
      // before anything was recorded, the engine may retry or bisect the batch; after, that would
      // record the earlier requests' events twice: the rows not sent fail instead (sent next run)
      if (n === 0 || e instanceof ConfigurationError) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      for (const later of requests.slice(n)) for (const index of later.rows) results[index] = rowFailed(`not sent (the batch's earlier events were recorded): ${reason}`);
      break;
    }
  }
  return results;
}

/** The identifier fields of a row (and `country` with a phone: it reads a national number). */
const identifiersOf = (fields: Record<string, unknown>) =>
  Object.fromEntries([...BRAZE_IDENTIFIERS, ...(fields.phone !== undefined ? ['country'] : [])].filter((k) => k in fields).map((k) => [k, fields[k]]));
