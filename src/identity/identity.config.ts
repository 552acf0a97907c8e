import { z } from 'zod';

/**
 * The `identity:` section of cdp.yaml: which identifiers stitch records into profiles, how they are
 * normalized, which values never count, the limits per profile, and the traits each profile carries.
 *
 * A reference (`from`) names where a value lives:
 * - `events.<column>` or `events.<json column>.<path…>`: the tracking API's `cdp.raw_events`
 *   (`events.user_id`, `events.anonymous_id`, `events.traits.email`, `events.context.traits.email`);
 * - `<model or seed>.<column>`: a column of a model or seed of the project (`stg_customers.customer_id`).
 *
 * Every identifier found in one record (an event, or a row of a model) is linked to the others of
 * that record; profiles are the connected components of those links, split where a limit says so.
 */
const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain name (letters, digits, _)');
export const REFERENCE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)+$/;
const reference = z
  .string()
  .regex(REFERENCE_PATTERN, 'a reference such as events.traits.email or stg_customers.email (<events|model|seed>.<column>[.<json path>])');
const references = z.union([reference, z.array(reference).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const NORMALIZERS = ['email', 'phone', 'trim'] as const;
export type Normalizer = (typeof NORMALIZERS)[number];

const identifierSchema = z
  .object({
    type: name,
    from: references,
    /** default: `email` for type email, `phone` for type phone, `trim` otherwise */
    normalize: z.enum(NORMALIZERS).optional(),
    /** ISO 3166-1 alpha-2 country for national phone numbers */
    default_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as GB').optional(),
    /** at most this many values of this type in one profile; links that would exceed it are not merged */
    limit: z.number().int().positive().optional(),
  })
  .strict();

const ignoreRule = z.union([
  z.string(),
  z.object({ pattern: z.string().min(1, 'an empty pattern would ignore every value') }).strict(),
]);

export const TRAIT_RULES = ['latest', 'first', 'priority'] as const;

const traitSchema = z
  .object({
    name,
    from: references,
    /**
     * latest: the most recent non-null value; first: the earliest; priority: the first source in
     * `from` that has a value (latest within it)
     */
    rule: z.enum(TRAIT_RULES).default('latest'),
  })
  .strict();

export const COMPUTED_FUNCTIONS = ['count', 'count_distinct', 'sum', 'min', 'max', 'avg', 'first', 'last'] as const;
export type ComputedFunction = (typeof COMPUTED_FUNCTIONS)[number];

const windowPattern = /^(\d+)\s*(m|h|d|w)$/;
const filterValue = z.union([z.string(), z.number(), z.boolean()]);

const computedTraitSchema = z
  .object({
    name,
    /** `events` or a model/seed whose rows carry identifiers listed under `identifiers` */
    from: name,
    function: z.enum(COMPUTED_FUNCTIONS),
    /** the column aggregated (`properties.revenue` on events); not needed for count */
    column: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/, 'a column or a json path such as properties.revenue').optional(),
    /** equality filters: column (or json path) -> value, or a list of values (any of them) */
    where: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/, 'a column or a json path'), z.union([filterValue, z.array(filterValue).min(1)])).default({}),
    /** only rows newer than this, relative to the run: 30m, 12h, 90d, 4w */
    window: z.string().regex(windowPattern, 'a window such as 90d, 12h, 4w or 30m').optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.function !== 'count' && !t.column) ctx.addIssue({ code: 'custom', path: ['column'], message: `function ${t.function} needs a column` });
  });

const sourceSchema = z
  .object({
    /** the column with each row's time (first_seen/last_seen, latest/first traits, windows) */
    time: name.optional(),
  })
  .strict();

const columnOrPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/, 'a column or a json path such as properties.revenue');
export const EVENT_PROPERTY_TYPES = ['string', 'integer', 'float', 'boolean', 'timestamp'] as const;

/**
 * An event stream of `profile_events` (what segments test: "performed Order Completed twice in 30
 * days"): the rows of `events` (the tracking API) or of a model, each an event of the profile its
 * identifiers belong to, named by a column (`event_column`) or one fixed name (`event`).
 */
const eventStreamSchema = z
  .object({
    from: name,
    /** the column (or json path) with each row's event name */
    event_column: columnOrPath.optional(),
    /** one name for every row (`Order Completed` for the rows of an orders model) */
    event: z.string().min(1).optional(),
    /**
     * the properties segments can filter and aggregate: a column (its name and type carry over), or
     * `{name, from, type}` for a json path or a rename (json paths are text unless a type is given)
     */
    properties: z.array(z.union([columnOrPath, z.object({ name, from: columnOrPath, type: z.enum(EVENT_PROPERTY_TYPES).optional() }).strict()])).default([]),
    /** only the rows with these values: column (or json path) -> value, or a list of values */
    where: z.record(columnOrPath, z.union([filterValue, z.array(filterValue).min(1)])).default({}),
  })
  .strict()
  .superRefine((e, ctx) => {
    if ((e.event === undefined) === (e.event_column === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['event_column'], message: 'give either event_column (the column with the event name) or event (one name for every row)' });
    }
  });

export const identityConfigSchema = z
  .object({
    identifiers: z.array(identifierSchema).min(1),
    /** values that never identify anyone (compared case-insensitively with the normalized value) */
    ignore: z.array(ignoreRule).default([]),
    /** identifier types in order of trust; default: the order of `identifiers` */
    priority: z.array(name).optional(),
    /** per model/seed used in `from`: its time column */
    sources: z.record(name, sourceSchema).default({}),
    traits: z.array(traitSchema).default([]),
    computed_traits: z.array(computedTraitSchema).default([]),
    /**
     * the event streams of `cdp.profile_events`; default: the tracking API's track calls
     * (`{from: events, event_column: event}`) when an identifier is read from events
     */
    events: z.array(eventStreamSchema).optional(),
    /**
     * the time windows of computed traits end at (default: the time of the run); set it to replay
     * history or to work on a historical data set (an ISO date or timestamp)
     */
    as_of: z.iso.datetime({ offset: true, local: true }).or(z.iso.date()).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.ignore.forEach((rule, i) => {
      if (typeof rule === 'string') return;
      try {
        new RegExp(rule.pattern, 'i');
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['ignore', i, 'pattern'], message: `not a valid regular expression: ${(e as Error).message}` });
      }
    });
    const types = c.identifiers.map((i) => i.type);
    types.forEach((t, i) => {
      if (types.indexOf(t) !== i) ctx.addIssue({ code: 'custom', path: ['identifiers', i, 'type'], message: `identifier type "${t}" is declared twice; list all its sources in one from:` });
    });
    c.identifiers.forEach((idf, i) => {
      if (idf.default_country && (idf.normalize ?? defaultNormalizer(idf.type)) !== 'phone') {
        ctx.addIssue({ code: 'custom', path: ['identifiers', i, 'default_country'], message: 'default_country applies to phone normalization only' });
      }
    });
    if (c.priority) {
      c.priority.forEach((t, i) => {
        if (!types.includes(t)) ctx.addIssue({ code: 'custom', path: ['priority', i], message: `"${t}" is not a declared identifier type (${types.join(', ')})` });
      });
      const missing = types.filter((t) => !c.priority!.includes(t));
      if (missing.length) ctx.addIssue({ code: 'custom', path: ['priority'], message: `priority must list every identifier type; missing ${missing.join(', ')}` });
    }
    const traitNames = [...c.traits.map((t) => t.name), ...c.computed_traits.map((t) => t.name)];
    const reserved = ['profile_id', 'first_seen', 'last_seen', 'updated_at', 'identifiers'];
    traitNames.forEach((n, i) => {
      const [list, idx] = i < c.traits.length ? ['traits', i] : ['computed_traits', i - c.traits.length];
      if (traitNames.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: [list, idx, 'name'], message: `trait "${n}" is declared twice` });
      if (reserved.includes(n)) ctx.addIssue({ code: 'custom', path: [list, idx, 'name'], message: `"${n}" is a column every profile already has; choose another name` });
    });
  });

export type IdentityConfig = z.output<typeof identityConfigSchema>;
export type IdentifierConfig = IdentityConfig['identifiers'][number];
export type TraitConfig = IdentityConfig['traits'][number];
export type ComputedTraitConfig = IdentityConfig['computed_traits'][number];
export type EventStreamConfig = NonNullable<IdentityConfig['events']>[number];

export function defaultNormalizer(type: string): Normalizer {
  return type === 'email' ? 'email' : type === 'phone' ? 'phone' : 'trim';
}

/** A window such as `90d` in seconds. */
export function windowSeconds(window: string): number {
  const m = windowPattern.exec(window);
  if (!m) throw new Error(`bad window ${window}`);
  const unit = { m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
