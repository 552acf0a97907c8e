import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadFile, LoadError, type LoadFileOptions } from '../../src/loads/file-loader';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { PostgresWarehouse } from '../../src/warehouse/postgres/postgres.warehouse';
import { queryAll, queryValue, type Row, type Warehouse } from '../../src/warehouse/warehouse';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';

/**
 * File loads (CSV, NDJSON, JSON, Parquet) into real engines: DuckDB in-process (a file in a temp
 * folder) and the local PostgreSQL (fresh schemas, dropped afterwards). Every case runs on both.
 */
interface Engine {
  name: 'duckdb' | 'postgres';
  available(): Promise<boolean>;
  open(): Promise<Warehouse>;
  cleanup(schemas: string[]): Promise<void>;
}

function duckdbEngine(): Engine {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-load-wh-'));
  let wh: DuckDbWarehouse | undefined;
  return {
    name: 'duckdb',
    available: async () => true,
    open: async () => (wh ??= await DuckDbWarehouse.open({ path: join(dir, 'warehouse.duckdb') })),
    cleanup: async () => {
      await wh?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresEngine(): Engine {
  let wh: PostgresWarehouse | undefined;
  return {
    name: 'postgres',
    available: requirePostgres,
    open: async () => (wh ??= new PostgresWarehouse({ url: POSTGRES_URL })),
    cleanup: async (schemas) => {
      await wh?.close();
      for (const s of schemas) await dropSchema(s);
    },
  };
}

const CSV = [
  'id,Full Name,score,born,signed_up_at,active,note,zip',
  '1,"Smith, Ann",1.5,2020-01-02,2020-01-02 03:04:05,true,"she said ""hi""",01234',
  '2,,2,2021-03-04,2021-03-04T10:00:00+02:00,false,"two',
  'lines, one value",',
  '3,"",-0.25,,,,,99999',
  '',
].join('\n');

const NDJSON = [
  JSON.stringify({ id: 1, userId: 'u1', traits: { plan: 'pro', seats: 3 }, tags: ['a', 'b'], sentAt: '2024-01-02T03:04:05Z', ok: true }),
  JSON.stringify({ id: 2, userId: 'u2', traits: { plan: 'free' }, tags: [], sentAt: '2024-01-03T00:00:00Z', ok: false }),
  JSON.stringify({ id: 3, userId: null }),
  '',
].join('\n');

describe.each([{ engine: duckdbEngine() }, { engine: postgresEngine() }])('file loads on $engine.name', ({ engine }) => {
  const schema = uniqueSchema('cdp_load');
  const otherSchema = uniqueSchema('cdp_load_other');
  let ok = false;
  let wh: Warehouse;
  let dir: string;

  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const load = (path: string, options: Omit<LoadFileOptions, 'path' | 'schema'>) => loadFile(wh, { path, schema, ...options });
  const q = (table: string) => wh.dialect.relation({ schema, name: table });
  /** Every value as the warehouse's text, so both engines compare the same way. */
  const text = async (table: string, columns: string[], orderBy = 'id'): Promise<Row[]> =>
    queryAll(wh, `select ${columns.map((c) => `${wh.dialect.cast(wh.dialect.quoteIdentifier(c), 'string')} as ${c}`).join(', ')} from ${q(table)} order by ${orderBy}`);
  const count = async (table: string) => Number(await queryValue(wh, `select count(*) from ${q(table)}`));
  /** Staging tables a load may leave behind (none, ever). */
  const leftovers = async () =>
    (await queryAll(wh, 'select table_name from information_schema.tables where table_schema = ?', [schema])).map((r) => String(r.table_name)).filter((n) => n.includes('__'));
  const loadError = async (p: Promise<unknown>): Promise<LoadError> => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(LoadError);
      return e as LoadError;
    }
    throw new Error('the load succeeded; expected a LoadError');
  };

  beforeAll(async () => {
    ok = await engine.available();
    if (!ok) return;
    wh = await engine.open();
    dir = mkdtempSync(join(tmpdir(), 'cdp-load-files-'));
  });

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (ok) await engine.cleanup([schema, otherSchema]);
  });

  const it_ = (name: string, fn: () => Promise<void>) => it(name, async () => (ok ? fn() : undefined));

  describe('CSV', () => {
    it_('quoted fields (commas, quotes, newlines), empty cells as NULL, types inferred, snake_case names', async () => {
      const result = await load(file('people.csv', CSV), { table: 'people', mode: 'replace' });
      expect(result.rows).toBe(3);
      expect(result.table).toBe(`${schema}.people`);
      expect(result.columns).toEqual([
        { name: 'id', type: 'integer' },
        { name: 'full_name', type: 'string' },
        { name: 'score', type: 'float' },
        { name: 'born', type: 'date' },
        { name: 'signed_up_at', type: 'timestamp' },
        { name: 'active', type: 'boolean' },
        { name: 'note', type: 'string' },
        { name: 'zip', type: 'string' }, // a leading zero keeps a column text
      ]);
      const info = await wh.describe({ schema, name: 'people' });
      expect(info?.columns.map((c) => [c.name, c.type.toLowerCase()])).toEqual(
        engine.name === 'duckdb'
          ? [['id', 'integer'], ['full_name', 'varchar'], ['score', 'double'], ['born', 'date'], ['signed_up_at', 'timestamp'], ['active', 'boolean'], ['note', 'varchar'], ['zip', 'varchar']]
          : [['id', 'integer'], ['full_name', 'text'], ['score', 'double precision'], ['born', 'date'], ['signed_up_at', 'timestamp without time zone'], ['active', 'boolean'], ['note', 'text'], ['zip', 'text']],
      );
      const rows = await text('people', ['id', 'full_name', 'score', 'born', 'signed_up_at', 'active', 'note', 'zip']);
      expect(rows).toEqual([
        { id: '1', full_name: 'Smith, Ann', score: '1.5', born: '2020-01-02', signed_up_at: '2020-01-02 03:04:05', active: 'true', note: 'she said "hi"', zip: '01234' },
        // an offset is applied: 10:00+02:00 is 08:00 UTC
        { id: '2', full_name: null, score: '2.0', born: '2021-03-04', signed_up_at: '2021-03-04 08:00:00', active: 'false', note: 'two\nlines, one value', zip: null },
        { id: '3', full_name: null, score: '-0.25', born: null, signed_up_at: null, active: null, note: null, zip: '99999' },
      ].map((r) => (engine.name === 'postgres' ? { ...r, score: r.score === '2.0' ? '2' : r.score } : r)));
      expect(await leftovers()).toEqual([]);
    });

    it_('a TSV file, integers beyond 32 bits as bigint, a header-only file', async () => {
      const tsv = await load(file('big.tsv', 'n\tlabel\n1\ta,b\n9007199254740993\t"x"\n'), { table: 'big_numbers', mode: 'replace' });
      expect(tsv.columns).toEqual([
        { name: 'n', type: 'bigint' },
        { name: 'label', type: 'string' },
      ]);
      expect(await text('big_numbers', ['n', 'label'], 'label')).toEqual([
        { n: '1', label: 'a,b' },
        { n: '9007199254740993', label: 'x' },
      ]);
      const empty = await load(file('header-only.csv', 'a,b\n'), { table: 'header_only', mode: 'replace' });
      expect(empty).toMatchObject({ rows: 0, columns: [{ name: 'a', type: 'string' }, { name: 'b', type: 'string' }] });
      expect(await count('header_only')).toBe(0);
    });
  });

  describe('JSON', () => {
    it_('NDJSON: nested objects and arrays become json columns; keys snake_case; missing keys NULL', async () => {
      const result = await load(file('events.ndjson', NDJSON), { table: 'events', mode: 'replace' });
      expect(result.rows).toBe(3);
      expect(result.columns).toEqual([
        { name: 'id', type: 'bigint' },
        { name: 'user_id', type: 'string' },
        { name: 'traits', type: 'json' },
        { name: 'tags', type: 'json' },
        { name: 'sent_at', type: 'timestamp' },
        { name: 'ok', type: 'boolean' },
      ]);
      const d = wh.dialect;
      const rows = await queryAll(
        wh,
        `select id, user_id, ${d.jsonValue('traits', ['plan'])} as plan, ${d.jsonValue('traits', ['seats'])} as seats, ${d.cast('sent_at', 'string')} as sent_at, ok from ${q('events')} order by id`,
      );
      expect(rows).toEqual([
        { id: 1, user_id: 'u1', plan: 'pro', seats: '3', sent_at: '2024-01-02 03:04:05', ok: true },
        { id: 2, user_id: 'u2', plan: 'free', seats: null, sent_at: '2024-01-03 00:00:00', ok: false },
        { id: 3, user_id: null, plan: null, seats: null, sent_at: null, ok: null },
      ]);
      const tags = await queryValue(wh, `select ${d.cast('tags', 'string')} from ${q('events')} where id = 1`);
      expect(JSON.parse(String(tags))).toEqual(['a', 'b']);
    });

    it_('a JSON array file', async () => {
      const path = file('orders.json', JSON.stringify([{ order_id: 'o1', amount: 9.5 }, { order_id: 'o2', amount: 20 }]));
      const result = await load(path, { table: 'orders_json', mode: 'replace' });
      expect(result).toMatchObject({ rows: 2, columns: [{ name: 'order_id', type: 'string' }, { name: 'amount', type: 'float' }] });
      expect(await text('orders_json', ['order_id', 'amount'], 'order_id')).toEqual([
        { order_id: 'o1', amount: '9.5' },
        { order_id: 'o2', amount: engine.name === 'duckdb' ? '20.0' : '20' },
      ]);
    });

    it_('malformed NDJSON is an error naming the line; nothing is written', async () => {
      const e = await loadError(load(file('bad.ndjson', '{"id": 1}\n\n{"id": 2 oops}\n{"id": 3}\n'), { table: 'bad_json', mode: 'replace' }));
      expect(e.message).toMatch(/bad\.ndjson:3: malformed JSON at byte 10: unexpected character$/);
      const array = await loadError(load(file('bad.json', '[{"id": 1},\n {"id": 2 oops}]'), { table: 'bad_json', mode: 'replace' }));
      expect(array.message).toMatch(/bad\.json: record 2: malformed JSON/);
      expect(await wh.describe({ schema, name: 'bad_json' })).toBeNull();
    });
  });

  describe('Parquet', () => {
    it_('types come from the file: integers, decimals, timestamps, dates, lists and structs', async () => {
      const path = join(dir, 'items.parquet');
      const duck = await DuckDBInstance.create(':memory:');
      const c = await duck.connect();
      await c.run(`copy (
        select i::integer as id, 'item ' || i as name, (i * 1.25)::decimal(10,2) as price, (i * 10000000000)::bigint as big,
               timestamp '2024-01-02 03:04:05' + to_days(i::integer) as updated_at, date '2024-01-01' + i::integer as day,
               [i, i + 1] as list, {'k': 'v' || i} as attrs, i % 2 = 0 as even
        from range(1, 4) t(i)
      ) to '${path.replace(/'/g, "''")}' (format parquet)`);
      c.closeSync();
      duck.closeSync();
      const result = await load(path, { table: 'items', mode: 'replace' });
      expect(result.rows).toBe(3);
      expect(result.columns).toEqual([
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'string' },
        { name: 'price', type: 'numeric' },
        { name: 'big', type: 'bigint' },
        { name: 'updated_at', type: 'timestamp' },
        { name: 'day', type: 'date' },
        { name: 'list', type: 'json' },
        { name: 'attrs', type: 'json' },
        { name: 'even', type: 'boolean' },
      ]);
      const d = wh.dialect;
      const rows = await queryAll(
        wh,
        `select id, name, ${d.cast('price', 'float')} as price, big, ${d.cast('updated_at', 'string')} as updated_at, ${d.cast('day', 'string')} as day, ${d.jsonValue('attrs', ['k'])} as k, even from ${q('items')} order by id`,
      );
      expect(rows[2]).toEqual({ id: 3, name: 'item 3', price: 3.75, big: 30000000000, updated_at: '2024-01-05 03:04:05', day: '2024-01-04', k: 'v3', even: false });
      expect(JSON.parse(String(await queryValue(wh, `select ${d.cast('list', 'string')} from ${q('items')} where id = 1`)))).toEqual([1, 2]);
    });

    it_('a file that is not Parquet is a clear error', async () => {
      const e = await loadError(load(file('fake.parquet', 'id,name\n1,a\n'), { table: 'fake', mode: 'replace' }));
      expect(e.message).toMatch(/^.*fake\.parquet: not a readable Parquet file/);
    });
  });

  describe('modes', () => {
    const CUSTOMERS = 'id,name,plan\n1,ann,free\n2,bob,free\n';

    beforeEach(async () => {
      if (!ok) return;
      await load(file('customers.csv', CUSTOMERS), { table: 'customers', mode: 'replace' });
    });

    it_('replace: the table becomes exactly the file, also with other columns', async () => {
      await load(file('c2.csv', 'id,name,plan\n7,gus,pro\n'), { table: 'customers', mode: 'replace' });
      expect(await text('customers', ['id', 'name', 'plan'])).toEqual([{ id: '7', name: 'gus', plan: 'pro' }]);
      const result = await load(file('c3.csv', 'email,signed_up\na@x.io,2024-01-01\n'), { table: 'customers', mode: 'replace' });
      expect(result.columns).toEqual([
        { name: 'email', type: 'string' },
        { name: 'signed_up', type: 'date' },
      ]);
      expect((await wh.describe({ schema, name: 'customers' }))?.columns.map((c) => c.name)).toEqual(['email', 'signed_up']);
      expect(await leftovers()).toEqual([]);
    });

    it_('replace with the same columns keeps a view on the table working', async () => {
      await wh.createView({ schema, name: 'customer_names' }, `select name from ${q('customers')}`);
      await load(file('c4.csv', 'id,name,plan\n5,eve,pro\n6,fay,pro\n'), { table: 'customers', mode: 'replace' });
      expect((await queryAll(wh, `select name from ${q('customer_names')} order by name`)).map((r) => r.name)).toEqual(['eve', 'fay']);
      await wh.dropRelation({ schema, name: 'customer_names' }, 'view');
    });

    it_('append: adds the rows; the file may order the columns differently; the table types rule', async () => {
      const result = await load(file('more.csv', 'plan,id,name\npro,3,"cy, jr"\n'), { table: 'customers', mode: 'append' });
      expect(result).toEqual({
        rows: 1,
        table: `${schema}.customers`,
        columns: [
          { name: 'id', type: 'integer' },
          { name: 'name', type: 'string' },
          { name: 'plan', type: 'string' },
        ],
      });
      expect(await text('customers', ['id', 'name', 'plan'])).toEqual([
        { id: '1', name: 'ann', plan: 'free' },
        { id: '2', name: 'bob', plan: 'free' },
        { id: '3', name: 'cy, jr', plan: 'pro' },
      ]);
      // a text column gets the file's text as written (not 1.5 for "1.50"), from a file that infers numbers
      await load(file('plans.csv', 'id,name,plan\n4,dee,1.50\n'), { table: 'customers', mode: 'append' });
      expect(await text('customers', ['plan'], 'id desc')).toContainEqual({ plan: '1.50' });
      expect(await count('customers')).toBe(4);
    });

    it_('append: columns that do not match the table are a clear error; the table is unchanged', async () => {
      const e = await loadError(load(file('wrong.csv', 'id,full_name,plan,extra\n9,x,y,z\n'), { table: 'customers', mode: 'append' }));
      expect(e.message).toContain(`the columns do not match ${schema}.customers (missing from the file: name; not in the table: full_name, extra)`);
      expect(await count('customers')).toBe(2);
      expect(await leftovers()).toEqual([]);
    });

    it_('append: a value that does not fit the table column names the line, column and value; nothing is written', async () => {
      const e = await loadError(load(file('badint.csv', 'id,name,plan\n3,cy,pro\n4,"dee\nsr",pro\nx7,eve,pro\n'), { table: 'customers', mode: 'append' }));
      // line 5: the quoted value on line 3 holds a newline
      expect(e.message).toBe('badint.csv:5: column id: "x7" is not an integer (the type of the table\'s column)'.replace('badint.csv', join(dir, 'badint.csv')));
      expect(await count('customers')).toBe(2);
      expect(await leftovers()).toEqual([]);
      // blank lines are no rows, and still lines
      const blank = await loadError(load(file('blank.csv', 'id,name,plan\n3,cy,pro\n\n\n4.5,dee,pro\n'), { table: 'customers', mode: 'append' }));
      expect(blank.message).toMatch(/blank\.csv:5: column id: "4\.5" is not an integer/);
      const ndjson = await loadError(load(file('badint.ndjson', '{"id":3,"name":"cy","plan":"pro"}\n\n{"id":"x","name":"dee","plan":"pro"}\n'), { table: 'customers', mode: 'append' }));
      expect(ndjson.message).toMatch(/badint\.ndjson:3: column id: "x" is not an integer/);
      expect(await count('customers')).toBe(2);
    });

    it_('append into a missing table creates it (and its schema)', async () => {
      const result = await loadFile(wh, { path: file('new.csv', 'a,b\n1,x\n'), table: `${otherSchema}.fresh`, mode: 'append' });
      expect(result.table).toBe(`${otherSchema}.fresh`);
      expect(Number(await queryValue(wh, `select count(*) from ${wh.dialect.relation({ schema: otherSchema, name: 'fresh' })}`))).toBe(1);
    });

    it_('upsert: rows with a known key replace theirs, new keys are added', async () => {
      const result = await load(file('upsert.csv', 'id,name,plan\n2,bob,pro\n3,cy,free\n'), { table: 'customers', mode: 'upsert', key: 'id' });
      expect(result.rows).toBe(2);
      expect(await text('customers', ['id', 'name', 'plan'])).toEqual([
        { id: '1', name: 'ann', plan: 'free' },
        { id: '2', name: 'bob', plan: 'pro' },
        { id: '3', name: 'cy', plan: 'free' },
      ]);
      expect(await leftovers()).toEqual([]);
    });

    it_('upsert: a composite key; a duplicate or empty key in the file is an error and changes nothing', async () => {
      await load(file('composite.csv', 'id,name,plan\n1,ann,gold\n'), { table: 'customers', mode: 'upsert', key: 'id,name' });
      expect(await text('customers', ['id', 'plan'])).toEqual([
        { id: '1', plan: 'gold' },
        { id: '2', plan: 'free' },
      ]);
      const dup = await loadError(load(file('dup.csv', 'id,name,plan\n2,bob,a\n2,bob,b\n'), { table: 'customers', mode: 'upsert', key: 'id' }));
      expect(dup.message).toMatch(/the key is not unique in the file: id=2 is on 2 rows/);
      const empty = await loadError(load(file('nokey.csv', 'id,name,plan\n,bob,a\n'), { table: 'customers', mode: 'upsert', key: 'id' }));
      expect(empty.message).toMatch(/the key id is empty in 1 rows/);
      expect(await text('customers', ['id', 'plan'])).toEqual([
        { id: '1', plan: 'gold' },
        { id: '2', plan: 'free' },
      ]);
      expect(await leftovers()).toEqual([]);
    });

    it_('upsert needs a key that is a column; a key with another mode is refused', async () => {
      const path = file('k.csv', CUSTOMERS);
      expect((await loadError(load(path, { table: 'customers', mode: 'upsert' }))).message).toMatch(/mode upsert needs the key/);
      expect((await loadError(load(path, { table: 'customers', mode: 'upsert', key: 'email' }))).message).toMatch(/the key column email is not in the file \(columns: id, name, plan\)/);
      expect((await loadError(load(path, { table: 'customers', mode: 'append', key: 'id' }))).message).toMatch(/a key applies to mode upsert only/);
    });
  });

  describe('malformed files change nothing', () => {
    beforeEach(async () => {
      if (!ok) return;
      await load(file('target.csv', 'a,b,c\n1,2,3\n'), { table: 'target', mode: 'replace' });
    });

    const expectUnchanged = async () => {
      expect(await text('target', ['a', 'b', 'c'], 'a')).toEqual([{ a: '1', b: '2', c: '3' }]);
      expect(await leftovers()).toEqual([]);
    };

    it_('a row with too many values: the line (after a multi-line value) and the expected columns', async () => {
      const path = file('too-many.csv', 'a,b,c\n1,"multi\nline",3\n4,5,6\n7,8,9,10\n11,12,13\n');
      for (const mode of ['replace', 'append'] as const) {
        const e = await loadError(load(path, { table: 'target', mode }));
        expect(e.message).toBe(`${path}:5: expected 3 values (a, b, c), found 4`);
        await expectUnchanged();
      }
    });

    it_('a row with too few values is an error, not padded with NULLs', async () => {
      const e = await loadError(load(file('too-few.csv', 'a,b,c\n1,2,3\n4,5\n'), { table: 'target', mode: 'replace' }));
      expect(e.message).toMatch(/too-few\.csv:3: expected 3 values \(a, b, c\), found 2$/);
      await expectUnchanged();
    });

    it_('an unterminated quote: the line and the column', async () => {
      const e = await loadError(load(file('unterminated.csv', 'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n'), { table: 'target', mode: 'replace' }));
      expect(e.message).toMatch(/unterminated\.csv:3: column b: a quoted value is never closed/);
      await expectUnchanged();
    });

    it_('text after a closing quote: the line and the column', async () => {
      const e = await loadError(load(file('junk.csv', 'a,b,c\n1,2,"3"x\n'), { table: 'target', mode: 'replace' }));
      expect(e.message).toMatch(/junk\.csv:2: column c: text after the closing quote/);
      await expectUnchanged();
    });

    it_('a malformed row deep in a large file (past any sample) still fails the whole load', async () => {
      const lines = ['a,b,c'];
      for (let i = 0; i < 50_000; i++) lines.push(`${i},${i},${i}`);
      lines.push('x,y');
      const e = await loadError(load(file('late.csv', lines.join('\n') + '\n'), { table: 'target', mode: 'replace' }));
      expect(e.message).toMatch(/late\.csv:50002: expected 3 values/);
      await expectUnchanged();
    });
  });

  describe('bad input', () => {
    it_('table and key names are identifiers only', async () => {
      const path = file('ok.csv', 'a\n1\n');
      for (const table of ['bad-name', 'a.b.c', '1abc', 'x; drop table y', 'x"y', '', 'a.']) {
        expect((await loadError(load(path, { table, mode: 'replace' }))).message).toMatch(/expected name or schema\.name/);
      }
      expect((await loadError(load(path, { table: 'ok_name', mode: 'upsert', key: 'a b' }))).message).toMatch(/key "a b"/);
    });

    it_('names are lower-cased: Customers is customers', async () => {
      const result = await load(file('upper.csv', 'a\n1\n'), { table: 'MixedCase', mode: 'replace' });
      expect(result.table).toBe(`${schema}.mixedcase`);
    });

    it_('a missing file, an empty file, an unknown extension, two columns with one name', async () => {
      expect((await loadError(load(join(dir, 'nope.csv'), { table: 't', mode: 'replace' }))).message).toMatch(/nope\.csv: no such file/);
      expect((await loadError(load(file('empty.csv', ''), { table: 't', mode: 'replace' }))).message).toMatch(/empty\.csv: empty file/);
      expect((await loadError(load(file('data.xlsx', 'a\n1\n'), { table: 't', mode: 'replace' }))).message).toMatch(/data\.xlsx: unknown file type/);
      expect((await loadError(load(file('dupe.csv', 'userId,user_id\n1,2\n'), { table: 't', mode: 'replace' }))).message).toMatch(/columns "userId" and "user_id" both become "user_id"/);
      // an explicit format overrides the extension
      expect(await load(file('data.txt', 'a\n1\n'), { table: 't', mode: 'replace', format: 'csv' })).toMatchObject({ rows: 1 });
    });

    it_('a view is not replaced by a load', async () => {
      await wh.createView({ schema, name: 'a_view' }, 'select 1 as a');
      const e = await loadError(load(file('v.csv', 'a\n1\n'), { table: 'a_view', mode: 'replace' }));
      expect(e.message).toMatch(/a_view is a view/);
    });
  });
});
