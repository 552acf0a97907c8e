import { createHash, randomBytes } from 'node:crypto';
import type { Dialect } from '../warehouse/dialects';
import { dropTables, queryAll, queryValue, type ColumnSpec, type Relation, type TableWriteOptions, type Warehouse } from '../warehouse/warehouse';
import { componentsByKey } from './connected-components';
import { EVENTS, columnSql, timeSql, toDate, type IdentifierType, type IdentitySource, type IdentityPlan } from './identity-sources';
import { splitByLimits, type LimitedEdge } from './limits';
import { ignoredSql, normalizeIdentifier, normalizedSql } from './normalize';
import { buildProfileEvents, buildProfiles, touchedScope } from './profile-builder';

/**
 * Identity resolution in the warehouse, in SQL that runs on every dialect.
 *
 * 1. Extract: every record (an event of raw_events, a row of a model or seed) yields its identifiers
 *    (`type:value` nodes), normalized (emails lower(trim), opaque ids trimmed, phones to E.164 through
 *    libphonenumber: the distinct raw phone values new to the warehouse are normalized in Node once
 *    and kept in `identity_phone_numbers`), without the ignored values. Each node also gets a 64-bit
 *    key for the joins and group-bys that follow (its type's rank in the top bits, a 56-bit hash of
 *    the node below: see `keySql`), and each record the smallest key among its nodes.
 * 2. Link: each record links its identifiers to its most trusted one (by `priority`), so one record
 *    with a user id, an email and an anonymous id gives two links; a record with one identifier gives
 *    a self-link that declares the node. Links accumulate in `identity_edges` (first/last seen).
 * 3. Nodes: one row per identifier with its first source, first/last seen and its first hook (the
 *    smallest key of the records it is in), read from the records in a full run and from the links
 *    of the touched components in an incremental one. Keys are checked for collisions (a collision
 *    numbers the nodes densely instead, see `rekey`).
 * 4. Components: `componentsByKey` (hook-and-shortcut, O(log n) rounds) over the nodes and links.
 *    Incremental runs take only the links new since the last run, find the components they touch and
 *    recompute those alone; everything else keeps its profile untouched. One pass over the nodes
 *    names each component (its smallest node id) and flags those over a limit. The graph keeps a
 *    component's smallest key as its id (`component`); should two components ever share one (keys
 *    are hashes, checked for collisions only among the nodes of a run), a later run that touches
 *    either recomputes both, which gives the same result.
 * 5. Limits: components with more values of a type than its limit are split by replaying their links
 *    in time order (see limits.ts); refused links go to `identity_blocked_edges`.
 * 6. Stable ids: a profile keeps the id it had; when profiles merge, the one first seen earliest keeps
 *    its id and the others are logged in `profile_merges` with a link that joined them.
 * 7. Profiles: `profiles` is rebuilt from the graph with merged and computed traits, and
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
  /**
   * a real-time pass: only the events changed since the last run (no model or seed source was
   * rebuilt; the caller checks), so only the events are read and only the profiles they touch are
   * rebuilt (`profiles`, `profile_events`), and their ids are added to `identity_touched` for the
   * segments. Ignored when the run is full (first run, config change).
   */
  touched?: boolean;
  /** how far behind the last watermark events are re-read (default 10 minutes) */
  lookbackMs?: number;
  /** the watermark stays below this: events received from then on may not all be committed yet */
  watermarkCap?: Date;
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
  /** which profiles were rebuilt: all, or those touched (listed in identity_touched) */
  scope: 'all' | 'touched';
  /** profiles rebuilt in a touched run */
  touched?: number;
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
  touched: 'identity_touched',
  profiles: 'profiles',
  events: 'profile_events',
} as const;

const TABLE_COLUMNS: Record<Exclude<keyof typeof IDENTITY_TABLES, 'profiles' | 'events'>, ColumnSpec[]> = {
  edges: cols('a:string b:string first_seen:timestamp last_seen:timestamp source:string'),
  graph: cols('profile_id:string id_type:string id_value:string source:string first_seen:timestamp last_seen:timestamp component:bigint'),
  merges: cols('run_id:string merged_at:timestamp profile_id:string merged_profile_id:string kind:string link_a_type:string link_a_value:string link_b_type:string link_b_value:string'),
  blocked: cols('run_id:string component:bigint a_type:string a_value:string b_type:string b_value:string limit_type:string limit_value:integer first_seen:timestamp'),
  phones: cols('raw:string country:string value:string'),
  touched: cols('profile_id:string run_id:string'),
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

/**
 * The columns of a link, as `identity_edges` keeps them: its ends (`type:value`, a <= b), when it was
 * first and last seen, and the source that saw it first. Staged links also carry their ends' types
 * (a_type, b_type: the prefixes of a and b) and keys (ka, kb).
 */
const LINK_COLUMNS = ['a', 'b', 'first_seen', 'last_seen', 'source'];

/** Keys below this (2^63 - 1): the largest bigint. */
const MAX_KEY = '9223372036854775807';

/** The smallest key of the identifier type of rank `rank` (see keySql): 2^56 per type, up to 127 types. */
function rankBase(rank: number): string {
  if (rank > 127) throw new Error('identity resolution handles at most 127 identifier types');
  return String(BigInt(rank) << 56n);
}

/** A new profile's id: derived from its cluster's name, so the same data gives the same id on every run and warehouse. */
function newProfileId(d: Dialect, cluster: string): string {
  return d.md5(d.concat(["'profile:'", cluster]));
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
    const previous = mode === 'incremental' && last?.events_watermark ? toDate(last.events_watermark) : null;
    const since = previous ? new Date(previous.getTime() - (options.lookbackMs ?? EVENTS_LOOKBACK_MS)) : null;
    // a touched run rebuilds only the profiles its events and links touch
    const touchedRun = mode === 'incremental' && options.touched === true;

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
      const extracted = await this.extractLinks(runLinks, since, stage, touchedRun, previous);
      const links = await this.count(runLinks);
      // changed: the links read that change identity_edges (new ones, and known ones seen earlier, later
      // or first by another source); delta: those that change the graph (new, or seen earlier)
      let delta = runLinks;
      let changed = runLinks;
      if (mode === 'incremental') {
        changed = stage('changed');
        await this.create(changed, this.changedLinksSql(runLinks));
        delta = stage('delta');
        await this.create(delta, `select ${LINK_COLUMNS.join(', ')} from ${this.qr(changed)} where grows = 1`);
      }
      const newLinks = mode === 'full' ? links : await this.count(delta);
      lap('extract');

      let recomputed = 0;
      let rounds = 0;
      let merges = 0;
      let profileBase: string | undefined; // the profiles' first/last seen, when this run knows them all
      // touched runs: the profiles to rebuild, and the nodes whose profiles (after the write) are rebuilt
      const touched = touchedRun ? stage('touchedp') : undefined;
      const touchedNodes: string[] = touchedRun ? [extracted.newNodes] : [];
      if (touched) await wh.execute(d.createTableFromColumns(touched, cols('profile_id:string')));
      if (newLinks > 0) {
        // 3. nodes of what changed: everything (full), or the components the new links touch
        const graphNode = d.concat(['g.id_type', "':'", 'g.id_value']);
        let subEdges = runLinks;
        let nodes = stage('nodes');
        let oldComponents: Relation | undefined; // (component) replaced by this run; in a full run, all
        if (mode === 'full') {
          await this.create(nodes, this.nodesFromRecordsSql(extracted.records));
        } else {
          oldComponents = stage('oldcomp');
          const touched = stage('touched');
          await this.create(touched, `select a as node from ${this.qr(delta)} ${d.unionDistinct} select b from ${this.qr(delta)}`);
          await this.create(oldComponents, `select distinct g.component from ${this.q('graph')} g join (${this.splitNodesSql(`select node from ${this.qr(touched)}`)}) t on ${this.graphMatch('t')}`);
          const affected = stage('affected'); // (node) whose component is recomputed
          await this.create(
            affected,
            `select ${graphNode} as node from ${this.q('graph')} g join ${this.qr(oldComponents)} c on c.component = g.component
${d.unionDistinct} select node from ${this.qr(touched)}`,
          );
          // the known links of the affected nodes and the new ones: every link among them
          subEdges = stage('subedges');
          const cols = LINK_COLUMNS.join(', ');
          await this.create(
            subEdges,
            this.keyedLinksSql(
              this.aggregateLinksSql(
                `select ${LINK_COLUMNS.map((c) => `e.${c}`).join(', ')} from ${this.q('edges')} e join ${this.qr(affected)} n on n.node = e.a\nunion all\nselect ${cols} from ${this.qr(delta)}`,
              ),
            ),
          );
          await this.create(nodes, this.nodesFromLinksSql(subEdges));
        }
        if (await this.keysCollide(nodes)) ({ nodes, links: subEdges } = await this.rekey(nodes, subEdges, stage));
        recomputed = await this.count(nodes);
        if (touched) touchedNodes.push(`select node from ${this.qr(nodes)}`);
        lap('nodes');

        // 4. components, each named by its smallest node and flagged when over a limit
        const cc = await componentsByKey(wh, { nodes, edges: subEdges, stage });
        rounds = cc.rounds;
        const root = cc.root('n');
        const labels = stage('labels'); // (root, name, profile_id, first_seen, last_seen, over)
        await this.create(labels, this.labelsSql(`select n.node, n.key, n.first_seen, n.last_seen, ${root.key} as root from ${this.qr(nodes)} n${root.joins}`));
        lap('components');

        // 5. limits
        const split = stage('split'); // (key, cluster) of the nodes in components split by limits
        const blockedRun = stage('blocked');
        await this.applyLimits(subEdges, nodes, root, labels, split, blockedRun, runId);
        lap('limits');

        // 6. stable ids and merges (the merge log is written here)
        const resolved = `select n.node, ${this.typeOfKey('n.key')} as id_type, substr(n.node, ${d.strpos('n.node', "':'")} + 1) as id_value, n.source, n.first_seen, n.last_seen, l.root as component,
  coalesce(s.cluster, l.name) as cluster, case when s.cluster is null then l.profile_id else ${newProfileId(d, 's.cluster')} end as new_profile_id
from ${this.qr(nodes)} n${root.joins} join ${this.qr(labels)} l on l.root = ${root.key} left join ${this.qr(split)} s on s.key = n.key`;
        const ids = await this.assignIds(resolved, oldComponents, subEdges, runId, now, stage);
        merges = ids.merges;
        if (!oldComponents && ids.fresh) {
          // every profile is new, named by its component or its cluster: no need to group the graph again
          profileBase = `select profile_id, first_seen, last_seen from ${this.qr(labels)} where over = 0
union all
select ${newProfileId(d, 's.cluster')}, min(n.first_seen), max(n.last_seen) from ${this.qr(split)} s join ${this.qr(nodes)} n on n.key = s.key group by s.cluster`;
        }
        lap('ids');

        if (touched && oldComponents) {
          // the profiles of the replaced components: some may be merged away or split
          await wh.execute(`insert into ${this.qr(touched)} select distinct g.profile_id from ${this.q('graph')} g join ${this.qr(oldComponents)} c on c.component = g.component`);
        }
        // write: graph, blocked links, then links
        const graphColumns = 'profile_id, id_type, id_value, source, first_seen, last_seen, component';
        if (oldComponents && recomputed * 2 < (await this.count(this.rel('graph')))) {
          // a few components changed (real-time passes, small loads): their rows are replaced in place
          await wh.transaction([
            `delete from ${this.q('graph')} where component in (select component from ${this.qr(oldComponents)})`,
            `insert into ${this.q('graph')} (${graphColumns}) select ${graphColumns} from ${ids.from}`,
          ]);
        } else {
          const keep = oldComponents
            ? `select g.* from ${this.q('graph')} g where not exists (select 1 from ${this.qr(oldComponents)} c where c.component = g.component)\nunion all\n`
            : '';
          await wh.replaceTable(this.rel('graph'), `${keep}select ${graphColumns} from ${ids.from}`, this.writeOptions('graph'));
        }
        if (!oldComponents) {
          await wh.replaceTable(this.rel('blocked'), `select * from ${this.qr(blockedRun)}`);
        } else {
          await wh.execute(`delete from ${this.q('blocked')} where component in (select component from ${this.qr(oldComponents)})`);
          await wh.execute(`insert into ${this.q('blocked')} select * from ${this.qr(blockedRun)}`);
        }
      }
      const changes = mode === 'full' ? links : await this.count(changed);
      if (mode === 'incremental' && changes > 0) {
        // identifiers seen again later than the graph knows: their last_seen moves on (a link seen
        // again is not new, so its component was not recomputed); only a changed link can move one
        const seen = stage('seen');
        await this.create(
          seen,
          `select min(id_type) as id_type, substr(node, ${d.strpos('node', "':'")} + 1) as id_value, max(last_seen) as last_seen
from (select a as node, a_type as id_type, last_seen from ${this.qr(changed)} union all select b, b_type, last_seen from ${this.qr(changed)}) e where last_seen is not null group by node`,
        );
        await wh.execute(
          `update ${this.q('graph')} as t set last_seen = x.last_seen from ${this.qr(seen)} x
where x.id_type = t.id_type and x.id_value = t.id_value and (t.last_seen is null or x.last_seen > t.last_seen)`,
        );
      }
      const linkColumns = LINK_COLUMNS.join(', ');
      if (mode === 'full') {
        await wh.replaceTable(this.rel('edges'), `select ${linkColumns} from ${this.qr(runLinks)}`, this.writeOptions('edges'));
      } else if (changes * 2 > (await this.count(this.rel('edges')))) {
        // most links changed: rewriting beats merging
        await wh.replaceTable(this.rel('edges'), this.aggregateLinksSql(`select ${linkColumns} from ${this.q('edges')} union all select ${linkColumns} from ${this.qr(changed)}`), this.writeOptions('edges'));
      } else if (changes > 0) {
        // only the changed links are merged in (a model read whole again changes few)
        const [a, b] = ['a', 'b'].map((c) => d.quoteIdentifier(c));
        await wh.merge(
          this.rel('edges'),
          this.aggregateLinksSql(
            `select ${LINK_COLUMNS.map((c) => `o.${c}`).join(', ')} from ${this.q('edges')} o join ${this.qr(changed)} n on n.${a} = o.${a} and n.${b} = o.${b}\nunion all\nselect ${linkColumns} from ${this.qr(changed)}`,
          ),
          ['a', 'b'],
        );
      }
      lap('write');

      // 6. profiles: all of them, or those touched (the graph rows of touched nodes, after the write)
      let touchedCount: number | undefined;
      if (touched) {
        await wh.execute(
          `insert into ${this.qr(touched)} select distinct g.profile_id from ${this.q('graph')} g join (\n${this.splitNodesSql(touchedNodes.join('\nunion all\n'))}\n) t on ${this.graphMatch('t')}`,
        );
        const only = stage('only');
        await this.create(only, `select distinct profile_id from ${this.qr(touched)}`);
        touchedCount = await this.count(only);
        const scope = await touchedScope(wh, this.plan, this.rel('graph'), this.rel('phones'), only, stage);
        await buildProfiles(wh, this.plan, this.rel('graph'), this.rel('profiles'), this.rel('phones'), now, undefined, scope);
        await buildProfileEvents(wh, this.plan, this.rel('graph'), this.rel('events'), this.rel('phones'), scope);
        // for the segments of the pass; kept until they are built (a crash in between leaves them here)
        await wh.execute(`insert into ${this.q('touched')} select profile_id, ${this.lit(runId)} from ${this.qr(only)}`);
      } else {
        await buildProfiles(wh, this.plan, this.rel('graph'), this.rel('profiles'), this.rel('phones'), now, profileBase);
        await buildProfileEvents(wh, this.plan, this.rel('graph'), this.rel('events'), this.rel('phones'));
      }
      const profiles = await this.count(this.rel('profiles'));
      const events = await this.count(this.rel('events'));
      lap('profiles');

      const identifiers = await this.count(this.rel('graph'));
      const blocked = await this.count(this.rel('blocked'));
      let newWatermark = extracted.watermark ?? (last?.events_watermark ? toDate(last.events_watermark) : null);
      // events received from the cap on may still be committing: the next run reads them again
      if (newWatermark && options.watermarkCap && newWatermark >= options.watermarkCap) {
        newWatermark = new Date(Math.max(options.watermarkCap.getTime() - 1, previous?.getTime() ?? 0));
      }
      const finishedAt = new Date();
      await wh.execute(
        `insert into ${this.q('runs')} values (${[runId, now, finishedAt, mode, configHash, newWatermark, links, newLinks, recomputed, identifiers, profiles, merges, blocked, rounds].map((v) => this.lit(v)).join(', ')})`,
      );
      return {
        runId,
        mode,
        links,
        newLinks,
        recomputed,
        identifiers,
        profiles,
        events,
        merges,
        blocked,
        rounds,
        durationMs: performance.now() - t0,
        timings,
        scope: touched ? 'touched' : 'all',
        touched: touchedCount,
      };
    } finally {
      await dropTables(wh, staged);
    }
  }

  // ── 1-2. extract and link ────────────────────────────────────────────────────

  /**
   * Fills `out` with this run's links, aggregated, straight from the sources: per record, every
   * identifier column is normalized (and dropped when ignored), keyed, the record's most trusted
   * identifier is its centre, and each identifier links to the centre (the centre to itself, which
   * declares it). The normalized records of each source are staged once; `records` is the SQL of
   * their identifiers, one row each (centre, centre_key, node, node_key, rec_min, ts, source), which
   * a full run reads again for the nodes. `watermark`: the newest received_at of the events read
   * (the next incremental run starts there), or null if none were read. `newNodes`: SQL of the nodes
   * of the events received after `previous` (the last watermark), which a touched run rebuilds the
   * profiles of; with `eventsOnly`, the other sources are not read (nothing changed in them).
   */
  private async extractLinks(
    out: Relation,
    since: Date | null,
    stage: (name: string) => Relation,
    eventsOnly = false,
    previous: Date | null = null,
  ): Promise<{ watermark: Date | null; records: string; newNodes: string }> {
    const { d } = this;
    let watermark: Date | null = null;
    const branches: string[] = [];
    const newNodes: string[] = [];
    let i = 0;
    for (const source of this.plan.sources.values()) {
      if (eventsOnly && source.name !== EVENTS) continue;
      const events = source.name === EVENTS;
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
      // s: the values as written (trimmed); m: normalized; n: the node (`type:value`), normalized,
      // unless an ignore rule matches either form (`^0+$` drops the phone `000000` although its E.164
      // form is +44000000); k: the node's key; rec_min: the smallest key of the record
      const n = (c: { j: number }) => `x.${q('n', c)}`;
      const k = (c: { j: number }) => `x.${q('k', c)}`;
      const records = stage(`records${i++}`);
      await this.create(
        records,
        `select x.*, least(${columns.map((c) => `coalesce(${k(c)}, ${MAX_KEY})`).join(', ')}) as rec_min
from (
  select x.ts${events ? ', x.rcv' : ''}, ${columns.map((c) => `${n(c)}, case when ${n(c)} is not null then ${this.keySql(c.type, n(c))} end as ${q('k', c)}`).join(',\n    ')}
  from (
    select m.ts${events ? ', m.rcv' : ''}, ${columns.map((c) => `case when m.${q('m', c)} is null or ${this.ignoreCondition(`m.${q('m', c)}`)} or ${this.ignoreCondition(`m.${q('r', c)}`)} then null else ${d.concat([d.literal(`${c.type.type}:`), `m.${q('m', c)}`])} end as ${q('n', c)}`).join(',\n      ')}
    from (
      select s.*, ${normalized.join(', ')}
      from (select ${ts} as ts${events ? ', r.received_at as rcv' : ''}, ${columns.map((c) => `trim(${columnSql(d, c)}) as ${q('r', c)}`).join(', ')} from ${d.relation(source.relation)} r${where ? ` where ${where}` : ''}) s
      ${joins.join('\n      ')}
    ) m
  ) x
) x`,
      );
      const centre = `coalesce(${columns.map(n).join(', ')})`;
      const centreKey = `coalesce(${columns.map(k).join(', ')})`;
      for (const c of columns) {
        if (events) newNodes.push(`select ${n(c)} as node from ${this.qr(records)} x where ${n(c)} is not null${previous ? ` and x.rcv > ${this.lit(previous)}` : ''}`);
        branches.push(
          `select ${centre} as centre, ${centreKey} as centre_key, ${n(c)} as node, ${k(c)} as node_key, x.rec_min, x.ts, ${d.literal(source.name)} as source
from ${this.qr(records)} x where ${n(c)} is not null`,
        );
      }
    }
    const recordsSql = branches.join('\nunion all\n');
    const oneSource = this.plan.sources.size === 1;
    await this.create(
      out,
      `select a, b, ${this.typeOfKey('ka')} as a_type, ${this.typeOfKey('kb')} as b_type, first_seen, last_seen, ${oneSource ? d.literal([...this.plan.sources.keys()][0]) : 'source'} as source, ka, kb
from (
  select a, b, min(ka) as ka, min(kb) as kb, min(ts) as first_seen, max(ts) as last_seen${oneSource ? '' : `, ${this.firstSource('ts')} as source`}
  from (
    select
      case when centre <= node then centre else node end as a,
      case when centre <= node then node else centre end as b,
      case when centre <= node then centre_key else node_key end as ka,
      case when centre <= node then node_key else centre_key end as kb,
      ts, source
    from (
${recordsSql}
    ) r
  ) l
  group by a, b
) l`,
    );
    return {
      watermark,
      records: recordsSql,
      newNodes: newNodes.length ? newNodes.join('\nunion all\n') : `select cast(null as ${d.type('string')}) as node from ${this.q('runs')} where 1 = 0`,
    };
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
    // a node's type is part of its id (`type:value`), so grouping by the ids alone is enough
    return `select a, b, min(first_seen) as first_seen, max(last_seen) as last_seen, ${this.firstSource('first_seen')} as source
from (
${linksSql}
) l
group by a, b`;
  }

  /**
   * The staged links of this run (`runLinks`) that change `identity_edges`: new ones, and known ones
   * seen earlier or later than it says, or first seen at the same time by a source whose name sorts
   * first (what aggregateLinksSql would change). `grows` = 1 for those that change the graph: new
   * links, and links seen earlier (a first_seen moves, which the components' names and merges read).
   */
  private changedLinksSql(runLinks: Relation): string {
    const { d } = this;
    const [a, b, fs, ls, src] = ['a', 'b', 'first_seen', 'last_seen', 'source'].map((c) => d.quoteIdentifier(c));
    const far = FAR_FUTURE(d);
    const grows = `o.${a} is null or n.${fs} < o.${fs} or (o.${fs} is null and n.${fs} is not null)`;
    return `select n.*, case when ${grows} then 1 else 0 end as grows
from ${this.qr(runLinks)} n left join ${this.q('edges')} o on o.${a} = n.${a} and o.${b} = n.${b}
where ${grows} or n.${ls} > o.${ls} or (o.${ls} is null and n.${ls} is not null)
  or (coalesce(n.${fs}, ${far}) = coalesce(o.${fs}, ${far}) and n.${src} < o.${src})`;
  }

  /** The links of `linksSql` (LINK_COLUMNS) with the types (a_type, b_type) and keys (ka, kb) of their ends. */
  private keyedLinksSql(linksSql: string): string {
    const { d } = this;
    const typeOf = (node: string) => `substr(${node}, 1, ${d.strpos(node, "':'")} - 1)`;
    return `select l.*, ${this.keySql('l.a_type', 'l.a')} as ka, ${this.keySql('l.b_type', 'l.b')} as kb
from (select l.*, ${typeOf('l.a')} as a_type, ${typeOf('l.b')} as b_type from (\n${linksSql}\n) l) l`;
  }

  /** Aggregate: the source that saw a row first (by `time`, unknown times last; then by name). */
  private firstSource(time: string): string {
    return this.d.firstBy('source', [`coalesce(${time}, ${FAR_FUTURE(this.d)})`, 'source']);
  }

  /**
   * A node's key: its type's rank in the top bits (so a type is a range of keys, and the most trusted
   * identifiers have the smallest keys, which most records then hook to), a 56-bit hash of the node
   * below. `type` is the type, or SQL giving its name.
   */
  private keySql(type: IdentifierType | string, nodeSql: string): string {
    const base = typeof type === 'string' ? `case ${type} ${this.plan.types.map((t) => `when ${this.d.literal(t.type)} then ${rankBase(t.rank)}`).join(' ')} end` : rankBase(type.rank);
    return `(${base} + ${this.d.hash56(nodeSql)})`;
  }

  /** The identifier type of a key (see keySql). */
  private typeOfKey(key: string): string {
    return this.keyRange(key, (t) => this.d.literal(t.type));
  }

  /** SQL giving `value(t)` for the identifier type `t` whose range holds `key` (see keySql). */
  private keyRange(key: string, value: (t: IdentifierType) => string): string {
    const types = this.plan.types;
    if (types.length === 1) return value(types[0]);
    return `case ${types
      .slice(0, -1)
      .map((t) => `when ${key} < ${rankBase(t.rank + 1)} then ${value(t)}`)
      .join(' ')} else ${value(types.at(-1)!)} end`;
  }

  // ── 3. nodes ─────────────────────────────────────────────────────────────────

  /** Nodes from the identifiers of the records (extractLinks): the records are the hooks' groups. */
  private nodesFromRecordsSql(recordsSql: string): string {
    const oneSource = this.plan.sources.size === 1;
    return `select node, min(node_key) as key, min(ts) as first_seen, max(ts) as last_seen, ${oneSource ? this.d.literal([...this.plan.sources.keys()][0]) : this.firstSource('ts')} as source,
  min(rec_min) as hook, max(rec_min) as hook_max
from (
${recordsSql}
) r
group by node`;
  }

  /** Nodes from keyed links, both ends: each link is a group of its own for the hooks. */
  private nodesFromLinksSql(links: Relation): string {
    const e = this.qr(links);
    return `select node, min(key) as key, min(first_seen) as first_seen, max(last_seen) as last_seen, ${this.firstSource('first_seen')} as source, min(rec_min) as hook, max(rec_min) as hook_max
from (
  select a as node, ka as key, first_seen, last_seen, source, least(ka, kb) as rec_min from ${e}
  union all
  select b, kb, first_seen, last_seen, source, least(ka, kb) from ${e} where b <> a
) ends
group by node`;
  }

  /** Whether two nodes share a key (56-bit hashes: about one run in 10,000 at 4 million identifiers). */
  private async keysCollide(nodes: Relation): Promise<boolean> {
    return Number(await queryValue(this.warehouse, `select count(*) from (select key from ${this.qr(nodes)} group by key having count(*) > 1) c`)) > 0;
  }

  /** Dense keys instead of hashes (after a collision): numbered in node order within each type's range, and the nodes again from the links. */
  private async rekey(nodes: Relation, links: Relation, stage: (name: string) => Relation): Promise<{ nodes: Relation; links: Relation }> {
    const base = `case ${this.plan.types.map((t) => `when key < ${rankBase(t.rank + 1)} then ${rankBase(t.rank)}`).join(' ')} end`;
    const dense = stage('dense');
    await this.create(dense, `select node, ${base} + row_number() over (order by node) as key from ${this.qr(nodes)}`);
    const keyed = stage('denselinks');
    await this.create(
      keyed,
      `select ${[...LINK_COLUMNS, 'a_type', 'b_type'].map((c) => `e.${c}`).join(', ')}, x.key as ka, y.key as kb
from ${this.qr(links)} e join ${this.qr(dense)} x on x.node = e.a join ${this.qr(dense)} y on y.node = e.b`,
    );
    const rekeyed = stage('densenodes');
    await this.create(rekeyed, this.nodesFromLinksSql(keyed));
    return { nodes: rekeyed, links: keyed };
  }

  /**
   * One row per component (`nodesSql` gives node, key, first_seen, last_seen, root): its root (the
   * smallest key, which the graph keeps as the component's id: a few bytes where the name is a
   * string), its name (the smallest node id), the id of a profile named so, its first and last seen,
   * and `over` = 1 when it holds more values of a type than the type's limit.
   */
  private labelsSql(nodesSql: string): string {
    const { d } = this;
    const over = this.plan.types
      .filter((t) => t.limit !== undefined)
      .map((t) => `sum(case when key >= ${rankBase(t.rank)} and key < ${rankBase(t.rank + 1)} then 1 else 0 end) > ${t.limit}`);
    return `select root, min(node) as name, ${newProfileId(d, 'min(node)')} as profile_id, min(first_seen) as first_seen, max(last_seen) as last_seen,
  ${over.length ? `case when ${over.join(' or ')} then 1 else 0 end` : '0'} as over
from (
${nodesSql}
) n
group by root`;
  }

  // ── 5. limits ────────────────────────────────────────────────────────────────

  /**
   * Fills `splitRel(key, cluster)` for the nodes of components over a limit, and `blocked` with the
   * refused links. The offending nodes are numbered densely in node order (`i`, and `c` per
   * component), so the replay streams small integers, not strings (8x cheaper to read), in the same
   * order as the nodes themselves: the smallest number of a cluster is its smallest node.
   */
  private async applyLimits(
    edges: Relation,
    nodes: Relation,
    root: { joins: string; key: string },
    labels: Relation,
    splitRel: Relation,
    blocked: Relation,
    runId: string,
  ): Promise<void> {
    const { d, warehouse: wh } = this;
    const limits = new Map(this.plan.types.filter((t) => t.limit !== undefined).map((t) => [t.type, t.limit!]));
    await wh.execute(d.createTableFromColumns(blocked, TABLE_COLUMNS.blocked));
    if (limits.size === 0) return this.create(splitRel, `select key, node as cluster from ${this.qr(nodes)} where 1 = 0`);
    const violatingNodes = wh.scratchRelation(`${splitRel.name}_over_nodes`, splitRel);
    const clusters = wh.scratchRelation(`${splitRel.name}_clusters`, splitRel);
    const refused = wh.scratchRelation(`${splitRel.name}_refused`, splitRel);
    const typeOfRank = new Map(this.plan.types.map((t) => [t.rank, t.type]));
    const split: number[][] = [];
    const refusedRows: unknown[][] = [];
    try {
      // all offending components in one ordered stream, replayed one component at a time
      let current: { component: number; edges: LimitedEdge<number>[] } | undefined;
      const replay = () => {
        if (!current) return;
        const result = splitByLimits(current.edges, limits);
        for (const [node, cluster] of result.clusters) split.push([node, cluster]);
        for (const b of result.blocked) refusedRows.push([b.a, b.b, b.type, b.limit]);
      };
      await this.create(
        violatingNodes,
        `select v.key, v.node, v.component, ${d.cast('row_number() over (order by v.node)', 'integer')} as i, ${d.cast('dense_rank() over (order by v.component)', 'integer')} as c, ${this.keyRange('v.key', (t) => String(t.rank))} as t
from (select n.key, n.node, l.root as component from ${this.qr(nodes)} n${root.joins} join (select root from ${this.qr(labels)} where over = 1) l on l.root = ${root.key}) v`,
      );
      const v = this.qr(violatingNodes);
      // both ends of a link are in the same component; x.i, y.i order the links as their nodes (a, b) do
      const rows = wh.query(
        `select x.c, x.i as ia, y.i as ib, x.t as ta, y.t as tb
from ${this.qr(edges)} e join ${v} x on x.key = e.ka join ${v} y on y.key = e.kb
order by x.c, case when e.first_seen is null then 1 else 0 end, e.first_seen, x.i, y.i`,
      );
      for await (const r of rows) {
        const component = Number(r.c);
        if (current?.component !== component) {
          replay();
          current = { component, edges: [] };
        }
        current.edges.push({ a: Number(r.ia), b: Number(r.ib), aType: typeOfRank.get(Number(r.ta))!, bType: typeOfRank.get(Number(r.tb))! });
      }
      replay();
      // the clusters by node key, and the refused links with their types, values and first_seen
      await wh.execute(d.createTableFromColumns(clusters, cols('i:integer cluster:integer')));
      await wh.execute(d.createTableFromColumns(refused, cols('a:integer b:integer limit_type:string limit_value:integer')));
      if (split.length) await wh.append(clusters, ['i', 'cluster'], split);
      if (refusedRows.length) await wh.append(refused, ['a', 'b', 'limit_type', 'limit_value'], refusedRows);
      await this.create(splitRel, `select n.key, m.node as cluster from ${this.qr(clusters)} x join ${v} n on n.i = x.i join ${v} m on m.i = x.cluster`);
      const value = (node: string) => `substr(${node}, ${d.strpos(node, "':'")} + 1)`;
      await wh.execute(
        `insert into ${this.qr(blocked)}
select ${this.lit(runId)}, x.component, e.a_type, ${value('e.a')}, e.b_type, ${value('e.b')}, r.limit_type, r.limit_value, e.first_seen
from ${this.qr(refused)} r join ${v} x on x.i = r.a join ${v} y on y.i = r.b join ${this.qr(edges)} e on e.ka = x.key and e.kb = y.key`,
      );
    } finally {
      await dropTables(wh, [violatingNodes, clusters, refused]);
    }
  }

  // ── 6. stable ids ────────────────────────────────────────────────────────────

  /**
   * Gives every cluster of `resolvedSql` (one row per node: node, graph columns, cluster,
   * new_profile_id) a profile id: the old id of its nodes that was first seen earliest; when several
   * clusters claim one old id (a profile split), the cluster with most of its identifiers keeps it.
   * Clusters without an old id get a new one derived from the cluster key (md5), so the same data
   * gives the same ids on every run and warehouse. Logs merges. Returns the merge count, what to read
   * the new graph rows from (a first run reads them straight from the nodes) and whether every
   * profile is new (`fresh`: nothing known before).
   */
  private async assignIds(
    resolvedSql: string,
    oldComponents: Relation | undefined,
    edges: Relation,
    runId: string,
    now: Date,
    stage: (n: string) => Relation,
  ): Promise<{ merges: number; from: string; fresh: boolean }> {
    const { d, warehouse: wh } = this;
    // the old graph rows of the components replaced (in a full run, all)
    const old = stage('old');
    await this.create(
      old,
      `select ${d.concat(['g.id_type', "':'", 'g.id_value'])} as node, g.profile_id, min(g.first_seen) over (partition by g.profile_id) as profile_first_seen
from ${this.q('graph')} g${oldComponents ? ` join ${this.qr(oldComponents)} c on c.component = g.component` : ''}`,
    );
    if ((await this.count(old)) === 0) {
      // nothing known yet (a first run, or only new people): every cluster is a new profile, and the
      // graph is written straight from the nodes (no copy in between)
      return {
        merges: 0,
        fresh: true,
        from: `(select new_profile_id as profile_id, id_type, id_value, source, first_seen, last_seen, component from (\n${resolvedSql}\n) r) assigned`,
      };
    }
    const clusters = stage('clusters');
    await this.create(clusters, resolvedSql);
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
      `select c.cluster, coalesce(k.profile_id, ${newProfileId(d, 'c.cluster')}) as profile_id
from (select distinct cluster from ${this.qr(clusters)}) c left join ${this.qr(claim)} k on k.cluster = c.cluster`,
    );
    const out = stage('assigned');
    await this.create(
      out,
      `select i.profile_id, c.id_type, c.id_value, c.source, c.first_seen, c.last_seen, c.component, c.node
from ${this.qr(clusters)} c join ${this.qr(ids)} i on i.cluster = c.cluster`,
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
    if (merges === 0) return { merges, from, fresh: false };
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
    return { merges, from, fresh: false };
  }

  // ── helpers ──────────────────────────────────────────────────────────────────

  /** What decides the graph: a change re-resolves everything (ids stay stable). */
  private configHash(): string {
    const { identifiers, ignore, priority } = this.plan.config;
    return createHash('sha256').update(JSON.stringify({ identifiers, ignore, priority, v: 2 })).digest('hex').slice(0, 16);
  }

  /**
   * Nodes (`type:value`, from `nodesSql`'s column node) as the graph keeps them: (id_type, id_value).
   * Joining the graph on these columns probes it as it is; joining on the concatenation would build
   * `type:value` for every graph row (a real-time pass joins a large graph to a handful of nodes).
   */
  private splitNodesSql(nodesSql: string): string {
    const at = this.d.strpos('n.node', "':'");
    return `select distinct substr(n.node, 1, ${at} - 1) as id_type, substr(n.node, ${at} + 1) as id_value from (\n${nodesSql}\n) n`;
  }

  /** The join condition of graph rows `g` with split nodes `alias` (see splitNodesSql). */
  private graphMatch(alias: string): string {
    return `${alias}.id_type = g.id_type and ${alias}.id_value = g.id_value`;
  }

  /** The graph and its links are millions of rows rewritten whole by full runs: written light (see TableWriteOptions). */
  private writeOptions(table: 'graph' | 'edges'): TableWriteOptions {
    return { columns: TABLE_COLUMNS[table], lightCompression: true };
  }

  private q(table: keyof typeof IDENTITY_TABLES): string {
    return this.d.relation(this.rel(table));
  }

  private qr(rel: Relation): string {
    return this.d.relation(rel);
  }

  /** relations this resolver created: only those can exist already (scratch names are new per run) */
  private readonly made = new Set<string>();

  private async create(rel: Relation, selectSql: string): Promise<void> {
    const name = this.qr(rel);
    if (this.made.has(name)) await this.warehouse.execute(this.d.drop(rel, 'table'));
    this.made.add(name);
    await this.warehouse.execute(`create table ${name} as\n${selectSql}`);
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
