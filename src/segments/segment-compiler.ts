import { suggest } from '../models/project';
import type { Dialect } from '../warehouse/dialects/dialect';
import type { BindValue, LogicalType, Relation } from '../warehouse/warehouse';
import {
  DATE_HINT,
  parseDuration,
  parseIsoTime,
  parseSegmentPreview,
  SegmentDefinitionError,
  TIMESTAMP_HINT,
  type Condition,
  type EventCondition,
  type SegmentPreview,
  type TraitOp,
} from './segment-tree';

export { SegmentDefinitionError } from './segment-tree';

/**
 * Compiles a segment's condition tree to one select of profile ids, in any dialect:
 *
 * ```sql
 * select p.profile_id from <profiles> p
 * left join (select profile_id, count(*) as n, … from <events> e where … group by profile_id) e1 on e1.profile_id = p.profile_id
 * where <condition over p.<trait> and e1.n …>
 * ```
 *
 * User values never enter the SQL text: each is a `?` placeholder, cast to the type it is compared
 * with, and its value goes to `params` (in text order). Trait, property and segment names are
 * checked against the context and quoted; event names are values. A wrong name, operator or value
 * type is a SegmentDefinitionError naming the path in the tree (`where.and[1].trait.name: …`).
 *
 * Semantics:
 * - Every leaf is true or false, never null: a comparison with a null (unset) trait or property is
 *   false, so `!=` does not match profiles whose trait is null, and `not` is the exact complement
 *   of its condition (`not {trait: {name: country, op: '=', value: GB}}` matches a null country).
 * - `is_set`: not null, and for text not the empty string; `is_not_set` is its complement.
 * - `contains`/`starts_with` are case-sensitive substring tests (`strpos`), so `%` and `_` in the
 *   value are plain characters. Text has no ordering operators (collations differ by warehouse).
 * - Times are UTC. `within_last d` is `asOf - d <= t <= asOf` (dates: by whole UTC days);
 *   `before x` is `t < x`, where a date is its midnight UTC.
 * - An event condition counts the profile's events with that name, in the window (if any), matching
 *   every property filter; a profile with none counts 0, so `count: {eq: 0}` or `{lte: n}` matches
 *   profiles that have no events at all. `count` defaults to `{gte: 1}`, except beside an
 *   `aggregate`, which alone decides then. An aggregate over no events is 0 for `count` and `sum`,
 *   null for `min`, `max`, `avg` (so its test is false). Without `within`, every event counts (no bound at asOf).
 * - Numbers are bound as bigint when whole, else as float, so `orders > 1.5` works on an integer trait.
 * - `segment` is membership of another segment's current members (its relation's profile_id).
 */
export interface SegmentEventsContext {
  /** one row per event, attributed to a profile */
  relation: Relation;
  /** column names in `relation` */
  profileId: string;
  name: string;
  time: string;
  /** the event properties filters and aggregates may use: plain columns of `relation` */
  properties: Map<string, { column: string; type: LogicalType }>;
}

export interface SegmentCompileContext {
  dialect: Dialect;
  /** one row per profile; column profile_id plus one column per trait */
  profiles: Relation;
  /** trait name (a column of `profiles`) → its type */
  traits: Map<string, LogicalType>;
  events?: SegmentEventsContext;
  /** the relation holding a segment's current members (column profile_id), or undefined if there is no such segment */
  segments?: (name: string) => Relation | undefined;
  /** windows (`within`, `within_last`) end here */
  asOf: Date;
}

export interface CompiledSegment {
  sql: string;
  params: BindValue[];
}

/** The input the compiler takes: a parsed definition, or a preview body (no name). */
export type SegmentInput = Pick<SegmentPreview, 'name' | 'where'>;

/** The select of a segment's members (one column, profile_id). Throws SegmentDefinitionError. */
export function compileSegment(def: SegmentInput, ctx: SegmentCompileContext): CompiledSegment {
  // parsed again here, cheaply, so a caller that skipped the schema cannot smuggle anything past it
  const { name, where } = parseSegmentPreview({ name: def.name, where: def.where });
  return new SegmentCompiler(ctx, name).compile(where);
}

/** Checks names, operators and value types against the context; throws SegmentDefinitionError. */
export function validateSegment(def: SegmentInput, ctx: SegmentCompileContext): void {
  compileSegment(def, ctx);
}

type TypeClass = 'text' | 'number' | 'boolean' | 'time' | 'json';
const CLASS_OF: Record<LogicalType, TypeClass> = {
  string: 'text',
  integer: 'number',
  bigint: 'number',
  numeric: 'number',
  float: 'number',
  boolean: 'boolean',
  date: 'time',
  timestamp: 'time',
  json: 'json',
};
/** `a, b or c` */
const orList = (items: string[]) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}` : items[0]);
const CLASS_LABELS: Record<TypeClass, string[]> = { text: ['text'], number: ['number'], boolean: ['boolean'], time: ['date', 'timestamp'], json: ['json'] };
/** `a number, date or timestamp` for a list of type classes */
const classList = (classes: TypeClass[]) => orList(classes.flatMap((c) => CLASS_LABELS[c]));

/** The types each operator applies to. */
const OP_CLASSES: Record<TraitOp, TypeClass[]> = {
  '=': ['text', 'number', 'boolean', 'time'],
  '!=': ['text', 'number', 'boolean', 'time'],
  '<': ['number', 'time'],
  '<=': ['number', 'time'],
  '>': ['number', 'time'],
  '>=': ['number', 'time'],
  in: ['text', 'number'],
  contains: ['text'],
  starts_with: ['text'],
  is_set: ['text', 'number', 'boolean', 'time', 'json'],
  is_not_set: ['text', 'number', 'boolean', 'time', 'json'],
  within_last: ['time'],
  before: ['time'],
};
const SQL_OPS: Partial<Record<TraitOp, string>> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** What is being compared, for messages and for the checks: `trait "orders"` of type integer. */
interface Subject {
  kind: 'trait' | 'property' | 'aggregate';
  name: string;
  type: LogicalType;
  /** the SQL expression */
  expr: string;
}

/** One compilation: the joins it adds and their params, kept apart from the where clause's (text order). */
class SegmentCompiler {
  private readonly q: (name: string) => string;
  private readonly joins: string[] = [];
  private readonly joinParams: BindValue[] = [];

  constructor(
    private readonly ctx: SegmentCompileContext,
    private readonly segmentName: string | undefined,
  ) {
    this.q = (n) => ctx.dialect.quoteIdentifier(n);
  }

  compile(where: Condition): CompiledSegment {
    const params: BindValue[] = [];
    const condition = this.condition(where, 'where', params);
    const { dialect } = this.ctx;
    const sql = [`select p.${this.q('profile_id')}`, `from ${dialect.relation(this.ctx.profiles)} p`, ...this.joins, `where ${condition}`].join('\n');
    return { sql, params: [...this.joinParams, ...params] };
  }

  private condition(c: Condition, path: string, params: BindValue[]): string {
    if ('and' in c) return `(${c.and.map((x, i) => this.condition(x, `${path}.and[${i}]`, params)).join(' and ')})`;
    if ('or' in c) return `(${c.or.map((x, i) => this.condition(x, `${path}.or[${i}]`, params)).join(' or ')})`;
    if ('not' in c) return `(not ${this.condition(c.not, `${path}.not`, params)})`;
    if ('trait' in c) {
      const { name, op, value } = c.trait;
      const type = this.ctx.traits.get(name);
      if (!type) fail(`${path}.trait.name`, `unknown trait ${JSON.stringify(name)}${suggest(name, [...this.ctx.traits.keys()])}`);
      const subject: Subject = { kind: 'trait', name, type, expr: `p.${this.q(name)}` };
      return this.predicate(subject, op, value, `${path}.trait`, params);
    }
    if ('event' in c) return this.event(c.event, `${path}.event`, params);
    if ('segment' in c) return this.segment(c.segment.name, `${path}.segment`);
    throw new SegmentDefinitionError(`${path}: not a condition`);
  }

  /**
   * A test of one value (a trait, an event property, an aggregate) that is never null. `path` is
   * the object holding `op` and `value`.
   */
  private predicate(s: Subject, op: TraitOp, value: unknown, path: string, params: BindValue[]): string {
    const typeClass = CLASS_OF[s.type];
    const allowed = OP_CLASSES[op];
    if (!allowed) fail(`${path}.op`, `unknown operator ${JSON.stringify(op)}`);
    if (!allowed.includes(typeClass)) {
      fail(`${path}.op`, `${JSON.stringify(op)} needs a ${classList(allowed)} ${s.kind === 'aggregate' ? 'value' : s.kind}; ${JSON.stringify(s.name)} is ${s.type}`);
    }
    const { dialect } = this.ctx;
    const bind = (v: unknown, at = `${path}.value`) => this.bind(s, v, at, params);
    const isSet = typeClass === 'text' ? `(${s.expr} is not null and ${s.expr} <> '')` : `(${s.expr} is not null)`;
    const never = (expr: string) => `coalesce(${expr}, false)`;
    switch (op) {
      case 'is_set':
        return isSet;
      case 'is_not_set':
        return `(not ${isSet})`;
      case 'in': {
        if (!Array.isArray(value)) fail(`${path}.value`, '"in" needs a list of values');
        return never(`${s.expr} in (${value.map((v, i) => bind(v, `${path}.value[${i}]`)).join(', ')})`);
      }
      case 'contains':
        return never(`${dialect.strpos(s.expr, bind(value))} > 0`);
      case 'starts_with':
        return never(`${dialect.strpos(s.expr, bind(value))} = 1`);
      case 'within_last': {
        const ms = parseDuration(value);
        if (ms === undefined) fail(`${path}.value`, `"within_last" needs a duration such as 90m, 12h, 30d or 4w`);
        const start = new Date(this.ctx.asOf.getTime() - ms);
        return never(`${s.expr} >= ${this.bindTime(s.type, start, params)} and ${s.expr} <= ${this.bindTime(s.type, this.ctx.asOf, params)}`);
      }
      case 'before':
        return never(`${s.expr} < ${bind(value)}`);
      default: {
        const sqlOp = SQL_OPS[op];
        if (!sqlOp) fail(`${path}.op`, `unknown operator ${JSON.stringify(op)}`);
        return never(`${s.expr} ${sqlOp} ${bind(value)}`);
      }
    }
  }

  /** A `?` for a value compared with `s`, cast to its type; checks the value fits the type. */
  private bind(s: Subject, value: unknown, path: string, params: BindValue[]): string {
    const { dialect } = this.ctx;
    const wrong = (expected: string): never => fail(path, `${JSON.stringify(s.name)} is ${s.type}, so the value must be ${expected}; got ${shown(value)}`);
    switch (CLASS_OF[s.type]) {
      case 'text':
        if (typeof value !== 'string') return wrong('text');
        params.push(value);
        return dialect.cast('?', 'string');
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) return wrong('a number');
        params.push(value);
        // whole numbers compare exactly as bigint; others as float (never as the column's integer type, which would fail on 1.5)
        return dialect.cast('?', Number.isSafeInteger(value) ? 'bigint' : 'float');
      case 'boolean':
        if (typeof value !== 'boolean') return wrong('true or false');
        params.push(value);
        return dialect.cast('?', 'boolean');
      case 'time': {
        const dateOnly = s.type === 'date';
        const at = parseIsoTime(value, dateOnly);
        if (!at) return wrong(dateOnly ? DATE_HINT : TIMESTAMP_HINT);
        return this.bindTime(s.type, at, params);
      }
      case 'json':
        return fail(path, `${JSON.stringify(s.name)} is json: only is_set and is_not_set apply`);
    }
  }

  /** A date or timestamp as a UTC text value cast to the column's type (a date takes its UTC day). */
  private bindTime(type: LogicalType, at: Date, params: BindValue[]): string {
    const iso = at.toISOString();
    if (type === 'date') {
      params.push(iso.slice(0, 10));
      return this.ctx.dialect.cast('?', 'date');
    }
    params.push(iso.slice(0, 23).replace('T', ' '));
    return this.ctx.dialect.cast('?', 'timestamp');
  }

  /** An event condition: a left join of the profile's matching events, aggregated, and a test of the figures. */
  private event(ev: EventCondition, path: string, params: BindValue[]): string {
    const events = this.ctx.events;
    if (!events) fail(`${path}.name`, 'this project has no events to match against');
    const { dialect } = this.ctx;
    const q = this.q;
    const alias = `e${this.joins.length + 1}`;

    // the filters on events: name, window, properties (their params go with the join, which comes first in the text)
    const joinParams: BindValue[] = [];
    const filters: string[] = [];
    joinParams.push(ev.name);
    filters.push(`e.${q(events.name)} = ${dialect.cast('?', 'string')}`);
    if (ev.within !== undefined) {
      const ms = parseDuration(ev.within);
      if (ms === undefined) fail(`${path}.within`, 'a duration such as 90m, 12h, 30d or 4w');
      const time: Subject = { kind: 'property', name: events.time, type: 'timestamp', expr: `e.${q(events.time)}` };
      filters.push(this.predicate(time, 'within_last', ev.within, `${path}.within`, joinParams));
    }
    const property = (name: string, at: string): Subject => {
      const p = events.properties.get(name);
      if (!p) fail(at, `unknown event property ${JSON.stringify(name)}${suggest(name, [...events.properties.keys()])}`);
      return { kind: 'property', name, type: p.type, expr: `e.${q(p.column)}` };
    };
    (ev.where ?? []).forEach((f, i) => {
      const at = `${path}.where[${i}]`;
      filters.push(this.predicate(property(f.property, `${at}.property`), f.op, f.value, at, joinParams));
    });

    // the figures: n (matching events), v (the aggregate)
    const figures = ['count(*) as n'];
    const tests: string[] = [];
    const agg = ev.aggregate;
    if (agg) {
      const at = `${path}.aggregate`;
      const prop = agg.property === undefined ? undefined : property(agg.property, `${at}.property`);
      let type: LogicalType;
      let expr = `${alias}.v`;
      if (agg.function === 'count') {
        figures.push(`count(${prop ? prop.expr : '*'}) as v`);
        type = 'bigint';
        expr = `coalesce(${expr}, 0)`;
      } else {
        if (!prop) return fail(`${at}.property`, `"${agg.function}" needs a property`);
        const ok: TypeClass[] = agg.function === 'sum' || agg.function === 'avg' ? ['number'] : ['number', 'time'];
        if (!ok.includes(CLASS_OF[prop.type])) {
          fail(`${at}.function`, `"${agg.function}" needs a ${classList(ok)} property; ${JSON.stringify(prop.name)} is ${prop.type}`);
        }
        figures.push(`${agg.function}(${prop.expr}) as v`);
        type = agg.function === 'avg' ? 'float' : prop.type;
        if (agg.function === 'sum') expr = `coalesce(${expr}, 0)`;
      }
      const name = `${agg.function}(${agg.property ?? '*'})`;
      tests.push(this.predicate({ kind: 'aggregate', name, type, expr }, agg.op, agg.value, at, params));
    }
    const count = ev.count ?? (agg ? undefined : { gte: 1 });
    const n = `coalesce(${alias}.n, 0)`;
    for (const [key, op] of [['gte', '>='], ['lte', '<='], ['eq', '=']] as const) {
      const times = count?.[key];
      if (times === undefined) continue;
      params.push(times);
      tests.push(`${n} ${op} ${dialect.cast('?', 'bigint')}`);
    }

    this.joins.push(
      `left join (select e.${q(events.profileId)} as ${q('profile_id')}, ${figures.join(', ')} from ${dialect.relation(events.relation)} e where ${filters.join(' and ')} group by e.${q(events.profileId)}) ${alias} on ${alias}.${q('profile_id')} = p.${q('profile_id')}`,
    );
    this.joinParams.push(...joinParams);
    return `(${tests.join(' and ')})`;
  }

  /** Membership of another segment: its relation's current members. */
  private segment(name: string, path: string): string {
    if (name === this.segmentName) fail(`${path}.name`, `a segment cannot contain itself ("${name}")`);
    const relation = this.ctx.segments?.(name);
    if (!relation) fail(`${path}.name`, `unknown segment ${JSON.stringify(name)}`);
    const id = this.q('profile_id');
    return `coalesce(p.${id} in (select seg.${id} from ${this.ctx.dialect.relation(relation)} seg where seg.${id} is not null), false)`;
  }
}

function fail(path: string, message: string): never {
  throw new SegmentDefinitionError(`${path}: ${message}`);
}

/** A value as a message shows it: JSON, cut at 60 characters. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
