import { compileSegment, SegmentDefinitionError, type SegmentCompileContext } from '../../src/segments/segment-compiler';
import { compileSplit } from '../../src/segments/segment-split';
import { parseSegment } from '../../src/segments/segment-tree';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { queryAll, queryValue, type LogicalType, type Relation, type Warehouse } from '../../src/warehouse/warehouse';

/**
 * Hostile strings at every field of a segment definition. Each definition must either be refused
 * (a SegmentDefinitionError, which the API turns into a 400) or compile to SQL that runs on DuckDB,
 * with the hostile value only in the params, never in the SQL text; the tables stay as they were.
 *
 * Values are wrapped in a marker (`Zq17x…Zq17x`): whether a value was spliced raw, quoted or escaped,
 * its marker would show in the SQL. The raw strings are tried too (they must run or be refused).
 */
const HOSTILE: string[] = [
  "'",
  "''",
  '"',
  '`',
  "'; drop table profiles; --",
  '"; drop table profiles; --',
  "') or ('1'='1",
  "x' or 1=1 --",
  '1; delete from profile_events',
  '\\',
  "\\'",
  '\\"',
  '%',
  '_',
  '%_%',
  '\\%\\_',
  '?',
  '$1',
  '$$ drop $$',
  '$tag$',
  '/* comment',
  '*/',
  '-- comment',
  ';',
  ':name',
  '@p1',
  '{{ref "profiles"}}',
  '${HOME}',
  'ë',
  '𝄞',
  '\u202e gnp.exe',
  '🙂👍🏽',
  '中文字符',
  '\u200b',
  'İı',
  '\t\n\r',
  '\u0001\u0002\u001f\u007f',
  '\u2028\u2029',
  '\ufeff',
  ' ',
  'null',
  'NULL',
  'true',
  '0x41',
  '1e309',
  'NaN',
  '2024-01-01',
  '30d',
  'email',
  'profile_id',
  'x'.repeat(5000),
  'y'.repeat(20_000),
];

const ODD_COLUMN = `we"ird'; drop table profiles; --`;
const ODD_PROPERTY = `pro"p\`%_?`;

const PROFILE_COLUMNS: { name: string; type: LogicalType }[] = [
  { name: 'profile_id', type: 'string' },
  { name: 'email', type: 'string' },
  { name: 'orders', type: 'integer' },
  { name: 'ltv', type: 'float' },
  { name: 'is_vip', type: 'boolean' },
  { name: 'signup_date', type: 'date' },
  { name: 'last_seen_at', type: 'timestamp' },
  { name: ODD_COLUMN, type: 'string' },
];
const EVENT_COLUMNS: { name: string; type: LogicalType }[] = [
  { name: 'profile_id', type: 'string' },
  { name: 'event', type: 'string' },
  { name: 'timestamp', type: 'timestamp' },
  { name: 'revenue', type: 'float' },
  { name: 'product', type: 'string' },
  { name: ODD_PROPERTY, type: 'string' },
];

const schema = 'fuzz';
const rel = (name: string): Relation => ({ schema, name });
let wh: Warehouse;
let ctx: SegmentCompileContext;
let counts: { profiles: number; events: number; members: number };

beforeAll(async () => {
  wh = await DuckDbWarehouse.open({ path: ':memory:' });
  const d = wh.dialect;
  await wh.ensureSchema(schema);
  await wh.execute(d.createTableFromColumns(rel('profiles'), PROFILE_COLUMNS));
  await wh.execute(d.createTableFromColumns(rel('profile_events'), EVENT_COLUMNS));
  await wh.execute(d.createTableFromColumns(rel('vip_members'), [{ name: 'profile_id', type: 'string' }]));
  await wh.execute(
    `insert into ${d.relation(rel('profiles'))} values
     ('p1', 'a@example.com', 3, 10.5, true, date '2024-05-01', timestamp '2024-05-30 10:00:00', 'x'),
     ('p2', '%_''"\\', 0, 0, false, date '2020-01-01', timestamp '2020-01-01 00:00:00', null),
     ('p3', null, null, null, null, null, null, '''; drop table profiles; --')`,
  );
  await wh.execute(
    `insert into ${d.relation(rel('profile_events'))} values
     ('p1', 'Order Completed', timestamp '2024-05-30 10:00:00', 20, 'Mug', 'a'),
     ('p1', 'Order Completed''; --', timestamp '2024-05-01 10:00:00', 5, '%_', null),
     ('p2', 'Product Added', timestamp '2024-05-31 10:00:00', null, null, 'b')`,
  );
  await wh.execute(`insert into ${d.relation(rel('vip_members'))} values ('p1')`);
  ctx = {
    dialect: wh.dialect,
    profiles: rel('profiles'),
    traits: new Map(PROFILE_COLUMNS.map((c) => [c.name, c.type])),
    events: {
      relation: rel('profile_events'),
      profileId: 'profile_id',
      name: 'event',
      time: 'timestamp',
      properties: new Map(EVENT_COLUMNS.slice(3).map((c) => [c.name, { column: c.name, type: c.type }])),
    },
    segments: (name) => (name === 'vips' ? rel('vip_members') : undefined),
    asOf: new Date('2024-06-01T00:00:00Z'),
  };
  counts = await tableCounts();
});

afterAll(async () => {
  await wh?.close();
});

async function tableCounts() {
  const count = async (name: string) => Number(await queryValue(wh, `select count(*) as n from ${wh.dialect.relation(rel(name))}`));
  return { profiles: await count('profiles'), events: await count('profile_events'), members: await count('vip_members') };
}

const outcomes = { refused: 0, ran: 0 };

/**
 * Parses and compiles `input`: refused with a SegmentDefinitionError, or run on DuckDB. `marker`,
 * when given, must not be in the SQL text; `bound` says it must then be among the params.
 */
async function attempt(input: unknown, marker?: string, bound = false): Promise<void> {
  let compiled: { sql: string; params: unknown[] };
  try {
    compiled = compileSegment(parseSegment(input), ctx);
  } catch (e) {
    if (!(e instanceof SegmentDefinitionError)) throw new Error(`not a SegmentDefinitionError for ${JSON.stringify(input).slice(0, 300)}: ${String(e)}`);
    outcomes.refused++;
    return;
  }
  if (marker) {
    expect(compiled.sql).not.toContain(marker);
    if (bound) expect(compiled.params.some((p) => typeof p === 'string' && p.includes(marker))).toBe(true);
  }
  await queryAll(wh, compiled.sql, compiled.params as never[]);
  outcomes.ran++;
}

type Field = [string, (h: string) => unknown, boolean];

/** Each field, as a function from a hostile string to a definition; `true` when a value that compiles must be bound. */
// prettier-ignore
const FIELDS: Field[] = [
  ['segment name', (h) => ({ name: h, where: { trait: { name: 'email', op: 'is_set' } } }), false],
  ['description', (h) => ({ name: 's', description: h, where: { trait: { name: 'email', op: 'is_set' } } }), false],
  ['trait name', (h) => ({ name: 's', where: { trait: { name: h, op: '=', value: 'x' } } }), false],
  ['trait op', (h) => ({ name: 's', where: { trait: { name: 'email', op: h, value: 'x' } } }), false],
  ['text trait =', (h) => ({ name: 's', where: { trait: { name: 'email', op: '=', value: h } } }), true],
  ['text trait !=', (h) => ({ name: 's', where: { not: { trait: { name: 'email', op: '!=', value: h } } } }), true],
  ['text trait in', (h) => ({ name: 's', where: { trait: { name: 'email', op: 'in', value: ['a', h] } } }), true],
  ['text trait contains', (h) => ({ name: 's', where: { trait: { name: 'email', op: 'contains', value: h } } }), true],
  ['text trait starts_with', (h) => ({ name: 's', where: { trait: { name: 'email', op: 'starts_with', value: h } } }), true],
  ['odd column contains', (h) => ({ name: 's', where: { trait: { name: ODD_COLUMN, op: 'contains', value: h } } }), true],
  ['number trait >', (h) => ({ name: 's', where: { trait: { name: 'orders', op: '>', value: h } } }), false],
  ['boolean trait =', (h) => ({ name: 's', where: { trait: { name: 'is_vip', op: '=', value: h } } }), false],
  ['date trait before', (h) => ({ name: 's', where: { trait: { name: 'signup_date', op: 'before', value: h } } }), false],
  ['timestamp trait =', (h) => ({ name: 's', where: { trait: { name: 'last_seen_at', op: '=', value: h } } }), false],
  ['within_last', (h) => ({ name: 's', where: { trait: { name: 'last_seen_at', op: 'within_last', value: h } } }), false],
  ['is_set value', (h) => ({ name: 's', where: { trait: { name: 'email', op: 'is_set', value: h } } }), false],
  ['event name', (h) => ({ name: 's', where: { event: { name: h } } }), true],
  ['event name, count eq 0', (h) => ({ name: 's', where: { event: { name: h, count: { eq: 0 }, within: '30d' } } }), true],
  ['event within', (h) => ({ name: 's', where: { event: { name: 'Order Completed', within: h } } }), false],
  ['event count', (h) => ({ name: 's', where: { event: { name: 'Order Completed', count: { gte: h } } } }), false],
  ['property name', (h) => ({ name: 's', where: { event: { name: 'Order Completed', where: [{ property: h, op: 'is_set' }] } } }), false],
  ['property op', (h) => ({ name: 's', where: { event: { name: 'Order Completed', where: [{ property: 'product', op: h, value: 'x' }] } } }), false],
  ['property value =', (h) => ({ name: 's', where: { event: { name: 'Order Completed', where: [{ property: 'product', op: '=', value: h }] } } }), true],
  ['property value contains', (h) => ({ name: 's', where: { event: { name: 'Order Completed', where: [{ property: 'product', op: 'contains', value: h }] } } }), true],
  ['odd property starts_with', (h) => ({ name: 's', where: { event: { name: h, where: [{ property: ODD_PROPERTY, op: 'starts_with', value: h }] } } }), true],
  ['property value, number property', (h) => ({ name: 's', where: { event: { name: 'Order Completed', where: [{ property: 'revenue', op: '>=', value: h }] } } }), false],
  ['aggregate function', (h) => ({ name: 's', where: { event: { name: 'x', aggregate: { function: h, property: 'revenue', op: '>', value: 1 } } } }), false],
  ['aggregate property', (h) => ({ name: 's', where: { event: { name: 'x', aggregate: { function: 'sum', property: h, op: '>', value: 1 } } } }), false],
  ['aggregate op', (h) => ({ name: 's', where: { event: { name: 'x', aggregate: { function: 'sum', property: 'revenue', op: h, value: 1 } } } }), false],
  ['aggregate value', (h) => ({ name: 's', where: { event: { name: 'x', aggregate: { function: 'sum', property: 'revenue', op: '>', value: h } } } }), false],
  ['segment name reference', (h) => ({ name: 's', where: { segment: { name: h } } }), false],
  ['condition key', (h) => ({ name: 's', where: { [h]: { name: 'email', op: 'is_set' } } }), false],
  ['trait key', (h) => ({ name: 's', where: { trait: { name: 'email', op: 'is_set', [h]: 1 } } }), false],
  ['split group', (h) => ({ name: 's', where: { trait: { name: 'email', op: 'is_set' } }, split: { [h]: 50, b: 50 } }), false],
  ['split share', (h) => ({ name: 's', where: { trait: { name: 'email', op: 'is_set' } }, split: { a: h, b: 50 } }), false],
];

describe.each(FIELDS)('hostile %s', (_field, build, bound) => {
  it('is refused, or runs with the value bound and never in the SQL text', async () => {
    for (let i = 0; i < HOSTILE.length; i++) {
      const h = HOSTILE[i];
      const marker = `Zq${i}x`;
      await attempt(build(h));
      await attempt(build(`${marker}${h}${marker}`), marker, bound);
    }
    expect(await tableCounts()).toEqual(counts);
  });
});

it('hostile split groups and segment names passed straight to compileSplit are bound too', async () => {
  const members = compileSegment({ name: 's', where: { trait: { name: 'email', op: 'is_set' } } }, ctx);
  for (let i = 0; i < HOSTILE.length; i++) {
    const marker = `Zq${i}x`;
    const h = `${marker}${HOSTILE[i]}${marker}`;
    const split = compileSplit(wh.dialect, h, { [h]: 50, [`${h}2`]: 50 }, members);
    expect(split.sql).not.toContain(marker);
    const rows = await queryAll(wh, split.sql, split.params);
    for (const r of rows) expect([h, `${h}2`]).toContain(r.split_group);
  }
  expect(await tableCounts()).toEqual(counts);
});

/** A small seeded generator (mulberry32), so a failing tree can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

it('random nested trees mixing valid and hostile parts are refused or run', async () => {
  const random = rng(20240601);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const names = [...PROFILE_COLUMNS.map((c) => c.name), ...HOSTILE];
  const ops = ['=', '!=', '<', '<=', '>', '>=', 'in', 'contains', 'starts_with', 'is_set', 'is_not_set', 'within_last', 'before', ...HOSTILE.slice(0, 5)];
  const values: unknown[] = [...HOSTILE, 1, 2.5, -3, 0, true, false, '2024-05-01', '2024-05-01T10:00:00Z', '30d', '12h', ['a', 'b'], [1, 2]];
  const leaf = (): unknown => {
    const r = random();
    if (r < 0.45) {
      const op = pick(ops);
      return { trait: { name: pick(names), op, ...(op === 'is_set' || op === 'is_not_set' ? {} : { value: pick(values) }) } };
    }
    if (r < 0.85) {
      const event: Record<string, unknown> = { name: pick(['Order Completed', 'Product Added', ...HOSTILE]) };
      if (random() < 0.4) event.count = pick([{ gte: 1 }, { eq: 0 }, { lte: 2 }, { gte: 1, lte: 3 }]);
      if (random() < 0.4) event.within = pick(['7d', '30d', '12h', ...HOSTILE.slice(0, 3)]);
      if (random() < 0.4) event.where = [{ property: pick(['revenue', 'product', ODD_PROPERTY, ...HOSTILE]), op: pick(ops), value: pick(values) }];
      if (random() < 0.3) event.aggregate = { function: pick(['sum', 'min', 'max', 'avg', 'count']), property: pick(['revenue', 'product']), op: pick(['=', '>', '<=']), value: pick(values) };
      return { event };
    }
    return { segment: { name: pick(['vips', ...HOSTILE]) } };
  };
  const tree = (depth: number): unknown => {
    const r = random();
    if (depth === 0 || r < 0.4) return leaf();
    if (r < 0.6) return { not: tree(depth - 1) };
    const children = Array.from({ length: 1 + Math.floor(random() * 3) }, () => tree(depth - 1));
    return r < 0.8 ? { and: children } : { or: children };
  };
  for (let i = 0; i < 400; i++) await attempt({ name: 'fuzz', where: tree(4) });
  expect(await tableCounts()).toEqual(counts);
});

// runs last (tests run in the order written)
it('reached both outcomes: the warehouse ran many of them, the checks refused many', () => {
  expect(outcomes.ran).toBeGreaterThan(500);
  expect(outcomes.refused).toBeGreaterThan(500);
});
