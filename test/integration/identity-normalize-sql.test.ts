import { compileIgnoreRules, ignoredSql, normalizeIdentifier, normalizedSql, type IgnoreRule } from '../../src/identity/normalize';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { PostgresWarehouse } from '../../src/warehouse/postgres/postgres.warehouse';
import { queryAll, type Warehouse } from '../../src/warehouse/warehouse';
import { POSTGRES_URL, requirePostgres } from '../support/postgres';

/**
 * The warehouse's normalization and ignore rules against Node's, value by value, on DuckDB and
 * PostgreSQL: identifiers normalized in SQL (extraction, attribution) must meet the ones normalized
 * in Node (the profile API's lookups) on the same spelling.
 */
const EMAILS = [
  'jane@example.com',
  'Jane.Doe@Example.COM',
  '  jane@example.com  ',
  ' JANE@EXAMPLE.COM ',
  'Jane+News@example.com',
  'j.a.n.e@gmail.com',
  'a@mail.example.co.uk',
  'jane.example.com',
  'jane@doe@example.com',
  'jane@localhost',
  'jane.doe@example',
  'jane@.com',
  'jane@example.',
  '@example.com',
  'jane doe@example.com',
  'unknown',
  '',
  '   ',
  't.r@parsons.@com',
  'Zoë@Exämple.de',
];
const OPAQUE = ['abc', ' abc ', 'ABC', '', '   ', '00042', 'a b'];
const RULES: IgnoreRule[] = ['test@example.com', { pattern: '^0+$' }, { pattern: '@mailinator\\.com$' }, 'N/A'];
const IGNORE_VALUES = ['test@example.com', 'TEST@Example.com', '0000', '000100', 'x@mailinator.com', 'x@MAILINATOR.COM', 'x@mailinator.community', 'n/a', 'N/A', 'unknown', 'NULL', 'none', 'jane@example.com'];

const targets: { name: string; open: () => Promise<Warehouse | undefined> }[] = [
  { name: 'duckdb', open: async () => DuckDbWarehouse.open({ path: ':memory:' }) },
  { name: 'postgres', open: async () => ((await requirePostgres()) ? new PostgresWarehouse({ url: POSTGRES_URL }) : undefined) },
];

describe.each(targets)('identifier normalization in SQL on $name', ({ open }) => {
  let wh: Warehouse | undefined;
  beforeAll(async () => {
    wh = await open();
  });
  afterAll(async () => {
    await wh?.close();
  });

  /** [input, SQL result] for each value, evaluated in the warehouse with the values bound */
  const evaluate = async (values: string[], sql: (expr: string) => string) => {
    const input = values.map((_, i) => `select ${i} as i, cast(? as ${wh!.dialect.type('string')}) as x`).join(' union all ');
    const rows = await queryAll(wh!, `select t.i, ${sql('t.x')} as v from (${input}) t`, values);
    return new Map(rows.map((r) => [values[Number(r.i)], r.v]));
  };

  it('emails: the same normal form or rejection as Node', async () => {
    if (!wh) return;
    const got = await evaluate(EMAILS, (e) => normalizedSql('email', `trim(${e})`, 'null'));
    for (const value of EMAILS) expect([value, got.get(value)]).toEqual([value, normalizeIdentifier('email', value)]);
  });

  it('opaque ids: trimmed, empty is no id', async () => {
    if (!wh) return;
    const got = await evaluate(OPAQUE, (e) => normalizedSql('trim', `trim(${e})`, 'null'));
    for (const value of OPAQUE) expect([value, got.get(value)]).toEqual([value, normalizeIdentifier('user_id', value)]);
  });

  it('ignore rules: the same matches as Node, defaults included', async () => {
    if (!wh) return;
    const ignored = compileIgnoreRules(RULES);
    const got = await evaluate(IGNORE_VALUES, (e) => `case when ${ignoredSql(wh!.dialect, RULES, e)} then 1 else 0 end`);
    for (const value of IGNORE_VALUES) expect([value, Number(got.get(value)) === 1]).toEqual([value, ignored(value)]);
  });
});
