import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectedComponents } from '../../src/identity/connected-components';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { PostgresWarehouse } from '../../src/warehouse/postgres/postgres.warehouse';
import { queryAll, type Relation, type Warehouse } from '../../src/warehouse/warehouse';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';

/**
 * Connected components in SQL, run on DuckDB (in-process, a temp file) and the local PostgreSQL
 * (a fresh schema, dropped afterwards): the same table-driven cases on both.
 */
interface Engine {
  name: 'duckdb' | 'postgres';
  available(): Promise<boolean>;
  open(): Promise<Warehouse>;
  cleanup(schema: string): Promise<void>;
}

function duckdbEngine(): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-cc-'));
  let instance: DuckDbWarehouse | undefined;
  return {
    name: 'duckdb',
    available: async () => true,
    open: async () => (instance ??= await DuckDbWarehouse.open({ path: join(dir, 'warehouse.duckdb') })),
    cleanup: async () => {
      await instance?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresEngine(): Engine {
  let instance: PostgresWarehouse | undefined;
  return {
    name: 'postgres',
    available: requirePostgres,
    open: async () => (instance ??= new PostgresWarehouse({ url: POSTGRES_URL })),
    cleanup: async (schema) => {
      await instance?.close();
      await dropSchema(schema);
    },
  };
}

/** Fixed-width ids, so every collation orders them as JavaScript does. */
const id = (n: number) => `n${String(n).padStart(7, '0')}`;

/** The expected answer: union-find in memory, component = smallest id. */
function unionFind(edges: [string | null, string | null][]): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root)!;
    while (parent.get(x) !== root) {
      const next = parent.get(x)!;
      parent.set(x, root);
      x = next;
    }
    return root;
  };
  const add = (x: string) => {
    if (!parent.has(x)) parent.set(x, x);
  };
  for (const [a, b] of edges) {
    if (a !== null) add(a);
    if (b !== null) add(b);
    if (a === null || b === null) continue;
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) {
      if (ra < rb) parent.set(rb, ra);
      else parent.set(ra, rb);
    }
  }
  return new Map([...parent.keys()].map((k) => [k, find(k)]));
}

/** mulberry32: a seeded generator, so the random graph is the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SMALL: { name: string; edges: [string | null, string | null][]; components: Record<string, string[]> }[] = [
  { name: 'single edge', edges: [['b', 'a']], components: { a: ['a', 'b'] } },
  { name: 'triangle', edges: [['c', 'b'], ['b', 'a'], ['a', 'c']], components: { a: ['a', 'b', 'c'] } },
  { name: 'two components', edges: [['d', 'c'], ['b', 'a'], ['e', 'd']], components: { a: ['a', 'b'], c: ['c', 'd', 'e'] } },
  { name: 'self-loop', edges: [['a', 'a'], ['c', 'b']], components: { a: ['a'], b: ['b', 'c'] } },
  { name: 'star', edges: [['m', 'z'], ['m', 'y'], ['m', 'x'], ['m', 'b']], components: { b: ['b', 'm', 'x', 'y', 'z'] } },
  { name: 'duplicate edges', edges: [['a', 'b'], ['b', 'a'], ['a', 'b'], ['c', 'd'], ['c', 'd']], components: { a: ['a', 'b'], c: ['c', 'd'] } },
  { name: 'isolated pair', edges: [['p', 'q'], ['a', 'b'], ['b', 'c']], components: { a: ['a', 'b', 'c'], p: ['p', 'q'] } },
  { name: 'null side', edges: [['a', null], [null, 'b'], ['c', 'd']], components: { a: ['a'], b: ['b'], c: ['c', 'd'] } },
  { name: 'no edges', edges: [], components: {} },
];

describe.each([{ engine: duckdbEngine() }, { engine: postgresEngine() }])('connected components on $engine.name', ({ engine }) => {
  const schema = uniqueSchema('cdp_cc');
  let ok = false;
  let wh: Warehouse;
  const rel = (name: string): Relation => ({ schema, name });
  const test = (name: string, fn: () => Promise<void>, timeout?: number) =>
    it(
      name,
      async () => {
        if (!ok) return;
        await fn();
      },
      timeout,
    );

  const loadEdges = async (name: string, edges: Iterable<[string | null, string | null]>) => {
    await wh.dropRelation(rel(name), 'table');
    await wh.execute(
      wh.dialect.createTableFromColumns(rel(name), [
        { name: 'a', type: 'string' },
        { name: 'b', type: 'string' },
      ]),
    );
    await wh.append(rel(name), ['a', 'b'], edges);
    return rel(name);
  };
  const readOutput = async (name: string) => {
    const rows = await queryAll(wh, `select node, component from ${wh.dialect.relation(rel(name))} order by node`);
    return rows.map((r) => [String(r.node), String(r.component)] as const);
  };
  const tables = async () =>
    (await queryAll(wh, `select table_name from information_schema.tables where table_schema = ? order by table_name`, [schema])).map((r) => String(r.table_name));

  beforeAll(async () => {
    ok = await engine.available();
    if (!ok) return;
    wh = await engine.open();
    await wh.ensureSchema(schema);
  });

  afterAll(async () => {
    if (ok) await engine.cleanup(schema);
  });

  describe.each(SMALL)('$name', ({ name, edges, components }) => {
    test('finds the components, each named by its smallest node', async () => {
      const table = name.replace(/\W+/g, '_');
      const input = await loadEdges(`e_${table}`, edges);
      const result = await connectedComponents(wh, { edges: input, output: rel(`cc_${table}`) });
      const expected = Object.entries(components)
        .flatMap(([component, nodes]) => nodes.map((n) => [n, component] as const))
        .sort(([x], [y]) => (x < y ? -1 : 1));
      expect(await readOutput(`cc_${table}`)).toEqual(expected);
      expect(result.nodes).toBe(expected.length);
      expect(result.components).toBe(Object.keys(components).length);
      // staging tables are gone: only the input and the output remain
      expect((await tables()).filter((t) => t.includes(table))).toEqual([`cc_${table}`, `e_${table}`]);
    });
  });

  test('a 100,000-long chain with decreasing ids finishes in a few rounds, as one component', async () => {
    const n = 100_000;
    const input = await loadEdges(
      'chain_desc',
      (function* () {
        for (let i = 0; i < n - 1; i++) yield [id(n - i), id(n - i - 1)] as [string, string];
      })(),
    );
    const result = await connectedComponents(wh, { edges: input, output: rel('cc_chain_desc') });
    expect(result).toMatchObject({ nodes: n, components: 1 });
    expect(result.rounds + result.shortcutSteps).toBeLessThanOrEqual(40);
    const comps = await queryAll(wh, `select component, count(*) as n from ${wh.dialect.relation(rel('cc_chain_desc'))} group by component`);
    expect(comps.map((r) => [String(r.component), Number(r.n)])).toEqual([[id(1), n]]);
  }, 60_000);

  test('a 100,000-long chain with shuffled ids finishes in at most log2(n) + 1 rounds', async () => {
    const n = 100_000;
    const rnd = random(7);
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const input = await loadEdges(
      'chain_shuffled',
      (function* () {
        for (let i = 0; i < n - 1; i++) yield [id(ids[i]), id(ids[i + 1])] as [string, string];
      })(),
    );
    const result = await connectedComponents(wh, { edges: input, output: rel('cc_chain_shuffled') });
    expect(result).toMatchObject({ nodes: n, components: 1 });
    expect(result.rounds).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
    expect(result.rounds + result.shortcutSteps).toBeLessThanOrEqual(80);
    const comps = await queryAll(wh, `select distinct component from ${wh.dialect.relation(rel('cc_chain_shuffled'))}`);
    expect(comps.map((r) => String(r.component))).toEqual([id(1)]);
  }, 60_000);

  test('a random graph matches an in-memory union-find, and two runs give the same table', async () => {
    const rnd = random(42);
    const nodes = 5_000;
    const edges: [string, string][] = [];
    for (let i = 0; i < 4_000; i++) edges.push([id(1 + Math.floor(rnd() * nodes)), id(1 + Math.floor(rnd() * nodes))]);
    // a few long paths through the random forest
    for (let i = 0; i < 300; i++) edges.push([id(nodes + i + 1), id(nodes + i + 2)]);
    const input = await loadEdges('random', edges);
    const expected = unionFind(edges);

    const first = await connectedComponents(wh, { edges: input, output: rel('cc_random') });
    const firstRows = await readOutput('cc_random');
    expect(firstRows).toEqual([...expected.entries()].sort(([x], [y]) => (x < y ? -1 : 1)));
    expect(first.nodes).toBe(expected.size);
    expect(first.components).toBe(new Set(expected.values()).size);

    const second = await connectedComponents(wh, { edges: input, output: rel('cc_random') });
    expect(second).toEqual(first);
    expect(await readOutput('cc_random')).toEqual(firstRows);
  }, 60_000);

  test('gives up after maxRounds, and leaves no staging tables behind', async () => {
    const input = await loadEdges('chain_short', [
      // the path 1-3-2-5-4 needs more than one round: 1, 2 and 4 are local minima
      [id(1), id(3)],
      [id(3), id(2)],
      [id(2), id(5)],
      [id(5), id(4)],
    ]);
    await expect(connectedComponents(wh, { edges: input, output: rel('cc_chain_short'), maxRounds: 1 })).rejects.toThrow(/maxRounds/);
    expect((await tables()).filter((t) => t.includes('chain_short'))).toEqual(['chain_short']);
    await expect(connectedComponents(wh, { edges: rel('no_such_edges'), output: rel('cc_missing') })).rejects.toThrow(/no_such_edges/);
    expect((await tables()).filter((t) => t.includes('cc_missing'))).toEqual([]);
  });
});
