import { BatchRejectedError, ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { ModelEngine } from '../../src/models/model-engine';
import type { SyncDefinitionInput } from '../../src/syncs/sync-definition';
import { SyncRunner } from '../../src/syncs/sync-runner';
import { SyncRunsRepository } from '../../src/syncs/sync-runs.repository';
import { queryAll } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { memoryLogger, RecordingDestination } from '../support/recording-destination';
import { TempProject } from '../support/temp-project';

/**
 * The sync engine on real warehouses: the diff of each mode over several runs (adds, changes,
 * removals, no-ops), what reaches the destination, and the snapshot matching what it holds; then
 * faults: throttling with a delay, rejected rows retried next run, a batch rejected whole bisected,
 * a configuration error stopping the run, duplicate keys, a run stopped mid-way resuming.
 */
const targets = [
  { name: 'duckdb', available: async () => true, env: (schema: string) => ({ CDP_WAREHOUSE_SCHEMA: schema }) },
  { name: 'postgres', available: requirePostgres, env: (schema: string) => ({ CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: schema }) },
];

const CONFIG = (cdp: string) => `name: sync_test\nwarehouse: { type: duckdb }\ningest: { schema: ${cdp} }\n`;
const PEOPLE = 'id,email,name,plan\n1,a@x.io,Ann,free\n2,b@x.io,Bob,pro\n3,c@x.io,Cy,free\n';

const sync = (name: string, mode: SyncDefinitionInput['mode'], extra: Partial<SyncDefinitionInput> = {}): SyncDefinitionInput => ({
  name,
  source: { model: 'people' },
  primary_key: 'id',
  destination: 'recorder',
  mode,
  mapping: { email: 'email', 'traits.name': 'name', 'traits.greeting': 'Hi {{name}}', 'traits.plan': { column: 'plan' } },
  ...extra,
});

describe.each(targets)('sync engine on $name', (target) => {
  let ok = false;
  let p: TempProject;
  let ws: Workspace;
  let schema: string;
  let cdp: string;
  const sleeps: number[] = [];
  let runner: SyncRunner;

  const people = () => ws.warehouse.dialect.relation({ schema, name: 'people' });
  const setPeople = async (rows: [number, string, string, string][]) => {
    await ws.warehouse.execute(`delete from ${people()}`);
    for (const r of rows) await ws.warehouse.execute(`insert into ${people()} (id, email, name, plan) values (?, ?, ?, ?)`, r);
  };
  const snapshot = async (name: string) =>
    (await queryAll(ws.warehouse, `select _cdp_key as k, email from ${ws.warehouse.dialect.relation({ schema: cdp, name: `sync_${name}_snapshot` })} order by 1`)).map((r) => `${String(r.k)}:${String(r.email)}`);
  const held = (dest: RecordingDestination) => [...dest.held].map(([k, f]) => `${k}:${String(f.email)}`).sort();

  beforeAll(async () => {
    ok = await target.available();
    if (!ok) return;
    schema = uniqueSchema('sync');
    cdp = uniqueSchema('sync_cdp');
    p = new TempProject({ 'cdp.yaml': CONFIG(cdp), 'seeds/people.csv': PEOPLE });
    ws = await Workspace.open(p.config(target.env(schema)));
    await new ModelEngine(ws).seed({});
    runner = new SyncRunner(ws, memoryLogger(), { sleep: (ms) => (sleeps.push(ms), Promise.resolve()), baseDelayMs: 100 });
  });

  afterAll(async () => {
    if (!ok) return;
    await ws.close();
    if (target.name === 'postgres') {
      await dropSchema(schema);
      await dropSchema(cdp);
    }
    p.cleanup();
  });

  const V1: [number, string, string, string][] = [
    [1, 'a@x.io', 'Ann', 'free'],
    [2, 'b@x.io', 'Bob', 'pro'],
    [3, 'c@x.io', 'Cy', 'free'],
  ];
  // 2 changes plan, 3 leaves, 4 arrives
  const V2: [number, string, string, string][] = [
    [1, 'a@x.io', 'Ann', 'free'],
    [2, 'b@x.io', 'Bob', 'team'],
    [4, 'd@x.io', 'Di', 'pro'],
  ];

  const expected: Record<string, { run1: string[]; run2: string[]; held: string[]; snapshot: string[] }> = {
    upsert: { run1: ['upsert:1', 'upsert:2', 'upsert:3'], run2: ['upsert:2', 'upsert:4'], held: ['1:a@x.io', '2:b@x.io', '3:c@x.io', '4:d@x.io'], snapshot: ['1:a@x.io', '2:b@x.io', '4:d@x.io'] },
    update: { run1: ['update:1', 'update:2', 'update:3'], run2: ['update:2', 'update:4'], held: [], snapshot: ['1:a@x.io', '2:b@x.io', '4:d@x.io'] },
    insert: { run1: ['insert:1', 'insert:2', 'insert:3'], run2: ['insert:4'], held: ['1:a@x.io', '2:b@x.io', '3:c@x.io', '4:d@x.io'], snapshot: ['1:a@x.io', '2:b@x.io', '4:d@x.io'] },
    mirror: { run1: ['upsert:1', 'upsert:2', 'upsert:3'], run2: ['delete:3', 'upsert:2', 'upsert:4'], held: ['1:a@x.io', '2:b@x.io', '4:d@x.io'], snapshot: ['1:a@x.io', '2:b@x.io', '4:d@x.io'] },
    audience: { run1: ['add:1', 'add:2', 'add:3'], run2: ['add:2', 'add:4', 'remove:3'], held: ['1:a@x.io', '2:b@x.io', '4:d@x.io'], snapshot: ['1:a@x.io', '2:b@x.io', '4:d@x.io'] },
  };

  it.each(Object.keys(expected))('diffs mode %s over runs: adds, changes, removals, no-ops', async (mode) => {
    if (!ok) return;
    const dest = new RecordingDestination();
    const t = dest.target(sync(`people_${mode}`, mode as SyncDefinitionInput['mode']), 2);
    const project = ws.project();
    await setPeople(V1);
    const r1 = await runner.run(t, project, { trigger: 'manual' });
    expect(r1).toMatchObject({ status: 'succeeded', added: 3, changed: 0, removed: 0, planned: 3, succeeded: 3, failed: 0, batches: 2 });
    expect(dest.opsSince(0)).toEqual(expected[mode].run1);

    const before = dest.calls.length;
    await setPeople(V2);
    const r2 = await runner.run(t, project, { trigger: 'manual' });
    expect(r2).toMatchObject({ status: 'succeeded', added: 1, changed: 1, removed: 1, unchanged: 1 });
    expect(dest.opsSince(before)).toEqual(expected[mode].run2);
    // the fields sent: mapped, nested, templated
    const four = dest.calls.slice(before).flat().find((r) => r.key === '4')!;
    expect(four.fields).toEqual({ email: 'd@x.io', traits: { name: 'Di', greeting: 'Hi Di', plan: 'pro' } });
    expect(held(dest)).toEqual(expected[mode].held);
    expect(await snapshot(`people_${mode}`)).toEqual(expected[mode].snapshot);

    // no changes: nothing sent
    const r3 = await runner.run(t, project, { trigger: 'manual' });
    expect(r3).toMatchObject({ status: 'succeeded', planned: 0, added: 0, changed: 0, removed: 0, unchanged: 3 });
    expect(dest.calls.length).toBe(dest.calls.slice(0, before).length + dest.calls.slice(before).length);
    expect(dest.opsSince(dest.calls.length)).toEqual([]);

    // the log in the warehouse
    const log = await queryAll(ws.warehouse, `select status, added, changed, removed from ${ws.warehouse.dialect.relation({ schema: cdp, name: 'sync_log' })} where sync = ? order by started_at`, [`people_${mode}`]);
    expect(log.map((r) => [r.status, Number(r.added), Number(r.changed), Number(r.removed)])).toEqual([
      ['succeeded', 3, 0, 0],
      ['succeeded', 1, 1, 1],
      ['succeeded', 0, 0, 0],
    ]);
  });

  it('a change to an unmapped column sends nothing; a changed mapping re-sends every row', async () => {
    if (!ok) return;
    await setPeople(V1);
    const dest = new RecordingDestination();
    const narrow = { ...sync('people_narrow', 'upsert'), mapping: { email: 'email' } };
    await runner.run(dest.target(narrow), ws.project(), { trigger: 'manual' });
    await setPeople(V1.map((r) => [r[0], r[1], r[2].toUpperCase(), r[3]]));
    expect(await runner.run(dest.target(narrow), ws.project(), { trigger: 'manual' })).toMatchObject({ planned: 0, unchanged: 3 });
    const wide = { ...narrow, mapping: { email: 'email', name: 'name' } };
    const r = await runner.run(dest.target(wide), ws.project(), { trigger: 'manual' });
    expect(r).toMatchObject({ planned: 3, changed: 3 });
    expect(dest.calls.at(-1)!.map((x) => x.fields.name)).toEqual(['ANN', 'BOB', 'CY']);
  });

  it('fails a run with a duplicate primary key before sending anything, naming the key', async () => {
    if (!ok) return;
    await setPeople([...V1, [2, 'b2@x.io', 'Bob2', 'pro']]);
    const dest = new RecordingDestination();
    const r = await runner.run(dest.target(sync('people_dupes', 'upsert')), ws.project(), { trigger: 'manual' });
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/primary_key: id is not unique in model people: "2" \(2 rows\); nothing was sent/);
    expect(dest.calls).toHaveLength(0);
  });

  it('retries throttling with the given delay, bisects a batch rejected whole, records rejected rows and sends them again next run', async () => {
    if (!ok) return;
    await setPeople([...V1, [4, 'bad', 'Di', 'pro'], [5, 'e@x.io', 'Ed', 'free'], [6, 'f@x.io', 'Flo', 'free']]);
    const dest = new RecordingDestination();
    sleeps.length = 0;
    dest.fault = (rows, call) => {
      if (call === 1) throw new RetryableError('429 Too Many Requests', 1500);
      if (call === 2) throw new RetryableError('503 Service Unavailable');
      // the vendor rejects any batch holding the bad email as a whole
      if (rows.some((r) => r.fields.email === 'bad')) throw new BatchRejectedError('400 invalid email in batch');
      // and says per row that Ed is blocked
      return rows.map((r) => (r.key === '5' ? { ok: false as const, error: 'contact is blocked' } : { ok: true as const }));
    };
    const t = dest.target(sync('people_faults', 'upsert'), 3);
    const r1 = await runner.run(t, ws.project(), { trigger: 'manual' });
    expect(r1).toMatchObject({ status: 'partial', planned: 6, succeeded: 4, failed: 2, retries: 2 });
    expect(sleeps[0]).toBeGreaterThanOrEqual(1500);
    expect(sleeps[0]).toBeLessThan(1500 + 1000);
    expect(held(dest)).toEqual(['1:a@x.io', '2:b@x.io', '3:c@x.io', '6:f@x.io']);
    expect(await snapshot('people_faults')).toEqual(held(dest));
    const errors = await new SyncRunsRepository(ws.store).errors(r1.id, 10, 0);
    expect(errors.errors.map((e) => [e.key, e.op, e.error]).sort()).toEqual([
      ['4', 'add', '400 invalid email in batch'],
      ['5', 'add', 'contact is blocked'],
    ]);
    // next run: only the rejected rows are planned again; Ed is accepted now
    dest.fault = (rows) => {
      if (!rows.some((r) => r.fields.email === 'bad')) return undefined;
      if (rows.length > 1) throw new BatchRejectedError('400 invalid email in batch');
      return [{ ok: false, error: 'invalid email' }];
    };
    const r2 = await runner.run(t, ws.project(), { trigger: 'manual' });
    expect(r2).toMatchObject({ status: 'partial', planned: 2, added: 2, succeeded: 1, failed: 1 });
    expect(await snapshot('people_faults')).toEqual(held(dest));
  });

  it('stops the run on a configuration error and on exhausted retries; nothing of the failed batch enters the snapshot', async () => {
    if (!ok) return;
    await setPeople(V1);
    const dest = new RecordingDestination();
    dest.fault = (_rows, call) => {
      if (call === 2) throw new ConfigurationError('401 invalid API key');
      return undefined;
    };
    const t = dest.target(sync('people_config', 'upsert'), 2);
    const r1 = await runner.run(t, ws.project(), { trigger: 'manual' });
    expect(r1).toMatchObject({ status: 'failed', error: '401 invalid API key', succeeded: 2 });
    expect(await snapshot('people_config')).toEqual(held(dest));
    dest.fault = () => {
      throw new RetryableError('500 Internal Server Error');
    };
    const r2 = await runner.run({ ...t, definition: { ...t.definition, options: { max_attempts: 3 } } }, ws.project(), { trigger: 'manual' });
    expect(r2).toMatchObject({ status: 'failed', error: 'gave up after 3 attempts: 500 Internal Server Error', planned: 1, succeeded: 0 });
    dest.fault = undefined;
    expect(await runner.run(t, ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 1, succeeded: 1 });
    expect(await snapshot('people_config')).toEqual(['1:a@x.io', '2:b@x.io', '3:c@x.io']);
  });

  it('a run stopped between batches resumes from its checkpoint; one run per sync at a time', async () => {
    if (!ok) return;
    await setPeople([...V1, [4, 'd@x.io', 'Di', 'pro'], [5, 'e@x.io', 'Ed', 'free']]);
    const dest = new RecordingDestination();
    const stop = new AbortController();
    dest.fault = (_rows, call) => {
      if (call === 2) stop.abort();
      return undefined;
    };
    const t = dest.target(sync('people_resume', 'upsert'), 2);
    const r1 = await runner.run(t, ws.project(), { trigger: 'manual', signal: stop.signal });
    expect(r1).toMatchObject({ status: 'running', succeeded: 4, checkpoint: 4 });
    // while someone holds the lock, a second run is refused
    const runs = new SyncRunsRepository(ws.store);
    expect(await runs.lock('people_resume', 'other', 60_000)).toEqual({ ok: true });
    await expect(runner.run(t, ws.project(), { trigger: 'manual' })).rejects.toThrow(/already running \(run other/);
    await runs.unlock('people_resume', 'other');
    const r2 = await runner.run(t, ws.project(), { trigger: 'manual' });
    expect(r2).toMatchObject({ id: r1.id, status: 'succeeded', planned: 5, succeeded: 5 });
    expect(dest.opsSince(0)).toEqual(['upsert:1', 'upsert:2', 'upsert:3', 'upsert:4', 'upsert:5']);
    expect(await snapshot('people_resume')).toEqual(held(dest));
  });

  it('a keyed run (the profiles real-time passes touched) diffs those keys alone; the others wait for their own', async () => {
    if (!ok) return;
    await setPeople(V1);
    const dest = new RecordingDestination();
    const t = dest.target(sync('people_keyed', 'mirror'));
    // no snapshot yet: keys or not, the first run diffs everything
    expect(await runner.run(t, ws.project(), { trigger: 'realtime', keys: ['1'] })).toMatchObject({ status: 'succeeded', added: 3 });
    await setPeople(V2); // 2 changed, 3 gone, 4 new
    const before = dest.calls.length;
    const r = await runner.run(t, ws.project(), { trigger: 'realtime', keys: ['2', '3'] });
    expect(r).toMatchObject({ status: 'succeeded', added: 0, changed: 1, removed: 1, unchanged: 0 });
    expect(dest.opsSince(before)).toEqual(['delete:3', 'upsert:2']);
    expect(await snapshot('people_keyed')).toEqual(['1:a@x.io', '2:b@x.io']);
    expect(await runner.run(t, ws.project(), { trigger: 'realtime', keys: ['4', 'nobody'] })).toMatchObject({ added: 1, changed: 0, removed: 0 });
    // a whole run finds nothing left
    expect(await runner.run(t, ws.project(), { trigger: 'manual' })).toMatchObject({ planned: 0, unchanged: 3 });
    expect(held(dest)).toEqual(['1:a@x.io', '2:b@x.io', '4:d@x.io']);
  });

  it('forward_only: the first run records the rows without sending; later runs send changes', async () => {
    if (!ok) return;
    await setPeople(V1);
    const dest = new RecordingDestination();
    const t = dest.target(sync('people_forward', 'upsert', { options: { first_sync: 'forward_only' } }));
    expect(await runner.run(t, ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 0, unchanged: 3 });
    expect(dest.calls).toHaveLength(0);
    await setPeople(V2);
    await runner.run(t, ws.project(), { trigger: 'manual' });
    expect(dest.opsSince(0)).toEqual(['upsert:2', 'upsert:4']);
    // full resync: everything again
    expect(await runner.run(t, ws.project(), { trigger: 'manual', fullResync: true })).toMatchObject({ planned: 3, added: 3 });
  });
});
