import { createHash, randomBytes } from 'node:crypto';
import type { Dialect } from '../warehouse/dialects';
import { queryAll, queryValue, type ColumnSpec, type Relation, type Row, type Warehouse } from '../warehouse/warehouse';
import { connectedComponents } from './connected-components';
import { EVENTS, columnSql, type IdentitySource, type IdentityPlan } from './identity-sources';
import { splitByLimits, type LimitedEdge } from './limits';
import { DEFAULT_IGNORE_RULES, compileIgnoreRules, normalizeIdentifier } from './normalize';
import { buildProfiles } from './profile-builder';

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
 * 6. Profiles: `profiles` is rebuilt from the graph with merged and computed traits (profile-builder.ts).
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
  merges: number;
  blocked: number;
  rounds: number;
  durationMs: number;
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
} as const;

const TABLE_COLUMNS: Record<Exclude<keyof typeof IDENTITY_TABLES, 'profiles'>, ColumnSpec[]> = {
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
      await wh.execute(d.createTableFromColumns(this.rel(table as keyof typeof TABLE_COLUMNS), columns).replace(/^create table /, 'create table if not exists '));
    }

    const configHash = this.configHash();
    const last = (await queryAll(wh, `select config_hash, events_watermark from ${this.q('runs')} order by started_at desc limit 1`))[0];
    const mode: IdentityRunResult['mode'] = options.full || !last || last.config_hash !== configHash ? 'full' : 'incremental';
    const since = mode === 'incremental' && last?.events_watermark ? new Date(toDate(last.events_watermark).getTime() - EVENTS_LOOKBACK_MS) : null;

    const token = randomBytes(4).toString('hex');
    const staged: Relation[] = [];
    const stage = (name: string): Relation => {
      const r = this.plan.relation(`_identity_${token}_${name}`);
      staged.push(r);
      return r;
    };
    try {
      // 1. extract
      const occurrences = stage('occ');
      const watermark = await this.extract(occurrences, since, stage);
      // 2. link
      const runLinks = stage('links');
      await this.create(runLinks, this.linksSql(occurrences));
      const links = await this.count(runLinks);
      const delta = stage('delta');
      const allEdges = stage('edges');
      if (mode === 'full') {
        await this.create(delta, `select * from ${this.qr(runLinks)}`);
        await this.create(allEdges, `select * from ${this.qr(runLinks)}`);
      } else {
        const [a, b, fs] = ['a', 'b', 'first_seen'].map((c) => d.quoteIdentifier(c));
        await this.create(
          delta,
          `select n.* from ${this.qr(runLinks)} n left join ${this.q('edges')} o on o.${a} = n.${a} and o.${b} = n.${b}
where o.${a} is null or n.${fs} < o.${fs} or (o.${fs} is null and n.${fs} is not null)`,
        );
        await this.create(allEdges, this.aggregateLinksSql(`select * from ${this.q('edges')} union all select * from ${this.qr(runLinks)}`));
      }
      const newLinks = await this.count(delta);

      let recomputed = 0;
      let rounds = 0;
      let merges = 0;
      if (newLinks > 0) {
        // 3. components of what changed
        const affected = stage('affected'); // (node) whose component is recomputed
        const oldComponents = stage('oldcomp'); // (component) replaced
        const graphNode = d.concat(['g.id_type', "':'", 'g.id_value']);
        if (mode === 'full') {
          await this.create(oldComponents, `select distinct component from ${this.q('graph')}`);
          await this.create(affected, `select a as node from ${this.qr(allEdges)} union select b from ${this.qr(allEdges)}`);
        } else {
          const touched = stage('touched');
          await this.create(touched, `select a as node from ${this.qr(delta)} union select b from ${this.qr(delta)}`);
          await this.create(oldComponents, `select distinct g.component from ${this.q('graph')} g join ${this.qr(touched)} t on t.node = ${graphNode}`);
          await this.create(
            affected,
            `select ${graphNode} as node from ${this.q('graph')} g join ${this.qr(oldComponents)} c on c.component = g.component
union select node from ${this.qr(touched)}`,
          );
        }
        const subEdges = stage('subedges');
        await this.create(subEdges, `select e.* from ${this.qr(allEdges)} e join ${this.qr(affected)} n on n.node = e.a`);
        const components = stage('comp');
        const cc = await connectedComponents(wh, { edges: subEdges, output: components });
        rounds = cc.rounds;
        recomputed = cc.nodes;

        // node facts: type, value, first source, first/last seen, component
        const nodes = stage('nodes');
        await this.create(nodes, this.nodesSql(subEdges, components));

        // 4. limits
        const clusters = stage('clusters');
        const blockedRun = stage('blocked');
        await this.applyLimits(subEdges, nodes, clusters, blockedRun, runId);

        // 5. stable ids and merges
        const assigned = stage('assigned');
        merges = await this.assignIds(nodes, clusters, oldComponents, subEdges, assigned, runId, now, stage);

        // write: graph, merge log (inside assignIds), blocked links, then links
        const keep = mode === 'full' ? '' : `select g.* from ${this.q('graph')} g where not exists (select 1 from ${this.qr(oldComponents)} c where c.component = g.component)\nunion all\n`;
        await wh.replaceTable(this.rel('graph'), `${keep}select profile_id, id_type, id_value, source, first_seen, last_seen, component from ${this.qr(assigned)}`);
        if (mode === 'full') await wh.execute(`delete from ${this.q('blocked')}`);
        else await wh.execute(`delete from ${this.q('blocked')} where component in (select component from ${this.qr(oldComponents)})`);
        await wh.execute(`insert into ${this.q('blocked')} select * from ${this.qr(blockedRun)}`);
      }
      if (newLinks > 0 || mode === 'full') await wh.replaceTable(this.rel('edges'), `select * from ${this.qr(allEdges)}`);

      // 6. profiles
      const profiles = await buildProfiles(wh, this.plan, this.rel('graph'), this.rel('profiles'), this.rel('phones'), now);

      const identifiers = await this.count(this.rel('graph'));
      const blocked = await this.count(this.rel('blocked'));
      const newWatermark = watermark ?? (last?.events_watermark ? toDate(last.events_watermark) : null);
      const finishedAt = new Date();
      await wh.execute(
        `insert into ${this.q('runs')} values (${[runId, now, finishedAt, mode, configHash, newWatermark, links, newLinks, recomputed, identifiers, profiles, merges, blocked, rounds].map((v) => this.lit(v)).join(', ')})`,
      );
      return { runId, mode, links, newLinks, recomputed, identifiers, profiles, merges, blocked, rounds, durationMs: performance.now() - t0 };
    } finally {
      for (const r of staged) await wh.execute(d.drop(r, 'table')).catch(() => undefined);
    }
  }

  // ── 1. extract ───────────────────────────────────────────────────────────────

  /**
   * Fills `occ(source, rec, id_type, id_rank, id_value, node, ts)`; returns the newest received_at
   * of the events read (the next incremental run starts there), or null if none were read.
   */
  private async extract(occ: Relation, since: Date | null, stage: (n: string) => Relation): Promise<Date | null> {
    const { d } = this;
    const branches: string[] = [];
    let watermark: Date | null = null;
    let i = 0;
    // a rule matches the value as written (trimmed) or as normalized: `^0+$` drops the phone `000000`
    // although its E.164 form is +44000000, and `test@example.com` drops `TEST@example.com`
    const ignore = [this.ignoreCondition('x.id_value'), this.ignoreCondition('x.raw_value')].join(' or ');
    for (const source of this.plan.sources.values()) {
      const s = stage(`src${i++}`);
      await this.create(s, this.sourceSql(source, since));
      if (source.name === EVENTS) {
        const max = await queryValue(this.warehouse, `select max(received_at) from ${this.qr(s)}`);
        watermark = max == null ? null : toDate(max);
      }
      for (const [j, idf] of source.identifiers.entries()) {
        const v = `s.${d.quoteIdentifier(`v${j}`)}`;
        let value: string;
        let join = '';
        switch (idf.type.normalize) {
          case 'trim':
            value = `nullif(trim(${v}), '')`;
            break;
          case 'email': {
            const n = `lower(trim(${v}))`;
            value = `case when ${n} like '_%@_%.%' and ${n} not like '%@%@%' and ${n} not like '%.' and ${n} not like '% %' then ${n} end`;
            break;
          }
          case 'phone':
            await this.normalizePhones(s, `v${j}`, idf.type.defaultCountry ?? '');
            join = ` left join ${this.q('phones')} pn on pn.raw = ${v} and pn.country = ${d.literal(idf.type.defaultCountry ?? '')}`;
            value = 'pn.value';
            break;
        }
        branches.push(
          `select ${d.literal(source.name)} as source, s.rec, ${d.literal(idf.type.type)} as id_type, ${idf.type.rank} as id_rank, ${value} as id_value, trim(${v}) as raw_value, s.ts
from ${this.qr(s)} s${join} where ${v} is not null`,
        );
      }
    }
    await this.create(
      occ,
      `select x.source, x.rec, x.id_type, x.id_rank, x.id_value, ${d.concat(['x.id_type', "':'", 'x.id_value'])} as node, x.ts
from (
${branches.join('\nunion all\n')}
) x
where x.id_value is not null and not (${ignore})`,
    );
    return watermark;
  }

  /** One source's records: (rec, ts, v0, v1, ...) with the identifier columns as strings. */
  private sourceSql(source: IdentitySource, since: Date | null): string {
    const { d } = this;
    const values = source.identifiers.map((c, j) => `${columnSql(d, c)} as ${d.quoteIdentifier(`v${j}`)}`);
    const ts = source.time ? d.cast(`r.${d.quoteIdentifier(source.time)}`, 'timestamp') : `cast(null as ${d.type('timestamp')})`;
    if (source.name === EVENTS) {
      const where = since ? `\nwhere r.received_at > ${this.lit(since)}` : '';
      return `select r.message_id as rec, ${ts} as ts, r.received_at, ${values.join(', ')}\nfrom ${d.relation(source.relation)} r${where}`;
    }
    return `select ${d.cast('row_number() over ()', 'string')} as rec, ${ts} as ts, ${values.join(', ')}\nfrom ${d.relation(source.relation)} r`;
  }

  /** The ignore rules (built-in placeholders plus cdp.yaml's) as a condition on a normalized value. */
  private ignoreCondition(expr: string): string {
    const { d } = this;
    const rules = [...DEFAULT_IGNORE_RULES, ...this.plan.config.ignore];
    compileIgnoreRules(this.plan.config.ignore); // a bad pattern fails here, naming the rule
    const exact = [...new Set(rules.filter((r): r is string => typeof r === 'string').map((r) => r.toLowerCase()))];
    const patterns = rules.filter((r): r is { pattern: string } => typeof r !== 'string').map((r) => d.regexpContains(expr, r.pattern));
    return [exact.length ? `lower(${expr}) in (${exact.map((v) => d.literal(v)).join(', ')})` : '', ...patterns].filter(Boolean).join(' or ');
  }

  /** Normalizes the raw phone values of a staged column that the warehouse has not seen before. */
  private async normalizePhones(staged: Relation, column: string, country: string): Promise<void> {
    const { d } = this;
    const v = d.quoteIdentifier(column);
    const fresh = this.warehouse.query(
      `select distinct s.${v} as raw from ${this.qr(staged)} s
where s.${v} is not null and not exists (select 1 from ${this.q('phones')} p where p.raw = s.${v} and p.country = ${d.literal(country)})`,
    );
    async function* rows() {
      for await (const row of fresh) {
        const raw = String(row.raw);
        yield [raw, country, normalizeIdentifier('phone', raw, { defaultCountry: country || undefined })];
      }
    }
    // read fully before writing: DuckDB runs one statement per connection at a time
    const buffered: unknown[][] = [];
    for await (const r of rows()) buffered.push(r);
    if (buffered.length) await this.warehouse.append(this.rel('phones'), ['raw', 'country', 'value'], buffered);
  }

  // ── 2. link ──────────────────────────────────────────────────────────────────

  /** Each record's identifiers linked to its most trusted one; a record's own node as a self-link. */
  private linksSql(occ: Relation): string {
    const o = this.qr(occ);
    return this.aggregateLinksSql(`select
  case when c.node <= o.node then c.node else o.node end as a,
  case when c.node <= o.node then o.node else c.node end as b,
  case when c.node <= o.node then c.id_type else o.id_type end as a_type,
  case when c.node <= o.node then o.id_type else c.id_type end as b_type,
  o.ts as first_seen, o.ts as last_seen, o.source
from ${o} o
join (
  select source, rec, node, id_type from (
    select source, rec, node, id_type, row_number() over (partition by source, rec order by id_rank, node) as pos from ${o}
  ) ranked where pos = 1
) c on c.source = o.source and c.rec = o.rec`);
  }

  /** One row per link: the earliest and latest time it was seen, and the source that saw it first. */
  private aggregateLinksSql(linksSql: string): string {
    return `select a, b, a_type, b_type, first_seen, last_seen, source from (
  select a, b, a_type, b_type,
    min(first_seen) over (partition by a, b) as first_seen,
    max(last_seen) over (partition by a, b) as last_seen,
    source,
    row_number() over (partition by a, b order by case when first_seen is null then 1 else 0 end, first_seen, source) as pos
  from (
${linksSql}
  ) l
) x where pos = 1`;
  }

  // ── 3. nodes ─────────────────────────────────────────────────────────────────

  private nodesSql(edges: Relation, components: Relation): string {
    const { d } = this;
    const e = this.qr(edges);
    return `select n.node, n.id_type, substr(n.node, ${d.cast('length(n.id_type) + 2', 'integer')}) as id_value, n.source, n.first_seen, n.last_seen, c.component
from (
  select node, id_type, source,
    min(first_seen) over (partition by node) as first_seen,
    max(last_seen) over (partition by node) as last_seen,
    row_number() over (partition by node order by case when first_seen is null then 1 else 0 end, first_seen, source) as pos
  from (
    select a as node, a_type as id_type, first_seen, last_seen, source from ${e}
    union all
    select b, b_type, first_seen, last_seen, source from ${e}
  ) ends
) n
join ${this.qr(components)} c on c.node = n.node
where n.pos = 1`;
  }

  // ── 4. limits ────────────────────────────────────────────────────────────────

  private async applyLimits(edges: Relation, nodes: Relation, clusters: Relation, blocked: Relation, runId: string): Promise<void> {
    const { d, warehouse: wh } = this;
    const limits = new Map(this.plan.types.filter((t) => t.limit !== undefined).map((t) => [t.type, t.limit!]));
    await this.create(clusters, `select node, component as cluster from ${this.qr(nodes)} where 1 = 0`);
    await wh.execute(d.createTableFromColumns(blocked, TABLE_COLUMNS.blocked));
    if (limits.size === 0) {
      await wh.execute(`insert into ${this.qr(clusters)} select node, component from ${this.qr(nodes)}`);
      return;
    }
    const limitOf = `case ${[...limits].map(([t, n]) => `when id_type = ${d.literal(t)} then ${n}`).join(' ')} end`;
    const violating = (
      await queryAll(wh, `select distinct component from (select component, id_type, count(*) as n from ${this.qr(nodes)} group by component, id_type) c where n > ${limitOf}`)
    ).map((r) => String(r.component));
    const split = new Map<string, string>();
    const blockedRows: unknown[][] = [];
    for (const component of violating) {
      // one component at a time keeps memory bounded by the largest offending component
      const rows = await queryAll(
        wh,
        `select e.a, e.b, e.a_type, e.b_type, e.first_seen from ${this.qr(edges)} e join ${this.qr(nodes)} n on n.node = e.a
where n.component = ?
order by case when e.first_seen is null then 1 else 0 end, e.first_seen, e.a, e.b`,
        [component],
      );
      const ordered: LimitedEdge[] = rows.map((r) => ({ a: String(r.a), b: String(r.b), aType: String(r.a_type), bType: String(r.b_type) }));
      const result = splitByLimits(ordered, limits);
      for (const [node, cluster] of result.clusters) split.set(node, cluster);
      const firstSeen = new Map(rows.map((r) => [`${String(r.a)}\u0000${String(r.b)}`, r.first_seen]));
      for (const b of result.blocked) {
        blockedRows.push([runId, component, b.aType, valueOf(b.a, b.aType), b.bType, valueOf(b.b, b.bType), b.type, b.limit, firstSeen.get(`${b.a}\u0000${b.b}`) ?? null]);
      }
    }
    const splitRel = this.plan.relation(`${clusters.name}_split`);
    try {
      await wh.execute(d.createTableFromColumns(splitRel, cols('node:string cluster:string')));
      if (split.size) await wh.append(splitRel, ['node', 'cluster'], [...split].map(([n, c]) => [n, c]));
      await wh.execute(
        `insert into ${this.qr(clusters)} select n.node, coalesce(s.cluster, n.component) from ${this.qr(nodes)} n left join ${this.qr(splitRel)} s on s.node = n.node`,
      );
    } finally {
      await wh.execute(d.drop(splitRel, 'table'));
    }
    if (blockedRows.length) await wh.append(blocked, TABLE_COLUMNS.blocked.map((c) => c.name), blockedRows);
  }

  // ── 5. stable ids ────────────────────────────────────────────────────────────

  /**
   * Gives every cluster a profile id: the old id of its nodes that was first seen earliest; when
   * several clusters claim one old id (a profile split), the cluster with most of its identifiers
   * keeps it. Clusters without an old id get a new one derived from the cluster key (md5), so the
   * same data gives the same ids on every run and warehouse. Logs merges. Returns the merge count.
   */
  private async assignIds(
    nodes: Relation,
    clusters: Relation,
    oldComponents: Relation,
    edges: Relation,
    out: Relation,
    runId: string,
    now: Date,
    stage: (n: string) => Relation,
  ): Promise<number> {
    const { d, warehouse: wh } = this;
    const old = stage('old');
    await this.create(
      old,
      `select ${d.concat(['g.id_type', "':'", 'g.id_value'])} as node, g.profile_id, min(g.first_seen) over (partition by g.profile_id) as profile_first_seen
from ${this.q('graph')} g join ${this.qr(oldComponents)} c on c.component = g.component`,
    );
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
      `select c.cluster, coalesce(k.profile_id, ${d.md5(d.concat(["'profile:'", 'c.cluster']))}) as profile_id
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
    if (merges === 0) return 0;
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
    return merges;
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
    if (v instanceof Date) return this.d.cast(this.d.literal(v.toISOString().replace('T', ' ').replace('Z', '')), 'timestamp');
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

export type { Row };
