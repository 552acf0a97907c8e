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

const sourceSchema = z.union([
  z.object({ segment: identifier, split: z.string().min(1).max(63).optional() }).strict(),
  z.object({ model: identifier }).strict(),
]);
export type SyncSource = z.output<typeof sourceSchema>;

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
    /** the first run: send every row (backfill) or only record them and send later changes (forward_only) */
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

export const syncSchema = z
  .object({
    name,
    description: z.string().max(1000).optional(),
    source: sourceSchema,
    primary_key: identifier,
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
export type SyncDefinition = z.output<typeof syncSchema>;
export type SyncDefinitionInput = z.input<typeof syncSchema>;

/** The engine's options of a definition, validated (the destination's own are validated by its action). */
export function engineOptions(def: SyncDefinition): EngineOptions {
  const own = Object.fromEntries(Object.entries(def.options).filter(([k]) => ENGINE_OPTION_KEYS.includes(k)));
  const parsed = engineOptionsSchema.safeParse(own);
  if (!parsed.success) throw new SyncDefinitionError(parsed.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/** The options that belong to the action. */
export function actionOptions(def: SyncDefinition): Record<string, unknown> {
  return Object.fromEntries(Object.entries(def.options).filter(([k]) => !ENGINE_OPTION_KEYS.includes(k)));
}
