import { randomBytes } from 'node:crypto';
import { queryValue, type Relation, type Warehouse } from '../warehouse/warehouse';

/**
 * Connected components of an identity graph, computed in the warehouse with set-based SQL only
 * (create table as select, joins, group by, min, least/greatest, row_number): no recursive CTEs and
 * no engine-specific functions, so the same statements run on DuckDB, PostgreSQL, BigQuery and Snowflake.
 *
 * Input: `edges(a, b)`, node ids as strings (a row with a null side contributes only its other node;
 * a self-loop `a = b` makes `a` a node of its own). Output: `output(node, component)`, one row per
 * node, where `component` is the smallest node id of its component under the warehouse's own string
 * ordering (the same ordering `min()` uses there), so the result is deterministic.
 *
 * Algorithm: "hook to the minimum, then shortcut" on a contracting graph.
 *  0. Nodes get dense integer ids by `row_number() over (order by node)`, so integer order is the
 *     warehouse's string order and the minimum integer of a component is its minimum node id.
 *     Edges become undirected integer pairs `u(a, b)` with a < b, deduplicated, self-loops dropped.
 *  1. Hook: every vertex with a smaller neighbour points at its smallest neighbour:
 *     `p(v, p) = select b, min(a) from u group by b`. Vertices with no smaller neighbour (local minima)
 *     are roots and have no row. Pointers strictly decrease, so they form a forest whose roots are
 *     local minima and each root is the minimum of its tree.
 *  2. Shortcut (pointer jumping): `p := p ∘ p` until no pointer moves; each step halves the distance
 *     to the root, so it takes at most ceil(log2 L) + 1 steps for a longest hook chain of L vertices.
 *     Afterwards every vertex points at its root.
 *  3. Contract: replace both ends of every edge by their roots, drop self-loops and duplicates;
 *     record the pointers of this round in a history table. Repeat from 1 until no edge remains.
 *  4. Resolve: every vertex was hooked in exactly one round (after that it is no longer a vertex),
 *     so the history is a forest whose depth is at most the number of rounds; pointer jumping over it
 *     (at most ceil(log2 rounds) + 1 steps) gives each node its root, the minimum of its component.
 *
 * Round bound. Every round removes every vertex that has a smaller neighbour, so only local minima
 * survive, and those are pairwise non-adjacent. On a chain (path) the contracted graph stays a path
 * (merged groups are contiguous), and at most ceil(m/2) of m path vertices are pairwise non-adjacent:
 * the vertex count at least halves per round, so a chain of n nodes needs at most ceil(log2 n) + 1
 * rounds, whatever the order of its ids (a 100,000-long chain: at most 18 rounds), each with at most
 * ceil(log2 n) + 1 shortcut steps. Decreasing ids along a chain — the worst case for plain min-label
 * propagation (one hop per round, n rounds) — finish in a single round of ~log2 n shortcut steps.
 * For general graphs every round with an edge strictly shrinks the graph (the larger end of any edge
 * hooks), so the loop always terminates; `maxRounds` guards against runaway cost.
 *
 * All intermediate tables are staging relations next to `output` (with a random token, so concurrent
 * runs do not collide); they are dropped at the end, also on error. The output table is replaced
 * atomically through `Warehouse.replaceTable`.
 */
export interface ConnectedComponentsOptions {
  /** a table with string columns `a` and `b` */
  edges: Relation;
  /** replaced with columns `node`, `component` (or, with `nodes`, every column of `nodes` and `component`) */
  output: Relation;
  /**
   * optional: a table with one row per node (column `node`, unique, covering every node of `edges`)
   * and any other columns, which the output then carries; saves collecting the nodes from the edges
   */
  nodes?: Relation;
  /** hook rounds allowed before giving up (default 64; a chain of 2^62 nodes needs 63) */
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

export async function connectedComponents(warehouse: Warehouse, options: ConnectedComponentsOptions): Promise<ConnectedComponentsResult> {
  const d = warehouse.dialect;
  const maxRounds = options.maxRounds ?? 64;
  const token = randomBytes(4).toString('hex');
  const staged: Relation[] = [];
  const stage = (name: string): Relation => {
    const rel = d.stagingRelation(options.output, `cc${token}_${name}`);
    staged.push(rel);
    return rel;
  };
  const q = (rel: Relation) => d.relation(rel);
  const c = (name: string) => d.quoteIdentifier(name);
  const count = async (sql: string) => Number((await queryValue(warehouse, sql)) ?? 0);
  const create = async (rel: Relation, selectSql: string) => {
    await warehouse.execute(d.drop(rel, 'table'));
    await warehouse.execute(`create table ${q(rel)} as\n${selectSql}`);
  };
  const drop = (rel: Relation) => warehouse.execute(d.drop(rel, 'table'));

  const [a, b, v, p, node, id, moved, component] = ['a', 'b', 'v', 'p', 'node', 'id', 'moved', 'component'].map(c);
  let shortcutSteps = 0;

  /** Pointer jumping on a (v, p) table until no pointer moves; returns the relation holding the result. */
  const shortcut = async (start: Relation, scratch: [Relation, Relation]): Promise<Relation> => {
    let current = start;
    for (let i = 0; ; i++) {
      const next = scratch[i % 2];
      await create(
        next,
        `select x.${v} as ${v}, coalesce(y.${p}, x.${p}) as ${p}, case when y.${v} is null then 0 else 1 end as ${moved}
from ${q(current)} x left join ${q(current)} y on y.${v} = x.${p}`,
      );
      shortcutSteps++;
      if (current !== start) await drop(current);
      current = next;
      if ((await count(`select count(*) from ${q(current)} where ${moved} = 1`)) === 0) return current;
    }
  };

  try {
    const nodes = stage('nodes');
    const edges = [stage('u0'), stage('u1')] as const;
    const hooks = stage('hooks');
    const jumps = [stage('j0'), stage('j1')] as [Relation, Relation];
    const history = stage('history');
    const e = q(options.edges);

    await create(
      nodes,
      options.nodes
        ? `select ${node}, row_number() over (order by ${node}) as ${id} from ${q(options.nodes)}`
        : `select ${node}, row_number() over (order by ${node}) as ${id}
from (select ${a} as ${node} from ${e} where ${a} is not null ${d.unionDistinct} select ${b} from ${e} where ${b} is not null) n`,
    );
    await create(
      edges[0],
      `select distinct least(x.${id}, y.${id}) as ${a}, greatest(x.${id}, y.${id}) as ${b}
from ${e} g join ${q(nodes)} x on x.${node} = g.${a} join ${q(nodes)} y on y.${node} = g.${b}
where x.${id} <> y.${id}`,
    );
    await create(history, `select ${id} as ${v}, ${id} as ${p} from ${q(nodes)} where 1 = 0`);

    let rounds = 0;
    let u = edges[0];
    while ((await count(`select count(*) from ${q(u)}`)) > 0) {
      if (rounds >= maxRounds) throw new ConnectedComponentsError(`connected components: edges remain after ${maxRounds} rounds (maxRounds)`);
      rounds++;
      await create(hooks, `select ${b} as ${v}, min(${a}) as ${p} from ${q(u)} group by ${b}`);
      const roots = await shortcut(hooks, jumps);
      await warehouse.execute(`insert into ${q(history)} (${v}, ${p}) select ${v}, ${p} from ${q(roots)}`);
      const next = edges[rounds % 2];
      await create(
        next,
        `select distinct least(s.${a}, s.${b}) as ${a}, greatest(s.${a}, s.${b}) as ${b}
from (
  select coalesce(x.${p}, g.${a}) as ${a}, coalesce(y.${p}, g.${b}) as ${b}
  from ${q(u)} g left join ${q(roots)} x on x.${v} = g.${a} left join ${q(roots)} y on y.${v} = g.${b}
) s
where s.${a} <> s.${b}`,
      );
      await drop(u);
      await drop(roots);
      u = next;
    }

    const resolved = rounds > 0 ? await shortcut(history, jumps) : history;
    const roots = `select n.${node} as ${node}, coalesce(r.${node}, n.${node}) as ${component}
from ${q(nodes)} n left join ${q(resolved)} h on h.${v} = n.${id} left join ${q(nodes)} r on r.${id} = h.${p}`;
    await warehouse.replaceTable(
      options.output,
      options.nodes ? `select x.*, c.${component} from ${q(options.nodes)} x join (${roots}) c on c.${node} = x.${node}` : roots,
    );
    const nodeCount = await count(`select count(*) from ${q(nodes)}`);
    const nonRoots = await count(`select count(*) from ${q(resolved)}`);
    return { rounds, shortcutSteps, nodes: nodeCount, components: nodeCount - nonRoots };
  } finally {
    for (const rel of staged) await drop(rel).catch(() => undefined);
  }
}
