/**
 * Golden files: the demo project's models and data tests compiled for every dialect, through the
 * real code path (cdp.yaml -> loadConfig -> loadProject -> compileModel / compileTest).
 *
 *   npx jest test/golden                    compare with test/golden/<dialect>/...
 *   UPDATE_GOLDEN=1 npx jest test/golden    rewrite them (then read the diff before committing)
 *
 * Layout: <dialect>/<model>.sql, <dialect>/<model>.incremental.sql for incremental models compiled
 * as an incremental run, and <dialect>/tests/<test name>.sql.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import type { CdpConfig } from '../../src/config/config.schema';
import { compileModel, compileTest } from '../../src/models/compiler';
import { loadProject, type Project } from '../../src/models/project';
import { dialectFor, DIALECT_NAMES, type DialectName } from '../../src/warehouse/dialects';
import { REPO_ROOT, TempProject } from '../support/temp-project';

import { membersSql } from '../../src/segments/segment-builder';
import type { SegmentCompileContext } from '../../src/segments/segment-compiler';
import type { LogicalType, Warehouse } from '../../src/warehouse/warehouse';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GOLDEN_DIR = __dirname;

/** Every demo model; a new one must be added here (and get golden files). */
const DEMO_MODELS = [
  'stg_order_lines',
  'stg_orders',
  'stg_customers',
  'customer_summary',
  'daily_revenue',
  'stg_events',
  'stg_tracks',
  'stg_identifies',
  'stg_pages',
  'stg_web_events',
  'profile_rfm',
  'profile_churn_risk',
  'at_churn_risk',
];
const INCREMENTAL_MODELS = ['daily_revenue'];

/** The warehouse block of cdp.yaml per dialect; the rest of the demo cdp.yaml (vars, ...) is kept. */
const WAREHOUSES: Record<DialectName, Record<string, unknown>> = {
  duckdb: { type: 'duckdb', path: '.cdp/warehouse.duckdb', schema: 'analytics' },
  postgres: { type: 'postgres', url: 'postgres://cdp@localhost:5432/demo', schema: 'analytics' },
  bigquery: { type: 'bigquery', project: 'demo-project', dataset: 'analytics' },
  snowflake: { type: 'snowflake', account: 'demo', user: 'demo', database: 'DEMO' },
};

function demoProjectFor(dialect: DialectName): { temp: TempProject; config: CdpConfig; project: Project } {
  const temp = TempProject.demo();
  const demoYaml = parse(readFileSync(join(REPO_ROOT, 'cdp.yaml'), 'utf8')) as Record<string, unknown>;
  temp.write({ 'cdp.yaml': stringify({ ...demoYaml, warehouse: WAREHOUSES[dialect] }) });
  const config = temp.config({});
  if (config.warehouse.type !== dialect) throw new Error(`expected a ${dialect} config, got ${config.warehouse.type}`);
  return { temp, config, project: loadProject(config) };
}

/** Compares with (or, with UPDATE_GOLDEN=1, writes) one golden file. */
function expectGolden(file: string, sql: string): void {
  const full = join(GOLDEN_DIR, file);
  const actual = sql.endsWith('\n') ? sql : sql + '\n';
  if (UPDATE) {
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, actual);
    return;
  }
  if (!existsSync(full)) throw new Error(`golden file test/golden/${file} is missing; run UPDATE_GOLDEN=1 npx jest test/golden to create it`);
  const expected = readFileSync(full, 'utf8');
  try {
    expect(actual).toBe(expected);
  } catch (e) {
    (e as Error).message = `test/golden/${file} differs from the compiled SQL (if the change is intended: UPDATE_GOLDEN=1 npx jest test/golden)\n\n${(e as Error).message}`;
    throw e;
  }
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

describe.each(DIALECT_NAMES)('golden SQL: %s', (dialectName) => {
  const dialect = dialectFor(dialectName);
  // loaded while collecting, so the test list (one per data test) comes from the project itself
  const { temp, config, project } = demoProjectFor(dialectName);
  afterAll(() => temp.cleanup());

  it('the demo project has exactly the models this suite covers', () => {
    expect([...project.models.keys()].sort()).toEqual([...DEMO_MODELS].sort());
    expect([...project.models.values()].filter((m) => m.config.materialized === 'incremental').map((m) => m.name)).toEqual(INCREMENTAL_MODELS);
    expect(project.tests.length).toBeGreaterThan(0);
  });

  it.each(DEMO_MODELS)('model %s', (name) => {
    const compiled = compileModel(project, project.models.get(name)!, dialect, false);
    expect(compiled.isIncremental).toBe(false);
    // the compiler's own copy under target/compiled/<dialect>/ is the same SQL
    expect(readFileSync(join(config.projectDir, compiled.compiledPath), 'utf8')).toBe(compiled.sql + '\n');
    expectGolden(`${dialectName}/${name}.sql`, compiled.sql);
  });

  it.each(INCREMENTAL_MODELS)('model %s, incremental run', (name) => {
    const full = compileModel(project, project.models.get(name)!, dialect, false).sql;
    const incremental = compileModel(project, project.models.get(name)!, dialect, true).sql;
    expect(incremental).not.toBe(full);
    expect(incremental).toContain(dialect.relation(project.models.get(name)!.relation)); // {{this}}
    expectGolden(`${dialectName}/${name}.incremental.sql`, incremental);
  });

  it.each(project.tests.map((t) => [t.name, t] as const))('data test %s', (_name, test) => {
    const compiled = compileTest(project, test, dialect);
    expect(compiled.compiledPath).toBe(join(config.paths.target, 'compiled', dialectName, 'tests', `${test.name}.sql`));
    expectGolden(`${dialectName}/tests/${test.name}.sql`, compiled.sql);
  });

  // the demo's condition-tree segments, compiled against the demo's profile and event columns
  const segmentContext: SegmentCompileContext = {
    dialect,
    profiles: project.identity!.plan.relation('profiles'),
    traits: new Map<string, LogicalType>([
      ...(['customer_id', 'email', 'phone', 'first_name', 'last_name', 'country', 'last_product_viewed'] as const).map((t): [string, LogicalType] => [t, 'string']),
      ...(['orders', 'orders_90d', 'page_views_30d'] as const).map((t): [string, LogicalType] => [t, 'bigint']),
      ['lifetime_value', 'float'],
      ...(['first_seen', 'last_seen', 'updated_at', 'first_order_at', 'last_order_at', 'last_seen_at'] as const).map((t): [string, LogicalType] => [t, 'timestamp']),
    ]),
    events: {
      relation: project.identity!.plan.relation('profile_events'),
      profileId: 'profile_id',
      name: 'event',
      time: 'occurred_at',
      properties: new Map<string, { column: string; type: LogicalType }>([
        ['revenue', { column: 'revenue', type: 'float' }],
        ...(['product_id', 'order_id', 'page_path', 'country'] as const).map((c): [string, { column: string; type: LogicalType }] => [c, { column: c, type: 'string' }]),
      ]),
    },
    segments: (name) => project.segments.get(name)?.relation ?? project.models.get(name)?.relation,
    asOf: new Date('2010-12-24T00:00:00Z'),
  };
  const segmentNames = [...project.segments.keys()];

  it.each(segmentNames)('segment %s', (name) => {
    const { sql, params } = membersSql({ dialect } as Warehouse, project.segments.get(name)!, segmentContext);
    expect(sql.split('?').length - 1).toBe(params.length);
    expectGolden(`${dialectName}/segments/${name}.sql`, `${sql}\n-- params: ${JSON.stringify(params)}`);
  });

  it('has no stale golden files', () => {
    const expected = new Set([
      ...segmentNames.map((s) => `${dialectName}/segments/${s}.sql`),
      ...DEMO_MODELS.map((m) => `${dialectName}/${m}.sql`),
      ...INCREMENTAL_MODELS.map((m) => `${dialectName}/${m}.incremental.sql`),
      ...project.tests.map((t) => `${dialectName}/tests/${t.name}.sql`),
    ]);
    const onDisk = listFiles(join(GOLDEN_DIR, dialectName)).map((f) => relative(GOLDEN_DIR, f).split('\\').join('/'));
    const stale = onDisk.filter((f) => !expected.has(f));
    if (UPDATE) stale.forEach((f) => rmSync(join(GOLDEN_DIR, f)));
    else expect(stale).toEqual([]);
  });
});
