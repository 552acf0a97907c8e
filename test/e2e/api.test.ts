import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hashToken } from '../../src/auth/admin-token';
import { Workspace } from '../../src/workspace/workspace';
import { DEMO_IDENTITY, DEMO_MODELS, DEMO_SEEDS, DEMO_SEGMENTS, DEMO_TEST_COUNT } from '../support/demo';
import { TempProject } from '../support/temp-project';
import { answer, type Answer, type Json, startApp } from '../support/test-app';

/** End to end over real HTTP: the Nest app on Fastify, DuckDB and SQLite in a temp project folder. */

const ADMIN_TOKEN = 'test-admin-token';
/** Any id: the admin guard answers before the route looks the source up. */
const SOURCE_ID = '00000000-0000-4000-8000-000000000000';

function client(base: string) {
  return async function call<T = Json>(method: string, path: string, opts: { token?: string | null; body?: unknown; rawBody?: string } = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    return answer<T>(await fetch(base + path, { method, headers, body }));
  };
}

/** Starts an app while capturing what it writes to stdout (the first-start token banner goes there). */
async function startCapturingStdout(config: ReturnType<TempProject['config']>): Promise<{ app: NestFastifyApplication; base: string; stdout: string }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    const { app, base } = await startApp(config);
    return { app, base, stdout: chunks.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('HTTP API with CDP_ADMIN_TOKEN', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let base: string;
  let api: ReturnType<typeof client>;
  let build: Answer;

  beforeAll(async () => {
    project = TempProject.demo();
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'warn' })));
    api = client(base);
    build = await api('POST', '/api/models/build', { token: ADMIN_TOKEN, body: {} });
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  describe('GET /health', () => {
    it('is public and reports the warehouse and the control store ok', async () => {
      const res = await api('GET', '/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', warehouse: { type: 'duckdb', ok: true }, controlStore: { ok: true } });
      expect(typeof res.body.warehouse.latencyMs).toBe('number');
    });
  });

  describe('authentication', () => {
    const routes: [string, string][] = [
      ['GET', '/api/models'],
      ['GET', '/api/models/customer_summary'],
      ['POST', '/api/models/run'],
      ['POST', '/api/models/test'],
      ['POST', '/api/models/build'],
      ['POST', '/api/models/compile'],
      ['POST', '/api/models/stg_orders/run'],
      ['GET', '/api/seeds'],
      ['POST', '/api/seeds/run'],
      ['GET', '/api/sources'],
      ['POST', '/api/sources'],
      ['GET', `/api/sources/${SOURCE_ID}`],
      ['POST', `/api/sources/${SOURCE_ID}/write-key`],
      ['DELETE', `/api/sources/${SOURCE_ID}`],
    ];

    it.each(routes)('%s %s answers 401 without a token and with a wrong one, with www-authenticate', async (method, path) => {
      const body = method === 'POST' ? {} : undefined;
      for (const token of [null, 'wrong-token']) {
        const res = await api(method, path, { token, body });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(res.body.message).toEqual(expect.any(String));
      }
    });

    it('rejects a malformed Authorization header (not Bearer)', async () => {
      const res = await fetch(`${base}/api/models`, {
        headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('guards every /api route of the OpenAPI document', async () => {
      const doc = (await api('GET', '/docs/json')).body as { paths: Record<string, Record<string, unknown>> };
      // the tracking API (/v1) takes a source's write key, not the admin token: it is not checked here
      const apiRoutes = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/api/'))
        .flatMap(([path, ops]) =>
          Object.keys(ops).map((m) => [m.toUpperCase(), path.replace('{name}', 'customer_summary').replace('{id}', SOURCE_ID)] as const),
        );
      expect(apiRoutes.length).toBeGreaterThanOrEqual(routes.length);
      const sorted = (rows: (readonly [string, string])[]) => [...rows].sort((x, y) => `${x[1]} ${x[0]}`.localeCompare(`${y[1]} ${y[0]}`));
      expect(sorted(apiRoutes.filter(([, path]) => path.startsWith('/api/sources') || path.startsWith('/api/loads')))).toEqual(
        sorted([
          ['GET', '/api/sources'],
          ['POST', '/api/sources'],
          ['GET', `/api/sources/${SOURCE_ID}`],
          ['DELETE', `/api/sources/${SOURCE_ID}`],
          ['POST', `/api/sources/${SOURCE_ID}/write-key`],
          ['POST', `/api/sources/${SOURCE_ID}/uploads`],
          ['POST', '/api/loads'],
        ]),
      );
      for (const [method, path] of apiRoutes) {
        const res = await api(method, path, { body: method === 'POST' ? {} : undefined });
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
      }
    });

    it('/v1/track takes a write key, not the admin token: 401 without one', async () => {
      const event = { userId: 'u-1', event: 'Viewed' };
      const none = await api('POST', '/v1/track', { body: event });
      expect(none.status).toBe(401);
      expect(none.body.message).toMatch(/write key is required/);
      // the admin token is not a write key
      const admin = await api('POST', '/v1/track', { token: ADMIN_TOKEN, body: event });
      expect(admin.status).toBe(401);
      expect(admin.body.message).toMatch(/write key is required/);
    });

    it('does not create a stored token when CDP_ADMIN_TOKEN is set', async () => {
      const rows = await app.get(Workspace).store('api_tokens').select('id');
      expect(rows).toHaveLength(0);
    });
  });

  describe('models', () => {
    it('POST /api/models/build seeds, runs and tests the demo', () => {
      expect(build.status).toBe(200);
      expect(build.body.status).toBe('success');
      const results = build.body.results as { node: string; kind: string; status: string }[];
      expect(results.filter((r) => r.kind === 'seed').map((r) => r.node)).toEqual(DEMO_SEEDS);
      expect(results.filter((r) => r.kind === 'model').map((r) => r.node)).toEqual(DEMO_MODELS);
      expect(results.filter((r) => r.kind === 'identity').map((r) => r.node)).toEqual([DEMO_IDENTITY]);
      expect(results.filter((r) => r.kind === 'test')).toHaveLength(DEMO_TEST_COUNT);
      expect(results.filter((r) => r.kind === 'segment').map((r) => r.node)).toEqual(DEMO_SEGMENTS);
      expect(results).toHaveLength(DEMO_SEEDS.length + DEMO_MODELS.length + 1 + DEMO_SEGMENTS.length + DEMO_TEST_COUNT);
      expect(results.every((r) => r.status === 'success' || r.status === 'pass')).toBe(true);
    });

    it('GET /api/models lists the 12 demo models in dependency order with their last run', async () => {
      const res = await api('GET', '/api/models', { token: ADMIN_TOKEN });
      expect(res.status).toBe(200);
      const models = res.body as { name: string; materialization: string; dependsOn: string[]; lastRun: { status: string } | null }[];
      expect(models.map((m) => m.name)).toEqual(DEMO_MODELS);
      const byName = new Map(models.map((m) => [m.name, m]));
      expect(byName.get('stg_order_lines')).toMatchObject({ materialization: 'view', dependsOn: ['online_retail'] });
      expect(byName.get('stg_orders')).toMatchObject({ materialization: 'table', dependsOn: ['stg_order_lines'] });
      expect(byName.get('daily_revenue')).toMatchObject({ materialization: 'incremental', dependsOn: ['stg_orders'] });
      expect(byName.get('stg_customers')).toMatchObject({ materialization: 'table', dependsOn: ['stg_orders'] });
      expect(byName.get('customer_summary')!.materialization).toBe('table');
      expect([...byName.get('customer_summary')!.dependsOn].sort()).toEqual(['stg_customers', 'stg_orders']);
      // the event models: stg_events reads a source (not a model or seed), the others read stg_events
      expect(byName.get('stg_events')).toMatchObject({ materialization: 'view', dependsOn: [] });
      for (const name of ['stg_tracks', 'stg_identifies', 'stg_pages']) {
        expect(byName.get(name)).toMatchObject({ materialization: 'view', dependsOn: ['stg_events'] });
      }
      // the profile models read cdp.profiles: they depend on the identity step, not on a model
      expect(byName.get('stg_web_events')).toMatchObject({ materialization: 'table', dependsOn: ['web_events'] });
      for (const name of ['profile_rfm', 'profile_churn_risk']) {
        expect(byName.get(name)).toMatchObject({ materialization: 'table', dependsOn: [DEMO_IDENTITY] });
      }
      // every model comes after the models it depends on
      models.forEach((m, i) => m.dependsOn.filter((d) => byName.has(d)).forEach((d) => expect(models.findIndex((x) => x.name === d)).toBeLessThan(i)));
      for (const m of models) expect(m.lastRun?.status).toBe('success');
    });

    it('GET /api/models/customer_summary returns compiled SQL, typed columns with tests, and last runs', async () => {
      const res = await api('GET', '/api/models/customer_summary', { token: ADMIN_TOKEN });
      expect(res.status).toBe(200);
      const m = res.body;
      expect(m).toMatchObject({ name: 'customer_summary', materialization: 'table', exists: true, relation: '"analytics"."customer_summary"' });
      expect(m.compiledSql).toContain('"analytics"."stg_customers"');
      expect(m.compiledSql).not.toContain('{{');
      expect(m.compiledPath).toMatch(/target[/\\]compiled[/\\]duckdb[/\\]models[/\\].*customer_summary\.sql$/);
      const columns = m.columns as { name: string; type: string | null; description: string | null; tests: string[] }[];
      const customerId = columns.find((c) => c.name === 'customer_id')!;
      expect(customerId.type).toMatch(/^[A-Z]/); // a warehouse type, e.g. INTEGER
      expect(customerId.tests).toEqual(
        expect.arrayContaining(['unique_customer_summary_customer_id', 'not_null_customer_summary_customer_id']),
      );
      expect(columns.find((c) => c.name === 'orders')).toMatchObject({ description: 'Orders that were not cancellations.', tests: ['not_null_customer_summary_orders'] });
      expect(columns.every((c) => typeof c.type === 'string')).toBe(true);
      expect(m.lastRuns.length).toBeGreaterThanOrEqual(1);
      expect(m.lastRuns[0].status).toBe('success');
      expect(m.dependents).toEqual([]);
    });

    it('GET /api/models/nope is a 404 with a message', async () => {
      const res = await api('GET', '/api/models/nope', { token: ADMIN_TOKEN });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'MODEL_NOT_FOUND' });
      expect(res.body.message).toContain('nope');
    });

    it('POST /api/models/stg_orders/run with downstream runs stg_orders and its descendants only', async () => {
      const res = await api('POST', '/api/models/stg_orders/run', { token: ADMIN_TOKEN, body: { downstream: true } });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('success');
      const nodes = (res.body.results as { node: string; status: string }[]).map((r) => r.node);
      // identity resolution reads stg_orders, and the segments and profile models read its profiles
      expect([...nodes].sort()).toEqual(
        ['at_churn_risk', 'customer_summary', 'daily_revenue', DEMO_IDENTITY, ...DEMO_SEGMENTS, 'profile_churn_risk', 'profile_rfm', 'stg_customers', 'stg_orders'].sort(),
      );
      expect(nodes[0]).toBe('stg_orders');
      expect(res.body.results.every((r: { status: string }) => r.status === 'success')).toBe(true);
    });

    it('POST /api/models/stg_orders/run without a body runs that model alone', async () => {
      const res = await api('POST', '/api/models/stg_orders/run', { token: ADMIN_TOKEN });
      expect(res.status).toBe(200);
      expect(res.body.results.map((r: { node: string }) => r.node)).toEqual(['stg_orders']);
    });

    it('POST /api/models/nope/run is a 404', async () => {
      const res = await api('POST', '/api/models/nope/run', { token: ADMIN_TOKEN, body: {} });
      expect(res.status).toBe(404);
      expect(res.body.message).toContain('nope');
    });

    it('a wrongly typed field is a 400 that names it', async () => {
      const res = await api('POST', '/api/models/stg_orders/run', { token: ADMIN_TOKEN, body: { downstream: 'yes' } });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('downstream');
      expect(res.body.problems).toEqual([expect.stringContaining('downstream')]);
    });

    it('an unknown key is a 400 that names it', async () => {
      const res = await api('POST', '/api/models/run', { token: ADMIN_TOKEN, body: { selekt: ['stg_orders'] } });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('selekt');
    });

    it('invalid JSON is a 400', async () => {
      const res = await api('POST', '/api/models/run', { token: ADMIN_TOKEN, rawBody: '{"select": [' });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual(expect.any(String));
    });

    it('a selector that matches nothing is a 400', async () => {
      const res = await api('POST', '/api/models/run', { token: ADMIN_TOKEN, body: { select: ['nope'] } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'SELECTOR_INVALID' });
      expect(res.body.message).toContain('nope');
    });

    it('POST /api/models/run with a selector runs that selection', async () => {
      const res = await api('POST', '/api/models/run', { token: ADMIN_TOKEN, body: { select: ['+stg_orders'] } });
      expect(res.status).toBe(200);
      expect(res.body.results.map((r: { node: string }) => r.node)).toEqual(['stg_order_lines', 'stg_orders']);
    });

    it('GET /api/seeds lists the demo seeds with their last load', async () => {
      const res = await api('GET', '/api/seeds', { token: ADMIN_TOKEN });
      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        expect.objectContaining({ name: 'online_retail', files: 20, lastRun: expect.objectContaining({ status: 'success' }) }),
        expect.objectContaining({ name: 'web_events', files: 2, lastRun: expect.objectContaining({ status: 'success' }) }),
      ]);
    });
  });

  describe('OpenAPI', () => {
    it('GET /docs/json documents the model, source and tracking routes and a bearer security scheme', async () => {
      const res = await api('GET', '/docs/json');
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/health',
          '/api/models',
          '/api/models/run',
          '/api/models/build',
          '/api/models/{name}',
          '/api/models/{name}/run',
          '/api/seeds',
          '/api/sources',
          '/api/sources/{id}',
          '/api/sources/{id}/write-key',
          '/v1/track',
          '/v1/batch',
        ]),
      );
      const schemes = Object.entries(doc.components.securitySchemes as Record<string, { type: string; scheme?: string }>);
      const bearer = schemes.find(([, s]) => s.type === 'http' && s.scheme === 'bearer');
      expect(bearer).toBeDefined();
      expect(doc.paths['/api/models'].get.security).toEqual(expect.arrayContaining([{ [bearer![0]]: [] }]));
      // the request body schema comes from zod
      const body = doc.paths['/api/models/{name}/run'].post.requestBody.content['application/json'].schema;
      expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['downstream', 'upstream', 'fullRefresh']));
    });

    it('GET /docs serves the Swagger UI', async () => {
      const res = await api('GET', '/docs');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
    });
  });
});

describe('HTTP API without CDP_ADMIN_TOKEN: the first start creates a token', () => {
  let project: TempProject;
  let app: NestFastifyApplication | undefined;

  beforeAll(() => {
    project = new TempProject({ 'cdp.yaml': 'name: fresh\n', 'models/one.sql': 'select 1 as id\n' });
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  it('prints a token once, stores it only hashed, and accepts it', async () => {
    const config = project.config({ CDP_LOG_LEVEL: 'warn' });
    expect(config.adminToken).toBeUndefined();

    const first = await startCapturingStdout(config);
    app = first.app;
    const printed = /^\s+(cdp_admin_\S+)\s*$/m.exec(first.stdout);
    expect(printed).not.toBeNull();
    const token = printed![1];

    const rows = (await app.get(Workspace).store('api_tokens').select()) as { token_hash: string; scopes: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).not.toBe(token);
    expect(rows[0].token_hash).toBe(hashToken(token));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0].scopes).toContain('admin');
    // nor anywhere in the control store file
    expect(readFileSync(join(project.dir, '.cdp', 'control.sqlite')).includes(token)).toBe(false);

    const api = client(first.base);
    expect((await api('GET', '/api/models', { token })).status).toBe(200);
    expect((await api('GET', '/api/models', { token: `${token}x` })).status).toBe(401);
    expect((await api('GET', '/api/models')).status).toBe(401);

    await app.close();
    app = undefined;

    const second = await startCapturingStdout(config);
    app = second.app;
    expect(second.stdout).not.toContain('cdp_admin_');
    expect(second.stdout).not.toContain('admin API token was created');
    expect(await app.get(Workspace).store('api_tokens').count({ n: '*' })).toEqual([{ n: 1 }]);
    const api2 = client(second.base);
    const res = await api2('GET', '/api/models', { token });
    expect(res.status).toBe(200);
    expect(res.body.map((m: { name: string }) => m.name)).toEqual(['one']);
  });
});
