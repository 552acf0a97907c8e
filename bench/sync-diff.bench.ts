/**
 * The sync engine on DuckDB (issue 6):
 *
 * 1. Diff: a source of N rows (5 mapped columns) against its snapshot with 1% of rows changed,
 *    through `buildPlan` as every run does it (stage with key and row hash, duplicate-key check,
 *    add/change/remove into the plan). Reports time and the process's peak RSS (DuckDB runs
 *    in-process, so its memory is in it). Baseline, same run: a bare SQL diff of the same tables
 *    (EXCEPT both ways, no hashing, no plan), the least a warehouse diff can cost.
 * 2. Delivery: a first run of DELIVER rows to a local HTTP batch endpoint through the webhook
 *    destination (batches of 1,000, per-batch checkpoints), rows/s; baseline, same run: a bare
 *    HTTP client (fetch) posting the same number of 1,000-row JSON batches to the same endpoint.
 *
 * Usage: npx tsx bench/sync-diff.bench.ts [diffRows=1000000,10000000] [deliverRows=1000000] [duckdbMemoryLimit=600MB; "" for DuckDB's default, 80% of RAM]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.loader';
import { queryValue } from '../src/warehouse/warehouse';
import { Workspace } from '../src/workspace/workspace';
import { buildPlan, sourceQuery } from '../src/syncs/sync-planner';
import { SyncRunner } from '../src/syncs/sync-runner';
import { findSync, resolveSync } from '../src/syncs/sync-catalog';

const DIFF_ROWS = (process.argv[2] ?? '1000000,10000000').split(',').map(Number);
const DELIVER_ROWS = Number(process.argv[3] ?? 1_000_000);
/** warehouse.memory_limit for DuckDB: beyond it joins spill to disk */
const MEMORY_LIMIT = process.argv[4] ?? '600MB';
const quiet = { debug: () => undefined, info: () => undefined, warn: (o: object, m?: string) => console.warn(m, o) };
const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Peak RSS while `fn` runs (sampled every 5 ms). */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; peakRss: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t0 = performance.now();
  try {
    const result = await fn();
    return { result, ms: performance.now() - t0, peakRss: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-sync-bench-'));
  let server: ReturnType<typeof createServer> | undefined;
  try {
    let received = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received += (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { operations: unknown[] } }).data.operations.length;
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
    mkdirSync(join(dir, 'models'));
    mkdirSync(join(dir, 'destinations'));
    mkdirSync(join(dir, 'syncs'));
    writeFileSync(join(dir, 'cdp.yaml'), `name: bench\nwarehouse: { type: duckdb, path: w.duckdb${MEMORY_LIMIT ? `, memory_limit: ${MEMORY_LIMIT}` : ''} }\n`);
    writeFileSync(join(dir, 'models', 'people.sql'), 'select 1 as id');
    writeFileSync(join(dir, 'models', 'people.yml'), 'models:\n  - name: people\n    config: { materialized: table }\n');
    writeFileSync(join(dir, 'destinations', 'hook.yaml'), `type: webhook\nsettings: { url: "${url}" }\n`);
    writeFileSync(
      join(dir, 'syncs', 'people_to_hook.yaml'),
      'source: { model: people }\nprimary_key: id\ndestination: hook\nmode: upsert\nmapping: { email: email, name: name, plan: plan, score: score }\noptions: { batch_size: 1000 }\n',
    );
    const ws = await Workspace.open(loadConfig({ projectDir: dir }));
    const wh = ws.warehouse;
    console.log(`sync engine on DuckDB (memory_limit ${MEMORY_LIMIT || 'default'}): ${cpus().length} cores, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
    try {
      await wh.ensureSchema('analytics');
      const runner = new SyncRunner(ws, quiet);
      const entry = await findSync(ws, 'people_to_hook');
      const target = await resolveSync(ws, entry, quiet);
      const project = ws.project();
      const people = (n: number) => `create or replace table analytics.people as
select i as id, 'person' || i || '@example.com' as email, 'Person ' || i as name, (['free', 'pro', 'team'])[1 + i % 3] as plan, (i * 7) % 1000 as score
from range(${n}) t(i)`;
      const spec = async (fullResync = false) => {
        const source = await sourceQuery(wh, project, { model: 'people' }, 'bench');
        return { sync: 'people_to_hook', where: 'bench', source, primaryKey: 'id', columns: ['email', 'name', 'plan', 'score'], mode: 'upsert' as const, tables: runner.tables('people_to_hook'), fullResync };
      };

      for (const n of DIFF_ROWS) {
        await wh.execute(people(n));
        await wh.execute('drop table if exists cdp.sync_people_to_hook_snapshot');
        // the snapshot as after a run that sent everything (forward_only fills it in SQL)
        const first = await measured(async () => buildPlan(wh, { ...(await spec()), firstSync: 'forward_only' }));
        await wh.execute('create or replace table analytics.people_prev as select * from analytics.people');
        await wh.execute(`update analytics.people set plan = 'changed' where id % 100 = 0`);
        const diff = await measured(async () => buildPlan(wh, await spec()));
        const bare = await measured(async () =>
          queryValue(wh, `select (select count(*) from (select * from analytics.people except select * from analytics.people_prev)) + (select count(*) from (select * from analytics.people_prev except select * from analytics.people))`),
        );
        console.log(
          `diff ${n.toLocaleString('en-US')} rows, 1% changed: ${secs(diff.ms)} (peak RSS ${mb(diff.peakRss)}); planned ${diff.result.planned.toLocaleString('en-US')} (changed ${diff.result.changed.toLocaleString('en-US')}); ` +
            `first run snapshot ${secs(first.ms)}; bare EXCEPT diff ${secs(bare.ms)} (${Number(bare.result).toLocaleString('en-US')} rows); ratio ${(diff.ms / bare.ms).toFixed(2)}x`,
        );
        await wh.execute('drop table analytics.people_prev');
        await wh.execute('drop table if exists cdp.sync_people_to_hook_plan');
      }

      // delivery: a first run (every row added) through the webhook destination
      await wh.execute(people(DELIVER_ROWS));
      await wh.execute('drop table if exists cdp.sync_people_to_hook_snapshot');
      received = 0;
      const run = await measured(() => runner.run(target, project, { trigger: 'cli' }));
      const engineRate = (DELIVER_ROWS / run.ms) * 1000;
      // baseline: the same number of batches of the same shape, posted by a bare client
      const batch = JSON.stringify({
        type: 'sync.batch',
        timestamp: new Date().toISOString(),
        data: { sync: 'people_to_hook', run_id: 'x', operations: Array.from({ length: 1000 }, (_, i) => ({ op: 'upsert', key: String(i), fields: { email: `person${i}@example.com`, name: `Person ${i}`, plan: 'pro', score: i } })) },
      });
      const receivedByEngine = received;
      const t0 = performance.now();
      for (let i = 0; i < DELIVER_ROWS / 1000; i++) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch });
        await res.arrayBuffer();
      }
      const bareMs = performance.now() - t0;
      const bareRate = (DELIVER_ROWS / bareMs) * 1000;
      console.log(
        `deliver ${DELIVER_ROWS.toLocaleString('en-US')} rows (run ${run.result.status}, ${receivedByEngine.toLocaleString("en-US")} received; ms per phase ${JSON.stringify(run.result.timings)}): ` +
          `${Math.round(engineRate).toLocaleString('en-US')} rows/s (peak RSS ${mb(run.peakRss)}); bare fetch of the same batches ${Math.round(bareRate).toLocaleString('en-US')} rows/s; ratio ${(engineRate / bareRate).toFixed(2)}x`,
      );
    } finally {
      await ws.close();
    }
  } finally {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
