import { z } from 'zod';
import { CdpError } from '../errors/cdp-error';

/**
 * A segment as a condition tree: the one schema behind `segments/*.yaml`, `POST /api/segments` and
 * `POST /api/segments/preview`. It checks the shape only; names and types are checked against the
 * warehouse by the compiler (segment-compiler.ts), which raises the same error class.
 *
 * ```yaml
 * name: cart_abandoners
 * where:
 *   and:
 *     - event: { name: Product Added, count: { gte: 1 }, within: 7d }
 *     - not: { event: { name: Order Completed, within: 7d } }
 *     - trait: { name: email, op: is_set }
 * split: { target: 90, holdout: 10 }
 * ```
 */

/** A bad segment definition (shape, names or types): a 400 from the API. The message names the path in the tree. */
export class SegmentDefinitionError extends CdpError {
  constructor(message: string) {
    super('VALIDATION_FAILED', message);
  }
}

export const TRAIT_OPS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'contains', 'starts_with', 'is_set', 'is_not_set', 'within_last', 'before'] as const;
export type TraitOp = (typeof TRAIT_OPS)[number];
export const COMPARISON_OPS = ['=', '!=', '<', '<=', '>', '>='] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];
export const AGGREGATE_FUNCTIONS = ['sum', 'min', 'max', 'avg', 'count'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** The longest string value a condition takes, and the longest `in` list. */
export const MAX_VALUE_LENGTH = 10_000;
export const MAX_LIST_LENGTH = 10_000;

// ── durations and dates ──────────────────────────────────────────────────────
const DURATION_PATTERN = /^(\d{1,6})(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const MAX_DURATION_MS = 36_525 * UNIT_MS.d;
const DURATION_HINT = 'a duration such as 90m, 12h, 30d or 4w (at most 100 years)';

/** Milliseconds of a duration (`90m`, `12h`, `30d`, `4w`; days are 24 hours, in UTC), or undefined when it is not one. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DURATION_PATTERN.exec(value);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined;
}

const ISO_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|([+-])(\d{2}):?(\d{2}))?)?$/;
export const DATE_HINT = 'an ISO date such as 2024-01-31';
export const TIMESTAMP_HINT = 'an ISO date or timestamp such as 2024-01-31 or 2024-01-31T12:00:00Z';

/**
 * An ISO date (`2024-01-31`: midnight UTC) or timestamp (`2024-01-31T12:00:00Z`, `2024-01-31 12:00`;
 * without a zone it is UTC, as the warehouse stores time) as a Date, for years 1000 to 9999;
 * undefined when it is neither, or not a real day or time. `dateOnly` accepts dates only.
 */
export function parseIsoTime(value: unknown, dateOnly = false): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO_TIME_PATTERN.exec(value);
  if (!m || (dateOnly && m[4] !== undefined)) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear: Date.UTC would read year 99 as 1999
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined; // 2024-02-30
  const offsetMinutes = m[9] ? (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) : 0;
  date.setUTCHours(hour, minute - offsetMinutes, second, Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3)));
  const y = date.getUTCFullYear();
  return y >= 1000 && y <= 9999 ? date : undefined;
}

// ── building blocks ──────────────────────────────────────────────────────────
/** "required" for a missing field, else `message`. */
const required = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'required' : message);

/** A strict object whose unknown-key error lists the keys allowed there. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (allowed here: ${allowed})`
        : issue.input === undefined
          ? 'required'
          : `an object with ${allowed}`,
  });
}

const text = (what: string) =>
  z
    .string({ error: required(what) })
    .min(1, `${what}, not empty`)
    .max(MAX_VALUE_LENGTH, `at most ${MAX_VALUE_LENGTH} characters`);

const SLUG_PATTERN = /^[a-z][a-z0-9_]*$/;
const SLUG_HINT = 'name: lower-case letters, digits and _, starting with a letter';
const slug = z
  .string({ error: required(`a ${SLUG_HINT}`) })
  .max(63, 'at most 63 characters')
  .regex(SLUG_PATTERN, `a ${SLUG_HINT}`);

const scalar = z.union([z.string().max(MAX_VALUE_LENGTH, `at most ${MAX_VALUE_LENGTH} characters`), z.number(), z.boolean()], {
  error: 'text, a number or true/false',
});
const filterValue = z.union([scalar, z.array(scalar).min(1, 'a list of at least one value').max(MAX_LIST_LENGTH, `at most ${MAX_LIST_LENGTH} values`)], {
  error: 'text, a number, true/false or a list of them',
});

/**
 * What each operator needs as `value` (the types of the trait or property are checked by the compiler).
 * - `=` `!=` `<` `<=` `>` `>=`: one value; `in`: a list; `contains`, `starts_with`: non-empty text;
 * - `is_set`, `is_not_set`: no value; `within_last`: a duration; `before`: an ISO date or timestamp.
 */
function checkOpValue(f: { op: TraitOp; value?: unknown }, ctx: z.RefinementCtx): void {
  const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message, input: f.value });
  const { op, value } = f;
  if (op === 'is_set' || op === 'is_not_set') {
    if (value !== undefined) issue(`"${op}" takes no value`);
  } else if (value === undefined) {
    issue(`"${op}" needs a value`);
  } else if (op === 'in') {
    if (!Array.isArray(value)) issue('"in" needs a list of values');
  } else if (Array.isArray(value)) {
    issue(`"${op}" needs one value, not a list (use "in" for a list)`);
  } else if (op === 'contains' || op === 'starts_with') {
    if (typeof value !== 'string' || value === '') issue(`"${op}" needs non-empty text`);
  } else if (op === 'within_last') {
    if (parseDuration(value) === undefined) issue(`"within_last" needs ${DURATION_HINT}`);
  } else if (op === 'before') {
    if (!parseIsoTime(value)) issue(`"before" needs ${TIMESTAMP_HINT}`);
  }
}

const traitOp = z.enum(TRAIT_OPS, { error: required(`one of ${TRAIT_OPS.join(' ')}`) });

/** `{trait: {name, op, value?}}`: a column of the profiles table compared with a value. */
export const traitConditionSchema = strict({ name: text('a trait name'), op: traitOp, value: filterValue.optional() }).superRefine(checkOpValue);
export type TraitCondition = z.infer<typeof traitConditionSchema>;

/** One filter on the events counted: `{property, op, value?}`, with the trait operators. */
export const propertyFilterSchema = strict({ property: text('a property name'), op: traitOp, value: filterValue.optional() }).superRefine(checkOpValue);
export type PropertyFilter = z.infer<typeof propertyFilterSchema>;

const times = z.number({ error: required('a whole number of times, 0 or more') }).int('a whole number of times, 0 or more').min(0, 'a whole number of times, 0 or more');

/** How many matching events: at least (`gte`), at most (`lte`), both, or exactly (`eq`). */
export const eventCountSchema = strict({ gte: times.optional(), lte: times.optional(), eq: times.optional() }).superRefine((c, ctx) => {
  if (c.gte === undefined && c.lte === undefined && c.eq === undefined) ctx.addIssue({ code: 'custom', message: 'one of gte, lte or eq' });
  else if (c.eq !== undefined && (c.gte !== undefined || c.lte !== undefined)) ctx.addIssue({ code: 'custom', message: 'eq alone, or gte and/or lte' });
  else if (c.gte !== undefined && c.lte !== undefined && c.gte > c.lte) ctx.addIssue({ code: 'custom', path: ['lte'], message: `at least gte (${c.gte})` });
});
export type EventCount = z.infer<typeof eventCountSchema>;

/**
 * A figure over the matching events compared with a value: `sum`/`avg` of a number property,
 * `min`/`max` of a number, date or timestamp property, `count` (of events, or of the events where
 * `property` is set).
 */
export const eventAggregateSchema = strict({
  function: z.enum(AGGREGATE_FUNCTIONS, { error: required(`one of ${AGGREGATE_FUNCTIONS.join(', ')}`) }),
  property: text('a property name').optional(),
  op: z.enum(COMPARISON_OPS, { error: required(`one of ${COMPARISON_OPS.join(' ')}`) }),
  value: z.union([z.number(), z.string().max(MAX_VALUE_LENGTH)], { error: required('a number (or an ISO date for min/max of a date)') }),
}).superRefine((a, ctx) => {
  if (a.function !== 'count' && a.property === undefined) ctx.addIssue({ code: 'custom', path: ['property'], message: `"${a.function}" needs a property` });
});
export type EventAggregate = z.infer<typeof eventAggregateSchema>;

/**
 * `{event: {...}}`: the profile performed the event `name` a number of times (`count`, default
 * `{gte: 1}`) in the last `within` (default: ever), counting only events matching every `where`
 * filter; with `aggregate`, a figure over those events is compared too (and `count` applies only
 * when given). "Did not perform" is `not: {event: ...}` or `count: {eq: 0}`.
 */
export const eventConditionSchema = strict({
  name: text('an event name'),
  count: eventCountSchema.optional(),
  within: z.string({ error: required(DURATION_HINT) }).refine((v) => parseDuration(v) !== undefined, DURATION_HINT).optional(),
  where: z.array(propertyFilterSchema, { error: 'a list of property filters ({property, op, value})' }).max(100, 'at most 100 filters').optional(),
  aggregate: eventAggregateSchema.optional(),
});
export type EventCondition = z.infer<typeof eventConditionSchema>;

/** `{segment: {name}}`: a member of another segment (its current members). */
export const segmentRefSchema = strict({ name: text('a segment name') });
export type SegmentRef = z.infer<typeof segmentRefSchema>;

/** A node of the tree: exactly one of these keys. */
export type Condition =
  | { and: Condition[] }
  | { or: Condition[] }
  | { not: Condition }
  | { trait: TraitCondition }
  | { event: EventCondition }
  | { segment: SegmentRef };
export const CONDITION_KEYS = ['and', 'or', 'not', 'trait', 'event', 'segment'] as const;

const conditionList = z.array(z.lazy(() => conditionSchema), { error: 'a list of conditions' }).min(1, 'a list of at least one condition');

/** A condition: `and`/`or` (a list), `not` (one), or a leaf `trait`, `event`, `segment`; nested to any depth. */
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  strict({
    and: conditionList.optional(),
    or: conditionList.optional(),
    not: conditionSchema.optional(),
    trait: traitConditionSchema.optional(),
    event: eventConditionSchema.optional(),
    segment: segmentRefSchema.optional(),
  }).superRefine((c, ctx) => {
    const keys = Object.keys(c).filter((k) => c[k as keyof typeof c] !== undefined);
    // an unknown key alone has its own message already
    if (keys.length === 0 && ctx.issues.some((i) => i.code === 'unrecognized_keys')) return;
    if (keys.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a condition has exactly one of ${CONDITION_KEYS.join(', ')}${keys.length ? `; got ${keys.join(', ')}` : ''}` });
    }
  }),
) as unknown as z.ZodType<Condition>;

/**
 * Named shares of the members in percent, adding up to 100 (`{target: 90, holdout: 10}`), at most
 * two decimals each. Groups are assigned in the order written (see segment-split.ts).
 */
export const splitSchema = z
  .record(slug, z.number({ error: 'a percentage' }).positive('a percentage above 0').max(100, 'at most 100'), {
    error: (issue) => (issue.code === 'invalid_key' ? `a group ${SLUG_HINT}` : 'named percentages such as {target: 90, holdout: 10}'),
  })
  .superRefine((split, ctx) => {
    const shares = Object.values(split);
    if (shares.length === 0) return ctx.addIssue({ code: 'custom', message: 'at least one group, such as {target: 90, holdout: 10}' });
    for (const [group, share] of Object.entries(split)) {
      if (Math.abs(share * 100 - Math.round(share * 100)) > 1e-6) ctx.addIssue({ code: 'custom', path: [group], message: 'at most two decimals' });
    }
    const total = shares.reduce((a, b) => a + b, 0);
    if (Math.abs(total - 100) > 1e-6) ctx.addIssue({ code: 'custom', message: `the percentages add up to ${Math.round(total * 100) / 100}, not 100` });
  });
export type SegmentSplit = z.infer<typeof splitSchema>;

/** A segment definition: a file in segments/, or the body of `POST /api/segments`. */
export const segmentSchema = strict({
  name: slug,
  description: z.string().max(MAX_VALUE_LENGTH).optional(),
  /** recomputed as events arrive (used by the realtime path; the compiled SQL is the same) */
  realtime: z.boolean({ error: 'true or false' }).optional(),
  where: conditionSchema,
  split: splitSchema.optional(),
});
export type SegmentDefinition = z.infer<typeof segmentSchema>;

/** The body of `POST /api/segments/preview`: a definition whose name is optional (it only seeds the split hash). */
export const segmentPreviewSchema = segmentSchema.partial({ name: true });
export type SegmentPreview = z.infer<typeof segmentPreviewSchema>;

/** Parses a segment definition; a SegmentDefinitionError lists every problem as `path: message`. */
export function parseSegment(input: unknown): SegmentDefinition {
  return parseWith(segmentSchema, input);
}

/** Parses a preview body (a definition without a name). */
export function parseSegmentPreview(input: unknown): SegmentPreview {
  return parseWith(segmentPreviewSchema, input);
}

function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new SegmentDefinitionError(parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '));
}

/** `where.and[1].trait.name`, as the compiler's messages write paths. */
export function formatPath(path: readonly PropertyKey[]): string {
  const parts = path.filter((p): p is string | number => typeof p !== 'symbol');
  if (parts.length === 0) return '(top level)';
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
