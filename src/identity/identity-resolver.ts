import { createHash, randomBytes } from 'node:crypto';
import type { Dialect } from '../warehouse/dialects';
import { queryAll, queryValue, type ColumnSpec, type Relation, type Warehouse } from '../warehouse/warehouse';
import { connectedComponents } from './connected-components';
import { EVENTS, columnSql, timeSql, type IdentitySource, type IdentityPlan } from './identity-sources';
import { splitByLimits, type LimitedEdge } from './limits';
import { ignoredSql, normalizeIdentifier, normalizedSql } from './normalize';
import { buildProfileEvents, buildProfiles } from './profile-builder';

/**
 * Identity resolution in the warehouse, in SQL that runs on every dialect.
 *
 * 1. Extract: every record (an event of raw_events, a row of a model or seed) yields its identifiers
 *    (`type:value` nodes), normalized (emails lower(trim), opaque ids trimmed, phones to E.164 through
 *    libphonenumber: the distinct raw phone values new to the warehouse are normalized in Node once
 *    and kept in `identity_phone_numbers`), without the ignored values.
 * 2. Link: each record links its identifiers to its most trusted one (by `priority`), so one record
 *    with a user id, an email and an anonymous id gives two links; a record with one identifier gives
 *    a self-link that declares the node. Links accumulate in `identity_edges` (first/last seen).
 * 3. Components: `connectedComponents` (hook-and-shortcut, O(log n) rounds) over the links.
 *    Incremental runs take only the links new since the last run, find the components they touch and
 *    recompute those alone; everything else keeps its profile untouched.
 * 4. Limits: components with more values of a type than its limit are split by replaying their links
 *    in time order (see limits.ts); refused links go to `identity_blocked_edges`.
 * 5. Stable ids: a profile keeps the id it had; when profiles merge, the one first seen earliest keeps
 *    its id and the others are logged in `profile_merges` with a link that joined them.
 * 6. Profiles: `profiles` is rebuilt from the graph with merged and computed traits, and
 *    `profile_events` with the events of every profile (profile-builder.ts).
 *
 * Crash safety: the graph, the merge log, the blocked links and then the links are replaced in that
 * order, and the run is recorded last. Whatever step a crash interrupts, the next run sees the links
 * it did not finish as new and recomputes their components, which gives the same result.
 */
export interface IdentityRunOptions {
  /** recompute every component from every source, not only what changed (ids stay stable) */
  full?: boolean;
  /** the time of the run (tests); default now */
  now?: Date;
}

export interface IdentityRunResult {
  runId: string;
  mode: 'full' | 'incremental';
  /** links read from the sources in this run */
  links: number;
  /** links that were new or older than known */
  newLinks: number;
  /** identifiers whose component was recomputed */
  recomputed: number;
  identifiers: number;
  profiles: number;
  /** rows of profile_events */
  events: number;
  merges: number;
  blocked: number;
  rounds: number;
  durationMs: number;
  /** milliseconds per phase (extract, link, changes, components, nodes, limits, ids, write, profiles) */
  timings: Record<string, number>;
}

/** How far back an incremental run re-reads events before the last watermark: commits land out of order. */
const EVENTS_LOOKBACK_MS = 10 * 60_000;

export const IDENTITY_TABLES = {
  edges: 'identity_edges',
  graph: 'identity_graph',
  merges: 'profile_merges',
  blocked: 'identity_blocked_edges',
  phones: 'identity_phone_numbers',
  runs: 'identity_runs',
  profiles: 'profiles',
  events: 'profile_events',
} as const;

const TABLE_COLUMNS: Record<Exclude<keyof typeof IDENTITY_TABLES, 'profiles' | 'events'>, ColumnSpec[]> = {
  edges: cols('a:string b:string a_type:string b_type:string first_seen:timestamp last_seen:timestamp source:string'),
  graph: cols('profile_id:string id_type:string id_value:string source:string first_seen:timestamp last_seen:timestamp component:string'),
  merges: cols('run_id:string merged_at:timestamp profile_id:string merged_profile_id:string kind:string link_a_type:string link_a_value:string link_b_type:string link_b_value:string'),
  blocked: cols('run_id:string component:string a_type:string a_value:string b_type:string b_value:string limit_type:string limit_value:integer first_seen:timestamp'),
  phones: cols('raw:string country:string value:string'),
  runs: cols(
    'run_id:string started_at:timestamp finished_at:timestamp mode:string config_hash:string events_watermark:timestamp links:bigint new_links:bigint recomputed:bigint identifiers:bigint profiles:bigint merges:bigint blocked:bigint rounds:integer',
  ),
};

function cols(spec: string): ColumnSpec[] {
  return spec.split(' ').map((c) => {
    const [name, type] = c.split(':');
    return { name, type: type as ColumnSpec['type'] };
  });
}

/** the time that sorts after every real one, for "first seen" with unknown times last */
const FAR_FUTURE = (d: Dialect) => d.timestampLiteral(new Date('9999-12-31T00:00:00Z'));

export class IdentityResolver {
  private readonly d: Dialect;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly plan: IdentityPlan,
  ) {
    this.d = warehouse.dialect;
  }

  rel(table: keyof typeof IDENTITY_TABLES): Relation {
    return this.plan.relation(IDENTITY_TABLES[table]);
  }

  async run(options: IdentityRunOptions = {}): Promise<IdentityRunResult> {
    const t0 = performance.now();
    const { warehouse: wh, d } = this;
    const now = options.now ?? new Date();
    const runId = `${now.toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}_${randomBytes(3).toString('hex')}`;
    const schemaRel = this.rel('graph');
    await wh.ensureSchema(schemaRel.schema, schemaRel.database);
    for (const [table, columns] of Object.entries(TABLE_COLUMNS)) {
      await wh.execute(d.createTableFromColumns(this.rel(table as keyof typeof TABLE_COLUMNS), columns, { ifNotExists: true }));
    }

    const configHash = this.configHash();
    const last = (await queryAll(wh, `select config_hash, events_watermark from ${this.q('runs')} order by started_at desc limit 1`))[0];
    const mode: IdentityRunResult['mode'] = options.full || !last || last.config_hash !== configHash ? 'full' : 'incremental';
    const since = mode === 'incremental' && last?.events_watermark ? new Date(toDate(last.events_watermark).getTime() - EVENTS_LOOKBACK_MS) : null;

    const token = randomBytes(4).toString('hex');
    const staged: Relation[] = [];
    const stage = (name: string): Relation => {
      const r = wh.scratchRelation(`_identity_${token}_${name}`, this.rel('graph'));
      staged.push(r);
      return r;
    };
    const timings: Record<string, number> = {};
    let lapStart = performance.now();
    /** adds the time since the previous lap to `phase` */
    const lap = (phase: string) => {
      const t = performance.now();
      timings[phase] = (timings[phase] ?? 0) + t - lapStart;
      lapStart = t;
    };
    try {
      // 1-2. extract and link
      const runLinks = stage('links');
      const watermark = await this.extractLinks(runLinks, since, stage);
      const links = await this.count(runLinks);
      let delta = runLinks;
      if (mode === 'incremental') {
        const [a, b, fs] = ['a', 'b', 'first_seen'].map((c) => d.quoteIdentifier(c));
        delta = stage('delta');
        await this.create(
          delta,
          `select n.* from ${this.qr(runLinks)} n left join ${this.q('edges')} o on o.${a} = n.${a} and o.${b} = n.${b}
where o.${a} is null or n.${fs} < o.${fs} or (o.${fs} is null and n.${fs} is not null)`,
        );
      }
      const newLinks = mode === 'full' ? links : await this.count(delta);
      lap('extract');

      let recomputed = 0;
      let rounds = 0;
      let merges = 0;
      if (newLinks > 0) {
        // 3. components of what changed: everything (full), or the components the new links touch
        const oldComponents = stage('oldcomp'); // (component) replaced by this run
        let subEdges = runLinks;
        if (mode === 'full') {
          await this.create(oldComponents, `select distinct component from ${this.q('graph')}`);
        } else {
          const graphNode = d.concat(['g.id_type', "':'", 'g.id_value']);
          const touched = stage('touched');
          await this.create(touched, `select a as node from ${this.qr(delta)} ${d.unionDistinct} select b from ${this.qr(delta)}`);
          await this.create(oldComponents, `select distinct g.component from ${this.q('graph')} g join ${this.qr(touched)} t on t.node = ${graphNode}`);
          const affected = stage('affected'); // (node) whose component is recomputed
          await this.create(
            affected,
            `select ${graphNode} as node from ${this.q('graph')} g join ${this.qr(oldComponents)} c on c.component = g.component
${d.unionDistinct} select node from ${this.qr(touched)}`,
          );
          // the known links of the affected nodes and the new ones: every link among them
          subEdges = stage('subedges');
          await this.create(
            subEdges,
            this.aggregateLinksSql(`select e.* from ${this.q('edges')} e join ${this.qr(affected)} n on n.node = e.a\nunion all\nselect * from ${this.qr(delta)}`),
          );
        }
        // node facts (type, value, first source, first/last seen), then their components
        const facts = stage('facts');
        await this.create(facts, this.nodesSql(subEdges));
        lap('nodes');
        const nodes = stage('nodes');
        const cc = await connectedComponents(wh, { edges: subEdges, nodes: facts, output: nodes });
        rounds = cc.rounds;
        recomputed = cc.nodes;
        lap('components');

        // 4. limits
        const split = stage('split'); // (node, cluster) of the nodes in components split by limits
        const blockedRun = stage('blocked');
        await this.applyLimits(subEdges, nodes, split, blockedRun, runId);
        lap('limits');

        // 5. stable ids and merges (the merge log is written here)
        const assigned = stage('assigned');
        const ids = await this.assignIds(nodes, split, oldComponents, subEdges, assigned, runId, now, stage);
        merges = ids.merges;
        lap('ids');

        // write: graph, blocked links, then links
        const keep = mode === 'full' ? '' : `select g.* from ${this.q('graph')} g where not exists (select 1 from ${this.qr(oldComponents)} c where c.component = g.component)\nunion all\n`;
        await wh.replaceTable(this.rel('graph'), `${keep}select profile_id, id_type, id_value, source, first_seen, last_seen, component from ${ids.from}`);
        if (mode === 'full') await wh.execute(`delete from ${this.q('blocked')}`);
        else await wh.execute(`delete from ${this.q('blocked')} where component in (select component from ${this.qr(oldComponents)})`);
        await wh.execute(`insert into ${this.q('blocked')} select * from ${this.qr(blockedRun)}`);
      }
      if (mode === 'full') {
        await wh.replaceTable(this.rel('edges'), `select * from ${this.qr(runLinks)}`);
      } else if (links * 2 > (await this.count(this.rel('edges')))) {
        // this run read most links again (models are read whole): rewriting beats merging
        await wh.replaceTable(this.rel('edges'), this.aggregateLinksSql(`select * from ${this.q('edges')} union all select * from ${this.qr(runLinks)}`));
      } else if (links > 0) {
        // only the links read in this run change (new ones, and first/last seen of known ones)
        const [a, b] = ['a', 'b'].map((c) => d.quoteIdentifier(c));
        await wh.merge(
          this.rel('edges'),
          this.aggregateLinksSql(
            `select o.* from ${this.q('edges')} o join ${this.qr(runLinks)} n on n.${a} = o.${a} and n.${b} = o.${b}\nunion all\nselect * from ${this.qr(runLinks)}`,
          ),
          ['a', 'b'],
        );
      }
      lap('write');

      // 6. profiles
      const profiles = await buildProfiles(wh, this.plan, this.rel('graph'), this.rel('profiles'), this.rel('phones'), now);
      const events = await buildProfileEvents(wh, this.plan, this.rel('graph'), this.rel('events'), this.rel('phones'));
      lap('profiles');

      const identifiers = await this.count(this.rel('graph'));
      const blocked = await this.count(this.rel('blocked'));
      const newWatermark = watermark ?? (last?.events_watermark ? toDate(last.events_watermark) : null);
      const finishedAt = new Date();
      await wh.execute(
        `insert into ${this.q('runs')} values (${[runId, now, finishedAt, mode, configHash, newWatermark, links, newLinks, recomputed, identifiers, profiles, merges, blocked, rounds].map((v) => this.lit(v)).join(', ')})`,
      );
      return { runId, mode, links, newLinks, recomputed, identifiers, profiles, events, merges, blocked, rounds, durationMs: performance.now() - t0, timings };
    } finally {
      for (const r of staged) await wh.execute(d.drop(r, 'table')).catch(() => undefined);
    }
  }

  // ── 1-2. extract and link ────────────────────────────────────────────────────

  /**
   * Fills `out` with this run's links, aggregated (see aggregateLinksSql), straight from the sources
   * in one statement: per record, every identifier column is normalized (and dropped when ignored),
   * the record's most trusted identifier is its centre, and each identifier links to the centre (the
   * centre to itself, which declares it). Returns the newest received_at of the events read (the
   * next incremental run starts there), or null if none were read.
   */
  private async extractLinks(out: Relation, since: Date | null, stage: (name: string) => Relation): Promise<Date | null> {
    const { d } = this;
    // each source's normalized records are materialized once and unpivoted from there
    const pending: [Relation, string][] = [];
    const stageRecords = (sql: string): string => {
      const rel = stage(`records${pending.length}`);
      pending.push([rel, sql]);
      return this.qr(rel);
    };
    let watermark: Date | null = null;
    const branches: string[] = [];
    for (const source of this.plan.sources.values()) {
      const where = source.name === EVENTS && since ? `r.received_at > ${this.lit(since)}` : '';
      if (source.name === EVENTS) {
        const max = await queryValue(this.warehouse, `select max(received_at) from ${d.relation(source.relation)} r${where ? ` where ${where}` : ''}`);
        watermark = max == null ? null : toDate(max);
      }
      // columns in trust order: the first non-null one is the record's centre
      const columns = source.identifiers.map((c, j) => ({ ...c, j })).sort((a, b) => a.type.rank - b.type.rank || a.j - b.j);
      const q = (prefix: string, c: { j: number }) => d.quoteIdentifier(`${prefix}${c.j}`);
      const ts = timeSql(d, source);
      const joins: string[] = [];
      const normalized: string[] = [];
      for (const c of columns) {
        const v = `s.${q('r', c)}`;
        if (c.type.normalize === 'phone') {
          await this.normalizePhones(source, `trim(${columnSql(d, c)})`, where, c.type.defaultCountry ?? '');
          joins.push(`left join ${this.q('phones')} p${c.j} on p${c.j}.raw = ${v} and p${c.j}.country = ${d.literal(c.type.defaultCountry ?? '')}`);
        }
        const value = normalizedSql(c.type.normalize, v, `p${c.j}.value`);
        normalized.push(`${value} as ${q('m', c)}`);
      }
      // s: the values as written (trimmed); m: normalized; n: normalized unless an ignore rule matches
      // either form (`^0+$` drops the phone `000000` although its E.164 form is +44000000)
      const recordsSql = `(
  select m.ts, ${columns.map((c) => `case when ${this.ignoreCondition(`m.${q('m', c)}`)} or ${this.ignoreCondition(`m.${q('r', c)}`)} then null else m.${q('m', c)} end as ${q('n', c)}`).join(',\n    ')}
  from (
    select s.*, ${normalized.join(', ')}
    from (select ${ts} as ts, ${columns.map((c) => `trim(${columnSql(d, c)}) as ${q('r', c)}`).join(', ')} from ${d.relation(source.relation)} r${where ? ` where ${where}` : ''}) s
    ${joins.join('\n    ')}
  ) m
)`;
      const n = (c: { j: number }) => `x.${q('n', c)}`;
      const nodeOf = (c: (typeof columns)[number]) => d.concat([d.literal(`${c.type.type}:`), n(c)]);
      const centre = `case ${columns.map((c) => `when ${n(c)} is not null then ${nodeOf(c)}`).join(' ')} end`;
      const centreType = `case ${columns.map((c) => `when ${n(c)} is not null then ${d.literal(c.type.type)}`).join(' ')} end`;
      const records = stageRecords(recordsSql);
      branches.push(
        columns
          .map(
            (c) => `select ${centre} as centre, ${centreType} as centre_type, ${nodeOf(c)} as node, ${d.literal(c.type.type)} as id_type, x.ts, ${d.literal(source.name)} as source
from ${records} x where ${n(c)} is not null`,
          )
          .join('\nunion all\n'),
      );
    }
    const linkSql = `select
  case when centre <= node then centre else node end as a,
  case when centre <= node then node else centre end as b,
  case when centre <= node then centre_type else id_type end as a_type,
  case when centre <= node then id_type else centre_type end as b_type,
  ts as first_seen, ts as last_seen, source
from (
${branches.join('\nunion all\n')}
) l`;
    for (const [rel, sql] of pending) await this.create(rel, `select * from ${sql} x`);
    await this.create(out, this.aggregateLinksSql(linkSql));
    return watermark;
  }

  private ignoreCondition(expr: string): string {
    return ignoredSql(this.d, this.plan.config.ignore, expr);
  }

  /** Normalizes the raw phone values of a source that the warehouse has not seen before (in Node, once each). */
  private async normalizePhones(source: IdentitySource, valueSql: string, where: string, country: string): Promise<void> {
    const { d } = this;
    const fresh: unknown[][] = [];
    // read fully before writing: DuckDB runs one statement per connection at a time
    for await (const row of this.warehouse.query(
      `select distinct v.raw from (select ${valueSql} as raw from ${d.relation(source.relation)} r${where ? ` where ${where}` : ''}) v
where v.raw is not null and not exists (select 1 from ${this.q('phones')} p where p.raw = v.raw and p.country = ${d.literal(country)})`,
    )) {
      const raw = String(row.raw);
      fresh.push([raw, country, normalizeIdentifier('phone', raw, { defaultCountry: country || undefined })]);
    }
    if (fresh.length) await this.warehouse.append(this.rel('phones'), ['raw', 'country', 'value'], fresh);
  }

  /** One row per link: the earliest and latest time it was seen, and the source that saw it first. */
  private aggregateLinksSql(linksSql: string): string {
    const d = this.d;
    // a node's type is part of its id (`type:value`), so grouping by the ids alone is enough
    return `select a, b, min(a_type) as a_type, min(b_type) as b_type, min(first_seen) as first_seen, max(last_seen) as last_seen, ${d.firstBy('source', [`coalesce(first_seen, ${FAR_FUTURE(d)})`, 'source'])} as source
from (
${linksSql}
) l
group by a, b`;
  }

  // ── 3. nodes ─────────────────────────────────────────────────────────────────

  private nodesSql(edges: Relation): string {
    const { d } = this;
    const e = this.qr(edges);
    return `select n.node, n.id_type, substr(n.node, ${d.cast('length(n.id_type) + 2', 'integer')}) as id_value, n.source, n.first_seen, n.last_seen
from (
  select node, min(id_type) as id_type, min(first_seen) as first_seen, max(last_seen) as last_seen, ${d.firstBy('source', [`coalesce(first_seen, ${FAR_FUTURE(d)})`, 'source'])} as source
  from (
    select a as node, a_type as id_type, first_seen, last_seen, source from ${e}
    union all
    select b, b_type, first_seen, last_seen, source from ${e} where b <> a
  ) ends
  group by node
) n`;
  }

  // ── 4. limits ────────────────────────────────────────────────────────────────

  /** Fills `splitRel(node, cluster)` for the nodes of components over a limit, and `blocked` with the refused links. */
  private async applyLimits(edges: Relation, nodes: Relation, splitRel: Relation, blocked: Relation, runId: string): Promise<void> {
    const { d, warehouse: wh } = this;
    const limits = new Map(this.plan.types.filter((t) => t.limit !== undefined).map((t) => [t.type, t.limit!]));
    await wh.execute(d.createTableFromColumns(splitRel, cols('node:string cluster:string')));
    await wh.execute(d.createTableFromColumns(blocked, TABLE_COLUMNS.blocked));
    if (limits.size === 0) return;
    const limitOf = `case ${[...limits].map(([t, n]) => `when id_type = ${d.literal(t)} then ${n}`).join(' ')} end`;
    const violating = wh.scratchRelation(`${splitRel.name}_over`, splitRel);
    const violatingNodes = wh.scratchRelation(`${splitRel.name}_over_nodes`, splitRel);
    const split = new Map<string, string>();
    const blockedRows: unknown[][] = [];
    try {
      await this.create(violating, `select distinct component from (select component, id_type, count(*) as n from ${this.qr(nodes)} group by component, id_type) c where n > ${limitOf}`);
      // all offending components in one ordered stream, replayed one component at a time
      let current: { component: string; edges: LimitedEdge[]; firstSeen: Map<string, unknown> } | undefined;
      const replay = () => {
        if (!current) return;
        const result = splitByLimits(current.edges, limits);
        for (const [node, cluster] of result.clusters) split.set(node, cluster);
        for (const b of result.blocked) {
          blockedRows.push([runId, current.component, b.aType, valueOf(b.a, b.aType), b.bType, valueOf(b.b, b.bType), b.type, b.limit, current.firstSeen.get(`${b.a}\u0000${b.b}`) ?? null]);
        }
      };
      // the offending nodes first (few), so the join with the links builds its hash table on them
      await this.create(violatingNodes, `select n.node, n.component from ${this.qr(nodes)} n join ${this.qr(violating)} v on v.component = n.component`);
      const rows = wh.query(
        `select n.component, e.a, e.b, e.a_type, e.b_type, e.first_seen
from ${this.qr(edges)} e join ${this.qr(violatingNodes)} n on n.node = e.a
order by n.component, case when e.first_seen is null then 1 else 0 end, e.first_seen, e.a, e.b`,
      );
      for await (const r of rows) {
        const component = String(r.component);
        if (current?.component !== component) {
          replay();
          current = { component, edges: [], firstSeen: new Map() };
        }
        const edge = { a: String(r.a), b: String(r.b), aType: String(r.a_type), bType: String(r.b_type) };
        current.edges.push(edge);
        if (r.first_seen != null) current.firstSeen.set(`${edge.a}\u0000${edge.b}`, r.first_seen);
      }
      replay();
    } finally {
      await wh.execute(d.drop(violating, 'table'));
      await wh.execute(d.drop(violatingNodes, 'table'));
    }
    if (split.size) await wh.append(splitRel, ['node', 'cluster'], [...split].map(([n, c]) => [n, c]));
    if (blockedRows.length) await wh.append(blocked, TABLE_COLUMNS.blocked.map((c) => c.name), blockedRows);
  }

  // ── 5. stable ids ────────────────────────────────────────────────────────────

  /**
   * Gives every cluster a profile id: the old id of its nodes that was first seen earliest; when
   * several clusters claim one old id (a profile split), the cluster with most of its identifiers
   * keeps it. Clusters without an old id get a new one derived from the cluster key (md5), so the
   * same data gives the same ids on every run and warehouse. Logs merges. Returns the merge count and
   * what to read the new graph rows from (a first run reads them straight from the nodes).
   */
  private async assignIds(
    nodes: Relation,
    split: Relation,
    oldComponents: Relation,
    edges: Relation,
    out: Relation,
    runId: string,
    now: Date,
    stage: (n: string) => Relation,
  ): Promise<{ merges: number; from: string }> {
    const { d, warehouse: wh } = this;
    const old = stage('old');
    await this.create(
      old,
      `select ${d.concat(['g.id_type', "':'", 'g.id_value'])} as node, g.profile_id, min(g.first_seen) over (partition by g.profile_id) as profile_first_seen
from ${this.q('graph')} g join ${this.qr(oldComponents)} c on c.component = g.component`,
    );
    const clusterOf = `coalesce(s.cluster, n.component)`;
    const withSplit = `${this.qr(nodes)} n left join ${this.qr(split)} s on s.node = n.node`;
    const newId = (cluster: string) => d.md5(d.concat(["'profile:'", cluster]));
    if ((await this.count(old)) === 0) {
      // nothing known yet (a first run, or only new people): every cluster is a new profile, and the
      // graph is written straight from the nodes (no copy in between)
      return {
        merges: 0,
        from: `(select ${newId(clusterOf)} as profile_id, n.id_type, n.id_value, n.source, n.first_seen, n.last_seen, n.component from ${withSplit}) assigned`,
      };
    }
    const clusters = stage('clusters');
    await this.create(clusters, `select n.node, ${clusterOf} as cluster from ${withSplit}`);
    const cand = stage('cand');
    await this.create(
      cand,
      `select c.cluster, o.profile_id, count(*) as n, min(o.profile_first_seen) as profile_first_seen
from ${this.qr(clusters)} c join ${this.qr(old)} o on o.node = c.node group by c.cluster, o.profile_id`,
    );
    const claim = stage('claim');
    await this.create(
      claim,
      `select cluster, profile_id from (
  select cluster, profile_id, row_number() over (partition by profile_id order by n desc, cluster) as winner
  from (
    select cluster, profile_id, n, row_number() over (partition by cluster order by case when profile_first_seen is null then 1 else 0 end, profile_first_seen, profile_id) as pref
    from ${this.qr(cand)}
  ) p where pref = 1
) w where winner = 1`,
    );
    const ids = stage('ids');
    await this.create(
      ids,
      `select c.cluster, coalesce(k.profile_id, ${newId('c.cluster')}) as profile_id
from (select distinct cluster from ${this.qr(clusters)}) c left join ${this.qr(claim)} k on k.cluster = c.cluster`,
    );
    await this.create(
      out,
      `select i.profile_id, n.id_type, n.id_value, n.source, n.first_seen, n.last_seen, n.component, n.node
from ${this.qr(nodes)} n join ${this.qr(clusters)} c on c.node = n.node join ${this.qr(ids)} i on i.cluster = c.cluster`,
    );

    // merge log: every old profile that is now part of another profile (kind 'merge'), and every old
    // profile that lost identifiers to another profile (kind 'split', after a limit or config change),
    // each with one link that joined them
    const changes = stage('changes');
    await this.create(
      changes,
      `select distinct i.cluster, i.profile_id, o.profile_id as merged_profile_id,
  case when exists (select 1 from ${this.qr(claim)} k where k.profile_id = o.profile_id) then 'split' else 'merge' end as kind
from ${this.qr(old)} o join ${this.qr(clusters)} c on c.node = o.node join ${this.qr(ids)} i on i.cluster = c.cluster
where o.profile_id <> i.profile_id`,
    );
    const merges = await this.count(changes);
    const from = this.qr(out);
    if (merges === 0) return { merges, from };
    await wh.execute(
      `insert into ${this.q('merges')}
select ${this.lit(runId)}, ${this.lit(now)}, profile_id, merged_profile_id, kind, a_type, substr(a, ${d.cast('length(a_type) + 2', 'integer')}), b_type, substr(b, ${d.cast('length(b_type) + 2', 'integer')})
from (
  select m.profile_id, m.merged_profile_id, m.kind, e.a, e.b, e.a_type, e.b_type,
    row_number() over (partition by m.profile_id, m.merged_profile_id order by case when e.first_seen is null then 1 else 0 end, e.first_seen, e.a, e.b) as pos
  from ${this.qr(changes)} m
  join ${this.qr(old)} oa on oa.profile_id = m.merged_profile_id
  join ${this.qr(clusters)} ca on ca.node = oa.node and ca.cluster = m.cluster
  join ${this.qr(edges)} e on e.a = oa.node or e.b = oa.node
  left join ${this.qr(old)} ob on ob.node = case when e.a = oa.node then e.b else e.a end
  join ${this.qr(clusters)} cb on cb.node = case when e.a = oa.node then e.b else e.a end and cb.cluster = m.cluster
  where ob.profile_id is null or ob.profile_id <> m.merged_profile_id
) x where pos = 1`,
    );
    return { merges, from };
  }

  // ── helpers ──────────────────────────────────────────────────────────────────

  /** What decides the graph: a change re-resolves everything (ids stay stable). */
  private configHash(): string {
    const { identifiers, ignore, priority } = this.plan.config;
    return createHash('sha256').update(JSON.stringify({ identifiers, ignore, priority, v: 1 })).digest('hex').slice(0, 16);
  }

  private q(table: keyof typeof IDENTITY_TABLES): string {
    return this.d.relation(this.rel(table));
  }

  private qr(rel: Relation): string {
    return this.d.relation(rel);
  }

  private async create(rel: Relation, selectSql: string): Promise<void> {
    await this.warehouse.execute(this.d.drop(rel, 'table'));
    await this.warehouse.execute(`create table ${this.qr(rel)} as\n${selectSql}`);
  }

  private async count(rel: Relation): Promise<number> {
    return Number(await queryValue(this.warehouse, `select count(*) from ${this.qr(rel)}`));
  }

  /** A value as SQL: timestamps as typed literals (UTC, no zone), others through the dialect. */
  private lit(v: unknown): string {
    if (v instanceof Date) return this.d.timestampLiteral(v);
    return this.d.literal(v);
  }
}

function valueOf(node: string, type: string): string {
  return node.slice(type.length + 1);
}

function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  const s = String(v);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
}

