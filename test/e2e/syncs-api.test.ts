import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Webhook } from 'standardwebhooks';
import { SyncScheduler } from '../../src/syncs/sync-scheduler';
import { queryAll } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { FakeServer, type RecordedRequest } from '../support/fake-server';
import { TempProject } from '../support/temp-project';
import { answer, type Answer, startApp } from '../support/test-app';

/**
 * Syncs over real HTTP: a file sync from a model to a signed webhook (the local fake receiver), its
 * plan, runs, history and rejected rows; faults the receiver answers (429 with Retry-After, 500s, a
 * timeout, rows rejected in a 207, a batch rejected whole) with every deliverable row delivered and
 * the snapshot equal to what the receiver holds; API syncs created, checked, scheduled and deleted.
 */

const ADMIN_TOKEN = 'test-admin-token';
const SECRET = 'whsec_c3luYy1zZWNyZXQtdGhhdC1tdXN0LW5ldmVyLWxlYWs=';
const PEOPLE = ['id,email,name', ...Array.from({ length: 12 }, (_, i) => `${i + 1},p${i + 1}@x.io,Person ${i + 1}`)].join('\n') + '\n';

type Call = (method: string, path: string, body?: unknown) => Promise<Answer>;

interface Operation {
  op: string;
  key: string;
  fields: Record<string, unknown>;
}

describe('sync API', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: Call;
  let hook: FakeServer;
  let ws: Workspace;
  /** what the receiver holds: applied from every request it answered 2xx (and the rows it accepted) */
  const held = new Map<string, Record<string, unknown>>();
  const reject: (op: Operation) => string | undefined = () => undefined;

  const operations = (r: RecordedRequest) => (r.json as { data: { operations: Operation[] } }).data.operations;

  const waitForRun = async (sync: string, runId: string) => {
    for (let i = 0; i < 400; i++) {
      const run = await api('GET', `/api/syncs/${sync}/runs/${runId}`);
      if (run.body.finishedAt) return run.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the run did not finish');
  };

  beforeAll(async () => {
    hook = await FakeServer.start();
    // the receiver: verifies the signature, applies accepted operations, answers per row (207) when it rejects some
    hook.handle((req) => {
      new Webhook(SECRET).verify(req.rawBody, req.headers as Record<string, string>);
      const ops = operations(req);
      const results = ops.map((op) => ({ key: op.key, error: reject(op) }));
      for (const [i, op] of ops.entries()) {
        if (results[i].error) continue;
        if (op.op === 'delete') held.delete(op.key);
        else held.set(op.key, op.fields);
      }
      if (!results.some((r) => r.error)) return { status: 200 };
      return { status: 207, body: { results: results.map((r) => (r.error ? { key: r.key, status: 'error', error: r.error } : { key: r.key, status: 'ok' })) } };
    });
    project = new TempProject({
      'cdp.yaml': 'name: t\nwarehouse: { type: duckdb }\n',
      'seeds/people.csv': PEOPLE,
      'destinations/hook.yaml': `type: webhook\nsettings:\n  url: ${hook.url}/hooks/cdp\n  secret: \${CDP_TEST_HOOK_SECRET}\n`,
      'syncs/people_to_hook.yaml': [
        'source: { model: people }',
        'primary_key: id',
        'destination: hook',
        'mode: mirror',
        'mapping:',
        '  email: email',
        '  traits.name: name',
        '  traits.greeting: "Hello {{name}}"',
        'options: { batch_size: 4, max_attempts: 5, timeout_seconds: 0.5 }',
      ].join('\n'),
    });
    process.env.CDP_TEST_HOOK_SECRET = SECRET;
    const config = project.config();
    config.adminToken = ADMIN_TOKEN;
    config.log_level = 'error';
    const started = await startApp(config);
    app = started.app;
    ws = app.get(Workspace);
    api = async (method, path, body) =>
      answer(
        await fetch(`${started.base}${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        }),
      );
    expect((await api('POST', '/api/seeds/run', {})).status).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await hook?.close();
    project?.cleanup();
    delete process.env.CDP_TEST_HOOK_SECRET;
  });

  const snapshot = async () =>
    (await queryAll(ws.warehouse, 'select _cdp_key as k, email from cdp.sync_people_to_hook_snapshot order by cast(_cdp_key as integer)')).map((r) => `${String(r.k)}:${String(r.email)}`);
  const heldList = () => [...held].sort((a, b) => Number(a[0]) - Number(b[0])).map(([k, f]) => `${k}:${String(f.email)}`);

  it('lists the file sync and shows its plan without sending anything', async () => {
    const list = await api('GET', '/api/syncs');
    expect(list.status).toBe(200);
    expect(list.body).toEqual([expect.objectContaining({ name: 'people_to_hook', origin: 'file', path: 'syncs/people_to_hook.yaml', destination: 'hook', mode: 'mirror', lastRun: null })]);
    const detail = await api('GET', '/api/syncs/people_to_hook');
    expect(detail.body.problems).toEqual([]);
    const plan = await api('GET', '/api/syncs/people_to_hook/plan?sample=2');
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ added: 12, changed: 0, removed: 0, unchanged: 0, planned: 12 });
    expect(plan.body.samples).toEqual([
      { change: 'add', key: '1', fields: { email: 'p1@x.io', traits: { name: 'Person 1', greeting: 'Hello Person 1' } } },
      { change: 'add', key: '10', fields: { email: 'p10@x.io', traits: { name: 'Person 10', greeting: 'Hello Person 10' } } },
    ]);
    expect(hook.requests).toHaveLength(0);
    expect((await api('GET', '/api/syncs/nope/plan')).status).toBe(404);
  });

  it('delivers through throttling, errors, a timeout and rejections; the snapshot matches what the receiver holds', async () => {
    let call = 0;
    hook.handle((req) => {
      call++;
      if (call === 1) return { status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow down' } };
      if (call === 2) return { status: 500, body: 'boom' };
      if (call === 3) return { status: 200, delayMs: 1500 }; // answered too late: a timeout
      new Webhook(SECRET).verify(req.rawBody, req.headers as Record<string, string>);
      const ops = operations(req);
      // a batch holding key 7 is rejected whole (bisected down to the row); key 3 is refused per row
      if (ops.some((o) => o.key === '7')) return { status: 400, body: { error: 'invalid payload' } };
      const results = ops.map((o) => (o.key === '3' ? { key: o.key, status: 'error', error: 'address is suppressed' } : { key: o.key, status: 'ok' }));
      for (const o of ops) if (o.key !== '3') held.set(o.key, o.fields);
      return { status: 207, body: { results } };
    });
    const started = await api('POST', '/api/syncs/people_to_hook/runs', {});
    expect(started.status).toBe(202);
    const run = await waitForRun('people_to_hook', started.body.runId);
    expect(run).toMatchObject({ status: 'partial', counts: { planned: 12, added: 12, succeeded: 10, failed: 2 }, retries: 3 });
    expect(heldList()).toEqual(['1', '2', '4', '5', '6', '8', '9', '10', '11', '12'].map((k) => `${k}:p${k}@x.io`));
    expect(await snapshot()).toEqual(heldList());
    // the 429 was honoured: the retry came at least a second later
    const [first, second] = hook.requests;
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(Number(second.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(Number(first.headers['webhook-timestamp']));
    const errors = await api('GET', `/api/syncs/people_to_hook/runs/${started.body.runId}/errors`);
    expect(errors.body.total).toBe(2);
    expect(errors.body.errors.map((e: { key: string; error: string }) => [e.key, e.error]).sort()).toEqual([
      ['3', 'address is suppressed'],
      ['7', expect.stringMatching(/400/)],
    ]);
  });

  it('sends only what changed next time, and removals as deletes; rejected rows are retried', async () => {
    hook.handle((req) => {
      const ops = operations(req);
      for (const o of ops) {
        if (o.op === 'delete') held.delete(o.key);
        else held.set(o.key, o.fields);
      }
      return { status: 200 };
    });
    const people = ws.warehouse.dialect.relation({ schema: 'analytics', name: 'people' });
    await ws.exclusive(async () => {
      await ws.warehouse.execute(`update ${people} set email = 'new5@x.io' where id = 5`);
      await ws.warehouse.execute(`delete from ${people} where id = 12`);
    });
    const before = hook.requests.length;
    const started = await api('POST', '/api/syncs/people_to_hook/runs', {});
    const run = await waitForRun('people_to_hook', started.body.runId);
    expect(run).toMatchObject({ status: 'succeeded', counts: { added: 2, changed: 1, removed: 1, succeeded: 4, failed: 0 } });
    const sent = hook.requests.slice(before).flatMap(operations).map((o) => `${o.op}:${o.key}`).sort();
    expect(sent).toEqual(['delete:12', 'upsert:3', 'upsert:5', 'upsert:7']);
    expect(await snapshot()).toEqual(heldList());
    const runs = await api('GET', '/api/syncs/people_to_hook/runs');
    expect(runs.body.map((r: { status: string }) => r.status)).toEqual(['succeeded', 'partial']);
    // the run's sync_log row is written after its status: wait until it has committed
    for (let i = 0; i < 100 && Number((await queryAll(ws.warehouse, "select count(*) as n from cdp.sync_log where sync = 'people_to_hook'"))[0].n) < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const log = await queryAll(ws.warehouse, "select status, succeeded, failed from cdp.sync_log where sync = 'people_to_hook' order by started_at");
    expect(log.map((r) => [r.status, Number(r.succeeded), Number(r.failed)])).toEqual([
      ['partial', 10, 2],
      ['succeeded', 4, 0],
    ]);
  });

  it('creates, checks, schedules, replaces and deletes API syncs', async () => {
    const scheduler = app.get(SyncScheduler);
    const body = { name: 'people_hourly', source: { model: 'people' }, primary_key: 'id', destination: 'hook', mode: 'upsert', mapping: { email: 'email' }, schedule: { cron: '0 * * * *' } };
    const created = await api('POST', '/api/syncs', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'people_hourly', origin: 'api', problems: [] });
    expect(scheduler.schedules()).toMatchObject({ people_hourly: { cron: '0 * * * *' } });

    expect((await api('POST', '/api/syncs', body)).status).toBe(409);
    const bad = await api('POST', '/api/syncs', { ...body, name: 'x1', schedule: { cron: 'every hour' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/schedule/);
    const unknownColumn = await api('POST', '/api/syncs', { ...body, name: 'x2', mapping: { email: 'emial' } });
    expect(unknownColumn.status).toBe(400);
    expect(unknownColumn.body.message).toMatch(/mapping\.email: the source has no column "emial"/);
    const unknownDestination = await api('POST', '/api/syncs', { ...body, name: 'x3', destination: 'hok' });
    expect(unknownDestination.status).toBe(400);
    expect(unknownDestination.body.message).toMatch(/destination: .*"hok".*did you mean "hook"/);
    const badKey = await api('POST', '/api/syncs', { ...body, name: 'x4', primary_key: 'pk' });
    expect(badKey.status).toBe(400);

    const replaced = await api('PUT', '/api/syncs/people_hourly', { ...body, name: undefined, schedule: { every: '15m' } });
    expect(replaced.status).toBe(200);
    expect(scheduler.schedules()).toMatchObject({ people_hourly: { every: '15m' } });
    expect((await api('PUT', '/api/syncs/people_to_hook', { ...body, name: undefined })).status).toBe(409);
    expect((await api('DELETE', '/api/syncs/people_to_hook')).status).toBe(409);
    expect((await api('DELETE', '/api/syncs/people_hourly')).status).toBe(204);
    expect(scheduler.schedules()).not.toHaveProperty('people_hourly');
    expect((await api('GET', '/api/syncs/people_hourly')).status).toBe(404);
  });

  it('fires schedules without overlapping runs, and follows API changes', async () => {
    // a receiver that answers slowly and rejects every row: each run sends again and takes ~1.2 s
    const slow = await FakeServer.start();
    slow.handle((req) => ({ status: 207, delayMs: 1200, body: { results: operations(req).map((o) => ({ key: o.key, status: 'error', error: 'not today' })) } }));
    try {
      const dest = await api('POST', '/api/destinations', { name: 'slowhook', type: 'webhook', settings: { url: `${slow.url}/in` } });
      expect(dest.status).toBe(201);
      const body = { name: 'people_every_second', source: { model: 'people' }, primary_key: 'id', destination: 'slowhook', mode: 'upsert', mapping: { email: 'email' }, schedule: { cron: '* * * * * *' } };
      expect((await api('POST', '/api/syncs', body)).status).toBe(201);
      // two runs finished (about 3 s; longer on a loaded machine), whatever the ticks in between
      const finished = async () => ((await api('GET', '/api/syncs/people_every_second/runs')).body as { finishedAt: unknown }[]).filter((r) => r.finishedAt).length;
      for (let i = 0; i < 600 && (await finished()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
      // the schedule changes to manual through the API: no run starts after the current one
      expect((await api('PUT', '/api/syncs/people_every_second', { ...body, name: undefined, schedule: 'manual' })).status).toBe(200);
      for (let i = 0; i < 100 && !(await api('GET', '/api/syncs/people_every_second/runs')).body.every((r: { finishedAt: unknown }) => r.finishedAt); i++) await new Promise((r) => setTimeout(r, 50));
      const runs = (await api('GET', '/api/syncs/people_every_second/runs')).body as { trigger: string; startedAt: string; finishedAt: string; counts: { planned: number; failed: number } }[];
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(runs.length).toBeLessThanOrEqual(4); // ticks during a run are skipped, not queued
      expect(runs.every((r) => r.trigger === 'schedule' && r.counts.planned === 11 && r.counts.failed === 11)).toBe(true);
      const ordered = [...runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      for (let i = 1; i < ordered.length; i++) expect(Date.parse(ordered[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(ordered[i - 1].finishedAt));
      await new Promise((r) => setTimeout(r, 1500));
      expect((await api('GET', '/api/syncs/people_every_second/runs')).body).toHaveLength(runs.length);
      expect((await api('DELETE', '/api/syncs/people_every_second')).status).toBe(204);
    } finally {
      await slow.close();
    }
  });

  it('runs a sync scheduled after a model when a job builds it', async () => {
    const body = { name: 'people_after', source: { model: 'people' }, primary_key: 'id', destination: 'hook', mode: 'upsert', mapping: { email: 'email' }, schedule: { after: ['people'] } };
    expect((await api('POST', '/api/syncs', body)).status).toBe(201);
    expect((await api('POST', '/api/seeds/run', {})).status).toBe(200);
    let runs: { trigger: string; status: string; finishedAt: string | null }[] = [];
    for (let i = 0; i < 200 && !runs[0]?.finishedAt; i++) {
      await new Promise((r) => setTimeout(r, 50));
      runs = (await api('GET', '/api/syncs/people_after/runs')).body;
    }
    expect(runs).toEqual([expect.objectContaining({ trigger: 'after', status: 'succeeded' })]);
    expect((await api('DELETE', '/api/syncs/people_after')).status).toBe(204);
  });

  it('needs the admin token', async () => {
    const res = await fetch(`${(app.getHttpServer().address() as { port: number }).port ? `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` : ''}/api/syncs`);
    expect(res.status).toBe(401);
  });
});
