import { z } from 'zod';
import cron from 'node-cron';
import { SYNC_MODES } from '../destinations/destination-definition';
import { CdpError } from '../errors/cdp-error';
import { parseDuration } from '../segments/segment-tree';

/**
 * A sync: the one schema behind `syncs/*.yaml` and `POST /api/syncs`.
 *
 * ```yaml
 * name: cart_abandoners_to_klaviyo
 * source: { segment: cart_abandoners, split: target }
 * primary_key: profile_id
 * destination: klaviyo_main
 * action: list_membership
 * mode: mirror
 * options: { list_name: "Cart abandoners", skip_nulls: true }
 * mapping:
 *   email: email
 *   first_name: first_name
 *   properties.greeting: "Hi {{first_name}}, your {{last_product_viewed}} is waiting"
 *   properties.orders: { column: orders_90d, type: integer }
 *   properties.campaign: { value: winter }
 * schedule: { every: 15m }
 * ```
 *
 * `options` holds the engine's options (below) and the action's own (the destination decides them).
 *
 * Event forwarding reads the tracking API's events instead of a table, each sent once, in order:
 *
 * ```yaml
 * name: checkouts_to_braze
 * source: { events: { where: { type: track, event: [Checkout Started, Order Completed] }, traits: [email, first_name] } }
 * destination: braze_main
 * action: events
 * mode: insert                 # the only mode of an events source; primary_key is message_id
 * mapping: { external_id: user_id, event: event, timestamp: timestamp, properties: { column: properties, type: json }, traits.email: email }
 * schedule: realtime
 * ```
 */

/** A bad sync definition: a 400 from the API, and a message naming the file and key for files. */
export class SyncDefinitionError extends CdpError {
  constructor(message: string) {
    super('VALIDATION_FAILED', message);
  }
}

/** Sync names become table names (`cdp.sync_<name>_snapshot`): lower case, digits and _. */
export const SYNC_NAME = /^[a-z][a-z0-9_]{0,47}$/;
const name = z.string().regex(SYNC_NAME, 'lower-case letters, digits and _, starting with a letter (at most 48)');
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a column name (letters, digits, _)');

export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean', 'datetime', 'date', 'json'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** One mapped field: a column (a bare string), a template (a string with `{{`), or the long forms. */
export const fieldMappingSchema = z.union([
  z.string().min(1).max(10_000),
  z.object({ column: identifier, type: z.enum(FIELD_TYPES).optional(), skip_null: z.boolean().optional() }).strict(),
  z.object({ template: z.string().min(1).max(10_000), type: z.enum(FIELD_TYPES).optional(), skip_null: z.boolean().optional() }).strict(),
  z.object({ value: z.union([z.string(), z.number(), z.boolean(), z.null()]) }).strict(),
]);
export type FieldMapping = z.output<typeof fieldMappingSchema>;

const fieldName = z.string().regex(/^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/, 'a field name, dotted for nested fields (properties.greeting)');

/**
 * The columns of an events source (`source: { events: ... }`): the event as raw_events holds it (its
 * first received copy), the profile it belongs to, and then each trait the sync lists.
 */
export const EVENT_SOURCE_COLUMNS = [
  'message_id',
  'type',
  'event',
  'name',
  'user_id',
  'anonymous_id',
  'timestamp',
  'received_at',
  'source_id',
  'properties',
  'context',
  'traits',
  'profile_id',
] as const;
/** The event columns `where` filters on by value; the JSON ones take a path (`properties.plan`). */
export const EVENT_FILTER_COLUMNS = ['type', 'event', 'source_id'] as const;
export const EVENT_JSON_FILTER_COLUMNS = ['properties', 'context'] as const;
const JSON_PATH_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type EventFilterValue = string | number | boolean | null;
const isFilterValue = (v: unknown): v is EventFilterValue => v === null || ['string', 'number', 'boolean'].includes(typeof v);
// values are checked here rather than by a zod union: a failed union inside the source's union would
// hide the key behind "source: Invalid input"
const eventsWhereSchema = z
  .record(z.string(), z.unknown())
  .superRefine((where, ctx) => {
    for (const [key, value] of Object.entries(where)) {
      if (Array.isArray(value) ? value.length === 0 || value.length > 1000 || !value.every(isFilterValue) : !isFilterValue(value)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'a value (text, number, true/false or null) or a list of 1 to 1000 of them' });
      }
      const [column, ...path] = key.split('.');
      if ((EVENT_FILTER_COLUMNS as readonly string[]).includes(column) && path.length === 0) continue;
      if ((EVENT_JSON_FILTER_COLUMNS as readonly string[]).includes(column)) {
        if (path.length > 0 && path.every((p) => JSON_PATH_SEGMENT.test(p))) continue;
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `a path inside ${column} is names of letters, digits and _ joined by dots, such as ${column}.plan or ${column}.page.path`,
        });
        continue;
      }
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `unknown key; filter on ${EVENT_FILTER_COLUMNS.join(', ')}, ${EVENT_JSON_FILTER_COLUMNS.map((c) => `${c}.<path>`).join(' or ')}`,
      });
    }
  })
  .transform((where) => where as Record<string, EventFilterValue | EventFilterValue[]>);
const eventTraitsSchema = z.array(identifier).superRefine((traits, ctx) => {
  const seen = new Set<string>();
  traits.forEach((t, i) => {
    const lower = t.toLowerCase();
    if ((EVENT_SOURCE_COLUMNS as readonly string[]).includes(lower)) {
      ctx.addIssue({ code: 'custom', path: [i], message: `"${t}" is a column of the event itself (${EVENT_SOURCE_COLUMNS.join(', ')}); a profile trait cannot take its name` });
    } else if (lower.startsWith('_cdp_')) {
      ctx.addIssue({ code: 'custom', path: [i], message: `"${t}": names starting with _cdp_ are the engine's` });
    } else if (seen.has(lower)) {
      ctx.addIssue({ code: 'custom', path: [i], message: `"${t}" is listed twice` });
    }
    seen.add(lower);
  });
});

const sourceSchema = z.union([
  z.object({ segment: identifier, split: z.string().min(1).max(63).optional() }).strict(),
  z.object({ model: identifier }).strict(),
  z
    .object({
      events: z
        .object({
          /** equality filters: a value or a list of values per key (all keys must match) */
          where: eventsWhereSchema.optional(),
          /** profile traits (columns of cdp.profiles) added to each event as columns of their own name */
          traits: eventTraitsSchema.optional(),
        })
        .strict(),
    })
    .strict(),
]);
export type SyncSource = z.output<typeof sourceSchema>;
export type EventsSourceSpec = Extract<SyncSource, { events: unknown }>['events'];

/** Whether a sync forwards events (`source: { events: ... }`). */
export const isEventsSource = (source: SyncSource): source is Extract<SyncSource, { events: unknown }> => 'events' in source;

const scheduleSchema = z.union([
  z.literal('manual'),
  // after each pass of the real-time pipeline (or build) that changed the source
  z.literal('realtime'),
  z
    .object({
      every: z.string().refine((v) => (parseDuration(v) ?? 0) >= 60_000, 'a duration of at least 1m such as 15m, 1h or 1d'),
    })
    .strict(),
  z
    .object({
      cron: z.string().refine((v) => cron.validate(v), 'a cron expression such as "0 * * * *" (minute hour day month weekday)'),
      timezone: z.string().optional(),
    })
    .strict(),
  z.object({ after: z.array(identifier).min(1) }).strict(),
]);
export type SyncSchedule = z.output<typeof scheduleSchema>;

/** The engine's own options; every other key of `options` belongs to the destination's action. */
export const engineOptionsSchema = z
  .object({
    /** drop fields whose value is null instead of sending null (clearing the field) */
    skip_nulls: z.boolean().default(false),
    /**
     * the first run: send every row (backfill) or only record them and send later changes
     * (forward_only); unset, an events source starts forward_only
     */
    first_sync: z.enum(['backfill', 'forward_only']).default('backfill'),
    /** rows per batch, below the destination's own limit */
    batch_size: z.number().int().positive().optional(),
    /** how long one request to the destination may take before it counts as a (retryable) timeout */
    timeout_seconds: z.number().positive().max(600).default(30),
    /** attempts per batch for retryable failures (429, 5xx, timeouts) before the run stops */
    max_attempts: z.number().int().min(1).max(20).default(6),
  })
  .strict();
export const ENGINE_OPTION_KEYS = Object.keys(engineOptionsSchema.shape);
export type EngineOptions = z.output<typeof engineOptionsSchema>;

const syncObject = z
  .object({
    name,
    description: z.string().max(1000).optional(),
    source: sourceSchema,
    /** required, except for an events source (always message_id) */
    primary_key: identifier.optional(),
    destination: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'a destination name'),
    /** the destination's action; may be left out when it has one */
    action: z.string().min(1).max(63).optional(),
    mode: z.enum(SYNC_MODES),
    options: z.record(z.string(), z.unknown()).default({}),
    mapping: z.record(fieldName, fieldMappingSchema).refine((m) => Object.keys(m).length > 0, 'map at least one field'),
    schedule: scheduleSchema.default('manual'),
    enabled: z.boolean().default(true),
  })
  .strict();

/** The event-forwarding rules, which read several keys together: checked on the whole definition. */
function sourceRules(def: { source: SyncSource; primary_key?: string; mode: string }, ctx: z.RefinementCtx): void {
  if (!isEventsSource(def.source)) {
    if (def.primary_key === undefined) ctx.addIssue({ code: 'custom', path: ['primary_key'], message: 'required: the source column that identifies a row (unique in the source)' });
    return;
  }
  if (def.primary_key !== undefined && def.primary_key !== 'message_id') {
    ctx.addIssue({ code: 'custom', path: ['primary_key'], message: 'an events source is keyed by message_id (each event is sent once); leave primary_key out or write message_id' });
  }
  if (def.mode !== 'insert') {
    ctx.addIssue({ code: 'custom', path: ['mode'], message: `an events source is sent in mode insert (an event is never updated or removed), not ${def.mode}` });
  }
}

/** primary_key as the engine reads it: an events source's is message_id. */
const withPrimaryKey = <T extends { source: SyncSource; primary_key?: string }>(def: T): T & { primary_key: string } => ({
  ...def,
  primary_key: def.primary_key ?? (isEventsSource(def.source) ? 'message_id' : ''),
});

// zod cannot omit keys from a refined object: the API's PUT body (no name) is built here from the same parts
export const syncSchema = syncObject.superRefine(sourceRules).transform(withPrimaryKey);
export const syncUpdateSchema = syncObject.omit({ name: true }).superRefine(sourceRules).transform(withPrimaryKey);
export type SyncDefinition = z.output<typeof syncSchema>;
export type SyncDefinitionInput = z.input<typeof syncSchema>;

/** The engine's options of a definition, validated (the destination's own are validated by its action). */
export function engineOptions(def: SyncDefinition): EngineOptions {
  const own = Object.fromEntries(Object.entries(def.options).filter(([k]) => ENGINE_OPTION_KEYS.includes(k)));
  const parsed = engineOptionsSchema.safeParse(own);
  if (!parsed.success) throw new SyncDefinitionError(parsed.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`).join('; '));
  // a new event sync forwards what happens from now on: replaying years of history is asked for explicitly
  if (isEventsSource(def.source) && own.first_sync === undefined) return { ...parsed.data, first_sync: 'forward_only' };
  return parsed.data;
}

/** The options that belong to the action. */
export function actionOptions(def: SyncDefinition): Record<string, unknown> {
  return Object.fromEntries(Object.entries(def.options).filter(([k]) => !ENGINE_OPTION_KEYS.includes(k)));
}
