import { randomBytes } from 'node:crypto';
import { dropTables, queryValue, type Relation, type Warehouse } from '../warehouse/warehouse';

/**
 * Connected components of an identity graph, computed in the warehouse with set-based SQL only
 * (create table as select, joins, group by, min, least/greatest, row_number): no recursive CTEs and
 * no engine-specific functions, so the same statements run on DuckDB, PostgreSQL, BigQuery and Snowflake.
 *
 * The core, `componentsByKey`, works on 64-bit integer node keys. Its input is one row per node,
 * `(key, hook, hook_max)`, and the links as key pairs `(ka, kb)`. Links come in "records" (a record
 * of a source, or a single link), and `hook` / `hook_max` are the smallest / largest of the minimum
 * keys of the records a node is in: a node points at the smallest node it shares a record with
 * (itself, if it is that node). Algorithm: "hook to the minimum, then shortcut" on a contracting graph.
 *  1. Round 1 hooks every node to `hook`. Pointers never increase, so they form a forest whose roots
 *     point at themselves and each root is the minimum of its tree.
 *  2. Shortcut (pointer jumping): `p := p ∘ p` until no pointer moves; each step halves the distance
 *     to the root, so it takes at most ceil(log2 L) + 1 steps for a longest hook chain of L vertices.
 *     Most graphs need one step, that moves nothing: then the hooks are the roots as they are.
 *  3. Contract: replace both ends of every link by their roots, drop self-loops and duplicates. Only
 *     links with an end whose records have different minimums (hook <> hook_max, a "bridge") can
 *     survive: both ends of any other link point at the minimum of the record they share. In round 1
 *     only the links of bridges are read; later rounds read the (contracted) links of the previous one.
 *  4. Rounds 2, 3, ...: every vertex with a smaller neighbour points at its smallest neighbour
 *     (`select b, min(a) from u group by b`), shortcut, contract; until no link remains.
 *  5. Resolve: the pointers of rounds 2+ form a forest of depth at most the number of rounds; pointer
 *     jumping over it (at most ceil(log2 rounds) + 1 steps) gives each round-1 root its final root,
 *     the minimum key of its component. `root()` gives the SQL that reads a node's final root.
 *
 * Round bound. Every round removes every vertex that has a smaller neighbour, so only local minima
 * survive, and those are pairwise non-adjacent. On a chain (path) the contracted graph stays a path
 * (merged groups are contiguous), and at most ceil(m/2) of m path vertices are pairwise non-adjacent:
 * the vertex count at least halves per round, so a chain of n nodes needs at most ceil(log2 n) + 1
 * rounds, whatever the order of its ids (a 100,000-long chain: at most 18 rounds), each with at most
 * ceil(log2 n) + 1 shortcut steps. Decreasing ids along a chain — the worst case for plain min-label
 * propagation (one hop per round, n rounds) — finish in a single round of ~log2 n shortcut steps.
 * For general graphs every round with a link strictly shrinks the graph (the larger end of any link
 * hooks), so the loop always terminates; `maxRounds` guards against runaway cost.
 *
 * `connectedComponents` is the same over string node ids: nodes get dense integer keys by
 * `row_number() over (order by node)`, so integer order is the warehouse's string order and every
 * component is named by its smallest node id.
 */
export interface KeyedGraph {
  /** one row per node: `key` (bigint, unique), `hook` <= key and `hook_max` (see above); other columns are ignored */
  nodes: Relation;
  /** the links: bigint columns `ka`, `kb` (duplicates and self-links allowed); other columns are ignored */
  edges: Relation;
  /** creates the name of an intermediate table, one no table has yet (a run token in it); the caller drops them (after reading `root()`) */
  stage: (name: string) => Relation;
  /** hook rounds allowed before giving up (default 64; a chain of 2^62 nodes needs 63) */
  maxRounds?: number;
}

export interface KeyedComponents {
  /** hook-and-shortcut rounds run (0 without nodes) */
  rounds: number;
  /** pointer-jumping steps, over all rounds and the final resolution */
  shortcutSteps: number;
  /**
   * A node's final root (the smallest key of its component) for a row `alias` of `nodes`: joins to
   * append after `from <nodes> <alias>`, and the root's expression.
   */
  root(alias: string): { joins: string; key: string };
}

export interface ConnectedComponentsOptions {
  /** a table with string columns `a` and `b` */
  edges: Relation;
  /** replaced with columns `node`, `component` */
  output: Relation;
  /** hook rounds allowed before giving up (default 64) */
  maxRounds?: number;
}

export interface ConnectedComponentsResult {
  /** hook-and-shortcut rounds run */
  rounds: number;
  /** pointer-jumping steps, over all rounds and the final resolution */
  shortcutSteps: number;
  nodes: number;
  components: number;
}

export class ConnectedComponentsError extends Error {}

export async function componentsByKey(warehouse: Warehouse, graph: KeyedGraph): Promise<KeyedComponents> {
  const d = warehouse.dialect;
  const maxRounds = graph.maxRounds ?? 64;
  const q = (rel: Relation) => d.relation(rel);
  const count = async (sql: string) => Number((await queryValue(warehouse, sql)) ?? 0);
  // stage() names are new: only a name this run created (and may not have dropped) needs a drop first
  const made = new Set<string>();
  const create = async (rel: Relation, selectSql: string) => {
    if (made.has(q(rel))) await warehouse.execute(d.drop(rel, 'table'));
    made.add(q(rel));
    await warehouse.execute(`create table ${q(rel)} as\n${selectSql}`);
  };
  const drop = (rel: Relation) => warehouse.execute(d.drop(rel, 'table'));
  const nodes = q(graph.nodes);
  let shortcutSteps = 0;

  /** Pointer jumping on a (v, p) table until no pointer moves; returns the relation holding the result. */
  const shortcut = async (start: Relation, scratch: [Relation, Relation]): Promise<Relation> => {
    let current = start;
    for (let i = 0; ; i++) {
      const next = scratch[i % 2];
      await create(
        next,
        `select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from ${q(current)} x left join ${q(current)} y on y.v = x.p`,
      );
      shortcutSteps++;
      if (current !== start) await drop(current);
      current = next;
      if ((await count(`select count(*) from ${q(current)} where moved = 1`)) === 0) return current;
    }
  };

  if ((await count(`select count(*) from ${nodes}`)) === 0) return { rounds: 0, shortcutSteps, root: (n) => ({ joins: '', key: `${n}.hook` }) };

  // 1-2. round 1: the hooks, and one pointer-jumping step to see whether any hook points at a hooked node
  const step = graph.stage('first');
  await create(
    step,
    `select x.key as v, y.hook as p, case when y.hook < y.key then 1 else 0 end as moved
from ${nodes} x join ${nodes} y on y.key = x.hook
where x.hook < x.key`,
  );
  shortcutSteps++;
  let first: Relation | undefined;
  if ((await count(`select count(*) from ${q(step)} where moved = 1`)) > 0) first = await shortcut(step, [graph.stage('f0'), graph.stage('f1')]);
  if (first !== step) await drop(step);
  /** a node's root after round 1 */
  const firstRoot = (alias: string, f: string) => (first ? `coalesce(${f}.p, ${alias}.hook)` : `${alias}.hook`);
  const firstJoin = (alias: string, f: string) => (first ? ` left join ${q(first)} ${f} on ${f}.v = ${alias}.key` : '');

  // 3. contract: the links of bridges, both ends replaced by their roots
  const bridges = graph.stage('bridges');
  await create(bridges, `select key from ${nodes} where hook <> hook_max`);
  const edges = [graph.stage('u0'), graph.stage('u1')] as const;
  await create(
    edges[0],
    `select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select ${firstRoot('x', 'fx')} as a, ${firstRoot('y', 'fy')} as b
  from (select ka, kb from ${q(graph.edges)} where ka in (select key from ${q(bridges)}) or kb in (select key from ${q(bridges)})) e
  join ${nodes} x on x.key = e.ka join ${nodes} y on y.key = e.kb${firstJoin('x', 'fx')}${firstJoin('y', 'fy')}
) s
where s.a <> s.b`,
  );
  await drop(bridges);

  // 4. rounds 2, 3, ... on the contracted links; their pointers are kept in `history`
  const jumps = [graph.stage('j0'), graph.stage('j1')] as [Relation, Relation];
  const hooks = graph.stage('hooks');
  const history = graph.stage('history');
  await create(history, `select a as v, b as p from ${q(edges[0])} where 1 = 0`);
  let rounds = 1;
  let u = edges[0];
  while ((await count(`select count(*) from ${q(u)}`)) > 0) {
    if (rounds >= maxRounds) throw new ConnectedComponentsError(`connected components: links remain after ${maxRounds} rounds (maxRounds)`);
    rounds++;
    await create(hooks, `select b as v, min(a) as p from ${q(u)} group by b`);
    const roots = await shortcut(hooks, jumps);
    await warehouse.execute(`insert into ${q(history)} (v, p) select v, p from ${q(roots)}`);
    const next = edges[(rounds - 1) % 2];
    await create(
      next,
      `select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(x.p, g.a) as a, coalesce(y.p, g.b) as b
  from ${q(u)} g left join ${q(roots)} x on x.v = g.a left join ${q(roots)} y on y.v = g.b
) s
where s.a <> s.b`,
    );
    await drop(u);
    await drop(roots);
    u = next;
  }
  await drop(u);
  await drop(hooks);

  // 5. resolve the pointers of rounds 2+
  const later = rounds > 1 ? await shortcut(history, jumps) : undefined;
  if (later !== history) await drop(history);
  return {
    rounds,
    shortcutSteps,
    root: (alias) => {
      const f = `${alias}_f`;
      const l = `${alias}_l`;
      const r1 = firstRoot(alias, f);
      return {
        joins: `${firstJoin(alias, f)}${later ? ` left join ${q(later)} ${l} on ${l}.v = ${r1}` : ''}`,
        key: later ? `coalesce(${l}.p, ${r1})` : r1,
      };
    },
  };
}

/**
 * Components of a graph with string node ids: `output(node, component)`, one row per node, where
 * `component` is the smallest node id of its component under the warehouse's own string ordering
 * (the same ordering `min()` uses there), so the result is deterministic. A link with a null side
 * contributes only its other node; a self-loop `a = b` makes `a` a node of its own.
 *
 * All intermediate tables are staging relations next to `output` (with a random token, so concurrent
 * runs do not collide); they are dropped at the end, also on error. The output table is replaced
 * atomically through `Warehouse.replaceTable`.
 */
export async function connectedComponents(warehouse: Warehouse, options: ConnectedComponentsOptions): Promise<ConnectedComponentsResult> {
  const d = warehouse.dialect;
  const token = randomBytes(4).toString('hex');
  const staged: Relation[] = [];
  const stage = (name: string): Relation => {
    const rel = d.stagingRelation(options.output, `cc${token}_${name}`);
    staged.push(rel);
    return rel;
  };
  const q = (rel: Relation) => d.relation(rel);
  const create = async (rel: Relation, selectSql: string) => {
    await warehouse.execute(d.drop(rel, 'table'));
    await warehouse.execute(`create table ${q(rel)} as\n${selectSql}`);
  };
  const [a, b, node] = ['a', 'b', 'node'].map((c) => d.quoteIdentifier(c));

  try {
    const e = q(options.edges);
    // dense keys in string order, the links as key pairs, and each node's hook over its links
    const ids = stage('ids');
    await create(
      ids,
      `select ${node} as node, row_number() over (order by ${node}) as key
from (select ${a} as ${node} from ${e} where ${a} is not null ${d.unionDistinct} select ${b} from ${e} where ${b} is not null) n`,
    );
    const links = stage('links');
    await create(links, `select x.key as ka, y.key as kb from ${e} g join ${q(ids)} x on x.node = g.${a} join ${q(ids)} y on y.node = g.${b}`);
    const nodes = stage('nodes');
    await create(
      nodes,
      `select n.key, coalesce(min(l.m), n.key) as hook, coalesce(max(l.m), n.key) as hook_max
from ${q(ids)} n left join (
  select ka as k, least(ka, kb) as m from ${q(links)}
  union all
  select kb, least(ka, kb) from ${q(links)} where kb <> ka
) l on l.k = n.key
group by n.key`,
    );
    const cc = await componentsByKey(warehouse, { nodes, edges: links, stage, maxRounds: options.maxRounds });
    const root = cc.root('n');
    const resolved = stage('resolved');
    await create(resolved, `select n.key, ${root.key} as root from ${q(nodes)} n${root.joins}`);
    await warehouse.replaceTable(
      options.output,
      `select i.node as node, c.node as component
from ${q(resolved)} r join ${q(ids)} i on i.key = r.key join ${q(ids)} c on c.key = r.root`,
    );
    const count = async (where: string) => Number((await queryValue(warehouse, `select count(*) from ${q(resolved)} where ${where}`)) ?? 0);
    return { rounds: cc.rounds, shortcutSteps: cc.shortcutSteps, nodes: await count('1 = 1'), components: await count('root = key') };
  } finally {
    await dropTables(warehouse, staged);
  }
}
