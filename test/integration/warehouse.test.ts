import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { PostgresWarehouse } from '../../src/warehouse/postgres/postgres.warehouse';
import { WarehouseError } from '../../src/warehouse/warehouse-error';
import { queryAll, queryValue, type Relation, type Warehouse } from '../../src/warehouse/warehouse';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';

/**
 * The Warehouse contract, run against real engines: DuckDB in-process (a file in a temp folder)
 * and the local PostgreSQL (a fresh schema per run, dropped afterwards). Every case runs on both.
 */
interface Engine {
  name: 'duckdb' | 'postgres';
  /** false skips the suite (PostgreSQL unreachable off CI) */
  available(): Promise<boolean>;
  /** a warehouse; `poolMax` limits Postgres connections (to catch a connection that is never released) */
  open(poolMax?: number): Promise<Warehouse>;
  /** a query that would produce `n` rows, one column `n`, without materializing them up front */
  series(n: number): string;
  cleanup(schemas: string[]): Promise<void>;
}

function duckdbEngine(): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-wh-'));
  let instance: DuckDbWarehouse | undefined;
  return {
    name: 'duckdb',
    available: async () => true,
    // one instance per process and file, as DuckDB wants; "pool" does not apply
    open: async () => (instance ??= await DuckDbWarehouse.open({ path: join(dir, 'warehouse.duckdb') })),
    series: (n) => `select range + 1 as n from range(${n})`,
    cleanup: async () => {
      await instance?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresEngine(): Engine {
  const opened: Warehouse[] = [];
  return {
    name: 'postgres',
    available: requirePostgres,
    open: async (poolMax) => {
      const wh = new PostgresWarehouse({ url: POSTGRES_URL, pool: poolMax ? { min: 0, max: poolMax } : undefined });
      opened.push(wh);
      return wh;
    },
    // a set-returning function in the select list streams (a FROM generate_series would materialize first)
    series: (n) => `select generate_series(1, ${n}) as n`,
    cleanup: async (schemas) => {
      await Promise.all(opened.map((w) => w.close()));
      for (const s of schemas) await dropSchema(s);
    },
  };
}

/** Fails instead of hanging when a promise does not settle (e.g. waiting for a leaked pool connection). */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

describe.each([{ engine: duckdbEngine() }, { engine: postgresEngine() }])('warehouse on $engine.name', ({ engine }) => {
  const schema = uniqueSchema('cdp_wh');
  const otherSchema = uniqueSchema('cdp_wh_other');
  let ok = false;
  let wh: Warehouse;
  const rel = (name: string, s = schema): Relation => ({ schema: s, name });
  const q = (name: string) => wh.dialect.relation(rel(name));
  const t = (logical: 'string' | 'integer' | 'float' | 'boolean') => wh.dialect.type(logical);
  const count = async (name: string) => Number(await queryValue(wh, `select count(*) as n from ${q(name)}`));

  /** it(), but a no-op when the engine is unavailable (requirePostgres has printed why). */
  const test = (name: string, fn: () => Promise<void>) =>
    it(name, async () => {
      if (!ok) return;
      await fn();
    });

  beforeAll(async () => {
    ok = await engine.available();
    if (!ok) return;
    wh = await engine.open();
    await wh.ensureSchema(schema);
  });

  afterAll(async () => {
    if (ok) await engine.cleanup([schema, otherSchema]);
  });

  test('a ? in SQL without params reaches the engine as written (string literals, comments)', async () => {
    expect(await queryAll(wh, `select 'what?' as q -- really?\n`)).toEqual([{ q: 'what?' }]);
    expect(await queryAll(wh, `select 'what?' as q, ? as v`, ['it?'])).toEqual([{ q: 'what?', v: 'it?' }]);
  });

  test('execute and query bind ? params, quotes included', async () => {
    await wh.execute(`create table ${q('people')} (id ${t('integer')}, name ${t('string')}, score ${t('float')})`);
    const inserted = await wh.execute(`insert into ${q('people')} values (?, ?, ?), (?, ?, ?)`, [1, "O'Brien", 1.5, 2, 'Robert"); drop table people; --', null]);
    expect(inserted).toBe(2);

    const rows = await queryAll(wh, `select id, name, score from ${q('people')} where name = ? order by id`, ["O'Brien"]);
    expect(rows).toEqual([{ id: 1, name: "O'Brien", score: 1.5 }]);
    // the injection attempt is just a value
    expect(await queryValue(wh, `select name from ${q('people')} where id = ?`, [2])).toBe('Robert"); drop table people; --');
    expect(await queryValue(wh, `select score from ${q('people')} where id = ?`, [2])).toBeNull();
    expect(await count('people')).toBe(2);

    const updated = await wh.execute(`update ${q('people')} set score = ? where name = ?`, [9, "O'Brien"]);
    expect(updated).toBe(1);
    expect(await queryValue(wh, `select score from ${q('people')} where id = 1`)).toBe(9);
  });

  test('a SQL error is a WarehouseError, from execute and from query', async () => {
    await expect(wh.execute(`select * from ${q('no_such_table')}`)).rejects.toThrow(WarehouseError);
    await expect(queryAll(wh, `select * from ${q('no_such_table')}`)).rejects.toThrow(WarehouseError);
    await expect(queryAll(wh, `select * from ${q('no_such_table')}`)).rejects.toThrow(/no_such_table/);
    // and the warehouse still works afterwards
    expect(await queryValue(wh, 'select 1 as one')).toBe(1);
  });

  test('query streams 200k rows without collecting them', async () => {
    let n = 0;
    let sum = 0;
    for await (const row of wh.query(engine.series(200_000))) {
      n++;
      sum += Number(row.n);
    }
    expect(n).toBe(200_000);
    expect(sum).toBe((200_000 * 200_001) / 2);
  });

  test('breaking out of a query releases its connection, and does not read the rest', async () => {
    // one connection at most: a leaked connection would make the next query wait forever
    const single = await engine.open(1);
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) {
      const seen: number[] = [];
      // 200 million rows: reading them all would take far longer than the limit below
      for await (const row of single.query(engine.series(200_000_000))) {
        seen.push(Number(row.n));
        if (seen.length === 5) break;
      }
      expect(seen).toEqual([1, 2, 3, 4, 5]);
    }
    expect(await within(10_000, 'a query after breaking early', queryValue(single, 'select 42 as answer'))).toBe(42);
    expect(performance.now() - t0).toBeLessThan(10_000);

    // an error thrown inside the loop body releases the connection too
    await expect(
      (async () => {
        for await (const _ of single.query(engine.series(1_000_000))) throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    expect(await within(10_000, 'a query after the consumer threw', queryValue(single, 'select 7 as seven'))).toBe(7);
  });

  test('append loads rows in table order and returns the count', async () => {
    await wh.execute(`create table ${q('appended')} (id ${t('integer')}, name ${t('string')}, active ${t('boolean')})`);
    const rows: unknown[][] = [
      [1, "O'Brien", true],
      [2, 'comma, "quoted"\nnewline', false],
      [3, null, null],
    ];
    expect(await wh.append(rel('appended'), ['id', 'name', 'active'], rows)).toBe(3);

    async function* more() {
      for (let i = 4; i <= 5000; i++) yield [i, `name ${i}`, i % 2 === 0];
    }
    expect(await wh.append(rel('appended'), ['id', 'name', 'active'], more())).toBe(4997);

    expect(await count('appended')).toBe(5000);
    expect(await queryAll(wh, `select id, name, active from ${q('appended')} where id <= 3 order by id`)).toEqual([
      { id: 1, name: "O'Brien", active: true },
      { id: 2, name: 'comma, "quoted"\nnewline', active: false },
      { id: 3, name: null, active: null },
    ]);
    // 1, and the even ids 4..5000; a bound boolean compares as one
    expect(await queryValue(wh, `select count(*) as n from ${q('appended')} where active = ?`, [true])).toBe(2500);
    expect(await queryValue(wh, `select count(*) as n from ${q('appended')} where active = ?`, [false])).toBe(2499);
  });

  test('a failing append leaves the table unchanged', async () => {
    await wh.execute(`create table ${q('strict')} (id ${t('integer')}, name ${t('string')})`);
    await wh.append(rel('strict'), ['id', 'name'], [[1, 'kept']]);

    // a row with too few values, after many good rows
    async function* shortRow() {
      for (let i = 2; i < 2000; i++) yield [i, `ok ${i}`];
      yield [2000];
    }
    await expect(wh.append(rel('strict'), ['id', 'name'], shortRow())).rejects.toThrow(WarehouseError);
    expect(await count('strict')).toBe(1);

    // a value of the wrong type
    await expect(wh.append(rel('strict'), ['id', 'name'], [[2, 'fine'], ['not a number', 'bad']])).rejects.toThrow(WarehouseError);
    expect(await count('strict')).toBe(1);

    // the row source itself failing half-way
    async function* broken() {
      yield [3, 'three'];
      throw new Error('source went away');
    }
    await expect(wh.append(rel('strict'), ['id', 'name'], broken())).rejects.toThrow(/source went away/);
    expect(await queryAll(wh, `select id, name from ${q('strict')}`)).toEqual([{ id: 1, name: 'kept' }]);

    // a table that does not exist
    await expect(wh.append(rel('nope'), ['id'], [[1]])).rejects.toThrow(WarehouseError);

    // and the warehouse still takes a good append
    expect(await wh.append(rel('strict'), ['id', 'name'], [[4, 'four']])).toBe(1);
    expect(await count('strict')).toBe(2);
  });

  test('replaceTable with light compression: the declared columns, from a select that may read the table it replaces', async () => {
    const options = {
      columns: [
        { name: 'id', type: 'string' as const },
        { name: 'n', type: 'bigint' as const },
      ],
      lightCompression: true,
    };
    await wh.replaceTable(rel('light'), `select 'a' as id, 1 as n union all select 'b', 2`, options);
    await wh.replaceTable(rel('light'), `select id, n from ${q('light')} union all select 'c', 3`, options);
    expect((await queryAll(wh, `select id, n from ${q('light')} order by id`)).map((r) => [r.id, Number(r.n)])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    const info = await wh.describe(rel('light'));
    expect(info?.columns.map((c) => c.name)).toEqual(['id', 'n']);
    if (engine.name === 'duckdb') {
      // strings stored as they are (the hint); other engines ignore it
      const [row] = await queryAll(wh, `select string_agg(distinct compression, ',') as c from pragma_storage_info('${q('light').replace(/'/g, "''")}') where segment_type = 'VARCHAR'`);
      expect(String(row.c)).toBe('Uncompressed');
    }
    // a failing select leaves the table as it was
    await expect(wh.replaceTable(rel('light'), `select * from ${q('no_such_table')}`, options)).rejects.toThrow(WarehouseError);
    expect(await count('light')).toBe(3);
  });

  test("describeSelect names a select's column types as describe() names a table made from it", async () => {
    const select = `select 'a' as s, cast(1 as bigint) as n, cast(2.5 as decimal(18,4)) as d, 1.5 as f, true as b, cast('2026-01-01' as date) as dt,
  cast('2026-01-01 10:00:00' as timestamp) as ts, ${wh.dialect.rowHash(["'a'", '1'])} as h`;
    const describeSql = wh.dialect.describeSelect(select);
    if (!describeSql) {
      expect(engine.name).not.toBe('duckdb'); // only DuckDB has one; the others probe with an empty table
      return;
    }
    const described = (await queryAll(wh, describeSql)).map((r) => [r.column_name, r.column_type]);
    await wh.replaceTable(rel('typed'), select);
    expect(described).toEqual((await wh.describe(rel('typed')))!.columns.map((c) => [c.name, c.type]));
  });

  test('replaceTable creates, then replaces with new columns and rows', async () => {
    await wh.replaceTable(rel('replaced'), 'select 1 as a, 2 as b');
    expect(await queryAll(wh, `select a, b from ${q('replaced')}`)).toEqual([{ a: 1, b: 2 }]);

    await wh.replaceTable(rel('replaced'), `select 'x' as c union all select 'y' as c`);
    const info = await wh.describe(rel('replaced'));
    expect(info?.kind).toBe('table');
    expect(info?.columns.map((c) => c.name)).toEqual(['c']);
    expect((await queryAll(wh, `select c from ${q('replaced')} order by c`)).map((r) => r.c)).toEqual(['x', 'y']);

    // a failing select leaves the previous table in place
    await expect(wh.replaceTable(rel('replaced'), `select * from ${q('no_such_table')}`)).rejects.toThrow(WarehouseError);
    expect(await count('replaced')).toBe(2);
  });

  test('createView creates and replaces a view, even when its columns change', async () => {
    await wh.replaceTable(rel('view_base'), 'select 1 as id, 10 as amount union all select 2, 20');
    await wh.createView(rel('big'), `select id, amount from ${q('view_base')} where amount > 15`);
    expect((await wh.describe(rel('big')))?.kind).toBe('view');
    expect(await queryAll(wh, `select id, amount from ${q('big')}`)).toEqual([{ id: 2, amount: 20 }]);

    await wh.createView(rel('big'), `select amount * 2 as doubled from ${q('view_base')} order by amount`);
    const info = await wh.describe(rel('big'));
    expect(info).toMatchObject({ kind: 'view' });
    expect(info?.columns.map((c) => c.name)).toEqual(['doubled']);
    expect((await queryAll(wh, `select doubled from ${q('big')}`)).map((r) => r.doubled)).toEqual([20, 40]);

    // a view reads through: new base rows show up
    await wh.execute(`insert into ${q('view_base')} values (3, 30)`);
    expect(await count('big')).toBe(3);
  });

  test('merge updates existing keys, inserts new ones and returns the merged count', async () => {
    await wh.replaceTable(rel('merged'), `select 1 as id, 'one' as label union all select 2, 'two' union all select 3, 'three'`);
    const n = await wh.merge(rel('merged'), `select 2 as id, 'TWO' as label union all select 4, 'four' union all select 5, 'five'`, ['id']);
    expect(n).toBe(3);
    expect(await queryAll(wh, `select id, label from ${q('merged')} order by id`)).toEqual([
      { id: 1, label: 'one' },
      { id: 2, label: 'TWO' },
      { id: 3, label: 'three' },
      { id: 4, label: 'four' },
      { id: 5, label: 'five' },
    ]);
    // the staging table is gone
    expect(await wh.describe(wh.dialect.stagingRelation(rel('merged'), 'merge'))).toBeNull();

    // a composite key
    await wh.replaceTable(rel('merged2'), `select 1 as a, 'x' as b, 10 as v union all select 1, 'y', 20`);
    expect(await wh.merge(rel('merged2'), `select 1 as a, 'y' as b, 99 as v union all select 2, 'x', 5`, ['a', 'b'])).toBe(2);
    expect(await queryAll(wh, `select a, b, v from ${q('merged2')} order by a, b`)).toEqual([
      { a: 1, b: 'x', v: 10 },
      { a: 1, b: 'y', v: 99 },
      { a: 2, b: 'x', v: 5 },
    ]);

    // a failing merge changes nothing
    await expect(wh.merge(rel('merged'), `select 1 as id, 'changed' as label union all select * from ${q('no_such_table')}`, ['id'])).rejects.toThrow(WarehouseError);
    expect(await count('merged')).toBe(5);
    expect(await queryValue(wh, `select label from ${q('merged')} where id = 1`)).toBe('one');

    // merging into a missing table is an error
    await expect(wh.merge(rel('no_such_table'), 'select 1 as id', ['id'])).rejects.toThrow(/does not exist/);
  });

  test('describe gives columns and kind, or null when missing', async () => {
    await wh.execute(`create table ${q('described')} (id ${t('integer')} not null, name ${t('string')}, ok ${t('boolean')})`);
    const info = await wh.describe(rel('described'));
    expect(info?.kind).toBe('table');
    expect(info?.columns.map((c) => [c.name, c.nullable])).toEqual([
      ['id', false],
      ['name', true],
      ['ok', true],
    ]);
    expect(info?.columns[0].type.toLowerCase()).toMatch(/int/);
    expect(info?.columns[2].type.toLowerCase()).toMatch(/bool/);

    await wh.createView(rel('described_v'), `select name from ${q('described')}`);
    expect(await wh.describe(rel('described_v'))).toEqual({ kind: 'view', columns: [expect.objectContaining({ name: 'name' })] });

    expect(await wh.describe(rel('not_there'))).toBeNull();
    expect(await wh.describe(rel('described', 'no_such_schema_anywhere'))).toBeNull();
  });

  test('ensureSchema creates a schema once and is idempotent', async () => {
    expect(await wh.describe(rel('t', otherSchema))).toBeNull();
    await wh.ensureSchema(otherSchema);
    await wh.ensureSchema(otherSchema);
    await wh.replaceTable(rel('t', otherSchema), 'select 1 as x');
    expect(await queryValue(wh, `select x from ${wh.dialect.relation(rel('t', otherSchema))}`)).toBe(1);
    // same name, different schema: separate relations
    expect(await wh.describe(rel('t'))).toBeNull();
  });

  test('dropRelation drops tables and views, and tolerates missing ones', async () => {
    await wh.replaceTable(rel('doomed'), 'select 1 as x');
    await wh.createView(rel('doomed_v'), 'select 1 as x');
    await wh.dropRelation(rel('doomed_v'), 'view');
    expect(await wh.describe(rel('doomed_v'))).toBeNull();
    expect(await wh.describe(rel('doomed'))).not.toBeNull();
    await wh.dropRelation(rel('doomed'), 'table');
    expect(await wh.describe(rel('doomed'))).toBeNull();
    await expect(wh.dropRelation(rel('doomed'), 'table')).resolves.toBeUndefined();
    await expect(wh.dropRelation(rel('doomed_v'), 'view')).resolves.toBeUndefined();
  });

  test('transaction returns counts, and rolls back every statement on error', async () => {
    await wh.execute(`create table ${q('ledger')} (id ${t('integer')}, amount ${t('integer')})`);
    const counts = await wh.transaction([`insert into ${q('ledger')} values (1, 10), (2, 20)`, `update ${q('ledger')} set amount = amount + 1 where id = 2`]);
    expect(counts).toEqual([2, 1]);

    await expect(
      wh.transaction([
        `insert into ${q('ledger')} values (3, 30)`,
        `delete from ${q('ledger')} where id = 1`,
        `create table ${q('created_in_tx')} (x ${t('integer')})`,
        `insert into ${q('no_such_table')} values (1)`,
      ]),
    ).rejects.toThrow(WarehouseError);

    expect(await queryAll(wh, `select id, amount from ${q('ledger')} order by id`)).toEqual([
      { id: 1, amount: 10 },
      { id: 2, amount: 21 },
    ]);
    expect(await wh.describe(rel('created_in_tx'))).toBeNull();
    // the connection that rolled back is usable
    expect(await wh.transaction([`insert into ${q('ledger')} values (4, 40)`])).toEqual([1]);
    expect(await count('ledger')).toBe(3);
  });

  test('ping answers', async () => {
    await expect(wh.ping()).resolves.toBeUndefined();
  });
});

describe('DuckDB file lock', () => {
  it('a query stream stopped half-read does not keep the file locked after close (another process can open it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdp-lock-'));
    const path = join(dir, 'w.duckdb');
    try {
      const wh = await DuckDbWarehouse.open({ path });
      await wh.execute('create table t as select range as x from range(1000000)');
      for await (const row of wh.query('select * from t')) {
        expect(row).toHaveProperty('x');
        break;
      }
      expect(await queryValue(wh, 'select count(*) from t')).toBe(1_000_000);
      await wh.close();
      const opener = `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(path)}).then(() => process.stdout.write('opened'), (e) => process.stdout.write(e.message))`;
      expect(execFileSync(process.execPath, ['-e', opener], { encoding: 'utf8' })).toBe('opened');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
