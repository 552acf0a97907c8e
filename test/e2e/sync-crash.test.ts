import { buildOnce } from '../support/build';
import { cdp, ServedProject } from '../support/cli';
import { FakeServer, type RecordedRequest } from '../support/fake-server';
import { TempProject } from '../support/temp-project';

/**
 * The sync engine's crash promise: `cdp serve` is killed with SIGKILL at random points of a sync of
 * 100,000 rows and restarted, several times. The restarted service resumes the run from its last
 * checkpoint; at the end the receiver holds exactly the source, nothing is missing, and no row was
 * sent more than twice.
 */

const ADMIN_TOKEN = 'test-admin-token-sync-crash';
const ROWS = 100_000;
const BATCH = 1000;
const KILLS = 4;

interface Operation {
  op: string;
  key: string;
  fields: { email: string };
}

describe('cdp serve killed with SIGKILL during a sync', () => {
  const servers: ServedProject[] = [];
  let project: TempProject;
  let hook: FakeServer;
  /** what the receiver holds, and how often each key was sent */
  const held = new Map<string, string>();
  const sent = new Map<string, number>();

  beforeAll(async () => {
    buildOnce();
    hook = await FakeServer.start();
    hook.handle((req: RecordedRequest) => {
      for (const o of (req.json as { data: { operations: Operation[] } }).data.operations) {
        sent.set(o.key, (sent.get(o.key) ?? 0) + 1);
        if (o.op === 'delete') held.delete(o.key);
        else held.set(o.key, o.fields.email);
      }
      return { status: 200 };
    });
    project = new TempProject({
      'cdp.yaml': 'name: crash\nwarehouse: { type: duckdb }\n',
      'models/people.sql': `select i as id, 'person' || i || '@example.com' as email from range(1, ${ROWS + 1}) t(i)`,
      'models/people.yml': 'models:\n  - name: people\n    config: { materialized: table }\n',
      'destinations/hook.yaml': `type: webhook\nsettings:\n  url: ${hook.url}/cdp\n`,
      'syncs/people_to_hook.yaml': `source: { model: people }\nprimary_key: id\ndestination: hook\nmode: mirror\nmapping: { email: email }\noptions: { batch_size: ${BATCH} }\n`,
    });
    const built = await cdp(['build'], { cwd: project.dir, timeoutMs: 120_000 });
    expect(built.code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    for (const s of servers) s.kill();
    await hook?.close();
    project?.cleanup();
  });

  const serve = async () => {
    const s = new ServedProject(project.dir, { CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'error' });
    servers.push(s);
    return { served: s, service: await s.ready() };
  };
  const get = async (url: string) => (await (await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as Record<string, unknown>[];

  it('resumes after every kill; the receiver ends with exactly the source, no row sent more than twice', async () => {
    let { served, service } = await serve();
    const started = await fetch(`${service.url}/api/syncs/people_to_hook/runs`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };

    let killedAt = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      // a random point of the run: after 2 to 20 more batches have arrived since the last start
      const target = killedAt + 2 + Math.floor(Math.random() * 18);
      const deadline = Date.now() + 60_000;
      while (hook.requests.length < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      // a little later still, so some kills land between a batch's answer and its checkpoint
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      served.child.kill('SIGKILL');
      expect(await served.exited).toEqual({ code: null, signal: 'SIGKILL' });
      killedAt = hook.requests.length;
      expect(killedAt).toBeLessThan(ROWS / BATCH); // the run was not over yet
      ({ served, service } = await serve()); // the new service resumes the run at start
    }

    // the last start runs it to the end
    let run: Record<string, unknown> | undefined;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      run = (await get(`${service.url}/api/syncs/people_to_hook/runs`))[0];
      if (run?.finishedAt) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run).toMatchObject({ id: runId, status: 'succeeded', counts: { planned: ROWS, added: ROWS, failed: 0 } });

    expect(held.size).toBe(ROWS);
    for (let i = 1; i <= ROWS; i++) {
      if (held.get(String(i)) !== `person${i}@example.com`) throw new Error(`row ${i}: the receiver holds ${held.get(String(i))}`);
    }
    const counts = [...sent.values()];
    expect(Math.max(...counts)).toBeLessThanOrEqual(2);
    // resent rows: at most the batch in flight at each kill
    expect(counts.filter((c) => c === 2).length).toBeLessThanOrEqual(KILLS * BATCH);

    // a new run finds nothing to send: the snapshot matches what the receiver holds
    const again = await cdp(['sync', 'people_to_hook', '--plan'], { cwd: project.dir, env: { CDP_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect(again.stdout).toMatch(/add\s+0[\s\S]*change\s+0[\s\S]*remove\s+0[\s\S]*unchanged 100,000/);
  }, 300_000);
});
