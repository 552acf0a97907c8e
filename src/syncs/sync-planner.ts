import { randomBytes } from 'node:crypto';
import type { SyncMode } from '../destinations/destination-definition';
import { IDENTITY_TABLES } from '../identity/identity-resolver';
import type { Project } from '../models/project';
import { suggest } from '../models/project';
import type { Relation, Warehouse } from '../warehouse/warehouse';
import { dropTables, queryAll } from '../warehouse/warehouse';
import { CHANGES, MODE_OPERATIONS, type Change } from './sync-modes';
import { isEventsSource, SyncDefinitionError, type SyncSource } from './sync-definition';
import { buildEventsPlan, CURSORS, eventsSourceQuery, type EventsSource } from './event-source';
import { HASH, KEY, OP, SEQ, SYNCED_AT } from './sync-columns';

/**
 * The diff, in the warehouse: nothing row by row in Node, so memory stays flat whatever the row count.
 *
 * 1. The source (a model, or a segment's members joined to their profiles) is staged with its
 *    primary key as text (`_cdp_key`) and a hash of the mapped columns (`_cdp_hash`).
 * 2. A duplicate primary key fails the run before anything is sent, naming the keys.
 * 3. Against the sync's snapshot `sync_<name>_snapshot` (what the destination holds: key, hash, the
 *    mapped columns as sent, when), rows are `add` (key not in the snapshot), `change` (hash differs)
 *    or `remove` (key gone from the source). The ones the mode sends go to the plan table
 *    `sync_<name>_plan`, numbered by `_cdp_seq` (the checkpoint order); the ones it does not send
 *    update the snapshot at once (an upsert sync forgets removed rows).
 *
 * The plan is durable: a run killed while delivering resumes from it.
 *
 * An events source (`source: { events: ... }`) is planned by event-source.ts: only added rows, read
 * from a cursor, numbered by event time.
 */

export { HASH, KEY, OP, SEQ, SYNCED_AT } from './sync-columns';

/** One row per sync: the run delivering it and the plan rows done (`seq`), moved with the snapshot in one transaction. */
export const CHECKPOINTS = 'sync_checkpoints';

export interface SyncTables {
  snapshot: Relation;
  plan: Relation;
  log: Relation;
  checkpoints: Relation;
  /** the cursors of events syncs (event-source.ts) */
  cursors: Relation;
}

/** Where a sync's tables live: the engine's schema (`cdp`). */
export function syncTables(cdp: Pick<Relation, 'schema' | 'database'>, sync: string): SyncTables {
  return {
    snapshot: { ...cdp, name: `sync_${sync}_snapshot` },
    plan: { ...cdp, name: `sync_${sync}_plan` },
    log: { ...cdp, name: 'sync_log' },
    checkpoints: { ...cdp, name: CHECKPOINTS },
    cursors: { ...cdp, name: CURSORS },
  };
}

export interface SourceQuery {
  sql: string;
  columns: string[];
  /** what the source is, in words, for messages */
  label: string;
  /** an events source: read through its cursor (`sql` is every event) */
  events?: EventsSource;
}

/** The select of a sync's source and its columns, checked against the project and the warehouse. */
export async function sourceQuery(warehouse: Warehouse, project: Project, source: SyncSource, where: string): Promise<SourceQuery> {
  const d = warehouse.dialect;
  const columnsOf = async (rel: Relation, label: string): Promise<string[]> => {
    const info = await warehouse.describe(rel);
    if (!info) throw new SyncDefinitionError(`${where}: source: ${label} has not been built yet (${d.relation(rel)} does not exist); run cdp build first`);
    return info.columns.map((c) => c.name);
  };
  if (isEventsSource(source)) return eventsSourceQuery(warehouse, project, source.events, where);
  if ('model' in source) {
    const node = project.models.get(source.model) ?? project.seeds.get(source.model);
    if (!node) throw new SyncDefinitionError(`${where}: source.model: no model or seed "${source.model}"${suggest(source.model, [...project.models.keys(), ...project.seeds.keys()])}`);
    const columns = await columnsOf(node.relation, `model ${source.model}`);
    return { sql: `select * from ${d.relation(node.relation)}`, columns, label: `model ${source.model}` };
  }
  const sqlSegment = project.models.get(source.segment);
  const node = project.segments.get(source.segment) ?? (sqlSegment?.config.segment ? sqlSegment : undefined);
  if (!node) {
    const names = [...project.segments.keys(), ...[...project.models.values()].filter((m) => m.config.segment).map((m) => m.name)];
    throw new SyncDefinitionError(`${where}: source.segment: no segment "${source.segment}"${suggest(source.segment, names)}`);
  }
  if (!project.identity) throw new SyncDefinitionError(`${where}: source.segment: segments need profiles; add an identity: section to cdp.yaml`);
  if (source.split && !(node.kind === 'segment' && node.definition.split && source.split in node.definition.split)) {
    const groups = node.kind === 'segment' && node.definition.split ? Object.keys(node.definition.split) : [];
    throw new SyncDefinitionError(`${where}: source.split: segment ${source.segment} has no split group "${source.split}"${groups.length ? ` (groups: ${groups.join(', ')})` : ' (it is not split)'}`);
  }
  const profiles = project.identity.plan.relation(IDENTITY_TABLES.profiles);
  const profileColumns = await columnsOf(profiles, 'the profiles table');
  const memberColumns = (await columnsOf(node.relation, `segment ${source.segment}`)).filter((c) => !profileColumns.includes(c));
  const q = (c: string) => d.quoteIdentifier(c);
  const select = [...profileColumns.map((c) => `p.${q(c)}`), ...memberColumns.map((c) => `m.${q(c)}`)];
  const filter = source.split ? `\nwhere m.${q('split_group')} = ${d.literal(source.split)}` : '';
  return {
    sql: `select ${select.join(', ')}\nfrom ${d.relation(node.relation)} m join ${d.relation(profiles)} p on p.${q('profile_id')} = m.${q('profile_id')}${filter}`,
    columns: [...profileColumns, ...memberColumns],
    label: `segment ${source.segment}${source.split ? ` (${source.split})` : ''}`,
  };
}

export interface PlanSpec {
  sync: string;
  /** where the definition came from, for messages */
  where: string;
  source: SourceQuery;
  primaryKey: string;
  /** the mapped columns (what the hash covers) */
  columns: string[];
  mode: SyncMode;
  tables: SyncTables;
  fullResync?: boolean;
  firstSync?: 'backfill' | 'forward_only';
  /**
   * (k): diff only the rows with these keys (as text), in the source and in the snapshot: a
   * real-time run after touched passes. The counts then cover these keys.
   */
  keys?: Relation;
}

export interface PlanCounts {
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  /** rows whose primary key is null: skipped */
  nullKeys: number;
  /** rows the plan holds (the changes the mode sends) */
  planned: number;
  /** the first run of a forward-only sync: the snapshot was filled and nothing is sent */
  forwardOnlyStart?: boolean;
}

export class DuplicateKeyError extends SyncDefinitionError {}

/**
 * Checks the source's keys, and writes the plan of the changes the mode sends (a durable table) with
 * the counts of every change, in two passes over the source: one aggregate (rows, null keys,
 * distinct keys) and one full outer join with the snapshot that hashes each row on the way.
 * `preview`: the plan goes to a scratch table the caller reads and drops, and the snapshot is not
 * touched.
 */
export async function buildPlan(warehouse: Warehouse, spec: PlanSpec, options: { preview?: boolean } = {}): Promise<PlanCounts & { plan: Relation }> {
  const d = warehouse.dialect;
  const q = (c: string) => d.quoteIdentifier(c);
  const { snapshot } = spec.tables;
  await warehouse.ensureSchema(snapshot.schema, snapshot.database);
  const plan = options.preview ? warehouse.scratchRelation(`_sync_${spec.sync}_${randomBytes(4).toString('hex')}_plan`, snapshot) : spec.tables.plan;
  if (spec.source.events) return buildEventsPlan(warehouse, spec, spec.source.events, plan, options);
  const pk = spec.source.columns.find((c) => c.toLowerCase() === spec.primaryKey.toLowerCase());
  if (!pk) throw new SyncDefinitionError(`${spec.where}: primary_key: the source (${spec.source.label}) has no column "${spec.primaryKey}"${suggest(spec.primaryKey, spec.source.columns)}`);
  const cols = spec.columns.map(q);
  // the source as the plan sees it: the key (in its own type: joins on numbers are cheaper), the row hash, the mapped columns
  const keyedOf = (sql: string) => `select s.${q(pk)} as ${q(KEY)}, ${d.rowHash(spec.columns.map((c) => `s.${q(c)}`))} as ${q(HASH)}${cols.map((c) => `, s.${c}`).join('')}
from (\n${sql}\n) s where s.${q(pk)} is not null`;
  const { existed: snapExists, rebuilt } = await ensureSnapshot(warehouse, spec, keyedOf(spec.source.sql), options.preview ?? false);
  // a keyed plan (the keys real-time passes touched) compares with the snapshot as it was: not on
  // a first run, a full resync, or a snapshot ensureSnapshot just rebuilt for new columns
  const keyset = spec.keys && snapExists && !rebuilt && !spec.fullResync ? d.relation(spec.keys) : undefined;
  if (!keyset) return diffIntoPlan(warehouse, spec, { plan, pk, keyedOf, snapExists, sourceSql: spec.source.sql, preview: options.preview ?? false });
  // a keyed plan reads the source and the snapshot several times: their rows of these keys are staged once
  const source = warehouse.scratchRelation(`_sync_${spec.sync}_${randomBytes(4).toString('hex')}_src`, snapshot);
  const keyedSnapshot = warehouse.scratchRelation(`_sync_${spec.sync}_${randomBytes(4).toString('hex')}_snap`, snapshot);
  try {
    await warehouse.execute(`create table ${d.relation(source)} as\nselect * from (\n${spec.source.sql}\n) s0 where ${d.cast(`s0.${q(pk)}`, 'string')} in (select k from ${keyset})`);
    await warehouse.execute(`create table ${d.relation(keyedSnapshot)} as\nselect * from ${d.relation(snapshot)} where ${d.cast(q(KEY), 'string')} in (select k from ${keyset})`);
    return await diffIntoPlan(warehouse, spec, { plan, pk, keyedOf, snapExists, sourceSql: `select * from ${d.relation(source)}`, keyedSnapshot, preview: options.preview ?? false });
  } finally {
    await dropTables(warehouse, [source, keyedSnapshot]);
  }
}

/**
 * The diff of buildPlan: checks the keys, writes the plan and the counts. `sourceSql`: the source
 * (a keyed plan's staged rows); `keyedSnapshot`: the snapshot's rows of the keys, staged.
 */
async function diffIntoPlan(
  warehouse: Warehouse,
  spec: PlanSpec,
  c: { plan: Relation; pk: string; keyedOf: (sql: string) => string; snapExists: boolean; sourceSql: string; keyedSnapshot?: Relation; preview: boolean },
): Promise<PlanCounts & { plan: Relation }> {
  const { plan, pk, keyedOf, snapExists, sourceSql, keyedSnapshot, preview } = c;
  const d = warehouse.dialect;
  const q = (col: string) => d.quoteIdentifier(col);
  const { snapshot } = spec.tables;
  const cols = spec.columns.map(q);
  const keyed = keyedOf(sourceSql);

  // rows and null keys: one cheap scan (duplicates are found from the diff's own counts, below)
  const [keys] = await queryAll(warehouse, `select count(*) as total, count(s.${q(pk)}) as keyed from (\n${sourceSql}\n) s`);
  const total = Number(keys.keyed);
  const nullKeys = Number(keys.total) - total;
  const duplicateKeys = async (): Promise<DuplicateKeyError> => {
    const duplicates = await queryAll(
      warehouse,
      `select k, count(*) as n from (select ${d.cast(`s.${q(pk)}`, 'string')} as k from (\n${sourceSql}\n) s) x where k is not null group by k having count(*) > 1 order by count(*) desc, k limit 5`,
    );
    return new DuplicateKeyError(
      `${spec.where}: primary_key: ${spec.primaryKey} is not unique in ${spec.source.label}: ${duplicates.map((r) => `"${String(r.k)}" (${String(r.n)} rows)`).join(', ')}; nothing was sent`,
    );
  };

  const snap = d.relation(snapshot);
  if (!preview && spec.fullResync && snapExists) await warehouse.execute(d.deleteAll(snapshot));

  if (!preview && !snapExists && spec.firstSync === 'forward_only') {
    // the first run of a forward-only sync: what the source holds now counts as sent
    const [distinct] = await queryAll(warehouse, `select count(distinct k.${q(KEY)}) as n from (${keyed}) k`);
    if (Number(distinct.n) !== total) throw await duplicateKeys();
    await warehouse.execute(`insert into ${snap} (${[KEY, HASH, SYNCED_AT].map(q).join(', ')}${cols.map((c) => `, ${c}`).join('')})
select k.${q(KEY)}, k.${q(HASH)}, ${d.currentTimestamp()}${cols.map((c) => `, k.${c}`).join('')} from (${keyed}) k`);
    await warehouse.execute(d.drop(plan, 'table'));
    await warehouse.execute(`create table ${d.relation(plan)} as select cast(0 as ${d.type('bigint')}) as ${q(SEQ)}, cast(null as ${d.type('string')}) as ${q(OP)}, k.* from (${keyed}) k where 1 = 0`);
    return { added: 0, changed: 0, removed: 0, unchanged: total, nullKeys, planned: 0, forwardOnlyStart: true, plan };
  }

  const snapSql = snapExists ? (keyedSnapshot ? d.relation(keyedSnapshot) : snap) : `(select ${[KEY, HASH].map(q).join(', ')}${cols.map((c) => `, ${c}`).join('')} from (${keyed}) k where 1 = 0)`;
  // the changes the mode does not send are numbered last, so the sent ones are numbered 1..planned
  const silentOps = preview ? [] : CHANGES.filter((c) => MODE_OPERATIONS[spec.mode][c] === null);
  // one lean pass over keys and hashes (a row only in the source is added, only in the snapshot
  // removed, in both with another hash changed), then the columns of those rows alone
  const k = q(KEY);
  const h = q(HASH);
  const columnsOnly = `select s.${q(pk)} as ${k}${cols.map((c) => `, s.${c}`).join('')} from (\n${sourceSql}\n) s where s.${q(pk)} is not null`;
  await warehouse.execute(d.drop(plan, 'table'));
  await warehouse.execute(`create table ${d.relation(plan)} as
select row_number() over (order by case ${silentOps.length ? `when ${q(OP)} in (${silentOps.map((c) => `'${c}'`).join(', ')}) then 3 ` : ''}when ${q(OP)} = 'remove' then 0 when ${q(OP)} = 'change' then 1 else 2 end, ${k}) as ${q(SEQ)}, x.*
from (
  select dd.${q(OP)}, dd.${k}, dd.${h}${cols.map((c) => `, case when dd.${q(OP)} = 'remove' then t.${c} else s.${c} end as ${c}`).join('')}
  from (
    select case when t.${k} is null then 'add' when s.${k} is null then 'remove' else 'change' end as ${q(OP)},
      case when s.${k} is null then t.${k} else s.${k} end as ${k}, case when s.${k} is null then t.${h} else s.${h} end as ${h}
    from (select ${k}, ${h} from (${keyed}) kk) s full outer join (select ${k}, ${h} from ${snapSql} ss) t on t.${k} = s.${k}
    where t.${k} is null or s.${k} is null or t.${h} is null or t.${h} <> s.${h}
  ) dd
  left join (${columnsOnly}) s on s.${k} = dd.${k}
  left join ${snapSql} t on t.${k} = dd.${k}
) x`);
  const counts: Record<Change, number> = { add: 0, change: 0, remove: 0 };
  let addedKeys = 0;
  for (const r of await queryAll(warehouse, `select ${q(OP)} as op, count(*) as n, count(distinct ${q(KEY)}) as k from ${d.relation(plan)} group by ${q(OP)}`)) {
    counts[r.op as Change] = Number(r.n);
    if (r.op === 'add') addedKeys = Number(r.k);
  }
  // the snapshot's keys are unique: the source rows that found one (all but the added) must be as
  // many as the snapshot keys they found (all but the removed), and the added rows as many as their keys
  const snapshotRows = snapExists ? Number((await queryAll(warehouse, `select count(*) as n from ${snapSql} ss`))[0].n) : 0;
  if (total - counts.add !== snapshotRows - counts.remove || counts.add !== addedKeys) {
    await warehouse.execute(d.drop(plan, 'table'));
    throw await duplicateKeys();
  }
  const silent = preview ? [] : CHANGES.filter((c) => MODE_OPERATIONS[spec.mode][c] === null && counts[c] > 0);
  if (silent.length) {
    // the changes this mode does not send: the snapshot follows the source, and they leave the plan
    const p = d.relation(plan);
    const statements: string[] = [];
    if (silent.includes('remove')) statements.push(`delete from ${snap} where ${q(KEY)} in (select ${q(KEY)} from ${p} where ${q(OP)} = 'remove')`);
    if (silent.includes('change')) {
      const set = [HASH, ...spec.columns].map((c) => `${q(c)} = s.${q(c)}`);
      // the target is aliased: BigQuery does not take a column qualified by the table's full path
      statements.push(`update ${snap} as t set ${set.join(', ')}, ${q(SYNCED_AT)} = ${d.currentTimestamp()}\nfrom ${p} s where s.${q(OP)} = 'change' and t.${q(KEY)} = s.${q(KEY)}`);
    }
    statements.push(`delete from ${p} where ${q(OP)} in (${silent.map((c) => `'${c}'`).join(', ')})`);
    await warehouse.transaction(statements);
  }
  const planned = CHANGES.filter((c) => !silent.includes(c)).reduce((n, c) => n + counts[c], 0);
  return { added: counts.add, changed: counts.change, removed: counts.remove, unchanged: total - counts.add - counts.change, nullKeys, planned, plan };
}

/**
 * Makes sure the snapshot exists with the sync's columns: created empty on the first run; when the
 * mapping now reads other columns, rebuilt with them (the new ones null), which changes every hash,
 * so every row is sent again with the new fields. Returns whether the snapshot existed before, and
 * whether it was rebuilt.
 */
async function ensureSnapshot(warehouse: Warehouse, spec: PlanSpec, keyed: string, preview: boolean): Promise<{ existed: boolean; rebuilt: boolean }> {
  const d = warehouse.dialect;
  const q = (c: string) => d.quoteIdentifier(c);
  const info = await warehouse.describe(spec.tables.snapshot);
  if (preview) {
    if (!info) return { existed: false, rebuilt: false };
    const have = new Set(info.columns.map((c) => c.name));
    if (spec.columns.every((c) => have.has(c))) return { existed: true, rebuilt: false };
    throw new SyncDefinitionError(`${spec.where}: the mapping reads new columns; the next run re-sends every row with them (no preview of that)`);
  }
  const columnsSql = (from: (c: string) => string) => `${from(KEY)} as ${q(KEY)}, ${from(HASH)} as ${q(HASH)}, cast(${from(SYNCED_AT)} as ${d.type('timestamp')}) as ${q(SYNCED_AT)}${spec.columns.map((c) => `, ${from(c)} as ${q(c)}`).join('')}`;
  if (!info) {
    await warehouse.execute(`create table ${d.relation(spec.tables.snapshot)} as select ${columnsSql((c) => (c === SYNCED_AT ? 'null' : q(c)))} from (${keyed}) k where 1 = 0`);
    return { existed: false, rebuilt: false };
  }
  const have = new Set(info.columns.map((c) => c.name));
  const wanted = [KEY, HASH, SYNCED_AT, ...spec.columns];
  const types = await selectTypes(warehouse, keyed, spec);
  // a hash of another type (another engine version or dialect macro) is compared as unknown: every row is re-sent once
  const sameHash = info.columns.find((c) => c.name === HASH)?.type === types.get(HASH);
  const sameKey = info.columns.find((c) => c.name === KEY)?.type === types.get(KEY);
  if (sameHash && sameKey && wanted.length === have.size && wanted.every((c) => have.has(c))) return { existed: true, rebuilt: false };
  // the new columns take the source's types; the old hash no longer matches, so every row changes
  const keep = (c: string) => have.has(c) && (c !== HASH || sameHash);
  // a key of another type (the primary key column changed type) is cast to the new one
  const value = (c: string) => (!keep(c) ? `cast(null as ${types.get(c) ?? d.type('string')})` : c === KEY && !sameKey ? `cast(${q(c)} as ${types.get(KEY)})` : q(c));
  await warehouse.replaceTable(spec.tables.snapshot, `select ${columnsSql(value)} from ${d.relation(spec.tables.snapshot)}`);
  return { existed: true, rebuilt: true };
}

/** The column types a select gives, as describe() names them: one statement where the engine describes a query, else an empty probe table. */
async function selectTypes(warehouse: Warehouse, selectSql: string, spec: PlanSpec): Promise<Map<string, string>> {
  const d = warehouse.dialect;
  const describeSql = d.describeSelect(selectSql);
  if (describeSql) return new Map((await queryAll(warehouse, describeSql)).map((r) => [String(r.column_name), String(r.column_type)]));
  const probe = warehouse.scratchRelation(`_sync_${spec.sync}_${randomBytes(4).toString('hex')}_types`, spec.tables.snapshot);
  try {
    await warehouse.execute(`create table ${d.relation(probe)} as select * from (${selectSql}) k where 1 = 0`);
    return new Map((await warehouse.describe(probe))!.columns.map((c) => [c.name, c.type]));
  } finally {
    await warehouse.execute(d.drop(probe, 'table'));
  }
}

export interface PlanSample {
  change: Change;
  key: string;
  /** the mapped columns of the row (the snapshot's values for a removal) */
  row: Record<string, unknown>;
}

/**
 * What a run would do now, sending nothing and changing nothing: the counts of each change and up to
 * `sample` rows of each (`cdp sync --plan`, `GET /api/syncs/:name/plan`).
 */
export async function previewPlan(warehouse: Warehouse, spec: PlanSpec, sample = 3): Promise<PlanCounts & { samples: PlanSample[] }> {
  const d = warehouse.dialect;
  const q = (c: string) => d.quoteIdentifier(c);
  const result = await buildPlan(warehouse, spec, { preview: true });
  try {
    const samples: PlanSample[] = [];
    for (const change of CHANGES) {
      const rows = await queryAll(warehouse, `select * from ${d.relation(result.plan)} where ${q(OP)} = ? order by ${q(SEQ)} limit ${Math.max(0, Math.floor(sample))}`, [change]);
      for (const r of rows) samples.push({ change, key: String(r[KEY]), row: Object.fromEntries(spec.columns.map((c) => [c, r[c]])) });
    }
    const sent = CHANGES.filter((c) => MODE_OPERATIONS[spec.mode][c] !== null);
    const planned = sent.reduce((n, c) => n + ({ add: result.added, change: result.changed, remove: result.removed } as const)[c], 0);
    return { ...result, planned, samples };
  } finally {
    await warehouse.execute(d.drop(result.plan, 'table'));
  }
}
