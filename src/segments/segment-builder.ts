import { randomBytes } from 'node:crypto';
import { parseAsOf } from '../identity/profile-builder';
import { IDENTITY_TABLES } from '../identity/identity-resolver';
import { PROFILE_EVENT_COLUMNS } from '../identity/identity-sources';
import type { ModelNode, Project, SegmentNode } from '../models/project';
import type { ColumnSpec, LogicalType, Relation, Warehouse } from '../warehouse/warehouse';
import { dropTables, queryAll } from '../warehouse/warehouse';
import { compileSegment, type CompiledSegment, type SegmentCompileContext } from './segment-compiler';
import { compileSplit } from './segment-split';
import { SegmentDefinitionError } from './segment-tree';
import { ProfilesUnavailableError } from '../profiles/profiles.service';

/**
 * Building a segment: its current members into its own table, and its entries and exits into
 * `cdp.segment_membership` (one row per stay: entered_at, exited_at null while still a member), with
 * one row per build in `cdp.segment_runs` (size, entered, exited), so membership at any time and size
 * over time can be asked for. The member table, the membership changes and the run row are written in
 * one transaction: a crash leaves the previous build whole, and the next build records what changed.
 *
 * A member whose split group changes (the split was edited) exits and re-enters with the new group.
 */
export const SEGMENT_TABLES = { membership: 'segment_membership', runs: 'segment_runs' } as const;

const MEMBERSHIP_COLUMNS: ColumnSpec[] = [
  { name: 'segment', type: 'string' },
  { name: 'profile_id', type: 'string' },
  { name: 'split_group', type: 'string' },
  { name: 'entered_at', type: 'timestamp' },
  { name: 'exited_at', type: 'timestamp' },
];
const RUN_COLUMNS: ColumnSpec[] = [
  { name: 'segment', type: 'string' },
  { name: 'run_at', type: 'timestamp' },
  { name: 'size', type: 'bigint' },
  { name: 'entered', type: 'bigint' },
  { name: 'exited', type: 'bigint' },
];

export interface SegmentBuildResult {
  size: number;
  entered: number;
  exited: number;
}

/** Where the segment tables live: beside the identity tables (schema `cdp`). */
export function segmentTable(project: Project, table: keyof typeof SEGMENT_TABLES): Relation {
  if (!project.identity) throw new SegmentDefinitionError('segments need profiles; add an identity: section to cdp.yaml');
  return project.identity.plan.relation(SEGMENT_TABLES[table]);
}

/** Segments are checked against the profiles: before identity resolution has built them, a 503 (try again later). */
export function profilesNotBuilt(profiles: string): ProfilesUnavailableError {
  return new ProfilesUnavailableError(
    `${profiles} does not exist yet: segments are checked against the profiles, which identity resolution builds (cdp build, or POST /api/models/build); this answers as soon as they exist`,
  );
}

/** The profiles' traits and the events' properties as they are now in the warehouse, for compiling trees. */
export async function segmentContext(warehouse: Warehouse, project: Project, now = new Date()): Promise<SegmentCompileContext> {
  const identity = project.identity;
  if (!identity) throw new SegmentDefinitionError('segments need profiles; add an identity: section to cdp.yaml');
  const d = warehouse.dialect;
  const profiles = identity.plan.relation(IDENTITY_TABLES.profiles);
  const events = identity.plan.relation(IDENTITY_TABLES.events);
  const [p, e] = await Promise.all([warehouse.describe(profiles), warehouse.describe(events)]);
  if (!p) throw profilesNotBuilt(d.relation(profiles));
  const traits = new Map<string, LogicalType>(p.columns.filter((c) => c.name !== 'profile_id').map((c) => [c.name, d.logicalType(c.type)]));
  const base = new Set<string>(PROFILE_EVENT_COLUMNS);
  const segmentRelations = new Map<string, Relation>([
    ...[...project.segments.values()].map((s): [string, Relation] => [s.name, s.relation]),
    ...[...project.models.values()].filter((m) => m.config.segment).map((m): [string, Relation] => [m.name, m.relation]),
  ]);
  return {
    dialect: d,
    profiles,
    traits,
    events: e
      ? {
          relation: events,
          profileId: 'profile_id',
          name: 'event',
          time: 'occurred_at',
          properties: new Map(e.columns.filter((c) => !base.has(c.name)).map((c) => [c.name, { column: c.name, type: d.logicalType(c.type) }])),
        }
      : undefined,
    segments: (name) => segmentRelations.get(name),
    asOf: identity.plan.config.as_of ? parseAsOf(identity.plan.config.as_of) : now,
  };
}

/** The select of a segment's members with their split group: (profile_id, split_group). */
export function membersSql(warehouse: Warehouse, node: SegmentNode | ModelNode, ctx: SegmentCompileContext): CompiledSegment {
  const d = warehouse.dialect;
  if (node.kind === 'model') {
    const id = d.quoteIdentifier('profile_id');
    return { sql: `select distinct ${d.cast(`m.${id}`, 'string')} as ${id}, cast(null as ${d.type('string')}) as split_group from ${d.relation(node.relation)} m where m.${id} is not null`, params: [] };
  }
  const members = compileSegment(node.definition, ctx);
  if (node.definition.split) return compileSplit(d, node.name, node.definition.split, members);
  return { sql: `select m.profile_id, cast(null as ${d.type('string')}) as split_group from (\n${members.sql}\n) m`, params: members.params };
}

/**
 * Builds one segment (a tree segment, or a SQL segment model already materialized): its member
 * table (tree segments), entries and exits, and a run row, at time `now`.
 *
 * `only` (profile_id): a real-time pass re-evaluates a tree segment for these profiles alone (those
 * whose graph, traits or events changed): their rows of the member table are replaced and only their
 * stays open or close; everyone else keeps their membership as it is. The conditions read a copy of
 * those profiles' rows, so the cost follows the profiles touched, not the table. A run row is written
 * only when someone entered or exited.
 */
export async function buildSegment(
  warehouse: Warehouse,
  project: Project,
  node: SegmentNode | ModelNode,
  now = new Date(),
  only?: Relation,
): Promise<SegmentBuildResult> {
  const d = warehouse.dialect;
  const membership = segmentTable(project, 'membership');
  const runs = segmentTable(project, 'runs');
  await warehouse.ensureSchema(membership.schema, membership.database);
  await warehouse.execute(d.createTableFromColumns(membership, MEMBERSHIP_COLUMNS, { ifNotExists: true }));
  await warehouse.execute(d.createTableFromColumns(runs, RUN_COLUMNS, { ifNotExists: true }));

  // touched profiles alone: only for a tree segment already built (else, the whole segment)
  const touched = only && node.kind === 'segment' && (await warehouse.describe(node.relation)) ? only : undefined;
  const token = randomBytes(4).toString('hex');
  const staged: Relation[] = [];
  let ctx = await segmentContext(warehouse, project, now);
  const stage = warehouse.scratchRelation(`_segment_${token}`, membership);
  const s = d.relation(stage);
  const m = d.relation(membership);
  const name = d.literal(node.name);
  const at = d.timestampLiteral(now);
  const sameGroup = `coalesce(x.split_group, '') = coalesce(m.split_group, '')`;
  const size = touched ? `(select count(*) from ${d.relation(node.relation)})` : `(select count(*) from ${s})`;
  const inScope = touched ? `\n  and profile_id in (select profile_id from ${d.relation(touched)})` : '';
  try {
    if (touched) ctx = await touchedContext(warehouse, ctx, touched, membership, token, staged);
    const members = membersSql(warehouse, node, ctx);
    await warehouse.execute(`create table ${s} as\nselect distinct profile_id, split_group from (\n${members.sql}\n) x`, members.params);
    const memberTable =
      node.kind !== 'segment'
        ? []
        : touched
          ? [
              `delete from ${d.relation(node.relation)} where profile_id in (select profile_id from ${d.relation(touched)})`,
              `insert into ${d.relation(node.relation)} (profile_id, split_group) select profile_id, split_group from ${s}`,
            ]
          : d.createTable(node.relation, `select profile_id, split_group from ${s}`);
    await warehouse.transaction([
      ...memberTable,
      // exits: open stays whose profile is no longer a member (or is, in another split group)
      `update ${m} set exited_at = ${at}
where segment = ${name} and exited_at is null${inScope}
  and not exists (select 1 from ${s} x where x.profile_id = ${m}.profile_id and coalesce(x.split_group, '') = coalesce(${m}.split_group, ''))`,
      // entries: members without an open stay
      `insert into ${m} (segment, profile_id, split_group, entered_at, exited_at)
select ${name}, x.profile_id, x.split_group, ${at}, null from ${s} x
where not exists (select 1 from ${m} m where m.segment = ${name} and m.exited_at is null and m.profile_id = x.profile_id and ${sameGroup})`,
      `insert into ${d.relation(runs)} (segment, run_at, size, entered, exited)
select ${name}, ${at}, c.size, c.entered, c.exited from (
  select ${size} as size,
    (select count(*) from ${m} where segment = ${name} and entered_at = ${at}) as entered,
    (select count(*) from ${m} where segment = ${name} and exited_at = ${at}) as exited
) c${touched ? '\nwhere c.entered + c.exited > 0' : ''}`,
    ]);
  } finally {
    await dropTables(warehouse, [stage, ...staged]);
  }
  if (touched) {
    const [row] = await queryAll(
      warehouse,
      `select ${size} as size, (select count(*) from ${m} where segment = ? and entered_at = ${at}) as entered, (select count(*) from ${m} where segment = ? and exited_at = ${at}) as exited`,
      [node.name, node.name],
    );
    return { size: Number(row?.size ?? 0), entered: Number(row?.entered ?? 0), exited: Number(row?.exited ?? 0) };
  }
  const [row] = await queryAll(warehouse, `select size, entered, exited from ${d.relation(runs)} where segment = ? and run_at = ${at}`, [node.name]);
  return { size: Number(row?.size ?? 0), entered: Number(row?.entered ?? 0), exited: Number(row?.exited ?? 0) };
}

/** The compile context over copies of the touched profiles' rows of `profiles` and `profile_events`. */
async function touchedContext(
  warehouse: Warehouse,
  ctx: SegmentCompileContext,
  only: Relation,
  near: Relation,
  token: string,
  staged: Relation[],
): Promise<SegmentCompileContext> {
  const d = warehouse.dialect;
  const copy = async (from: Relation, suffix: string): Promise<Relation> => {
    const rel = warehouse.scratchRelation(`_segment_${token}_${suffix}`, near);
    staged.push(rel);
    await warehouse.execute(`create table ${d.relation(rel)} as select * from ${d.relation(from)} where profile_id in (select profile_id from ${d.relation(only)})`);
    return rel;
  };
  const profiles = await copy(ctx.profiles, 'p');
  const events = ctx.events ? { ...ctx.events, relation: await copy(ctx.events.relation, 'e') } : undefined;
  return { ...ctx, profiles, events };
}
