import { BadRequestException, ConflictException, Injectable } from '@nestjs/common';
import { CdpError } from '../errors/cdp-error';
import { ModelGraph } from '../models/dag';
import { loadProject, suggest, type ModelNode, type Project, type SegmentNode } from '../models/project';
import { PROFILE_COLUMNS } from '../profiles/profiles.repository';
import { queryAll, type BindValue, type LogicalType, type Relation, type Row } from '../warehouse/warehouse';
import { Workspace } from '../workspace/workspace';
import { compileSegment, type CompiledSegment, type SegmentCompileContext } from './segment-compiler';
import { profilesNotBuilt, segmentContext, segmentTable } from './segment-builder';
import { compileSplit } from './segment-split';
import { parseIsoTime, SegmentDefinitionError, type Condition, type SegmentDefinition, type SegmentPreview } from './segment-tree';
import { SegmentsRepository } from './segments.repository';
import {
  BREAKDOWN_TOP,
  DEFAULT_SAMPLE,
  type Breakdown,
  type HistoryQuery,
  type MembersQuery,
  type MembersResult,
  type OverlapResult,
  type PreviewResult,
  type SegmentDetail,
  type SegmentListItem,
  type SizeHistory,
} from './segments.schemas';

export class SegmentNotFoundError extends CdpError {
  constructor(name: string, known: string[]) {
    super('SEGMENT_NOT_FOUND', `no segment named "${name}"${suggest(name, known)}`);
  }
}

/** A segment of the project: a condition tree (a file in segments/, or created through the API), or a SQL segment model. */
type Found = { kind: 'tree'; name: string; node: SegmentNode } | { kind: 'sql'; name: string; node: ModelNode };

const originOf = (f: Found): SegmentListItem['origin'] => (f.kind === 'sql' ? 'model' : f.node.path === 'api' ? 'api' : 'file');

/** A warehouse value as JSON: instants as ISO strings, big integers as strings. */
function jsonValue(value: unknown, type?: LogicalType): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (type === 'json' && typeof value === 'string') {
    try {
      return JSON.parse(value) as unknown; // DuckDB answers JSON columns as text
    } catch {
      return value;
    }
  }
  return value;
}

/** An instant the warehouse answered as text (`2024-01-31 12:00:00.123`, UTC) or as a Date. */
function instantOf(value: unknown): Date {
  if (value instanceof Date) return value;
  return parseIsoTime(String(value).slice(0, 26)) ?? new Date(String(value));
}

/** The names of the segments a tree refers to. */
function segmentRefs(where: Condition, out = new Set<string>()): Set<string> {
  if ('and' in where) where.and.forEach((c) => segmentRefs(c, out));
  else if ('or' in where) where.or.forEach((c) => segmentRefs(c, out));
  else if ('not' in where) segmentRefs(where.not, out);
  else if ('segment' in where) out.add(where.segment.name);
  return out;
}

/**
 * The segment API: definitions (files, API, SQL models) with their latest build, API segments kept
 * in the control store, previews compiled and counted in the warehouse, and membership analytics
 * from `segment_membership` and `segment_runs`.
 *
 * Only reads touch the warehouse here (they run directly, beside a job that writes); building a
 * segment is the model engine's job (POST /api/models/build), which reloads the API's segments.
 * User values are bound (`?`), names are checked against the project or the warehouse and quoted.
 */
@Injectable()
export class SegmentsService {
  private readonly repo: SegmentsRepository;

  constructor(private readonly ws: Workspace) {
    this.repo = new SegmentsRepository(ws.store);
  }

  // ── definitions ────────────────────────────────────────────────────────────
  async list(): Promise<SegmentListItem[]> {
    const project = await this.project();
    const latest = await this.latestRuns(project);
    return this.all(project).map((f) => this.item(f, latest.get(f.name)));
  }

  async get(name: string): Promise<SegmentDetail> {
    const project = await this.project();
    const found = this.find(project, name);
    const latest = await this.latestRuns(project, name);
    return {
      ...this.item(found, latest.get(name)),
      relation: this.ws.warehouse.dialect.relation(found.node.relation),
      definition: found.kind === 'tree' ? found.node.definition : null,
    };
  }

  /** Saves a new condition-tree segment after checking it against the warehouse; built by the next build. */
  async create(definition: SegmentDefinition): Promise<SegmentDetail> {
    // GET /api/segments/overlap would answer instead of the segment
    if (definition.name === 'overlap') throw new BadRequestException('name: "overlap" is a route of this API (GET /api/segments/overlap); choose another name');
    const project = await this.project();
    const taken = this.nameTaken(project, definition.name);
    if (taken) throw new ConflictException(taken);
    await this.validate(project, definition);
    if (!(await this.repo.create(definition))) throw new ConflictException(`a segment named "${definition.name}" exists (created through the API)`);
    return this.get(definition.name);
  }

  /** Replaces the definition of a segment created through the API (`name` in the body, if given, must be the same). */
  async replace(name: string, body: SegmentPreview): Promise<SegmentDetail> {
    const project = await this.project();
    this.editable(project, name);
    if (body.name !== undefined && body.name !== name) {
      throw new BadRequestException(`name: "${body.name}" is not the segment in the URL ("${name}"); a segment cannot be renamed: create the new one, then delete this one`);
    }
    const definition: SegmentDefinition = { ...body, name };
    await this.validate(project, definition);
    if (!(await this.repo.update(definition))) throw new SegmentNotFoundError(name, this.all(project).map((f) => f.name));
    return this.get(name);
  }

  /** Deletes a segment created through the API. Its membership history stays in the warehouse. */
  async delete(name: string): Promise<void> {
    const project = await this.project();
    this.editable(project, name);
    const users = new ModelGraph(project).childrenOf(name);
    if (users.length) throw new ConflictException(`segment "${name}" is used by ${users.map((u) => `"${u}"`).join(', ')}; change ${users.length > 1 ? 'them' : 'it'} first`);
    if (!(await this.repo.delete(name))) throw new SegmentNotFoundError(name, this.all(project).map((f) => f.name));
    await this.ws.refreshSegments();
  }

  // ── preview ────────────────────────────────────────────────────────────────
  /** Counts a definition's members now (per split group) and shows a sample of them, saving nothing. */
  async preview(definition: SegmentPreview, sample = DEFAULT_SAMPLE): Promise<PreviewResult> {
    const project = await this.project();
    const ctx = await this.context(project);
    const members = this.membersOf(ctx, definition);
    const unbuilt: string[] = [];
    for (const ref of segmentRefs(definition.where)) {
      const relation = ctx.segments?.(ref);
      if (relation && !(await this.ws.warehouse.describe(relation))) unbuilt.push(ref);
    }
    if (unbuilt.length) throw new ConflictException(`segment ${unbuilt.map((s) => `"${s}"`).join(', ')} has not been built yet; build it first (POST /api/models/build)`);

    const d = this.ws.warehouse.dialect;
    const q = (n: string) => d.quoteIdentifier(n);
    const distinct = `select distinct ${q('profile_id')}, ${q('split_group')} from (\n${members.sql}\n) x`;
    const groups = await queryAll(this.ws.warehouse, `select m.${q('split_group')} as g, count(*) as n from (${distinct}) m group by m.${q('split_group')}`, members.params);
    const count = groups.reduce((sum, g) => sum + Number(g.n), 0);

    const GROUP = '__cdp_split_group';
    const rows =
      sample > 0
        ? await queryAll(
            this.ws.warehouse,
            `select p.*, m.${q('split_group')} as ${q(GROUP)} from ${d.relation(ctx.profiles)} p join (${distinct}) m on m.${q('profile_id')} = p.${q('profile_id')}\norder by p.${q('profile_id')} limit ?`,
            [...members.params, sample],
          )
        : [];
    const result: PreviewResult = { count, sample: rows.map((row) => this.sampleRow(row, GROUP, ctx.traits)) };
    if (definition.split) {
      result.split = Object.fromEntries(Object.keys(definition.split).map((g) => [g, Number(groups.find((r) => r.g === g)?.n ?? 0)]));
    }
    return result;
  }

  // ── membership analytics ───────────────────────────────────────────────────
  /** Size, entries and exits at each build, in time order. */
  async sizeHistory(name: string, query: HistoryQuery): Promise<SizeHistory> {
    const project = await this.project();
    this.find(project, name);
    const runs = await this.existing(project, 'runs');
    if (!runs) return [];
    const d = this.ws.warehouse.dialect;
    const q = (n: string) => d.quoteIdentifier(n);
    const params: BindValue[] = [name];
    let filter = '';
    if (query.from) {
      filter += ` and ${q('run_at')} >= ${this.bindTime(query.from, params)}`;
    }
    if (query.to) {
      filter += ` and ${q('run_at')} <= ${this.bindTime(query.to, params)}`;
    }
    const rows = await queryAll(
      this.ws.warehouse,
      `select ${d.cast(q('run_at'), 'string')} as built_at, ${q('size')} as members, ${q('entered')} as entered, ${q('exited')} as exited from ${d.relation(runs)}\nwhere ${q('segment')} = ?${filter}\norder by ${q('run_at')}`,
      params,
    );
    return rows.map((r) => ({ at: instantOf(r.built_at), size: Number(r.members), entered: Number(r.entered), exited: Number(r.exited) }));
  }

  /** The members at a time (default now): stays that had begun and not ended then, by profile id. */
  async members(name: string, query: MembersQuery): Promise<MembersResult> {
    const project = await this.project();
    this.find(project, name);
    const at = query.at ?? new Date();
    const membership = await this.existing(project, 'membership');
    if (!membership) return { segment: name, at, total: 0, members: [] };
    const d = this.ws.warehouse.dialect;
    const q = (n: string) => d.quoteIdentifier(n);
    const params: BindValue[] = [name];
    const entered = `${q('entered_at')} <= ${this.bindTime(at, params)}`;
    const notExited = `(${q('exited_at')} is null or ${q('exited_at')} > ${this.bindTime(at, params)})`;
    const where = `where ${q('segment')} = ? and ${entered} and ${notExited}`;
    const from = d.relation(membership);
    const [total] = await queryAll(this.ws.warehouse, `select count(*) as n from ${from} ${where}`, params);
    const rows = await queryAll(
      this.ws.warehouse,
      `select ${q('profile_id')} as profile_id, ${q('split_group')} as split_group, ${d.cast(q('entered_at'), 'string')} as entered_at from ${from} ${where}\norder by ${q('profile_id')} limit ? offset ?`,
      [...params, query.limit, query.offset],
    );
    return {
      segment: name,
      at,
      total: Number(total?.n ?? 0),
      members: rows.map((r) => ({ profileId: String(r.profile_id), splitGroup: (r.split_group as string | null) ?? null, enteredAt: instantOf(r.entered_at) })),
    };
  }

  /** Current members of each segment and of each pair of them. */
  async overlap(names: string[]): Promise<OverlapResult> {
    const unique = [...new Set(names.map((n) => n.trim()).filter((n) => n))];
    if (unique.length < 2) throw new BadRequestException('names: two or more segment names, comma separated (?names=a,b)');
    const project = await this.project();
    const known = this.all(project).map((f) => f.name);
    const unknown = unique.filter((n) => !known.includes(n));
    if (unknown.length) throw new BadRequestException(`names: ${unknown.map((n) => `no segment named "${n}"${suggest(n, known)}`).join('; ')}`);

    const sizes = new Map<string, number>();
    const both = new Map<string, number>();
    const membership = await this.existing(project, 'membership');
    if (membership) {
      const d = this.ws.warehouse.dialect;
      const q = (n: string) => d.quoteIdentifier(n);
      const m = d.relation(membership);
      const list = unique.map(() => '?').join(', ');
      const current = `select ${q('segment')} as segment, ${q('profile_id')} as profile_id from ${m} where ${q('exited_at')} is null and ${q('segment')} in (${list})`;
      for (const r of await queryAll(this.ws.warehouse, `select c.segment, count(distinct c.profile_id) as n from (${current}) c group by c.segment`, unique)) {
        sizes.set(String(r.segment), Number(r.n));
      }
      const pairs = await queryAll(
        this.ws.warehouse,
        `select a.segment as a, b.segment as b, count(distinct a.profile_id) as n
from (${current}) a join (${current}) b on b.profile_id = a.profile_id and a.segment < b.segment
group by a.segment, b.segment`,
        [...unique, ...unique],
      );
      for (const r of pairs) both.set(`${String(r.a)}\u0000${String(r.b)}`, Number(r.n));
    }
    const pairs: OverlapResult['pairs'] = [];
    for (let i = 0; i < unique.length; i++) {
      for (let j = i + 1; j < unique.length; j++) {
        const [a, b] = [unique[i], unique[j]];
        const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
        pairs.push({ a, b, both: both.get(key) ?? 0 });
      }
    }
    return { segments: unique.map((name) => ({ name, size: sizes.get(name) ?? 0 })), pairs };
  }

  /** How a trait's values are distributed over the current members: the top values by count, the rest as `(other)`. */
  async breakdown(name: string, trait: string): Promise<Breakdown> {
    const project = await this.project();
    this.find(project, name);
    const identity = this.identityOf(project);
    const profiles = identity.relation;
    const info = await this.ws.warehouse.describe(profiles);
    if (!info) throw profilesNotBuilt(this.ws.warehouse.dialect.relation(profiles));
    const traits = info.columns.filter((c) => c.name !== 'profile_id');
    const column = traits.find((c) => c.name === trait);
    if (!column) throw new BadRequestException(`trait: unknown trait "${trait}"${suggest(trait, traits.map((c) => c.name))}`);
    const membership = await this.existing(project, 'membership');
    if (!membership) return [];

    const d = this.ws.warehouse.dialect;
    const q = (n: string) => d.quoteIdentifier(n);
    const type = d.logicalType(column.type);
    // JSON has no equality in every warehouse (PostgreSQL's json): grouped by its text
    const value = type === 'json' ? d.cast(`p.${q(column.name)}`, 'string') : `p.${q(column.name)}`;
    const sql = `with members as (
  select distinct ${q('profile_id')} as profile_id from ${d.relation(membership)} where ${q('segment')} = ? and ${q('exited_at')} is null
),
counts as (
  select ${value} as value, count(*) as n from ${d.relation(profiles)} p join members s on s.profile_id = p.${q('profile_id')} group by ${value}
),
ranked as (
  select value, n, row_number() over (order by n desc, value) as position from counts
)
select value, n, position from ranked where position <= ${BREAKDOWN_TOP}
union all
select null, sum(n), ${BREAKDOWN_TOP + 1} from ranked where position > ${BREAKDOWN_TOP}
order by 3`;
    const rows = await queryAll(this.ws.warehouse, sql, [name]);
    return rows
      .filter((r) => Number(r.position) <= BREAKDOWN_TOP || Number(r.n ?? 0) > 0)
      .map((r) => ({ value: Number(r.position) > BREAKDOWN_TOP ? '(other)' : jsonValue(r.value, type), count: Number(r.n) }));
  }

  // ── helpers ────────────────────────────────────────────────────────────────
  /** The project with the API's segments as the control store has them now (another replica may have changed them). */
  private async project(): Promise<Project> {
    await this.ws.refreshSegments();
    return this.ws.project();
  }

  /** Every segment, by name: tree segments (files and API) and SQL segment models. */
  private all(project: Project): Found[] {
    const found: Found[] = [
      ...[...project.segments.values()].map((node): Found => ({ kind: 'tree', name: node.name, node })),
      ...[...project.models.values()].filter((m) => m.config.segment).map((node): Found => ({ kind: 'sql', name: node.name, node })),
    ];
    return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private find(project: Project, name: string): Found {
    const all = this.all(project);
    const found = all.find((f) => f.name === name);
    if (!found) throw new SegmentNotFoundError(name, all.map((f) => f.name));
    return found;
  }

  /** A segment the API may change: one it created. */
  private editable(project: Project, name: string): void {
    const found = this.find(project, name);
    if (found.kind === 'sql' || found.node.path !== 'api') {
      throw new ConflictException(`segment "${name}" is defined in ${found.node.path}; edit the file`);
    }
  }

  /** Why `name` cannot be a new segment's name, or undefined. Segments, models and seeds share one namespace. */
  private nameTaken(project: Project, name: string): string | undefined {
    const segment = project.segments.get(name);
    if (segment) return `a segment named "${name}" exists${segment.path === 'api' ? ' (created through the API)' : `: ${segment.path}`}`;
    const model = project.models.get(name);
    if (model) return model.config.segment ? `a segment named "${name}" exists: the SQL segment ${model.path}` : `"${name}" is the name of the model ${model.path}`;
    const seed = project.seeds.get(name);
    if (seed) return `"${name}" is the name of the seed ${seed.path}`;
    if (name === project.identity?.name) return `"${name}" is the name of the identity resolution step`;
    return undefined;
  }

  private item(f: Found, latest?: { size: number; at: Date }): SegmentListItem {
    const tree = f.kind === 'tree' ? f.node.definition : undefined;
    return {
      name: f.name,
      kind: f.kind,
      origin: originOf(f),
      path: f.node.path,
      description: f.node.description ?? null,
      realtime: tree?.realtime ?? false,
      split: tree?.split ?? null,
      size: latest?.size ?? null,
      lastBuiltAt: latest?.at ?? null,
    };
  }

  /**
   * Checks a definition against the warehouse (trait, event and property names, operators and
   * value types: a 400 naming the path) and against the project (the segments it names form no
   * cycle once it is saved).
   */
  private async validate(project: Project, definition: SegmentDefinition): Promise<void> {
    compileSegment(definition, await this.context(project));
    const others = [...project.segments.values()].filter((s) => s.path === 'api' && s.name !== definition.name).map((s) => s.definition);
    try {
      new ModelGraph(loadProject(this.ws.config, [...others, definition]));
    } catch (e) {
      if (e instanceof CdpError) throw new SegmentDefinitionError(e.message);
      throw e;
    }
  }

  private identityOf(project: Project): NonNullable<Project['identity']> {
    if (!project.identity) throw new ConflictException('segments need profiles: add an identity: section to cdp.yaml');
    return project.identity;
  }

  /** The traits and event properties to compile against: a 503 while the profiles are not built. */
  private async context(project: Project): Promise<SegmentCompileContext> {
    this.identityOf(project);
    // segmentContext answers 503 (profilesNotBuilt) while the profiles are not built
    return segmentContext(this.ws.warehouse, project);
  }

  /** The members of a definition with their split group, as a build computes them (see membersSql). */
  private membersOf(ctx: SegmentCompileContext, definition: SegmentPreview): CompiledSegment {
    const d = this.ws.warehouse.dialect;
    const members = compileSegment(definition, ctx);
    if (definition.split) return compileSplit(d, definition.name ?? '', definition.split, members);
    return { sql: `select m.profile_id, cast(null as ${d.type('string')}) as split_group from (\n${members.sql}\n) m`, params: members.params };
  }

  /** A segment table, when it exists (segments have been built). */
  private async existing(project: Project, table: 'membership' | 'runs'): Promise<Relation | undefined> {
    if (!project.identity) return undefined;
    const relation = segmentTable(project, table);
    return (await this.ws.warehouse.describe(relation)) ? relation : undefined;
  }

  /** The latest run of every segment (or of one): size and time. */
  private async latestRuns(project: Project, name?: string): Promise<Map<string, { size: number; at: Date }>> {
    const out = new Map<string, { size: number; at: Date }>();
    const runs = await this.existing(project, 'runs');
    if (!runs) return out;
    const d = this.ws.warehouse.dialect;
    const q = (n: string) => d.quoteIdentifier(n);
    const sql = `select r.segment_name, r.built_at, r.members from (
  select ${q('segment')} as segment_name, ${d.cast(q('run_at'), 'string')} as built_at, ${q('size')} as members,
         row_number() over (partition by ${q('segment')} order by ${q('run_at')} desc) as position
  from ${d.relation(runs)}${name === undefined ? '' : ` where ${q('segment')} = ?`}
) r where r.position = 1`;
    for (const r of await queryAll(this.ws.warehouse, sql, name === undefined ? [] : [name])) {
      out.set(String(r.segment_name), { size: Number(r.members), at: instantOf(r.built_at) });
    }
    return out;
  }

  /** A bound timestamp (UTC, as the segment tables store time), as the compiler binds them. */
  private bindTime(at: Date, params: BindValue[]): string {
    params.push(at.toISOString().slice(0, 23).replace('T', ' '));
    return this.ws.warehouse.dialect.cast('?', 'timestamp');
  }

  /** A profile of the preview's sample: its id, split group, first and last seen, and traits. */
  private sampleRow(row: Row, groupColumn: string, types: Map<string, LogicalType>): PreviewResult['sample'][number] {
    const traits: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) {
      if (key === groupColumn || (PROFILE_COLUMNS as readonly string[]).includes(key)) continue;
      traits[key] = jsonValue(value, types.get(key));
    }
    return {
      profileId: String(row.profile_id),
      splitGroup: (row[groupColumn] as string | null | undefined) ?? null,
      firstSeen: jsonValue(row.first_seen) as string | null,
      lastSeen: jsonValue(row.last_seen) as string | null,
      traits,
    };
  }
}
