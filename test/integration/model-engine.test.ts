import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ModelEngine } from '../../src/models/model-engine';
import type { JobEvent, JobResult, NodeResult } from '../../src/models/job-events';
import { openControlStore } from '../../src/store/control-store';
import { queryAll, queryValue, type Row } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { DEMO_EVENT_TESTS, DEMO_IDENTITY, DEMO_MODELS, DEMO_SEEDS, DEMO_SEGMENTS, DEMO_TEST_COUNT } from '../support/demo';
import { TempProject } from '../support/temp-project';

/**
 * The model engine against real warehouses: every case runs on DuckDB (a file in the temp project)
 * and on PostgreSQL (a fresh schema per case). The control store is the default SQLite file in the
 * temp project, except in the last suite, which runs it on PostgreSQL.
 */
interface Target {
  name: 'duckdb' | 'postgres';
  available(): Promise<boolean>;
  env(schema: string): NodeJS.ProcessEnv;
}

const targets: Target[] = [
  { name: 'duckdb', available: async () => true, env: (schema) => ({ CDP_WAREHOUSE_SCHEMA: schema }) },
  { name: 'postgres', available: requirePostgres, env: (schema) => ({ CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: schema }) },
];

interface Ctx {
  p: TempProject;
  ws: Workspace;
  engine: ModelEngine;
  schema: string;
  /** the quoted relation of a node in the model schema */
  rel(name: string): string;
  rows(sql: string): Promise<Row[]>;
  value(sql: string): Promise<unknown>;
}

type Files = Record<string, string> | ((schema: string) => Record<string, string>);

const byNode = (job: JobResult) => new Map(job.results.map((r) => [r.node, r]));
const statuses = (job: JobResult) => Object.fromEntries(job.results.map((r) => [r.node, r.status]));

describe.each(targets)('model engine on $name', (target) => {
  let ok = false;
  const opened: { p: TempProject; ws?: Workspace; schema: string }[] = [];
  /** other schemas a test created on PostgreSQL (an ingest schema of its own) */
  const schemas: string[] = [];

  beforeAll(async () => {
    ok = await target.available();
  });

  afterEach(async () => {
    for (const { p, ws, schema } of opened.splice(0)) {
      await ws?.close();
      p.cleanup();
      if (target.name === 'postgres') await dropSchema(schema);
    }
    for (const schema of schemas.splice(0)) await dropSchema(schema);
  });

  const test = (name: string, fn: () => Promise<void>, timeout?: number) =>
    it(
      name,
      async () => {
        if (!ok) return;
        await fn();
      },
      timeout,
    );

  async function open(p: TempProject, schema: string): Promise<Ctx> {
    const entry: (typeof opened)[number] = { p, schema };
    opened.push(entry);
    const ws = await Workspace.open(p.config(target.env(schema)));
    entry.ws = ws;
    const d = ws.warehouse.dialect;
    return {
      p,
      ws,
      engine: new ModelEngine(ws),
      schema,
      rel: (name) => d.relation({ schema, name }),
      rows: (sql) => queryAll(ws.warehouse, sql),
      value: (sql) => queryValue(ws.warehouse, sql),
    };
  }

  function project(files: Files): Promise<Ctx> {
    const schema = uniqueSchema('cdp_me');
    const p = new TempProject({ 'cdp.yaml': 'name: engine_test\nwarehouse: { type: duckdb }\n', ...(typeof files === 'function' ? files(schema) : files) });
    return open(p, schema);
  }

  const compiledDir = () => `target/compiled/${target.name}/models`;

  test('runs models parents-before-children; a failing parent skips its children only', async () => {
    // names whose alphabetical order is the reverse of the DAG's
    const c = await project({
      'models/z_base.sql': `select 1 as id, 'a' as label union all select 2, 'b'`,
      'models/m_mid.sql': `select id, label from {{ref "z_base"}} where id > 0`,
      'models/a_top.sql': `select count(*) as n from {{ref "m_mid"}}`,
      'models/b_other.sql': 'select 42 as answer',
    });
    const events: JobEvent[] = [];
    const first = await c.engine.run({ onEvent: (e) => events.push(e) });
    expect(first.status).toBe('success');
    const order = first.results.map((r) => r.node);
    expect(order).toHaveLength(4);
    expect(order.indexOf('z_base')).toBeLessThan(order.indexOf('m_mid'));
    expect(order.indexOf('m_mid')).toBeLessThan(order.indexOf('a_top'));
    expect(first.results.every((r) => r.status === 'success' && r.what === 'view')).toBe(true);
    expect(await c.value(`select n from ${c.rel('a_top')}`)).toBe(2);
    // a start and a done event per node, in the same order
    expect(events.filter((e) => e.type === 'done').map((e) => e.node)).toEqual(order);
    expect(events.filter((e) => e.type === 'start').map((e) => e.node)).toEqual(order);

    // selection: m_mid and what depends on it
    const selected = await c.engine.run({ select: ['m_mid+'] });
    expect(selected.results.map((r) => r.node)).toEqual(['m_mid', 'a_top']);

    c.p.write({ 'models/z_base.sql': 'select no_such_column from (select 1 as id) as x' });
    const second = await c.engine.run();
    expect(second.status).toBe('error');
    expect(statuses(second)).toEqual({ z_base: 'error', m_mid: 'skipped', a_top: 'skipped', b_other: 'success' });
    const r = byNode(second);
    expect(r.get('m_mid')?.error).toBe('skipped because z_base failed');
    expect(r.get('a_top')?.error).toBe('skipped because m_mid failed');
    expect(await c.value(`select answer from ${c.rel('b_other')}`)).toBe(42);
  });

  test('view, table and incremental materializations; a model switches from view to table and back', async () => {
    const c = await project({
      'models/base_t.sql': 'select 1 as id union all select 2 union all select 3',
      'models/ten_x.sql': `select id * 10 as x from {{ref "base_t"}}`,
      'models/inc.sql': `select id, id * 100 as y from {{ref "base_t"}}`,
      'models/models.yml': `models:
  - { name: base_t, config: { materialized: table } }
  - { name: ten_x, config: { materialized: view } }
  - { name: inc, config: { materialized: incremental, unique_key: id } }
`,
    });
    const first = await c.engine.run();
    expect(first.status).toBe('success');
    expect(first.results.map((r) => [r.node, r.what, r.rows])).toEqual([
      ['base_t', 'table', 3],
      ['inc', 'incremental', 3],
      ['ten_x', 'view', null],
    ]);
    const kind = async (name: string) => (await c.ws.warehouse.describe({ schema: c.schema, name }))?.kind;
    expect(await kind('base_t')).toBe('table');
    expect(await kind('ten_x')).toBe('view');
    expect(await kind('inc')).toBe('table');
    expect((await c.rows(`select x from ${c.rel('ten_x')} order by x`)).map((r) => r.x)).toEqual([10, 20, 30]);

    c.p.write({ 'models/models.yml': readFileSync(join(c.p.dir, 'models/models.yml'), 'utf8').replace('name: ten_x, config: { materialized: view }', 'name: ten_x, config: { materialized: table }') });
    const asTable = await c.engine.run({ select: ['ten_x'] });
    expect(asTable.results).toEqual([expect.objectContaining({ node: 'ten_x', what: 'table', status: 'success', rows: 3 })]);
    expect(await kind('ten_x')).toBe('table');
    expect((await c.rows(`select x from ${c.rel('ten_x')} order by x`)).map((r) => r.x)).toEqual([10, 20, 30]);

    c.p.write({ 'models/models.yml': readFileSync(join(c.p.dir, 'models/models.yml'), 'utf8').replace('name: ten_x, config: { materialized: table }', 'name: ten_x, config: { materialized: view }') });
    expect(statuses(await c.engine.run({ select: ['ten_x'] }))).toEqual({ ten_x: 'success' });
    expect(await kind('ten_x')).toBe('view');
    expect(await c.value(`select count(*) as n from ${c.rel('ten_x')}`)).toBe(3);
  });

  test('incremental models merge new and changed rows by unique_key; fullRefresh rebuilds', async () => {
    const c = await project((schema) => ({
      'models/sources.yml': `sources:\n  - { name: raw, schema: ${schema}, tables: [{ name: events }] }\n`,
      'models/events_inc.sql': `select id, amount, version from {{source "raw" "events"}}
{{#if (is_incremental)}}
where version > (select max(version) from {{this}})
{{/if}}`,
      // no unique_key: new rows are appended
      'models/events_log.sql': `select id, amount, version from {{source "raw" "events"}}
{{#if (is_incremental)}}
where version > (select max(version) from {{this}})
{{/if}}`,
      'models/models.yml': `models:
  - { name: events_inc, config: { materialized: incremental, unique_key: id } }
  - { name: events_log, config: { materialized: incremental } }
`,
    }));
    const wh = c.ws.warehouse;
    const source = c.rel('events');
    await wh.ensureSchema(c.schema);
    await wh.execute(`create table ${source} (id integer, amount integer, version integer)`);
    await wh.execute(`insert into ${source} values (1, 10, 1), (2, 20, 1), (3, 30, 1)`);

    const first = await c.engine.run();
    expect(first.status).toBe('success');
    expect(first.results.map((r) => [r.node, r.rows])).toEqual([
      ['events_inc', 3],
      ['events_log', 3],
    ]);
    const compiled = join(c.p.dir, compiledDir(), 'events_inc.sql');
    expect(readFileSync(compiled, 'utf8')).not.toMatch(/where version >/);

    // two new rows, one changed row, and a row deleted at the source
    await wh.execute(`insert into ${source} values (4, 40, 2), (5, 50, 2)`);
    await wh.execute(`update ${source} set amount = 99, version = 2 where id = 2`);
    await wh.execute(`delete from ${source} where id = 1`);

    const second = await c.engine.run();
    expect(second.status).toBe('success');
    // merged: 2 new + 1 changed; appended: the 3 rows of version 2
    expect(second.results.map((r) => [r.node, r.rows])).toEqual([
      ['events_inc', 3],
      ['events_log', 3],
    ]);
    expect(readFileSync(compiled, 'utf8')).toMatch(new RegExp(`where version > \\(select max\\(version\\) from ${c.rel('events_inc').replace(/[."]/g, '\\$&')}\\)`));
    // id 1 is still there (an incremental run does not rebuild), id 2 is updated in place, no duplicates
    expect(await c.rows(`select id, amount, version from ${c.rel('events_inc')} order by id`)).toEqual([
      { id: 1, amount: 10, version: 1 },
      { id: 2, amount: 99, version: 2 },
      { id: 3, amount: 30, version: 1 },
      { id: 4, amount: 40, version: 2 },
      { id: 5, amount: 50, version: 2 },
    ]);
    expect(await c.value(`select count(*) - count(distinct id) as dupes from ${c.rel('events_inc')}`)).toBe(0);
    // without a unique_key the changed row is appended as a second version
    expect(await c.rows(`select id, amount from ${c.rel('events_log')} where id = 2 order by version`)).toEqual([
      { id: 2, amount: 20 },
      { id: 2, amount: 99 },
    ]);
    expect(await c.value(`select count(*) as n from ${c.rel('events_log')}`)).toBe(6);

    // nothing new: nothing merged, nothing changes
    const third = await c.engine.run({ select: ['events_inc'] });
    expect(third.results[0]).toMatchObject({ status: 'success', rows: 0 });
    expect(await c.value(`select count(*) as n from ${c.rel('events_inc')}`)).toBe(5);

    const refreshed = await c.engine.run({ fullRefresh: true });
    expect(refreshed.status).toBe('success');
    expect(refreshed.results.map((r) => [r.node, r.rows])).toEqual([
      ['events_inc', 4],
      ['events_log', 4],
    ]);
    expect(readFileSync(compiled, 'utf8')).not.toMatch(/where version >/);
    for (const model of ['events_inc', 'events_log']) {
      expect(await c.rows(`select id, amount from ${c.rel(model)} order by id`)).toEqual([
        { id: 2, amount: 99 },
        { id: 3, amount: 30 },
        { id: 4, amount: 40 },
        { id: 5, amount: 50 },
      ]);
    }
  });

  test('data tests pass on good data and fail with the right counts when it breaks', async () => {
    const c = await project({
      'seeds/customers.csv': 'id,status\n1,active\n2,churned\n3,active\n',
      'seeds/orders.csv': 'id,customer_id\n10,1\n11,2\n12,3\n13,\n',
      'models/dim_customers.sql': `select id, status from {{ref "customers"}}`,
      'models/fct_orders.sql': `select id as order_id, customer_id from {{ref "orders"}}`,
      'models/models.yml': `models:
  - name: dim_customers
    config: { materialized: table }
    columns:
      - { name: id, tests: [unique, not_null] }
      - { name: status, tests: [{ accepted_values: { values: [active, churned] } }] }
  - name: fct_orders
    columns:
      - { name: customer_id, tests: [{ relationships: { to: dim_customers, field: id } }] }
`,
    });
    const tests = ['unique_dim_customers_id', 'not_null_dim_customers_id', 'accepted_values_dim_customers_status', 'relationships_fct_orders_customer_id__dim_customers_id'];

    const good = await c.engine.build();
    expect(good.status).toBe('success');
    expect(statuses(good)).toEqual({
      customers: 'success',
      orders: 'success',
      dim_customers: 'success',
      fct_orders: 'success',
      ...Object.fromEntries(tests.map((t) => [t, 'pass'])),
    });
    expect(good.results.filter((r) => r.kind === 'test').map((r) => [r.node, r.failures]).sort()).toEqual(tests.map((t) => [t, 0]).sort());

    c.p.write({
      // ids 2 and 3 twice, one empty id; statuses bogus (twice) and weird
      'seeds/customers.csv': 'id,status\n1,active\n2,churned\n2,active\n3,bogus\n3,weird\n,active\n4,bogus\n',
      // customers 9 (twice) and 8 do not exist; an empty customer_id is not a broken relationship
      'seeds/orders.csv': 'id,customer_id\n10,1\n11,9\n12,9\n13,8\n14,\n',
    });
    const bad = await c.engine.build();
    expect(bad.status).toBe('error');
    const r = byNode(bad);
    const failures = (t: string) => [r.get(t)?.status, r.get(t)?.failures];
    expect(failures('unique_dim_customers_id')).toEqual(['fail', 2]);
    expect(failures('not_null_dim_customers_id')).toEqual(['fail', 1]);
    expect(failures('accepted_values_dim_customers_status')).toEqual(['fail', 2]);
    expect(failures('relationships_fct_orders_customer_id__dim_customers_id')).toEqual(['fail', 3]);
    expect(r.get('relationships_fct_orders_customer_id__dim_customers_id')?.error).toMatch(
      new RegExp(`3 failing rows \\(see .*target/compiled/${target.name}/tests/relationships_fct_orders_customer_id__dim_customers_id\\.sql\\)`),
    );
    expect(r.get('not_null_dim_customers_id')?.error).toMatch(/1 failing row \(/);

    // only the tests: same verdicts, and every test run is recorded with its failures
    const testOnly = await c.engine.test();
    expect(testOnly.results.map((x) => [x.node, x.status, x.failures]).sort()).toEqual(
      [
        ['accepted_values_dim_customers_status', 'fail', 2],
        ['not_null_dim_customers_id', 'fail', 1],
        ['relationships_fct_orders_customer_id__dim_customers_id', 'fail', 3],
        ['unique_dim_customers_id', 'fail', 2],
      ].sort(),
    );
    const recorded = await c.ws.store('test_runs').where({ invocation_id: testOnly.invocationId }).orderBy('test');
    expect(recorded.map((x: { test: string; status: string; failures: unknown }) => [x.test, x.status, Number(x.failures)])).toEqual([
      ['accepted_values_dim_customers_status', 'fail', 2],
      ['not_null_dim_customers_id', 'fail', 1],
      ['relationships_fct_orders_customer_id__dim_customers_id', 'fail', 3],
      ['unique_dim_customers_id', 'fail', 2],
    ]);
  });

  test('a SQL error names the model and its compiled file', async () => {
    const c = await project({
      'models/staging/ok.sql': 'select 1 as id',
      'models/staging/broken.sql': `select no_such_column from {{ref "ok"}}`,
    });
    const job = await c.engine.run();
    expect(job.status).toBe('error');
    const broken = byNode(job).get('broken') as NodeResult;
    expect(broken.status).toBe('error');
    expect(broken.compiledPath).toBe(`${compiledDir()}/staging/broken.sql`);
    expect(broken.error).toContain('model broken failed');
    expect(broken.error).toContain(`${compiledDir()}/staging/broken.sql`);
    expect(broken.error).toMatch(/no_such_column/);
    // the compiled file is there to read, with the ref resolved
    const compiled = readFileSync(join(c.p.dir, broken.compiledPath!), 'utf8');
    expect(compiled).toContain(`select no_such_column from ${c.rel('ok')}`);
    expect(byNode(job).get('ok')?.status).toBe('success');
  });

  test('a template error names the model file and runs nothing', async () => {
    const c = await project({ 'models/bad_ref.sql': `select * from {{ref "nope"}}`, 'models/fine.sql': 'select 1 as x' });
    await expect(c.engine.run()).rejects.toThrow(/models\/bad_ref\.sql: ref "nope" is not a model, seed or segment/);
    expect(await c.ws.warehouse.describe({ schema: c.schema, name: 'fine' })).toBeNull();
  });

  test('every node run is recorded in the control store', async () => {
    const c = await project({
      'models/t.sql': 'select 1 as id union all select 2 union all select 3',
      'models/v.sql': `select id from {{ref "t"}}`,
      'models/bad.sql': 'select * from no_such_table_anywhere',
      'models/after_bad.sql': `select * from {{ref "bad"}}`,
      'models/models.yml': 'models:\n  - { name: t, config: { materialized: table } }\n',
    });
    const job = await c.engine.run();
    const runs = (await c.ws.store('model_runs').where({ invocation_id: job.invocationId }).orderBy('id')) as Record<string, unknown>[];
    expect(runs.map((r) => r.node)).toEqual(job.results.map((r) => r.node));
    const run = (node: string) => runs.find((r) => r.node === node)!;
    expect(run('t')).toMatchObject({ node_type: 'model', materialization: 'table', status: 'success', error: null, compiled_path: `${compiledDir()}/t.sql` });
    expect(Number(run('t').rows)).toBe(3);
    expect(run('v')).toMatchObject({ materialization: 'view', status: 'success', rows: null });
    expect(run('bad')).toMatchObject({ status: 'error', rows: null });
    expect(String(run('bad').error)).toMatch(/model bad failed/);
    expect(run('after_bad')).toMatchObject({ status: 'skipped', error: 'skipped because bad failed', duration_ms: 0 });
    for (const r of runs) {
      expect(typeof r.duration_ms).toBe('number');
      expect(r.duration_ms as number).toBeGreaterThanOrEqual(0);
      expect(r.started_at).toBeTruthy();
    }
    const invocation = await c.ws.store('invocations').where({ id: job.invocationId }).first();
    expect(invocation).toMatchObject({ command: 'run', status: 'error', triggered_by: 'cli' });
    expect(invocation.finished_at).toBeTruthy();

    // history accumulates; the API's views of it
    await c.engine.run({ select: ['t'] });
    expect((await c.engine.runsOf('t')).map((r) => [r.status, r.rows])).toEqual([
      ['success', 3],
      ['success', 3],
    ]);
    const last = await c.engine.lastRuns(['t', 'bad', 'never_ran']);
    expect(last.get('t')?.rows).toBe(3);
    expect(last.get('bad')?.status).toBe('error');
    expect(last.has('never_ran')).toBe(false);
  });

  test('seeds: snake_cased columns, folder lineage, and a malformed row leaves the table intact', async () => {
    const c = await project({
      'seeds/people.csv': `PersonID,First Name,lastName,HTTPStatus\n1,Ann,O'Brien,200\n2,Bob,"Smith, Jr",404\n3,,Lee,\n`,
      'seeds/people.yml': 'seeds:\n  - { name: people, config: { column_types: { person_id: integer } } }\n',
      'seeds/events/a.csv': 'Event,Value\nclick,1\nview,2\n',
      'seeds/events/b.csv': 'Event,Value\nclick,3\nbuy,4\nview,5\n',
      'seeds/events/notes.txt': 'not a csv; ignored',
    });
    const job = await c.engine.seed();
    expect(job.status).toBe('success');
    expect(job.results.map((r) => [r.node, r.what, r.status, r.rows])).toEqual([
      ['events', 'seed', 'success', 5],
      ['people', 'seed', 'success', 3],
    ]);

    const people = await c.ws.warehouse.describe({ schema: c.schema, name: 'people' });
    expect(people?.columns.map((col) => col.name)).toEqual(['person_id', 'first_name', 'last_name', 'http_status']);
    expect(people?.columns[0].type.toLowerCase()).toMatch(/int/);
    expect(await c.rows(`select person_id, first_name, last_name, http_status from ${c.rel('people')} order by person_id`)).toEqual([
      { person_id: 1, first_name: 'Ann', last_name: "O'Brien", http_status: '200' },
      { person_id: 2, first_name: 'Bob', last_name: 'Smith, Jr', http_status: '404' },
      { person_id: 3, first_name: null, last_name: 'Lee', http_status: null },
    ]);

    expect(await c.rows(`select event, value, _file, _line from ${c.rel('events')} order by _file, _line`)).toEqual([
      { event: 'click', value: '1', _file: 'a.csv', _line: 1 },
      { event: 'view', value: '2', _file: 'a.csv', _line: 2 },
      { event: 'click', value: '3', _file: 'b.csv', _line: 1 },
      { event: 'buy', value: '4', _file: 'b.csv', _line: 2 },
      { event: 'view', value: '5', _file: 'b.csv', _line: 3 },
    ]);

    // line 4 has a value missing
    c.p.write({ 'seeds/people.csv': 'PersonID,First Name,lastName,HTTPStatus\n7,Zed,Zee,500\n8,Yan,Yu,501\n9,Xi\n10,Wu,Wo,502\n' });
    const bad = await c.engine.seed({ select: ['people'] });
    expect(bad.status).toBe('error');
    expect(bad.results[0].status).toBe('error');
    expect(bad.results[0].error).toContain('seed people failed');
    expect(bad.results[0].error).toContain('seeds/people.csv:4');
    expect(await c.rows(`select person_id, first_name from ${c.rel('people')} order by person_id`)).toEqual([
      { person_id: 1, first_name: 'Ann' },
      { person_id: 2, first_name: 'Bob' },
      { person_id: 3, first_name: null },
    ]);
    expect(await c.ws.warehouse.describe({ schema: c.schema, name: 'people__seed' })).toBeNull();

    // a bad row in the second file of a folder seed: the whole seed is rejected
    c.p.write({ 'seeds/events/b.csv': 'Event,Value\nclick,3\nbuy,4,extra\n' });
    const badFolder = await c.engine.seed({ select: ['events'] });
    expect(badFolder.results[0].status).toBe('error');
    expect(badFolder.results[0].error).toContain('seeds/events/b.csv:3');
    expect(await c.value(`select count(*) as n from ${c.rel('events')}`)).toBe(5);

    // a good file again replaces the rows
    c.p.write({ 'seeds/people.csv': 'PersonID,First Name,lastName,HTTPStatus\n7,Zed,Zee,500\n' });
    expect((await c.engine.seed({ select: ['people'] })).results[0]).toMatchObject({ status: 'success', rows: 1 });
    expect(await c.rows(`select person_id, first_name from ${c.rel('people')}`)).toEqual([{ person_id: 7, first_name: 'Zed' }]);
  });

  test(
    'the demo project builds end to end',
    async () => {
      const schema = uniqueSchema('cdp_demo');
      // raw_events and the identity tables in a schema of this run's own: on PostgreSQL the default
      // (cdp) is shared, and identity resolution would read other runs' events and profiles
      const ingest = `${schema}_cdp`;
      const demo = TempProject.demo();
      demo.write({ 'cdp.yaml': `${readFileSync(join(demo.dir, 'cdp.yaml'), 'utf8')}\ningest: { schema: ${ingest} }\n` });
      if (target.name === 'postgres') schemas.push(ingest);
      const c = await open(demo, schema);
      const job = await c.engine.build();
      const notOk = job.results.filter((r) => r.status !== 'success' && r.status !== 'pass');
      expect(notOk).toEqual([]);
      expect(job.status).toBe('success');
      // seeds, models and tests all ran
      expect(job.results.filter((r) => r.kind === 'seed').map((r) => r.node)).toEqual(DEMO_SEEDS);
      expect(job.results.filter((r) => r.kind === 'model').map((r) => r.node).sort()).toEqual([...DEMO_MODELS].sort());
      // 22 data tests on the retail models and seed, 12 on the event staging models, 8 on the web events, 17 on the profile models
      const tests = job.results.filter((r) => r.kind === 'test');
      expect(tests).toHaveLength(DEMO_TEST_COUNT);
      expect(tests.filter((r) => /_stg_(events|tracks|identifies|pages)_/.test(r.node)).map((r) => r.node)).toEqual(DEMO_EVENT_TESTS);
      expect(job.results.filter((r) => r.kind === 'segment').map((r) => r.node)).toEqual(DEMO_SEGMENTS);
      expect(job.results).toHaveLength(DEMO_SEEDS.length + DEMO_MODELS.length + 1 + DEMO_SEGMENTS.length + DEMO_TEST_COUNT);
      expect(byNode(job).get('customer_summary')?.rows).toBe(948);
      expect(await c.value(`select count(*) as n from ${c.rel('customer_summary')}`)).toBe(948);
      expect(byNode(job).get('online_retail')?.rows).toBe(42481);
      expect(byNode(job).get('web_events')?.rows).toBe(26440);
      // identity resolution: 948 customers, and the guests, newsletter leads and anonymous visitors of the web events
      expect(byNode(job).get(DEMO_IDENTITY)).toMatchObject({ kind: 'identity', status: 'success', rows: 1575 });
      expect(byNode(job).get('profile_churn_risk')?.rows).toBe(948);
      expect(byNode(job).get('profile_rfm')?.rows).toBe(885);
      // the event models build with no event ever sent: Workspace.open created raw_events
      expect(await c.ws.warehouse.describe({ schema: ingest, name: 'raw_events' })).not.toBeNull();
      for (const name of ['stg_events', 'stg_tracks', 'stg_identifies', 'stg_pages']) {
        expect(byNode(job).get(name)).toMatchObject({ kind: 'model', status: 'success' });
        expect(await c.value(`select count(*) as n from ${c.rel(name)}`)).toBe(0);
      }
    },
    90_000,
  );
});

describe('control store on PostgreSQL', () => {
  let ok = false;
  const database = `cdp_cs_${randomBytes(4).toString('hex')}`;
  let url: string;
  const projects: TempProject[] = [];

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    ok = await requirePostgres();
    if (!ok) return;
    await admin((c) => c.query(`create database "${database}"`));
    const u = new URL(POSTGRES_URL);
    u.pathname = `/${database}`;
    url = u.toString();
  });

  afterAll(async () => {
    for (const p of projects) p.cleanup();
    if (ok) await admin((c) => c.query(`drop database if exists "${database}" with (force)`));
  });

  it('runs its migrations on a fresh database, once', async () => {
    if (!ok) return;
    const p = new TempProject();
    projects.push(p);
    const store = await openControlStore(url, p.dir);
    try {
      for (const table of ['invocations', 'model_runs', 'test_runs', 'api_tokens', 'sources', 'segments', 'destinations', 'syncs', 'sync_runs', 'sync_row_errors', 'sync_locks', 'cdp_migrations']) {
        expect(await store.schema.hasTable(table)).toBe(true);
      }
      expect((await store('cdp_migrations').select('name').orderBy('name')).map((r: { name: string }) => r.name)).toEqual(['001_model_runs_and_tokens', '002_sources', '003_segments', '004_destinations_and_syncs']);
    } finally {
      await store.destroy();
    }
    // opening again applies nothing twice
    const again = await openControlStore(url, p.dir);
    try {
      expect(await again('cdp_migrations').count({ n: '*' }).first()).toEqual({ n: '4' });
    } finally {
      await again.destroy();
    }
    // and nothing was written to the SQLite default
    expect(existsSync(join(p.dir, '.cdp', 'control.sqlite'))).toBe(false);
  });

  it('records the runs of a DuckDB project', async () => {
    if (!ok) return;
    const p = new TempProject({
      'cdp.yaml': 'name: cs_test\n',
      'models/t.sql': 'select 1 as id union all select 2',
      'models/models.yml': 'models:\n  - { name: t, config: { materialized: table } }\n',
    });
    projects.push(p);
    const ws = await Workspace.open(p.config({ CDP_CONTROL_STORE_URL: url }));
    try {
      const engine = new ModelEngine(ws);
      const job = await engine.run();
      expect(job.status).toBe('success');
      const runs = await ws.store('model_runs').where({ invocation_id: job.invocationId });
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ node: 't', status: 'success', materialization: 'table' });
      expect(Number(runs[0].rows)).toBe(2);
      expect((await engine.lastRuns(['t'])).get('t')).toMatchObject({ status: 'success', rows: 2 });
      expect(await ws.store('invocations').where({ id: job.invocationId }).first()).toMatchObject({ status: 'success', command: 'run' });
    } finally {
      await ws.close();
    }
  });
});
