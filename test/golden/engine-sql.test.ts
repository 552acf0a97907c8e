/**
 * Golden files of the engine's own SQL (not the project's models): identity resolution (extract,
 * links, connected components, limits, stable ids, profiles, profile_events), the sync diff (plan,
 * snapshot, preview) and the sync run's checkpoints and sync_log, per dialect, through the real code
 * paths on a recording warehouse (test/support/recording-warehouse.ts) that answers canned rows.
 *
 *   npx jest test/golden/engine-sql.test.ts                    compare with test/golden/engine/<dialect>/...
 *   UPDATE_GOLDEN=1 npx jest test/golden/engine-sql.test.ts    rewrite them (then read the diff)
 *
 * Not under test/golden/<dialect>/: golden.test.ts owns those directories (its stale check removes
 * the files it does not know).
 *
 * Random parts (staging-table tokens, run ids) are replaced by placeholders; the clock is fixed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { CdpConfig } from '../../src/config/config.schema';
import { connectedComponents } from '../../src/identity/connected-components';
import { IdentityResolver } from '../../src/identity/identity-resolver';
import { loadProject, type Project } from '../../src/models/project';
import { openControlStore } from '../../src/store/control-store';
import { compileMapping } from '../../src/syncs/field-mapping';
import { engineOptions, syncSchema, type SyncDefinitionInput } from '../../src/syncs/sync-definition';
import { buildPlan, previewPlan, sourceQuery, syncTables, type PlanSpec } from '../../src/syncs/sync-planner';
import { engineSchema, SyncRunner } from '../../src/syncs/sync-runner';
import { dialectFor, DIALECT_NAMES, type DialectName } from '../../src/warehouse/dialects';
import type { BindValue, ColumnInfo, Relation, RelationInfo, Row } from '../../src/warehouse/warehouse';
import type { Workspace } from '../../src/workspace/workspace';
import { memoryLogger, RecordingDestination } from '../support/recording-destination';
import { RecordingWarehouse, type QueryAnswer } from '../support/recording-warehouse';
import { REPO_ROOT, TempProject } from '../support/temp-project';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GOLDEN_DIR = __dirname;
const NOW = new Date('2010-12-24T00:00:00Z');

/** The warehouse block of cdp.yaml per dialect (as golden.test.ts). */
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

/** Staging-table tokens and run ids are random: placeholders instead. */
function normalize(sql: string): string {
  return sql
    .replace(/(_identity_)[0-9a-f]{8}_/gi, '$1<token>_')
    .replace(/(_profiles_)[0-9a-f]{8}_/gi, '$1<token>_')
    .replace(/(__cc)[0-9a-f]{8}_/gi, '$1<token>_')
    .replace(/(_sync_[a-z0-9_]+?_)[0-9a-f]{8}(_(plan|types))/gi, '$1<token>$2')
    .replace(/\b\d{14}_[0-9a-f]{6}\b/g, '<identity_run_id>')
    .replace(/\b\d{8}T\d{6}_[0-9a-f]{8}\b/g, '<sync_run_id>');
}

/** Compares with (or, with UPDATE_GOLDEN=1, writes) one golden file. */
function expectGolden(file: string, statements: string[]): void {
  const full = join(GOLDEN_DIR, file);
  const actual = normalize(statements.join(';\n\n')) + ';\n';
  if (UPDATE) {
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, actual);
    return;
  }
  if (!existsSync(full)) throw new Error(`golden file test/golden/${file} is missing; run UPDATE_GOLDEN=1 npx jest test/golden/engine-sql.test.ts to create it`);
  const expected = readFileSync(full, 'utf8');
  try {
    expect(actual).toBe(expected);
  } catch (e) {
    (e as Error).message = `test/golden/${file} differs from the engine's SQL (if the change is intended: UPDATE_GOLDEN=1 npx jest test/golden/engine-sql.test.ts)\n\n${(e as Error).message}`;
    throw e;
  }
}

/**
 * Syntax of one engine that must not show up in another's SQL: a cheap check that the engine builds
 * its SQL through the dialect. Markers are looked for outside string literals.
 */
const FOREIGN_MARKERS: { marker: RegExp; what: string; allowed: DialectName[] }[] = [
  { marker: /`/, what: 'backtick quoting', allowed: ['bigquery'] },
  { marker: /::/, what: ':: cast', allowed: ['postgres', 'duckdb', 'snowflake'] },
  { marker: /\b(farm_fingerprint|safe_cast|to_hex|from_hex|generate_uuid|json_value|string_agg|timestamp_add|timestamp_sub|timestamp_diff)\s*\(/i, what: 'BigQuery function', allowed: ['bigquery'] },
  { marker: /\b(iff|to_varchar|to_number|sha2|md5_hex|object_construct|parse_json|get_path|dateadd|timestampadd)\s*\(/i, what: 'Snowflake function', allowed: ['snowflake'] },
  { marker: /\bhash\s*\(/i, what: 'hash()', allowed: ['snowflake', 'duckdb'] },
  { marker: /\b(number|varchar|timestamp_ntz|variant)\b/i, what: 'Snowflake type', allowed: ['snowflake', 'postgres', 'duckdb'] },
  { marker: /\b(int64|float64|string)\b(?!_)/i, what: 'BigQuery type', allowed: ['bigquery'] },
  { marker: /\b(jsonb|bytea|double precision)\b/i, what: 'PostgreSQL type', allowed: ['postgres'] },
  { marker: /"[^"]*"/, what: 'double-quoted identifier', allowed: ['postgres', 'duckdb', 'snowflake'] },
];

function foreignSyntax(dialect: DialectName, statements: string[]): string[] {
  const problems: string[] = [];
  for (const s of statements) {
    // the recorder's own comments, and string literals, are not SQL syntax
    const code = s
      .split('\n')
      .filter((l) => !l.startsWith('-- '))
      .join('\n')
      .replace(/'(?:[^']|'')*'/g, "''");
    for (const m of FOREIGN_MARKERS) {
      if (!m.allowed.includes(dialect) && m.marker.test(code)) problems.push(`${m.what} in: ${s.slice(0, 300)}`);
    }
  }
  return problems;
}

function expectDialectOnly(dialect: DialectName, statements: string[]): void {
  expect(foreignSyntax(dialect, statements)).toEqual([]);
}


/** The last name in a `select count(*) from <relation>` (quoted any way), lower-cased. */
function countedRelation(sql: string): string {
  const m = /from\s+(\S+)\s*$/i.exec(sql);
  const parts = (m?.[1] ?? '').split('.');
  return parts[parts.length - 1].replace(/["`]/g, '').toLowerCase();
}

/** Every golden file the suite writes, per dialect (for the stale check). */
const ENGINE_FILES = [
  'identity.full.sql',
  'identity.incremental.sql',
  'connected-components.sql',
  'sync.plan.audience-segment.first-run.sql',
  'sync.plan.mirror-model.sql',
  'sync.plan.upsert-model.sql',
  'sync.plan.insert-model.sql',
  'sync.plan.mirror-model.remapped.sql',
  'sync.plan.insert-model.forward-only.sql',
  'sync.preview.mirror-model.sql',
  'sync.run.mirror-model.sql',
];

describe.each(DIALECT_NAMES)('engine SQL goldens: %s', (dialectName) => {
  const dialect = dialectFor(dialectName);
  /** a column as describe() reports it: the engine's own type names (text, unless said otherwise) */
  const col = (name: string, type = dialect.type('string')): ColumnInfo => ({ name, type, nullable: true });
  const tableOf = (names: string[]): RelationInfo => ({ kind: 'table', columns: names.map((n) => col(n)) });
  let temp: TempProject;
  let config: CdpConfig;
  let project: Project;

  beforeAll(() => {
    ({ temp, config, project } = demoProjectFor(dialectName));
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'performance', 'hrtime'] });
  });
  afterAll(() => {
    jest.useRealTimers();
    temp.cleanup();
  });

  // ── identity ───────────────────────────────────────────────────────────────

  /**
   * Canned answers for a run of the resolver on the demo's identity plan: small counts, components
   * found in two rounds (round 1's first jump moves, one contracted link left for round 2), one
   * component over the user_id limit whose second user id is refused, and, in an incremental run,
   * known profiles that merge.
   */
  function identityAnswers(incremental: boolean, configHash: string): QueryAnswer {
    const plan = project.identity!.plan;
    const rank = (type: string) => plan.types.find((t) => t.type === type)!.rank;
    return (sql) => {
      if (/select config_hash, events_watermark/.test(sql)) return incremental ? [{ config_hash: configHash, events_watermark: new Date('2010-12-09T12:00:00Z') }] : [];
      if (/select max\(received_at\)/.test(sql)) return [{ max: new Date('2010-12-09T12:30:00Z') }];
      if (/select distinct v\.raw/.test(sql)) return [{ raw: '07700 900123' }, { raw: '(+44) 7700-900-123' }];
      if (/select x\.c, x\.i as ia/.test(sql)) {
        return [
          { c: 1, ia: 1, ib: 3, ta: rank('user_id'), tb: rank('email') },
          { c: 1, ia: 2, ib: 3, ta: rank('user_id'), tb: rank('email') },
        ];
      }
      if (/^select count\(\*\)/.test(sql)) {
        if (/where moved = 1/.test(sql)) return [{ n: /_first\W*\s+where/i.test(sql) ? 1 : 0 }];
        if (/having count\(\*\) > 1/.test(sql)) return [{ n: 0 }];
        const rel = countedRelation(sql);
        if (rel.endsWith('_u0')) return [{ n: 1 }];
        if (rel.endsWith('_u1')) return [{ n: 0 }];
        if (rel.endsWith('_old')) return [{ n: incremental ? 4 : 0 }];
        if (rel.endsWith('_changes')) return [{ n: 1 }];
        if (rel === 'identity_graph' || rel === 'identity_edges') return [{ n: 100 }];
        return [{ n: 5 }];
      }
      throw new Error(`identity: no canned answer for ${sql}`);
    };
  }

  const identityTables = (rel: Relation): RelationInfo | null =>
    rel.name.toLowerCase() === 'identity_edges' ? tableOf(['a', 'b', 'first_seen', 'last_seen', 'source']) : null;

  it.each([
    ['full', false],
    ['incremental', true],
  ] as const)('identity resolution, %s run', async (mode, incremental) => {
    let configHash = '';
    const wh = new RecordingWarehouse(dialect, (sql, params) => identityAnswers(incremental, configHash)(sql, params), identityTables);
    const resolver = new IdentityResolver(wh, project.identity!.plan);
    configHash = (resolver as unknown as { configHash(): string }).configHash();
    const result = await resolver.run({ now: NOW });
    expect(result.mode).toBe(mode);
    expect(result.rounds).toBe(2);
    expect(result.merges).toBe(incremental ? 1 : 0);
    const all = wh.statements.join('\n');
    // the demo's identifier types, its phone normalization and its traits reach the SQL
    for (const t of ['user_id:', 'email:', 'phone:', 'anonymous_id:']) expect(all).toContain(t);
    for (const name of ['identity_phone_numbers', 'lifetime_value', 'last_product_viewed', 'page_views_30d']) expect(all.toLowerCase()).toContain(name);
    if (incremental) {
      expect(all).toMatch(/-- begin transaction\ndelete from \S+ where component in/); // graph rows replaced in place
      expect(all).toMatch(/insert into \S+profile_merges\S*/i);
    }
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/identity.${mode}.sql`, wh.statements);
  });

  it('connected components over string ids', async () => {
    const wh = new RecordingWarehouse(dialect, (sql) => {
      if (!/^select count\(\*\)/.test(sql)) throw new Error(`components: no canned answer for ${sql}`);
      if (/where moved = 1/.test(sql)) return [{ n: /_first\W*\s+where/i.test(sql) ? 1 : 0 }];
      const rel = countedRelation(sql);
      if (rel.endsWith('_u0')) return [{ n: 1 }];
      if (rel.endsWith('_u1')) return [{ n: 0 }];
      return [{ n: 4 }];
    });
    const schema = project.identity!.plan.relation('x');
    const result = await connectedComponents(wh, { edges: { ...schema, name: 'cc_edges' }, output: { ...schema, name: 'cc_components' } });
    expect(result.rounds).toBe(2);
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/connected-components.sql`, wh.statements);
  });

  // ── sync diff ──────────────────────────────────────────────────────────────

  const PROFILE_COLUMNS = ['profile_id', 'customer_id', 'email', 'phone', 'first_name', 'last_name', 'country', 'orders', 'lifetime_value', 'last_order_at', 'last_product_viewed', 'first_seen', 'last_seen'];
  const CUSTOMER_SUMMARY_COLUMNS = ['customer_id', 'country', 'orders', 'cancellations', 'revenue', 'first_order_at', 'last_order_at'];
  const MIRROR_MODEL: SyncDefinitionInput = {
    name: 'customers_to_crm',
    source: { model: 'customer_summary' },
    primary_key: 'customer_id',
    destination: 'recorder',
    mode: 'mirror',
    mapping: { country: 'country', orders: { column: 'orders', type: 'integer' }, revenue: { column: 'revenue', type: 'number' }, last_order_at: { column: 'last_order_at', type: 'datetime' } },
  };
  const demoSync = (file: string) => parse(readFileSync(join(REPO_ROOT, 'syncs', file), 'utf8')) as SyncDefinitionInput;

  /** describe: the demo's tables, and the sync's snapshot as `snapshot` says (null: first run) */
  function syncTablesInfo(snapshot: (name: string) => RelationInfo | null) {
    return (rel: Relation): RelationInfo | null => {
      const name = rel.name.toLowerCase();
      if (name === 'profiles') return tableOf(PROFILE_COLUMNS);
      if (name === 'cart_abandoners' || name === 'high_value_customers') return tableOf(['profile_id', 'split_group']);
      if (name === 'customer_summary') return tableOf(CUSTOMER_SUMMARY_COLUMNS);
      if (/^sync_\w+_snapshot$/.test(name) || /_types$/.test(name)) return snapshot(name);
      return null;
    };
  }

  /** the diff's counts: 3 keyed source rows; with a snapshot of 3 rows, one of each change */
  function planAnswers(snapshotExists: boolean): QueryAnswer {
    return (sql) => {
      if (/count\(\*\) as total, count\(/.test(sql)) return [{ total: 4, keyed: 3 }];
      if (/as op, count\(\*\) as n/.test(sql)) {
        return snapshotExists
          ? [
              { op: 'add', n: 1, k: 1 },
              { op: 'change', n: 1, k: 1 },
              { op: 'remove', n: 1, k: 1 },
            ]
          : [{ op: 'add', n: 3, k: 3 }];
      }
      if (/count\(distinct /.test(sql)) return [{ n: 3 }];
      if (/^select count\(\*\) as n from/.test(sql)) return [{ n: 3 }];
      if (/^select \* from .* order by/.test(sql)) return [];
      throw new Error(`sync plan: no canned answer for ${sql}`);
    };
  }

  async function planSpec(wh: RecordingWarehouse, input: SyncDefinitionInput, extra: Partial<PlanSpec> = {}): Promise<PlanSpec> {
    const def = syncSchema.parse(input);
    const where = `syncs/${def.name}.yaml`;
    const source = await sourceQuery(wh, project, def.source, where);
    const mapping = compileMapping(def.mapping, source.columns, { skipNulls: engineOptions(def).skip_nulls, where });
    return { sync: def.name, where, source, primaryKey: def.primary_key, columns: mapping.columns, mode: def.mode, tables: syncTables(engineSchema({ config } as Workspace), def.name), ...extra };
  }

  const sameSnapshot = (spec: () => PlanSpec) => () => tableOf(['_cdp_key', '_cdp_hash', '_cdp_synced_at', ...spec().columns]);

  it('sync plan: a split segment as an audience, first run (no snapshot yet)', async () => {
    const wh = new RecordingWarehouse(dialect, planAnswers(false), syncTablesInfo(() => null));
    const spec = await planSpec(wh, demoSync('cart_abandoners_to_file.yaml'));
    expect(spec.mode).toBe('audience');
    const counts = await buildPlan(wh, spec);
    expect(counts).toMatchObject({ added: 3, planned: 3, nullKeys: 1 });
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/sync.plan.audience-segment.first-run.sql`, wh.statements);
  });

  it.each([
    ['mirror', 3],
    ['upsert', 2], // the removed row is not sent: the snapshot forgets it at once
    ['insert', 1], // only the added row is sent: the snapshot takes the change (update ... from) and forgets the removed row
  ] as const)('sync plan: a model in %s mode, against a snapshot', async (mode, planned) => {
    const current: { spec?: PlanSpec } = {};
    const wh = new RecordingWarehouse(dialect, planAnswers(true), syncTablesInfo(sameSnapshot(() => current.spec!)));
    const spec = (current.spec = await planSpec(wh, { ...MIRROR_MODEL, mode }));
    const counts = await buildPlan(wh, spec);
    expect(counts).toMatchObject({ added: 1, changed: 1, removed: 1, planned });
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/sync.plan.${mode}-model.sql`, wh.statements);
  });

  it('sync plan: a model in mirror mode whose mapping changed (the snapshot is rebuilt), full resync', async () => {
    const current: { spec?: PlanSpec } = {};
    const wh = new RecordingWarehouse(
      dialect,
      planAnswers(true),
      syncTablesInfo((name) =>
        name.endsWith('_types')
          ? { kind: 'table', columns: [col('_cdp_key', dialect.type('bigint')), col('_cdp_hash'), col('_cdp_synced_at', dialect.type('timestamp')), ...current.spec!.columns.map((c) => col(c))] }
          : { kind: 'table', columns: [col('_cdp_key', dialect.type('string')), col('_cdp_hash'), col('_cdp_synced_at', dialect.type('timestamp')), col('country')] },
      ),
    );
    const spec = (current.spec = await planSpec(wh, MIRROR_MODEL, { fullResync: true }));
    await buildPlan(wh, spec);
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/sync.plan.mirror-model.remapped.sql`, wh.statements);
  });

  it('sync plan: a model in insert mode, first run forward only', async () => {
    const wh = new RecordingWarehouse(dialect, planAnswers(false), syncTablesInfo(() => null));
    const spec = await planSpec(wh, { ...MIRROR_MODEL, mode: 'insert' }, { firstSync: 'forward_only' });
    const counts = await buildPlan(wh, spec);
    expect(counts.forwardOnlyStart).toBe(true);
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/sync.plan.insert-model.forward-only.sql`, wh.statements);
  });

  it('sync plan preview: a model in mirror mode', async () => {
    const current: { spec?: PlanSpec } = {};
    const wh = new RecordingWarehouse(dialect, planAnswers(true), syncTablesInfo(sameSnapshot(() => current.spec!)));
    const spec = (current.spec = await planSpec(wh, MIRROR_MODEL));
    const preview = await previewPlan(wh, spec, 2);
    expect(preview.planned).toBe(3);
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/sync.preview.mirror-model.sql`, wh.statements);
  });

  // ── sync run: checkpoints and sync_log ─────────────────────────────────────

  it('sync run: a model in mirror mode (plan, checkpoint pages, sync_log)', async () => {
    const current: { spec?: PlanSpec } = {};
    const planRows: Row[] = [
      { _cdp_seq: 1, _cdp_op: 'remove', _cdp_key: '12346', _cdp_hash: 'h1', country: 'France', orders: 2, revenue: 10.5, last_order_at: '2010-12-01 10:00:00' },
      { _cdp_seq: 2, _cdp_op: 'change', _cdp_key: '12347', _cdp_hash: 'h2', country: 'Iceland', orders: 7, revenue: 4310, last_order_at: '2010-12-07 14:57:00' },
      { _cdp_seq: 3, _cdp_op: 'add', _cdp_key: '12348', _cdp_hash: 'h3', country: 'Finland', orders: 4, revenue: 1797.24, last_order_at: '2010-12-16 19:09:00' },
    ];
    const plan = planAnswers(true);
    const wh = new RecordingWarehouse(
      dialect,
      (sql: string, params: BindValue[]) => {
        if (/^select seq from/.test(sql)) return [];
        if (/^select \* from .* where \S+ > \? and \S+ <= \? order by/.test(sql)) return planRows.filter((r) => Number(r._cdp_seq) > Number(params[0]) && Number(r._cdp_seq) <= Number(params[1]));
        return plan(sql, params);
      },
      syncTablesInfo(sameSnapshot(() => current.spec!)),
    );
    current.spec = await planSpec(wh, MIRROR_MODEL);
    wh.statements.length = 0; // the runner reads the source again
    const store = await openControlStore('sqlite::memory:', config.projectDir);
    try {
      const ws = { config, warehouse: wh, store, exclusive: <T>(job: () => Promise<T>) => job(), shared: <T>(step: () => Promise<T>) => step() } as unknown as Workspace;
      const destination = new RecordingDestination();
      const runner = new SyncRunner(ws, memoryLogger(), { sleep: () => Promise.resolve(), baseDelayMs: 1 });
      // pages of 2 rows: the first checkpoint deletes (remove, change) and inserts (change), the second inserts (add)
      const run = await runner.run(destination.target(MIRROR_MODEL, 2), project, { trigger: 'manual' });
      expect(run).toMatchObject({ status: 'succeeded', planned: 3, succeeded: 3 });
      expect(destination.opsSince(0)).toEqual(['delete:12346', 'upsert:12347', 'upsert:12348']);
    } finally {
      await store.destroy();
    }
    expect(wh.statements.filter((s) => s === '-- begin transaction')).toHaveLength(3); // the checkpoint reset, two pages
    expectDialectOnly(dialectName, wh.statements);
    expectGolden(`engine/${dialectName}/sync.run.mirror-model.sql`, wh.statements);
  });

  it('has no stale golden files', () => {
    const dir = join(GOLDEN_DIR, 'engine', dialectName);
    const onDisk = existsSync(dir) ? readdirSync(dir) : [];
    const stale = onDisk.filter((f) => !ENGINE_FILES.includes(f));
    if (UPDATE) stale.forEach((f) => rmSync(join(dir, f)));
    else expect(stale).toEqual([]);
  });
});
