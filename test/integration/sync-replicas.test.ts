import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ModelEngine } from '../../src/models/model-engine';
import { SyncBusyError, SyncRunner } from '../../src/syncs/sync-runner';
import { Workspace } from '../../src/workspace/workspace';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { memoryLogger, RecordingDestination } from '../support/recording-destination';
import { TempProject } from '../support/temp-project';

/**
 * Two service replicas sharing a PostgreSQL control store (and warehouse): one run per sync at a
 * time, whoever starts first; the other is refused while it runs and may run after.
 */
describe('one run per sync across replicas on a PostgreSQL control store', () => {
  let ok = false;
  const database = `cdp_sync_${randomBytes(4).toString('hex')}`;
  let p: TempProject;
  let a: Workspace;
  let b: Workspace;
  let schema: string;
  let cdp: string;

  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    ok = await requirePostgres();
    if (!ok) return;
    await admin(`create database "${database}"`);
    const store = new URL(POSTGRES_URL);
    store.pathname = `/${database}`;
    schema = uniqueSchema('replica');
    cdp = uniqueSchema('replica_cdp');
    const people = ['id,email', ...Array.from({ length: 20 }, (_, i) => `${i + 1},p${i + 1}@x.io`)].join('\n');
    p = new TempProject({ 'cdp.yaml': `name: r\nwarehouse: { type: duckdb }\ningest: { schema: ${cdp} }\n`, 'seeds/people.csv': `${people}\n` });
    const env = { CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: schema, CDP_CONTROL_STORE_URL: store.toString() };
    a = await Workspace.open(p.config(env));
    b = await Workspace.open(p.config(env));
    await new ModelEngine(a).seed({});
  });

  afterAll(async () => {
    if (!ok) return;
    await Promise.all([a?.close(), b?.close()]);
    await dropSchema(schema);
    await dropSchema(cdp);
    await admin(`drop database if exists "${database}" with (force)`);
    p.cleanup();
  });

  it('refuses a second run while one runs, on another replica or at the same instant', async () => {
    if (!ok) return;
    const dest = new RecordingDestination();
    dest.delayMs = 150;
    const sync = { name: 'people_replicas', source: { model: 'people' }, primary_key: 'id', destination: 'recorder', mode: 'upsert' as const, mapping: { email: 'email' } };
    const target = dest.target(sync, 5);
    const runnerA = new SyncRunner(a, memoryLogger());
    const runnerB = new SyncRunner(b, memoryLogger());

    // both start at the same instant: exactly one runs
    const results = await Promise.allSettled([runnerA.run(target, a.project(), { trigger: 'schedule' }), runnerB.run(target, b.project(), { trigger: 'schedule' })]);
    const ran = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ran).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toBeInstanceOf(SyncBusyError);
    expect(dest.opsSince(0)).toHaveLength(20); // every row sent once

    // one replica mid-run, the other tries: refused; after the end it runs (nothing left to send)
    await a.warehouse.execute(`update ${a.warehouse.dialect.relation({ schema, name: 'people' })} set email = 'changed@x.io' where cast(id as integer) <= 10`);
    const first = runnerA.run(target, a.project(), { trigger: 'manual' });
    await new Promise((r) => setTimeout(r, 100));
    await expect(runnerB.run(target, b.project(), { trigger: 'manual' })).rejects.toThrow(/sync people_replicas is already running/);
    expect(await first).toMatchObject({ status: 'succeeded', changed: 10, succeeded: 10 });
    expect(await runnerB.run(target, b.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 0 });
    expect(dest.opsSince(0)).toHaveLength(30);
  });
});
