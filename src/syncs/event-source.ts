import { IDENTITY_TABLES } from '../identity/identity-resolver';
import { EVENTS } from '../identity/identity-sources';
import type { Project } from '../models/project';
import { suggest } from '../models/project';
import type { Dialect } from '../warehouse/dialects';
import type { ColumnSpec, Relation, Warehouse } from '../warehouse/warehouse';
import { queryAll } from '../warehouse/warehouse';
import { EVENT_SOURCE_COLUMNS, SyncDefinitionError, type EventFilterValue, type EventsSourceSpec } from './sync-definition';
import { KEY, OP, SEQ, SYNCED_AT } from './sync-columns';
import type { PlanCounts, PlanSpec, SourceQuery, SyncTables } from './sync-planner';

/**
 * Event forwarding: a sync whose source is the tracking API's event stream (`source: { events: ... }`).
 *
 * - The source is cdp.raw_events (at least once: each message id counts once, its first received
 *   copy), filtered by `where`, each event with the profile it belongs to (its user id's, else its
 *   anonymous id's, through identity_graph, as profiles are built) and the profile traits the sync
 *   lists (columns of cdp.profiles).
 * - Events are only ever added (mode insert): the plan is the events not in the snapshot yet, which
 *   holds the message ids sent (key, received_at, when). A message id is sent once: duplicates and
 *   later runs find it there.
 * - A cursor per sync (`sync_cursors`: the newest received_at of the events read) bounds each run to
 *   the events received after it, minus a lookback of 10 minutes: ingestion commits land out of order
 *   (as identity resolution reads them). The cursor moves only when a run has delivered its whole plan
 *   (it is staged as `pending_until` when planning), so a run that fails or is killed re-reads what it
 *   did not finish.
 * - The snapshot forgets message ids received more than the dedupe horizon (7 days) behind the
 *   cursor: runs never read that far back, so only a copy of an event re-sent by a client more than
 *   7 days after the first could go out twice (Segment documents a 24-hour dedupe window).
 * - Plan rows are numbered by the event's time (timestamp, then received_at, then message_id), and
 *   the runner delivers an events sync one batch at a time, so each profile's events go out in order.
 */

/** How far behind the cursor a run reads again: events commit out of order (as identity resolution's lookback). */
export const EVENTS_LOOKBACK_MINUTES = 10;
/** How long the snapshot remembers a message id, behind the cursor: a duplicate received later than this is sent again. */
export const EVENTS_DEDUPE_HORIZON_DAYS = 7;
/** The snapshot column with the event's received_at: what pruning reads. */
export const RECEIVED_AT = '_cdp_received_at';
/** One row per events sync: its cursor and the one its current run will set when it completes. */
export const CURSORS = 'sync_cursors';

const CURSOR_COLUMNS: ColumnSpec[] = [
  { name: 'sync', type: 'string' },
  { name: 'received_until', type: 'timestamp' },
  { name: 'pending_until', type: 'timestamp' },
];
const SNAPSHOT_COLUMNS: ColumnSpec[] = [
  { name: KEY, type: 'string' },
  { name: RECEIVED_AT, type: 'timestamp' },
  { name: SYNCED_AT, type: 'timestamp' },
];

/** The events source as the planner reads it. */
export interface EventsSource {
  raw: Relation;
  /** the source's rows received from `since` on (a SQL timestamp expression; null: every event) */
  select(since: string | null): string;
  /** the message ids of the same rows, without the profile joins (for counting) */
  keys(since: string | null): string;
}

/** The events source of a sync: its select and columns, checked against the project and the warehouse. */
export async function eventsSourceQuery(warehouse: Warehouse, project: Project, spec: EventsSourceSpec, where: string): Promise<SourceQuery & { events: EventsSource }> {
  const d = warehouse.dialect;
  const q = (c: string) => d.quoteIdentifier(c);
  const raw = project.sources.get('cdp.raw_events')!.relation;
  if (!(await warehouse.describe(raw))) {
    throw new SyncDefinitionError(`${where}: source.events: ${d.relation(raw)} has not been built yet (the service creates it when it starts)`);
  }
  const traits = spec.traits ?? [];
  const identity = project.identity;
  if (!identity && traits.length) throw new SyncDefinitionError(`${where}: source.events.traits: traits need profiles; add an identity: section to cdp.yaml`);

  let profileId = `cast(null as ${d.type('string')})`;
  const joins: string[] = [];
  const traitColumns: string[] = [];
  if (identity) {
    const graph = identity.plan.relation(IDENTITY_TABLES.graph);
    const profiles = identity.plan.relation(IDENTITY_TABLES.profiles);
    if (!(await warehouse.describe(graph))) {
      throw new SyncDefinitionError(`${where}: source.events: the identity graph has not been built yet (${d.relation(graph)} does not exist); run cdp build first`);
    }
    const attribution = attributionJoins(d, project, graph, identity.plan.relation(IDENTITY_TABLES.phones));
    joins.push(...attribution.joins);
    profileId = attribution.profileId;
    if (traits.length) {
      const info = await warehouse.describe(profiles);
      if (!info) throw new SyncDefinitionError(`${where}: source.events.traits: the profiles table has not been built yet (${d.relation(profiles)} does not exist); run cdp build first`);
      const columns = info.columns.map((c) => c.name);
      for (const [i, trait] of traits.entries()) {
        const column = columns.find((c) => c.toLowerCase() === trait.toLowerCase());
        if (!column) throw new SyncDefinitionError(`${where}: source.events.traits[${i}]: the profiles table has no trait "${trait}"${suggest(trait, columns)} (traits: ${columns.join(', ')})`);
        traitColumns.push(column);
      }
      joins.push(`left join ${d.relation(profiles)} p on p.${q('profile_id')} = ${profileId}`);
    }
  }

  const rawColumns = EVENT_SOURCE_COLUMNS.filter((c) => c !== 'profile_id');
  const filters = Object.entries(spec.where ?? {}).map(([key, value]) => filterSql(d, key, Array.isArray(value) ? value : [value]));
  const deduplicated = (since: string | null) =>
    `select ${rawColumns.map((c) => `r.${q(c)}`).join(', ')}, row_number() over (partition by r.${q('message_id')} order by r.${q('received_at')}) as ${q('_cdp_copy')}
  from ${d.relation(raw)} r${since ? ` where r.${q('received_at')} >= ${since}` : ''}`;
  // the first received copy of each message, then the filters (copies of a message are the same event)
  const kept = [`e.${q('_cdp_copy')} = 1`, ...filters].join(' and ');
  const select = (since: string | null) =>
    `select ${rawColumns.map((c) => `e.${q(c)}`).join(', ')}, ${profileId} as ${q('profile_id')}${traitColumns.map((c) => `, p.${q(c)}`).join('')}
from (\n  ${deduplicated(since)}\n) e${joins.map((j) => `\n${j}`).join('')}
where ${kept}`;
  return {
    sql: select(null),
    columns: [...EVENT_SOURCE_COLUMNS, ...traitColumns],
    label: 'events',
    events: { raw, select, keys: (since) => `select e.${q('message_id')} from (\n  ${deduplicated(since)}\n) e where ${kept}` },
  };
}

/**
 * The joins that find an event's profile over alias `e`, as profiles are built: the identifier
 * types identity reads from the event's user_id and anonymous_id columns (user_id first),
 * normalized as resolution does, looked up in the graph. Without such identifiers in cdp.yaml, the
 * graph's user_id and anonymous_id nodes (from models) are matched by the trimmed values.
 */
function attributionJoins(d: Dialect, project: Project, graph: Relation, phones: Relation): { joins: string[]; profileId: string } {
  const q = (c: string) => d.quoteIdentifier(c);
  const declared = project.identity!.plan.sources.get(EVENTS)?.identifiers ?? [];
  const joins: string[] = [];
  const ids: string[] = [];
  ['user_id', 'anonymous_id'].forEach((column, k) => {
    const idf = declared.find((i) => i.column === column && i.path.length === 0);
    const type = idf?.type ?? { type: column, normalize: 'trim' as const, defaultCountry: undefined };
    const trimmed = `trim(e.${q(column)})`;
    let value = trimmed;
    if (type.normalize === 'email') value = `lower(${trimmed})`;
    if (type.normalize === 'phone') {
      joins.push(`left join ${d.relation(phones)} pn${k} on pn${k}.raw = ${trimmed} and pn${k}.country = ${d.literal(type.defaultCountry ?? '')}`);
      value = `pn${k}.value`;
    }
    joins.push(`left join ${d.relation(graph)} g${k} on g${k}.id_type = ${d.literal(type.type)} and g${k}.id_value = ${value}`);
    ids.push(`g${k}.${q('profile_id')}`);
  });
  return { joins, profileId: `coalesce(${ids.join(', ')})` };
}

/** One `where` key over alias `e`: equality with any of the values (compared as text; null matches a missing value). */
function filterSql(d: Dialect, key: string, values: EventFilterValue[]): string {
  const [column, ...path] = key.split('.');
  const base = `e.${d.quoteIdentifier(column)}`;
  const expr = path.length ? d.jsonValue(base, path) : base;
  const given = values.filter((v): v is string | number | boolean => v !== null);
  const tests = [...(given.length ? [`${expr} in (${given.map((v) => d.literal(String(v))).join(', ')})`] : []), ...(given.length < values.length ? [`${expr} is null`] : [])];
  return tests.length === 1 ? tests[0] : `(${tests.join(' or ')})`;
}

/**
 * The plan of an events sync: the events received since the cursor (minus the lookback) that the
 * snapshot does not hold, numbered by event time. The first run records the recent message ids and
 * the cursor and sends nothing (forward_only), or reads every event (backfill). `preview`: the plan
 * goes to `plan` (a scratch table) and neither the snapshot nor the cursor changes.
 */
export async function buildEventsPlan(warehouse: Warehouse, spec: PlanSpec, source: EventsSource, plan: Relation, options: { preview?: boolean }): Promise<PlanCounts & { plan: Relation }> {
  const d = warehouse.dialect;
  const q = (c: string) => d.quoteIdentifier(c);
  const preview = options.preview ?? false;
  if (spec.primaryKey !== 'message_id') throw new SyncDefinitionError(`${spec.where}: primary_key: an events source is keyed by message_id`);
  const { snapshot, cursors } = spec.tables;
  const snap = d.relation(snapshot);
  const cur = d.relation(cursors);
  const sync = d.literal(spec.sync);
  const cursorOf = (column: 'received_until' | 'pending_until') => `(select c.${column} from ${cur} c where c.sync = ${sync})`;

  const snapInfo = await warehouse.describe(snapshot);
  const layout = !!snapInfo && SNAPSHOT_COLUMNS.every((c) => snapInfo.columns.some((s) => s.name === c.name));
  const cursorTable = !!(await warehouse.describe(cursors));
  if (!preview) {
    await warehouse.execute(d.createTableFromColumns(cursors, CURSOR_COLUMNS, { ifNotExists: true }));
    if (!layout) {
      // another layout is the snapshot of a sync that read a table before: this one starts afresh
      if (snapInfo) await warehouse.execute(d.drop(snapshot, 'table'));
      await warehouse.execute(d.createTableFromColumns(snapshot, SNAPSHOT_COLUMNS));
      await warehouse.execute(`delete from ${cur} where sync = ${sync}`);
    }
  }
  const [state] = cursorTable && layout ? await queryAll(warehouse, `select count(*) as n, count(received_until) as c from ${cur} where sync = ?`, [spec.sync]) : [{ n: 0, c: 0 }];
  // the cursor row is written by the first run: without it, this is the first run
  let started = Number(state.n) > 0;
  let hasCursor = Number(state.c) > 0;

  if (!preview && spec.fullResync) {
    // every event again: the snapshot and the cursor are forgotten, and this run reads from the start
    await warehouse.transaction([d.deleteAll(snapshot), `delete from ${cur} where sync = ${sync}`, `insert into ${cur} (sync, received_until, pending_until) values (${sync}, null, null)`]);
    started = true;
    hasCursor = false;
  }
  const received = q('received_at');
  const emptyPlan = async () => {
    await warehouse.execute(d.drop(plan, 'table'));
    await warehouse.execute(
      `create table ${d.relation(plan)} as select cast(0 as ${d.type('bigint')}) as ${q(SEQ)}, cast(null as ${d.type('string')}) as ${q(OP)}, s.${q('message_id')} as ${q(KEY)}, s.${received} as ${q(RECEIVED_AT)}${spec.columns.map((c) => `, s.${q(c)}`).join('')} from (\n${source.select(null)}\n) s where 1 = 0`,
    );
  };

  if (!started && spec.firstSync === 'forward_only') {
    if (preview) {
      await emptyPlan();
      return { added: 0, changed: 0, removed: 0, unchanged: 0, nullKeys: 0, planned: 0, forwardOnlyStart: true, plan };
    }
    // the first run of a forward-only sync: the newest event received so far is the cursor, and the
    // message ids the next run's lookback reads again count as sent, in one transaction
    await warehouse.transaction([
      d.deleteAll(snapshot),
      `delete from ${cur} where sync = ${sync}`,
      `insert into ${cur} (sync, received_until, pending_until) select ${sync}, max(r.${received}), cast(null as ${d.type('timestamp')}) from ${d.relation(source.raw)} r`,
      `insert into ${snap} (${[KEY, RECEIVED_AT, SYNCED_AT].map(q).join(', ')})
select r.${q('message_id')}, min(r.${received}), ${d.currentTimestamp()} from ${d.relation(source.raw)} r
where r.${q('message_id')} is not null and r.${received} >= ${d.dateAdd('minute', -EVENTS_LOOKBACK_MINUTES, cursorOf('received_until'))}
group by r.${q('message_id')}`,
    ]);
    await emptyPlan();
    const [recorded] = await queryAll(warehouse, `select count(*) as n from ${snap}`);
    return { added: 0, changed: 0, removed: 0, unchanged: Number(recorded.n), nullKeys: 0, planned: 0, forwardOnlyStart: true, plan };
  }
  if (!preview && !started) await warehouse.execute(`insert into ${cur} (sync, received_until, pending_until) values (${sync}, null, null)`);

  const since = hasCursor ? d.dateAdd('minute', -EVENTS_LOOKBACK_MINUTES, cursorOf('received_until')) : null;
  if (!preview) {
    // message ids far behind the cursor: no run reads their events again
    if (hasCursor) await warehouse.execute(`delete from ${snap} where ${q(RECEIVED_AT)} < ${d.dateAdd('day', -EVENTS_DEDUPE_HORIZON_DAYS, cursorOf('received_until'))}`);
    // the cursor this run sets when it completes: the newest event it can see, whatever the filters
    // (taken before the plan reads, so the plan sees at least every event up to it)
    await warehouse.execute(
      `update ${cur} set pending_until = (select max(r.${received}) from ${d.relation(source.raw)} r${since ? ` where r.${received} >= ${since}` : ''}) where sync = ${sync}`,
    );
  }
  const notSent = layout || !preview ? `\n  and not exists (select 1 from ${snap} t where t.${q(KEY)} = s.${q('message_id')})` : '';
  await warehouse.execute(d.drop(plan, 'table'));
  await warehouse.execute(`create table ${d.relation(plan)} as
select row_number() over (order by coalesce(s.${q('timestamp')}, s.${received}), s.${received}, s.${q('message_id')}) as ${q(SEQ)},
  cast('add' as ${d.type('string')}) as ${q(OP)}, s.${q('message_id')} as ${q(KEY)}, s.${received} as ${q(RECEIVED_AT)}${spec.columns.map((c) => `, s.${q(c)}`).join('')}
from (\n${source.select(since)}\n) s
where s.${q('message_id')} is not null${notSent}`);
  const [planned] = await queryAll(warehouse, `select count(*) as n from ${d.relation(plan)}`);
  const [seen] = await queryAll(warehouse, `select count(*) as total, count(k.${q('message_id')}) as keyed from (\n${source.keys(since)}\n) k`);
  const added = Number(planned.n);
  return { added, changed: 0, removed: 0, unchanged: Math.max(0, Number(seen.keyed) - added), nullKeys: Number(seen.total) - Number(seen.keyed), planned: added, plan };
}

/**
 * Moves an events sync's cursor to where its completed run read up to (called when a run has
 * delivered its whole plan; a no-op when it has nothing staged).
 */
export async function commitEventsCursor(warehouse: Warehouse, tables: SyncTables, sync: string): Promise<void> {
  const d = warehouse.dialect;
  if (!(await warehouse.describe(tables.cursors))) return;
  await warehouse.execute(
    `update ${d.relation(tables.cursors)} set received_until = case when received_until is null or pending_until > received_until then pending_until else received_until end, pending_until = null
where sync = ${d.literal(sync)} and pending_until is not null`,
  );
}

/** Forgets an events sync's cursor (the sync is deleted). */
export async function dropEventsCursor(warehouse: Warehouse, tables: SyncTables, sync: string): Promise<void> {
  if (!(await warehouse.describe(tables.cursors))) return;
  await warehouse.execute(`delete from ${warehouse.dialect.relation(tables.cursors)} where sync = ${warehouse.dialect.literal(sync)}`);
}
