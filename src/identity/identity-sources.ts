import type { Project } from '../models/project';
import { ProjectError, suggest } from '../models/project';
import { RAW_EVENT_COLUMNS } from '../ingest/raw-events';
import type { Dialect } from '../warehouse/dialects';
import type { Relation } from '../warehouse/warehouse';
import { defaultNormalizer, type IdentityConfig, type Normalizer, EVENT_PROPERTY_TYPES } from './identity.config';

/** `events`: the tracking API's raw_events; anything else is a model or seed of the project. */
export const EVENTS = 'events';

/** An identifier type as resolution uses it. */
export interface IdentifierType {
  type: string;
  /** position in `priority` (0 = most trusted) */
  rank: number;
  normalize: Normalizer;
  defaultCountry?: string;
  limit?: number;
}

/** One column (or JSON path) of a source that holds values of one identifier type or trait. */
export interface SourceColumn {
  /** the reference as written in cdp.yaml, e.g. `events.traits.email` */
  ref: string;
  /** the column, first part after the source */
  column: string;
  /** the JSON path inside the column, if any */
  path: string[];
}

export interface IdentitySource {
  /** `events` or the model/seed name */
  name: string;
  relation: Relation;
  /** the column with the row's time, or null when the source has none */
  time: string | null;
  /** identifier columns of this source, with their type */
  identifiers: (SourceColumn & { type: IdentifierType })[];
}

/** One stream of `profile_events`: rows of a source, each an event of the profile it belongs to. */
export interface EventStream {
  source: IdentitySource;
  /** the column with each row's event name; or `name` names every row */
  nameColumn?: SourceColumn;
  name?: string;
  properties: { name: string; column: SourceColumn; type?: (typeof EVENT_PROPERTY_TYPES)[number] }[];
  /** equality filters on the source's rows */
  where: { column: SourceColumn; values: (string | number | boolean)[] }[];
}

/** The columns every row of `profile_events` has; the rest are event properties. */
export const PROFILE_EVENT_COLUMNS = ['profile_id', 'event', 'occurred_at', 'source'] as const;

/** Everything the resolver needs from cdp.yaml, checked against the project. */
export interface IdentityPlan {
  config: IdentityConfig;
  /** identifier types by priority (most trusted first) */
  types: IdentifierType[];
  sources: Map<string, IdentitySource>;
  /** the schema (dataset) of the identity tables: config.ingest.schema */
  relation: (name: string) => Relation;
  /** the models and seeds the identity step reads (its parents in the DAG) */
  dependencies: string[];
  /** the event streams of profile_events */
  events: EventStream[];
}

const RAW_JSON_COLUMNS = new Set(RAW_EVENT_COLUMNS.filter((c) => c.type === 'json').map((c) => c.name));
const RAW_COLUMNS = new Set(RAW_EVENT_COLUMNS.map((c) => c.name));

/** Splits `events.traits.email` into source `events`, column `traits`, path `['email']`. */
export function parseReference(ref: string): { source: string } & SourceColumn {
  const [source, column, ...path] = ref.split('.');
  return { source, ref, column, path };
}

/**
 * Reads the identity section against the project: every `from` must name `events` (a raw_events
 * column, JSON paths only inside its JSON columns) or a model or seed. Errors name cdp.yaml and the key.
 */
export function planIdentity(project: Project): IdentityPlan | null {
  const config = project.config.identity;
  if (!config) return null;
  const file = project.config.configFile;
  const fail = (key: string, message: string): never => {
    throw new ProjectError(`${file}: identity.${key}: ${message}`);
  };
  const eventsRelation = project.sources.get('cdp.raw_events')!.relation;
  const relation = (name: string): Relation => ({ ...eventsRelation, name });
  const sources = new Map<string, IdentitySource>();
  const dependencies = new Set<string>();

  const sourceFor = (name: string, key: string): IdentitySource => {
    const existing = sources.get(name);
    if (existing) return existing;
    let source: IdentitySource;
    if (name === EVENTS) {
      source = { name, relation: eventsRelation, time: 'timestamp', identifiers: [] };
    } else {
      const node = project.models.get(name) ?? project.seeds.get(name);
      if (!node) fail(key, `"${name}" is not a model or seed, nor "events"${suggest(name, [EVENTS, ...project.models.keys(), ...project.seeds.keys()])}`);
      dependencies.add(name);
      const time = config.sources[name]?.time;
      source = { name, relation: node!.relation, time: time ?? null, identifiers: [] };
    }
    sources.set(name, source);
    return source;
  };

  const column = (ref: string, key: string): { source: IdentitySource } & SourceColumn => {
    const parsed = parseReference(ref);
    const source = sourceFor(parsed.source, key);
    if (source.name === EVENTS) {
      if (!RAW_COLUMNS.has(parsed.column)) fail(key, `raw_events has no column "${parsed.column}"${suggest(parsed.column, [...RAW_COLUMNS])}`);
      if (parsed.path.length > 0 && !RAW_JSON_COLUMNS.has(parsed.column)) {
        fail(key, `"${parsed.column}" is not a JSON column of raw_events; paths work inside ${[...RAW_JSON_COLUMNS].join(', ')}`);
      }
      if (parsed.path.length === 0 && RAW_JSON_COLUMNS.has(parsed.column)) fail(key, `"${ref}" is a whole JSON object; name a field inside it, e.g. ${ref}.email`);
    }
    const { source: _name, ...col } = parsed;
    return { ...col, source };
  };

  const order = config.priority ?? config.identifiers.map((i) => i.type);
  const types = config.identifiers
    .map((i): IdentifierType => ({ type: i.type, rank: order.indexOf(i.type), normalize: i.normalize ?? defaultNormalizer(i.type), defaultCountry: i.default_country, limit: i.limit }))
    .sort((a, b) => a.rank - b.rank);
  config.identifiers.forEach((idf, i) => {
    const type = types.find((t) => t.type === idf.type)!;
    idf.from.forEach((ref, j) => {
      const { source, ...col } = column(ref, `identifiers[${i}].from[${j}]`);
      source.identifiers.push({ ...col, type });
    });
  });
  config.traits.forEach((t, i) => t.from.forEach((ref, j) => column(ref, `traits[${i}].from[${j}]`)));
  config.computed_traits.forEach((t, i) => sourceFor(t.from, `computed_traits[${i}].from`));
  const streams = config.events ?? (sources.has(EVENTS) ? [{ from: EVENTS, event_column: 'event', event: undefined, properties: [], where: {} }] : []);
  const events = streams.map((stream, i): EventStream => {
    const key = `events[${i}]`;
    const source = sourceFor(stream.from, `${key}.from`);
    if (!source.time) fail(`${key}.from`, `"${stream.from}" has no time column, so its rows cannot be events; set identity.sources.${stream.from}.time`);
    const names = new Set<string>(PROFILE_EVENT_COLUMNS);
    const properties = stream.properties.map((p, j) => {
      const spec = typeof p === 'string' ? { name: p.split('.').at(-1)!, from: p, type: undefined } : p;
      if (names.has(spec.name)) fail(`${key}.properties[${j}]`, `"${spec.name}" is ${PROFILE_EVENT_COLUMNS.includes(spec.name as never) ? 'a column every event has' : 'listed twice'}; rename it with {name, from}`);
      names.add(spec.name);
      return { name: spec.name, column: column(`${stream.from}.${spec.from}`, `${key}.properties[${j}]`), type: spec.type };
    });
    const where = Object.entries(stream.where).map(([col, v]) => ({ column: column(`${stream.from}.${col}`, `${key}.where.${col}`), values: Array.isArray(v) ? v : [v] }));
    return { source, properties, where, name: stream.event, nameColumn: stream.event_column ? column(`${stream.from}.${stream.event_column}`, `${key}.event_column`) : undefined };
  });
  for (const [name, src] of sources) {
    if (src.identifiers.length === 0) {
      const key = config.computed_traits.findIndex((t) => t.from === name);
      const stream = streams.findIndex((e) => e.from === name);
      fail(
        key >= 0 ? `computed_traits[${key}].from` : stream >= 0 ? `events[${stream}].from` : 'traits',
        `"${name}" has no identifier column, so its rows cannot be matched to profiles; add one of its columns to an identifier's from:`,
      );
    }
  }
  for (const name of Object.keys(config.sources)) {
    if (!sources.has(name)) fail(`sources.${name}`, `"${name}" is not used by any identifier, trait or computed trait`);
  }
  return { config, types, sources, relation, dependencies: [...dependencies].sort(), events };
}

/** SQL for a source row's time over alias `r`: its time column as a timestamp, or a typed null. */
export function timeSql(dialect: Dialect, source: IdentitySource): string {
  return source.time ? dialect.cast(`r.${dialect.quoteIdentifier(source.time)}`, 'timestamp') : `cast(null as ${dialect.type('timestamp')})`;
}

/** SQL for a source column over alias `r`, as a string. */
export function columnSql(dialect: Dialect, col: SourceColumn): string {
  const base = `r.${dialect.quoteIdentifier(col.column)}`;
  return col.path.length > 0 ? dialect.jsonValue(base, col.path) : dialect.cast(base, 'string');
}

/** SQL for a source column over alias `r`, keeping its type (numbers stay numbers) unless it is a JSON path. */
export function valueSql(dialect: Dialect, col: SourceColumn): string {
  const base = `r.${dialect.quoteIdentifier(col.column)}`;
  return col.path.length > 0 ? dialect.jsonValue(base, col.path) : base;
}

/** A timestamp as the warehouse returns it (a Date, or text without a zone meaning UTC) as a Date. */
export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  const s = String(v);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
}

/**
 * A bound for "rows at or after this time" from a timestamp the warehouse returned: 1 ms under it,
 * since a driver may round the microseconds away.
 */
export function timeFloor(v: unknown): Date {
  return new Date(toDate(v).getTime() - 1);
}
