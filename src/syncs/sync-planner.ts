import { randomBytes } from 'node:crypto';
import type { SyncMode } from '../destinations/destination-definition';
import { IDENTITY_TABLES } from '../identity/identity-resolver';
import type { Project } from '../models/project';
import { suggest } from '../models/project';
import type { Relation, Warehouse } from '../warehouse/warehouse';
import { queryAll, queryValue } from '../warehouse/warehouse';
import { CHANGES, MODE_OPERATIONS, type Change } from './sync-modes';
import { SyncDefinitionError, type SyncSource } from './sync-definition';

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
 */

export const KEY = '_cdp_key';
export const HASH = '_cdp_hash';
export const OP = '_cdp_op';
export const SEQ = '_cdp_seq';
export const SYNCED_AT = '_cdp_synced_at';

export interface SyncTables {
  snapshot: Relation;
  plan: Relation;
  log: Relation;
}

/** Where a sync's tables live: the engine's schema (`cdp`). */
export function syncTables(cdp: Pick<Relation, 'schema' | 'database'>, sync: string): SyncTables {
  return {
    snapshot: { ...cdp, name: `sync_${sync}_snapshot` },
    plan: { ...cdp, name: `sync_${sync}_plan` },
    log: { ...cdp, name: 'sync_log' },
  };
}

export interface SourceQuery {
  sql: string;
  columns: string[];
  /** what the source is, in words, for messages */
  label: string;
}

/** The select of a sync's source and its columns, checked against the project and the warehouse. */
export async function sourceQuery(warehouse: Warehouse, project: Project, source: SyncSource, where: string): Promise<SourceQuery> {
  const d = warehouse.dialect;
  const columnsOf = async (rel: Relation, label: string): Promise<string[]> => {
    const info = await warehouse.describe(rel);
    if (!info) throw new SyncDefinitionError(`${where}: source: ${label} has not been built yet (${d.relation(rel)} does not exist); run cdp build first`);
    return info.columns.map((c) => c.name);
  };
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

/** The sync's columns in a fixed order: key, hash, then the mapped columns. */
const dataColumns = (spec: PlanSpec) => [KEY, HASH, ...spec.columns];

/**
 * Stages the source, checks its keys, and writes the plan of the changes the mode sends (a durable
 * table) with the counts of every change. `preview`: the plan goes to a scratch table the caller
 * reads and drops, and the snapshot is not touched.
 */
export async function buildPlan(warehouse: Warehouse, spec: PlanSpec, options: { preview?: boolean } = {}): Promise<PlanCounts & { plan: Relation }> {
  const d = warehouse.dialect;
  const q = (c: string) => d.quoteIdentifier(c);
  const { snapshot } = spec.tables;
  await warehouse.ensureSchema(snapshot.schema, snapshot.database);
  const token = randomBytes(4).toString('hex');
  const staged = warehouse.scratchRelation(`_sync_${spec.sync}_${token}_source`, snapshot);
  const plan = options.preview ? warehouse.scratchRelation(`_sync_${spec.sync}_${token}_plan`, snapshot) : spec.tables.plan;
  const pk = spec.source.columns.find((c) => c.toLowerCase() === spec.primaryKey.toLowerCase());
  if (!pk) throw new SyncDefinitionError(`${spec.where}: primary_key: the source (${spec.source.label}) has no column "${spec.primaryKey}"${suggest(spec.primaryKey, spec.source.columns)}`);
  try {
    const key = d.cast(`s.${q(pk)}`, 'string');
    await warehouse.execute(d.drop(staged, 'table'));
    await warehouse.execute(
      `create table ${d.relation(staged)} as\nselect ${key} as ${q(KEY)}, ${rowHash(d, spec.columns.map((c) => `s.${q(c)}`))} as ${q(HASH)}${spec.columns.map((c) => `, s.${q(c)}`).join('')}
from (\n${spec.source.sql}\n) s\nwhere s.${q(pk)} is not null`,
    );
    const nullKeys = Number(await queryValue(warehouse, `select count(*) from (\n${spec.source.sql}\n) s where s.${q(pk)} is null`));
    const duplicates = await queryAll(
      warehouse,
      `select ${q(KEY)} as k, count(*) as n from ${d.relation(staged)} group by ${q(KEY)} having count(*) > 1 order by count(*) desc, ${q(KEY)} limit 5`,
    );
    if (duplicates.length) {
      throw new DuplicateKeyError(
        `${spec.where}: primary_key: ${spec.primaryKey} is not unique in ${spec.source.label}: ${duplicates.map((r) => `"${String(r.k)}" (${String(r.n)} rows)`).join(', ')}; nothing was sent`,
      );
    }

    const snapExists = await ensureSnapshot(warehouse, spec, staged, options.preview ?? false);
    const snap = d.relation(snapshot);
    const src = d.relation(staged);
    const cols = spec.columns.map((c) => q(c));
    if (!options.preview && spec.fullResync && snapExists) await warehouse.execute(`delete from ${snap}`);

    if (!options.preview && !snapExists && spec.firstSync === 'forward_only') {
      // the first run of a forward-only sync: what the source holds now counts as sent
      await warehouse.execute(`insert into ${snap} (${[KEY, HASH, SYNCED_AT].map(q).join(', ')}${cols.map((c) => `, ${c}`).join('')})
select ${q(KEY)}, ${q(HASH)}, ${d.currentTimestamp()}${cols.map((c) => `, ${c}`).join('')} from ${src}`);
      const total = Number(await queryValue(warehouse, `select count(*) from ${src}`));
      await warehouse.execute(d.drop(plan, 'table'));
      await warehouse.execute(`create table ${d.relation(plan)} as select cast(0 as ${d.type('bigint')}) as ${q(SEQ)}, cast(null as ${d.type('string')}) as ${q(OP)}, * from ${src} where 1 = 0`);
      return { added: 0, changed: 0, removed: 0, unchanged: total, nullKeys, planned: 0, forwardOnlyStart: true, plan };
    }

    const snapSql = snapExists ? snap : `(select ${[KEY, HASH].map(q).join(', ')}${cols.map((c) => `, ${c}`).join('')} from ${src} where 1 = 0)`;
    const branch: Record<Change, string> = {
      add: `select 'add' as ${q(OP)}, ${dataColumns(spec).map((c) => `s.${q(c)}`).join(', ')} from ${src} s where not exists (select 1 from ${snapSql} t where t.${q(KEY)} = s.${q(KEY)})`,
      change: `select 'change' as ${q(OP)}, ${dataColumns(spec).map((c) => `s.${q(c)}`).join(', ')} from ${src} s join ${snapSql} t on t.${q(KEY)} = s.${q(KEY)} where t.${q(HASH)} <> s.${q(HASH)}`,
      remove: `select 'remove' as ${q(OP)}, ${dataColumns(spec).map((c) => `t.${q(c)}`).join(', ')} from ${snapSql} t where not exists (select 1 from ${src} s where s.${q(KEY)} = t.${q(KEY)})`,
    };
    const total = Number(await queryValue(warehouse, `select count(*) from ${src}`));
    await warehouse.execute(d.drop(plan, 'table'));
    await warehouse.execute(`create table ${d.relation(plan)} as
select row_number() over (order by case ${q(OP)} when 'remove' then 0 when 'change' then 1 else 2 end, ${q(KEY)}) as ${q(SEQ)}, x.*
from (\n${CHANGES.map((c) => branch[c]).join('\nunion all\n')}\n) x`);
    const counts: Record<Change, number> = { add: 0, change: 0, remove: 0 };
    for (const r of await queryAll(warehouse, `select ${q(OP)} as op, count(*) as n from ${d.relation(plan)} group by ${q(OP)}`)) counts[r.op as Change] = Number(r.n);
    const silent = options.preview ? [] : CHANGES.filter((c) => MODE_OPERATIONS[spec.mode][c] === null && counts[c] > 0);
    if (silent.length) {
      // the changes this mode does not send: the snapshot follows the source, and they leave the plan
      const p = d.relation(plan);
      const statements: string[] = [];
      if (silent.includes('remove')) statements.push(`delete from ${snap} where ${q(KEY)} in (select ${q(KEY)} from ${p} where ${q(OP)} = 'remove')`);
      if (silent.includes('change')) {
        const set = [HASH, ...spec.columns].map((c) => `${q(c)} = s.${q(c)}`);
        statements.push(
          `update ${snap} set ${set.join(', ')}, ${q(SYNCED_AT)} = ${d.currentTimestamp()}\nfrom ${p} s where s.${q(OP)} = 'change' and ${snap}.${q(KEY)} = s.${q(KEY)}`,
        );
      }
      statements.push(`delete from ${p} where ${q(OP)} in (${silent.map((c) => `'${c}'`).join(', ')})`);
      await warehouse.transaction(statements);
    }
    const planned = CHANGES.filter((c) => !silent.includes(c)).reduce((n, c) => n + counts[c], 0);
    return { added: counts.add, changed: counts.change, removed: counts.remove, unchanged: total - counts.add - counts.change, nullKeys, planned, plan };
  } finally {
    await warehouse.execute(d.drop(staged, 'table')).catch(() => undefined);
  }
}

/**
 * Makes sure the snapshot exists with the sync's columns: created empty on the first run; when the
 * mapping now reads other columns, rebuilt with them (the new ones null), which changes every hash,
 * so every row is sent again with the new fields. Returns whether the snapshot existed before.
 */
async function ensureSnapshot(warehouse: Warehouse, spec: PlanSpec, staged: Relation, preview: boolean): Promise<boolean> {
  const d = warehouse.dialect;
  const q = (c: string) => d.quoteIdentifier(c);
  const info = await warehouse.describe(spec.tables.snapshot);
  if (preview) {
    if (!info) return false;
    const have = new Set(info.columns.map((c) => c.name));
    if (spec.columns.every((c) => have.has(c))) return true;
    throw new SyncDefinitionError(`${spec.where}: the mapping reads new columns; the next run re-sends every row with them (no preview of that)`);
  }
  const columnsSql = (from: (c: string) => string) => `${q(KEY)}, ${q(HASH)}, cast(${from(SYNCED_AT)} as ${d.type('timestamp')}) as ${q(SYNCED_AT)}${spec.columns.map((c) => `, ${from(c)} as ${q(c)}`).join('')}`;
  if (!info) {
    await warehouse.execute(`create table ${d.relation(spec.tables.snapshot)} as select ${columnsSql((c) => (c === SYNCED_AT ? 'null' : q(c)))} from ${d.relation(staged)} where 1 = 0`);
    return false;
  }
  const have = new Set(info.columns.map((c) => c.name));
  const wanted = [KEY, HASH, SYNCED_AT, ...spec.columns];
  if (wanted.length === have.size && wanted.every((c) => have.has(c))) return true;
  // the new columns take the staged source's types; the old hash no longer matches, so every row changes
  const types = new Map((await warehouse.describe(staged))!.columns.map((c) => [c.name, c.type]));
  await warehouse.replaceTable(
    spec.tables.snapshot,
    `select ${columnsSql((c) => (have.has(c) ? q(c) : `cast(null as ${types.get(c) ?? d.type('string')})`))} from ${d.relation(spec.tables.snapshot)}`,
  );
  return true;
}

/**
 * A hash of the mapped columns that tells any two rows apart: each value as text with its length
 * in front (so `a|b` + `c` and `a` + `b|c` differ) and `~` for null.
 */
export function rowHash(d: Warehouse['dialect'], exprs: string[]): string {
  if (exprs.length === 0) return d.md5("''");
  const parts = exprs.map((e) => {
    const text = d.cast(e, 'string');
    return `coalesce(${d.concat([d.cast(`length(${text})`, 'string'), "':'", text])}, '~')`;
  });
  return d.md5(d.concat(parts.flatMap((p, i) => (i === 0 ? [p] : ["'|'", p]))));
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
