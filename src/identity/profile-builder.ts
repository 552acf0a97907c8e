import { randomBytes } from 'node:crypto';
import type { Dialect } from '../warehouse/dialects';
import { dropTables, queryValue, type Relation, type Warehouse } from '../warehouse/warehouse';
import { windowSeconds, type ComputedTraitConfig, type TraitConfig } from './identity.config';
import { ignoredSql, normalizedSql } from './normalize';
import { EVENTS, columnSql, parseReference, timeFloor, timeSql, valueSql, type IdentityPlan, type IdentitySource, type SourceColumn } from './identity-sources';
import type { LogicalType } from '../warehouse/warehouse';

/**
 * Assembles `profiles`: one row per profile of the identity graph with its merged and computed traits.
 *
 * Rows of a source are matched to a profile through their identifier columns, most trusted type
 * first: an event with a user id belongs to that user's profile even when its anonymous id was kept
 * apart by a limit. Events are de-duplicated by message_id first (raw_events is at least once).
 *
 * - Merged traits: the value by `rule` among the non-null values of every `from`: latest or first by
 *   the source's time, or `priority` (the first source in `from` with a value, latest within it).
 *   A trait read from one column keeps that column's type; one read from several is text. A trait
 *   read from an identifier column is normalized and filtered like the identifier (an `email` trait
 *   is lowercased, never `unknown`; a `phone` trait is E.164).
 * - Computed traits: count, count_distinct, sum, min, max, avg, first, last over a source's rows with
 *   equality filters and an optional window ending at `as_of` (default: the run). Counts and sums of
 *   profiles without rows are 0, other functions null.
 *
 * Every value from cdp.yaml reaches SQL through the dialect's literal escaping; names are validated
 * identifiers quoted by the dialect.
 */
export async function buildProfiles(
  warehouse: Warehouse,
  plan: IdentityPlan,
  graph: Relation,
  profiles: Relation,
  phones: Relation,
  now: Date,
  /** SQL of one row per profile (profile_id, first_seen, last_seen) when the caller has it; default: from the graph */
  base?: string,
  /** rebuild only the touched profiles' rows (a real-time pass), the others stay as they are */
  scope?: TouchedScope,
): Promise<void> {
  const d = warehouse.dialect;
  const token = randomBytes(4).toString('hex');
  const staged: Relation[] = [];
  const config = plan.config;
  const asOf = config.as_of ? parseAsOf(config.as_of) : now;

  try {
    // every column a source must provide, per source: c0, c1, ...; rendered once the phone joins are known
    const needs = new Map<string, Map<string, Render>>();
    const need = (source: string, col: SourceColumn, typed: boolean, normalized = false): string => {
      let m = needs.get(source);
      if (!m) needs.set(source, (m = new Map()));
      // a trait read from an identifier column gets that identifier's normalization and ignore rules
      const identifier = normalized ? plan.sources.get(source)!.identifiers.find((i) => i.ref === col.ref) : undefined;
      const key = `${col.ref}${identifier ? ':normalized' : typed ? '' : ':text'}`;
      if (!m.has(key)) {
        const alias = d.quoteIdentifier(`c${m.size}`);
        m.set(key, (phoneValue) => {
          if (!identifier) return `${typed ? valueSql(d, col) : columnSql(d, col)} as ${alias}`;
          const trimmed = `trim(${columnSql(d, col)})`;
          const value = normalizedSql(identifier.type.normalize, trimmed, phoneValue(col.ref) ?? 'null');
          return `case when ${ignoredSql(d, config.ignore, trimmed)} or ${ignoredSql(d, config.ignore, value)} then null else ${value} end as ${alias}`;
        });
      }
      return `c${[...m.keys()].indexOf(key)}`;
    };
    const ref = (source: string, column: string): SourceColumn => parseReference(`${source}.${column}`);

    const traitSelects: { name: string; sql: string }[] = [];
    const traitParts: ((attributed: Map<string, Relation>) => void)[] = [];
    for (const trait of config.traits) {
      const typed = trait.from.length === 1;
      const cols = trait.from.map((r, priority) => {
        const p = parseReference(r);
        return { source: p.source, column: need(p.source, p, typed, true), priority };
      });
      traitParts.push((attributed) => traitSelects.push({ name: trait.name, sql: mergedTraitSql(d, trait, cols, attributed) }));
    }
    for (const ct of config.computed_traits) {
      // a plain count needs no column, but still the source's rows attributed
      if (!needs.has(ct.from)) needs.set(ct.from, new Map());
      const column = ct.column ? need(ct.from, ref(ct.from, ct.column), true) : undefined;
      const filters = Object.entries(ct.where).map(([c, v]) => {
        const col = ref(ct.from, c);
        return { column: need(ct.from, col, true), json: col.path.length > 0, values: Array.isArray(v) ? v : [v] };
      });
      const json = ct.column ? ref(ct.from, ct.column).path.length > 0 : false;
      traitParts.push((attributed) => traitSelects.push({ name: ct.name, sql: computedTraitSql(d, ct, attributed.get(ct.from)!, column, json, filters, asOf) }));
    }

    // attributed copies of the sources traits read: (profile_id, ts, c0, c1, ...)
    const attributed = new Map<string, Relation>();
    let i = 0;
    for (const [name, columns] of needs) {
      const rel = warehouse.scratchRelation(`_profiles_${token}_src${i++}`, profiles);
      staged.push(rel);
      await warehouse.execute(`create table ${d.relation(rel)} as\n${attributionSql(d, plan.sources.get(name)!, graph, phones, [...columns.values()], scope)}`);
      attributed.set(name, rel);
    }
    for (const part of traitParts) part(attributed);

    const g = d.relation(graph);
    const joins = traitSelects.map((t, k) => `left join (\n${t.sql}\n) t${k} on t${k}.profile_id = p.profile_id`).join('\n');
    const traitCols = traitSelects.map((t, k) => {
      const ct = config.computed_traits.find((c) => c.name === t.name);
      const v = `t${k}.value`;
      return `${ct && ['count', 'count_distinct', 'sum'].includes(ct.function) ? `coalesce(${v}, 0)` : v} as ${d.quoteIdentifier(t.name)}`;
    });
    const inScope = scope ? ` where profile_id in (select profile_id from ${d.relation(scope.only)})` : '';
    const select = `select p.profile_id, p.first_seen, p.last_seen${traitCols.map((c) => `, ${c}`).join('')}, ${d.timestampLiteral(now)} as updated_at
from (${base ?? `select profile_id, min(first_seen) as first_seen, max(last_seen) as last_seen from ${g}${inScope} group by profile_id`}) p
${joins}`;
    if (scope) await replaceRows(warehouse, profiles, scope.only, select);
    else await warehouse.replaceTable(profiles, select);
  } finally {
    await dropTables(warehouse, staged);
  }
}

/**
 * Assembles `profile_events`: one row per event of a profile (profile_id, event, occurred_at, source,
 * then every declared property), from each event stream of cdp.yaml's `identity.events`, attributed
 * like the rows traits read (most trusted identifier first; raw events de-duplicated by message_id).
 * Rows without a profile or an event name are left out. A property has the type one of its streams
 * declares; otherwise a single column keeps its own type, and a json path or a property that several
 * streams give is text, so the union has one type per column.
 */
export async function buildProfileEvents(warehouse: Warehouse, plan: IdentityPlan, graph: Relation, target: Relation, phones: Relation, scope?: TouchedScope): Promise<void> {
  const d = warehouse.dialect;
  const names = [...new Set(plan.events.flatMap((e) => e.properties.map((p) => p.name)))];
  const streamsOf = (name: string) => plan.events.filter((e) => e.properties.some((p) => p.name === name)).length;
  const q = (n: string) => d.quoteIdentifier(n);
  const branches = plan.events.map((stream) => {
    // a property this stream lacks is a bare null in the union's select list, where every warehouse
    // types it from the other branches (inside a subquery PostgreSQL would make it text)
    const present = names.filter((name) => stream.properties.some((x) => x.name === name));
    const cols: Render[] = [
      () => `${stream.nameColumn ? columnSql(d, stream.nameColumn) : d.literal(stream.name!)} as ${q('event')}`,
      ...present.map((name): Render => () => {
        const p = stream.properties.find((x) => x.name === name)!;
        const declared = plan.events.flatMap((e) => e.properties).find((x) => x.name === name && x.type)?.type;
        const type: LogicalType | undefined = declared ?? (p.column.path.length || streamsOf(name) > 1 ? 'string' : undefined);
        return `${type ? d.cast(valueSql(d, p.column), type) : valueSql(d, p.column)} as ${q(name)}`;
      }),
      ...stream.where.map((w, k): Render => () => `${w.column.path.length ? columnSql(d, w.column) : valueSql(d, w.column)} as ${q(`cdp_where${k}`)}`),
    ];
    const filters = stream.where.map((w, k) => ` and ${q(`cdp_where${k}`)} in (${w.values.map((v) => d.literal(w.column.path.length ? String(v) : v)).join(', ')})`);
    const props = names.map((name) => (present.includes(name) ? q(name) : `null as ${q(name)}`));
    return `select profile_id, ts as ${q('occurred_at')}, ${d.literal(stream.source.name)} as ${q('source')}, ${[q('event'), ...props].join(', ')}
from (
${attributionSql(d, stream.source, graph, phones, cols, scope)}
) a
where profile_id is not null and ${q('event')} is not null${filters.join('')}${scope ? ` and profile_id in (select profile_id from ${d.relation(scope.only)})` : ''}`;
  });
  const columns = [q('profile_id'), q('event'), q('occurred_at'), q('source'), ...names.map(q)].join(', ');
  const select = branches.length
    ? `select ${columns} from (
${branches.join('\nunion all\n')}
) e`
    : `select cast(null as ${d.type('string')}) as profile_id, cast(null as ${d.type('string')}) as event, cast(null as ${d.type('timestamp')}) as occurred_at, cast(null as ${d.type('string')}) as source where 1 = 0`;
  if (scope) await replaceRows(warehouse, target, scope.only, select);
  else await warehouse.replaceTable(target, select);
}

/**
 * What a touched run (a real-time pass) rebuilds: the profiles in `only` (profile_id), from the rows
 * of each source that belong to one of them (`rows`, staged), not from the whole history.
 */
export interface TouchedScope {
  only: Relation;
  rows: Map<string, Relation>;
  /**
   * the graph rows of the touched profiles: a row in scope is attributed to one of them (its first
   * identifier in the graph is a touched profile's), so attribution joins this, not the whole graph
   */
  graph: Relation;
}

/**
 * Stages, for each source, the rows attributed to a touched profile. A row belongs to the profile
 * of its most trusted identifier that is in the graph (attributionSql), so it is in scope when, in
 * trust order, an identifier is a touched profile's, and every one before it is not in the graph at
 * all: `t1 or (not g1 and (t2 or (not g2 and …)))`; an identifier is in the graph when its
 * normalized value passes the ignore rules (resolution read every record). Plain columns are tested first, in a pass of
 * their own, so the JSON paths (emails in traits) are parsed only for the rows the plain columns
 * leave undecided (events without a known user id), not for the whole history.
 */
export async function touchedScope(
  warehouse: Warehouse,
  plan: IdentityPlan,
  graph: Relation,
  phones: Relation,
  only: Relation,
  stage: (name: string) => Relation,
): Promise<TouchedScope> {
  const d = warehouse.dialect;
  const g = d.relation(graph);
  const ids = stage('scope_ids');
  await warehouse.execute(`create table ${d.relation(ids)} as select g.profile_id, g.id_type, g.id_value, g.first_seen from ${g} g where g.profile_id in (select profile_id from ${d.relation(only)})`);
  // no row of a touched profile is older than the first time one of its identifiers was seen (an
  // identifier's first_seen is the earliest time of the rows read that hold it, and a pass reads its
  // new rows first), so a source with a time reads only the rows since then: on DuckDB the scan skips
  // the older row groups by their min/max, and a pass of new people does not scan the whole history
  const earliest = await queryValue(warehouse, `select min(first_seen) from ${d.relation(ids)}`);
  const since = earliest == null ? undefined : timeFloor(earliest);
  const rows = new Map<string, Relation>();
  let i = 0;
  for (const source of plan.sources.values()) {
    const n = i++;
    const ordered = [...source.identifiers].sort((a, b) => a.type.rank - b.type.rank);
    // a plain column's trimmed value is computed once per row (cdp_v<k>, beside the row's columns),
    // not in every test that reads it; JSON ones only on the rows that reach them
    const trimmedPlain = ordered.map((idf, k) => (idf.path.length > 0 ? undefined : `trim(${columnSql(d, idf)}) as ${d.quoteIdentifier(`cdp_v${k}`)}`));
    const time = timeSql(d, source);
    const recent = since && source.time ? ` where ${time} >= ${d.timestampLiteral(since)} or ${time} is null` : '';
    const from =
      trimmedPlain.some((t) => t) || recent
        ? `(select r.*${trimmedPlain.filter((t): t is string => !!t).map((t) => `, ${t}`).join('')} from ${d.relation(source.relation)} r${recent})`
        : d.relation(source.relation);
    // per identifier column: is it a touched profile's (t), is it in the graph at all (g)
    const tests = ordered.map((idf, k) => {
      const trimmed = trimmedPlain[k] ? `r.${d.quoteIdentifier(`cdp_v${k}`)}` : `trim(${columnSql(d, idf)})`;
      const type = d.literal(idf.type.type);
      const member = (set: string) =>
        idf.type.normalize === 'phone'
          ? `(${trimmed} is not null and ${trimmed} in (select p.raw from ${d.relation(phones)} p join ${set} s on s.id_value = p.value where s.id_type = ${type} and p.country = ${d.literal(idf.type.defaultCountry ?? '')}))`
          : `(${trimmed} is not null and ${idf.type.normalize === 'email' ? `lower(${trimmed})` : trimmed} in (select id_value from ${set} s where s.id_type = ${type}))`;
      // in the graph at all: every identifier of every record read is, unless the normalization or an
      // ignore rule drops it, so that is the test (a hash of the whole graph per pass would cost more);
      // phones need the number table
      const normalized = normalizedSql(idf.type.normalize, trimmed, 'null');
      const known =
        idf.type.normalize === 'phone'
          ? member(g)
          : `(${normalized} is not null and not (${ignoredSql(d, plan.config.ignore, trimmed)}) and not (${ignoredSql(d, plan.config.ignore, normalized)}))`;
      return { json: idf.path.length > 0, touched: member(d.relation(ids)), known };
    });
    const chain = (k: number, upTo: number): string => (k >= upTo ? (upTo < tests.length ? '1 = 1' : '1 = 0') : `(${tests[k].touched} or (not ${tests[k].known} and ${chain(k + 1, upTo)}))`);
    const scoped = stage(`scope_${n}`);
    rows.set(source.name, scoped);
    if (tests.length === 0) {
      await warehouse.execute(`create table ${d.relation(scoped)} as select r.* from ${from} r where 1 = 0`);
      continue;
    }
    const firstJson = tests.findIndex((x) => x.json);
    if (firstJson <= 0) {
      await warehouse.execute(`create table ${d.relation(scoped)} as select r.* from ${from} r where ${chain(0, tests.length)}`);
      continue;
    }
    // the plain columns first: rows whose first plain identifier is a touched profile's are in scope
    // (cdp_first); those whose plain identifiers are all unknown to the graph are candidates for
    // the rest of the chain, which parses JSON, on them alone (often none)
    const plain = stage(`scope_${n}_plain`);
    await warehouse.execute(
      `create table ${d.relation(plain)} as select r.*, case when ${tests[0].touched} then 1 else 0 end as cdp_first from ${from} r where ${chain(0, firstJson)}`,
    );
    await warehouse.execute(`create table ${d.relation(scoped)} as select r.* from ${d.relation(plain)} r where r.cdp_first = 1`);
    if (Number(await queryValue(warehouse, `select count(*) from ${d.relation(plain)} where cdp_first = 0`)) > 0) {
      await warehouse.execute(`insert into ${d.relation(scoped)} select r.* from ${d.relation(plain)} r where r.cdp_first = 0 and ${chain(0, tests.length)}`);
    }
  }
  return { only, rows, graph: ids };
}

/** Replaces the rows of the profiles in `only` with those `select` gives, in one transaction. */
async function replaceRows(warehouse: Warehouse, table: Relation, only: Relation, select: string): Promise<void> {
  const d = warehouse.dialect;
  const columns = (await warehouse.describe(table))?.columns.map((c) => d.quoteIdentifier(c.name));
  if (!columns) throw new Error(`${d.relation(table)} does not exist: a touched run needs a full run first`);
  await warehouse.transaction([
    `delete from ${d.relation(table)} where profile_id in (select profile_id from ${d.relation(only)})`,
    `insert into ${d.relation(table)} (${columns.join(', ')}) select ${columns.map((c) => `x.${c}`).join(', ')} from (\n${select}\n) x`,
  ]);
}

/**
 * A source's rows with the profile each belongs to: the profile of its most trusted identifier
 * that is in the graph (identifiers normalized as resolution does; phones through the number table).
 */
function attributionSql(d: Dialect, source: IdentitySource, graph: Relation, phones: Relation, columns: Render[], scope?: TouchedScope): string {
  const g = d.relation(scope?.graph ?? graph);
  const joins: string[] = [];
  const ids: string[] = [];
  const phoneOf = new Map<string, string>();
  const ordered = [...source.identifiers].sort((a, b) => a.type.rank - b.type.rank);
  // a touched run reads the rows in its scope, which touchedScope staged
  const rows = (rel: string) => (scope ? d.relation(scope.rows.get(source.name)!) : rel);
  ordered.forEach((idf, k) => {
    const trimmed = `trim(${columnSql(d, idf)})`;
    if (idf.type.normalize === 'phone') {
      joins.push(`left join ${d.relation(phones)} pn${k} on pn${k}.raw = ${trimmed} and pn${k}.country = ${d.literal(idf.type.defaultCountry ?? '')}`);
      phoneOf.set(idf.ref, `pn${k}.value`);
    }
    // values that fail the shape check or match an ignore rule are not in the graph: no need to test here
    const value = idf.type.normalize === 'email' ? `lower(${trimmed})` : idf.type.normalize === 'phone' ? `pn${k}.value` : trimmed;
    joins.push(`left join ${g} g${k} on g${k}.id_type = ${d.literal(idf.type.type)} and g${k}.id_value = ${value}`);
    ids.push(`g${k}.profile_id`);
  });
  const ts = timeSql(d, source);
  const from =
    source.name === EVENTS
      ? `(select e.*, row_number() over (partition by e.message_id order by e.received_at) as cdp_copy from ${rows(d.relation(source.relation))} e) r`
      : `${rows(d.relation(source.relation))} r`;
  return `select ${ids.length > 1 ? `coalesce(${ids.join(', ')})` : ids[0]} as profile_id, ${ts} as ts${columns.map((c) => `, ${c((ref) => phoneOf.get(ref))}`).join('')}
from ${from}
${joins.join('\n')}${source.name === EVENTS ? '\nwhere r.cdp_copy = 1' : ''}`;
}

/** Renders a source column for attribution, given the E.164 value of each phone identifier column. */
type Render = (phoneValue: (ref: string) => string | undefined) => string;

/** (profile_id, value) of one merged trait. */
function mergedTraitSql(d: Dialect, trait: TraitConfig, cols: { source: string; column: string; priority: number }[], attributed: Map<string, Relation>): string {
  const union = cols
    .map((c) => `select profile_id, ts, ${c.priority} as priority, ${d.quoteIdentifier(c.column)} as value from ${d.relation(attributed.get(c.source)!)} where profile_id is not null and ${d.quoteIdentifier(c.column)} is not null`)
    .join('\nunion all\n');
  const nullsLast = 'case when ts is null then 1 else 0 end';
  const order = trait.rule === 'first' ? `${nullsLast}, ts, priority` : trait.rule === 'latest' ? `${nullsLast}, ts desc, priority` : `priority, ${nullsLast}, ts desc`;
  return `select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by ${order}) as pos from (
${union}
  ) v
) x where pos = 1`;
}

/** (profile_id, value) of one computed trait. */
function computedTraitSql(
  d: Dialect,
  ct: ComputedTraitConfig,
  rel: Relation,
  column: string | undefined,
  json: boolean,
  filters: { column: string; json: boolean; values: (string | number | boolean)[] }[],
  asOf: Date,
): string {
  const where = ['profile_id is not null'];
  for (const f of filters) {
    const values = f.values.map((v) => d.literal(f.json ? String(v) : v));
    where.push(`${d.quoteIdentifier(f.column)} in (${values.join(', ')})`);
  }
  if (ct.window) {
    where.push(`ts > ${d.timestampLiteral(new Date(asOf.getTime() - windowSeconds(ct.window) * 1000))}`, `ts <= ${d.timestampLiteral(asOf)}`);
  }
  const src = `select * from ${d.relation(rel)} where ${where.join(' and ')}`;
  const col = column ? d.quoteIdentifier(column) : '';
  const num = json ? d.cast(col, 'float') : col;
  switch (ct.function) {
    case 'count':
      return `select profile_id, count(*) as value from (${src}) s group by profile_id`;
    case 'count_distinct':
      return `select profile_id, count(distinct ${col}) as value from (${src}) s group by profile_id`;
    case 'sum':
    case 'min':
    case 'max':
    case 'avg':
      return `select profile_id, ${ct.function}(${['sum', 'avg'].includes(ct.function) ? num : col}) as value from (${src}) s group by profile_id`;
    case 'first':
    case 'last':
      return `select profile_id, value from (
  select profile_id, ${col} as value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts ${ct.function === 'last' ? 'desc' : ''}) as pos
  from (${src}) s where ${col} is not null
) x where pos = 1`;
  }
}

/** `2010-12-24` is midnight UTC; a timestamp without an offset is UTC too. */
export function parseAsOf(value: string): Date {
  if (!value.includes('T')) return new Date(`${value}T00:00:00Z`);
  return new Date(/(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`);
}
