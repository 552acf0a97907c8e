import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SourcesRepository } from '../../src/sources/sources.repository';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { queryAll, queryValue } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { buildOnce } from '../support/build';
import { cdp, ServedProject } from '../support/cli';
import { TempProject } from '../support/temp-project';
import { answer, type Answer, type Json, startApp } from '../support/test-app';

/**
 * File loads end to end: uploads over real HTTP (the Nest app on Fastify, DuckDB and SQLite in a
 * temp project), and `cdp load` from the built CLI, on its own and while `cdp serve` runs.
 */

const ADMIN_TOKEN = 'test-admin-token-uploads';
const PEOPLE_CSV = 'id,Full Name,signed_up\n1,"Smith, Ann",2024-01-02\n2,,2024-02-03\n3,"Cy ""the kid""",\n';
const EVENTS_NDJSON = [
  JSON.stringify({ event: 'signup', userId: 'u1', properties: { plan: 'pro' } }),
  JSON.stringify({ event: 'login', userId: 'u2', properties: { plan: 'free', seats: 2 } }),
  '',
].join('\n');

async function post(base: string, path: string, opts: { token?: string | null; contentType?: string; body?: string | Uint8Array } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? ADMIN_TOKEN}`;
  if (opts.contentType) headers['content-type'] = opts.contentType;
  return answer(await fetch(base + path, { method: 'POST', headers, body: opts.body }));
}

describe('uploads over HTTP', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let base: string;
  let ws: Workspace;
  let sourceId: string;

  const count = async (table: string) => Number(await queryValue(ws.warehouse, `select count(*) from ${ws.warehouse.dialect.relation({ schema: 'analytics', name: table })}`));
  const exists = async (table: string) => (await ws.warehouse.describe({ schema: 'analytics', name: table })) !== null;
  const leftovers = async () =>
    (await queryAll(ws.warehouse, "select table_name from information_schema.tables where table_schema = 'analytics'")).map((r) => String(r.table_name)).filter((n) => n.includes('__'));

  beforeAll(async () => {
    project = new TempProject({ 'cdp.yaml': 'name: uploads\n' });
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'error' })));
    ws = app.get(Workspace);
    sourceId = (await new SourcesRepository(ws.store).create('crm')).source.id;
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  it('a CSV upload for a source answers 201 with the rows, table and columns; the rows are in the warehouse', async () => {
    const res = await post(base, `/api/sources/${sourceId}/uploads?table=people&mode=replace`, { contentType: 'text/csv', body: PEOPLE_CSV });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      rows: 3,
      table: 'analytics.people',
      mode: 'replace',
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'full_name', type: 'string' },
        { name: 'signed_up', type: 'date' },
      ],
    });
    const rows = await queryAll(ws.warehouse, 'select id, full_name from analytics.people order by id');
    expect(rows).toEqual([
      { id: 1, full_name: 'Smith, Ann' },
      { id: 2, full_name: null },
      { id: 3, full_name: 'Cy "the kid"' },
    ]);
  });

  it('an NDJSON upload appends (default mode), creating the table; nested objects are JSON', async () => {
    for (const expected of [2, 4]) {
      const res = await post(base, `/api/sources/${sourceId}/uploads?table=events`, { contentType: 'application/x-ndjson', body: EVENTS_NDJSON });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ rows: 2, table: 'analytics.events', mode: 'append' });
      expect(res.body.columns).toContainEqual({ name: 'properties', type: 'json' });
      expect(await count('events')).toBe(expected);
    }
    const plans = await queryAll(ws.warehouse, `select distinct ${ws.warehouse.dialect.jsonValue('properties', ['plan'])} as plan from analytics.events order by plan`);
    expect(plans.map((r) => r.plan)).toEqual(['free', 'pro']);
  });

  it('a JSON file larger than the body limit of the other routes is accepted as application/json', async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ sku: `sku-${i}`, price: i / 100, note: 'x'.repeat(40) }));
    const body = JSON.stringify(items);
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const res = await post(base, '/api/loads?table=catalog&mode=replace', { contentType: 'application/json', body });
    expect(res.status).toBe(201);
    expect(res.body.rows).toBe(20_000);
    expect(await count('catalog')).toBe(20_000);
    // the JSON routes keep their limit
    const big = await post(base, '/api/models/run', { contentType: 'application/json', body: JSON.stringify({ select: ['x'], pad: 'y'.repeat(2 * 1024 * 1024) }) });
    expect(big.status).toBeGreaterThanOrEqual(400);
    expect(big.status).toBeLessThan(500);
  });

  it('a Parquet upload as application/octet-stream with format=parquet', async () => {
    const path = join(project.dir, 'items.parquet');
    const duck = await DuckDBInstance.create(':memory:');
    const c = await duck.connect();
    await c.run(`copy (select range::integer as id, 'item ' || range as name from range(5)) to '${path.replace(/'/g, "''")}' (format parquet)`);
    c.closeSync();
    duck.closeSync();
    const res = await post(base, '/api/loads?table=items&mode=replace&format=parquet', { contentType: 'application/octet-stream', body: readFileSync(path) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ rows: 5, columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'string' }] });
  });

  it('upsert by key through the API', async () => {
    const res = await post(base, `/api/sources/${sourceId}/uploads?table=people&mode=upsert&key=id`, { contentType: 'text/csv', body: 'id,full_name,signed_up\n2,Bo,2024-02-03\n4,Dee,\n' });
    expect(res.status).toBe(201);
    expect(res.body.rows).toBe(2);
    expect((await queryAll(ws.warehouse, 'select id, full_name from analytics.people order by id')).map((r) => r.full_name)).toEqual(['Smith, Ann', 'Bo', 'Cy "the kid"', 'Dee']);
  });

  it('a malformed CSV is a 400 naming the line and the problem; nothing is written', async () => {
    const body = 'id,full_name,signed_up\n5,Eve,2024-01-01\n6,"Fay,2024-01-01\n7,Gus,2024-01-01\n';
    const res = await post(base, `/api/sources/${sourceId}/uploads?table=people&mode=replace&filename=crm-export.csv`, { contentType: 'text/csv', body });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('crm-export.csv:3: column full_name: a quoted value is never closed (its closing quote is missing)');
    const tooMany = await post(base, `/api/sources/${sourceId}/uploads?table=people&mode=append`, { contentType: 'text/csv', body: 'id,full_name,signed_up\n5,Eve,2024-01-01,extra\n' });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe('upload.csv:2: expected 3 values (id, full_name, signed_up), found 4');
    expect(await count('people')).toBe(4);
    expect(await leftovers()).toEqual([]);
  });

  it('an unknown source is a 404 (and nothing is read)', async () => {
    const res = await post(base, '/api/sources/no-such-source/uploads?table=people', { contentType: 'text/csv', body: PEOPLE_CSV });
    expect(res.status).toBe(404);
    expect(res.body.message).toContain('no-such-source');
  });

  it('no token or a wrong one is a 401', async () => {
    for (const path of [`/api/sources/${sourceId}/uploads?table=people`, '/api/loads?table=people']) {
      for (const token of [null, 'wrong']) {
        const res = await post(base, path, { token, contentType: 'text/csv', body: PEOPLE_CSV });
        expect({ path, token, status: res.status }).toEqual({ path, token, status: 401 });
      }
    }
    expect(await count('people')).toBe(4);
  });

  it('bad query parameters are a 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['table=people&mode=merge', /^mode: /],
      ['mode=append', /^table: /],
      ['table=bad-name', /^table: expected name or schema\.name/],
      ['table=people&mode=upsert', /^key: mode upsert needs the key/],
      ['table=people&key=id', /^key: a key applies to mode upsert only/],
      ['table=people&format=xlsx', /^format: /],
      ['table=people&tabel=x', /^tabel: unknown query parameter/],
    ];
    for (const [query, message] of cases) {
      const res = await post(base, `/api/sources/${sourceId}/uploads?${query}`, { contentType: 'text/csv', body: PEOPLE_CSV });
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body.message).toMatch(message);
    }
  });

  it('a body whose type is unknown needs format=', async () => {
    const res = await post(base, '/api/loads?table=mystery', { contentType: 'application/octet-stream', body: PEOPLE_CSV });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^format: .*give \?format=/);
    const named = await post(base, '/api/loads?table=mystery&filename=people.csv', { contentType: 'application/octet-stream', body: PEOPLE_CSV });
    expect(named.status).toBe(201);
    expect(await exists('mystery')).toBe(true);
  });

  it('append with columns the table does not have is a 400 saying which', async () => {
    const res = await post(base, '/api/loads?table=people&mode=append', { contentType: 'text/csv', body: 'id,email\n9,a@b.c\n' });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('upload.csv: the columns do not match analytics.people (missing from the file: full_name, signed_up; not in the table: email); use --mode replace to redefine the table');
  });

  it('the routes are in the OpenAPI document with their query parameters', async () => {
    const doc = (await (await fetch(`${base}/docs/json`)).json()) as Json;
    const upload = doc.paths['/api/sources/{id}/uploads'].post;
    expect(upload.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['id', 'table', 'mode', 'key', 'format', 'filename']));
    expect(Object.keys(upload.requestBody.content)).toEqual(expect.arrayContaining(['text/csv', 'application/x-ndjson', 'application/vnd.apache.parquet']));
    expect(upload.responses['201']).toBeDefined();
    expect(doc.paths['/api/loads'].post).toBeDefined();
  });
});

// ── the CLI ─────────────────────────────────────────────────────────────────────────────────────

describe('cdp load', () => {
  let project: TempProject;
  let server: ServedProject | undefined;

  /** Rows of a table, read from the project's DuckDB file (only while no service holds it). */
  async function tableRows(sql: string): Promise<unknown[]> {
    const wh = await DuckDbWarehouse.open({ path: join(project.dir, '.cdp', 'warehouse.duckdb') });
    try {
      return await queryAll(wh, sql);
    } finally {
      await wh.close();
    }
  }

  beforeAll(() => {
    buildOnce();
    project = new TempProject({ 'cdp.yaml': 'name: cli_loads\n', 'data/people.csv': PEOPLE_CSV, 'data/events.ndjson': EVENTS_NDJSON });
  }, 120000);

  afterAll(() => {
    server?.kill();
    project?.cleanup();
  });

  it('loads a file into the warehouse and prints the rows and the table', async () => {
    const { code, stdout, stderr } = await cdp(['load', 'data/people.csv', '--table', 'people', '--mode', 'replace'], { cwd: project.dir });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('loaded 3 rows into analytics.people (replace)\ncolumns: id integer, full_name string, signed_up date\n');
    expect(await tableRows('select id, full_name from analytics.people order by id')).toEqual([
      { id: 1, full_name: 'Smith, Ann' },
      { id: 2, full_name: null },
      { id: 3, full_name: 'Cy "the kid"' },
    ]);
  });

  it('a malformed file exits 1 naming file:line; the table is unchanged', async () => {
    writeFileSync(join(project.dir, 'data', 'bad.csv'), 'id,full_name,signed_up\n7,Gus,2024-01-01\n8,Hal\n');
    const { code, stdout, stderr } = await cdp(['load', 'data/bad.csv', '--table', 'people', '--mode', 'replace'], { cwd: project.dir });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('error: data/bad.csv:3: expected 3 values (id, full_name, signed_up), found 2\n');
    expect(await tableRows('select count(*) as n from analytics.people')).toEqual([{ n: 3 }]);
  });

  it('bad options are errors before anything is read', async () => {
    const upsert = await cdp(['load', 'data/people.csv', '--table', 'people', '--mode', 'upsert'], { cwd: project.dir });
    expect(upsert.code).toBe(1);
    expect(upsert.stderr).toContain('--key: mode upsert needs the key column(s)');
    const mode = await cdp(['load', 'data/people.csv', '--table', 'people', '--mode', 'merge'], { cwd: project.dir });
    expect(mode.code).not.toBe(0);
    expect(mode.stderr).toMatch(/--mode.*merge.*invalid/i);
    const table = await cdp(['load', 'data/people.csv', '--table', 'drop table;'], { cwd: project.dir });
    expect(table.code).toBe(1);
    expect(table.stderr).toContain('--table: expected name or schema.name');
    const missing = await cdp(['load', 'data/nope.csv', '--table', 'people'], { cwd: project.dir });
    expect(missing.stderr).toBe('error: data/nope.csv: no such file\n');
  });

  it('while `cdp serve` runs, the file goes to the service (no DuckDB lock error)', async () => {
    server = new ServedProject(project.dir);
    const service = await server.ready();

    const loaded = await cdp(['load', 'data/events.ndjson', '--table', 'raw.events'], { cwd: project.dir });
    expect(loaded.stderr).toBe('');
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toContain(`the service is running (pid ${service.pid}, ${service.url}); sending the load to it`);
    expect(loaded.stdout).toContain('loaded 2 rows into raw.events (append)');
    expect(loaded.stdout).not.toMatch(/lock/i);

    // a file error from the service names the file as the user gave it
    const bad = await cdp(['load', 'data/bad.csv', '--table', 'people', '--mode', 'replace'], { cwd: project.dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: data/bad.csv:3: expected 3 values (id, full_name, signed_up), found 2\n');

    await server.stop('SIGTERM');
    expect(await tableRows('select count(*) as n from raw.events')).toEqual([{ n: 2 }]);
    expect(await tableRows('select count(*) as n from analytics.people')).toEqual([{ n: 3 }]);
  });
});
