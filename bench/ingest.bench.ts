/**
 * Tracking API throughput, acknowledged after commit, on DuckDB, load generator on the
 * same machine (wrk, bench/ingest/track.lua): single-event POST /v1/track and 20-event POST /v1/batch, against the same-run ceiling
 * of a bare Fastify server appending to DuckDB (bench/ingest/bare-server.ts).
 * Usage: tsx bench/ingest.bench.ts [seconds per run=10] [repeats=3]
 * Needs `npm run build` (the service runs as `node bin/cdp.js serve`, as users run it).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb.warehouse';
import { queryValue } from '../src/warehouse/warehouse';
import { median, requireWrk, runWrk, stopChild, waitFor } from './support/wrk';

const ROOT = join(__dirname, '..');
const SECONDS = Number(process.argv[2] ?? 10);
const REPEATS = Number(process.argv[3] ?? 3);
const ADMIN = 'bench-admin-token';

interface Server {
  url: string;
  auth?: string;
  dbFile: string;
  table: string;
  stop: () => Promise<void>;
  cleanup: () => void;
}

async function startOurs(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-ingest-'));
  cpSync(join(ROOT, 'cdp.yaml'), join(dir, 'cdp.yaml'));
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cdp.js'), '-p', dir, 'serve'], {
    env: { ...process.env, PORT: '0', CDP_ADMIN_TOKEN: ADMIN, CDP_LOG_LEVEL: 'warn', CI: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [, url] = await waitFor(child, /serving .* on (http:\/\/localhost:\d+)/);
  const res = await fetch(`${url}/api/sources`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
  const { writeKey } = (await res.json()) as { writeKey: string };
  return {
    url,
    auth: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    dbFile: join(dir, '.cdp', 'warehouse.duckdb'),
    table: 'cdp.raw_events',
    stop: () => stopChild(child),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function startBare(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-bare-'));
  const dbFile = join(dir, 'bare.duckdb');
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), join(__dirname, 'ingest', 'bare-server.ts'), dbFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [, port] = await waitFor(child, /listening (\d+)/);
  return {
    url: `http://127.0.0.1:${port}`,
    dbFile,
    table: 'raw_events',
    stop: () => stopChild(child),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

interface Run {
  requestsPerSec: number;
  eventsPerSec: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
}

function load(server: Server, path: string, events: number, connections: number, runId: string): Run {
  const { requests, errors, p50, p99 } = runWrk(server.url + path, {
    connections,
    seconds: SECONDS,
    script: join(__dirname, 'ingest', 'track.lua'),
    env: { AUTH: server.auth ?? '', BATCH: String(events), RUN_ID: runId },
  });
  const ok = requests - errors;
  return { requestsPerSec: ok / SECONDS, eventsPerSec: (ok * events) / SECONDS, p50, p99, ok, errors };
}

/** Every acknowledged event must be in the table: counted after a graceful stop. */
async function committedRows(server: Server): Promise<number> {
  const wh = await DuckDbWarehouse.open({ path: server.dbFile });
  try {
    return Number(await queryValue(wh, `select count(*) from ${server.table}`));
  } finally {
    await wh.close();
  }
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  requireWrk();
  const scenarios = [
    { name: 'single event, POST /v1/track', path: '/v1/track', events: 1, connections: 96 },
    { name: '20-event batch, POST /v1/batch', path: '/v1/batch', events: 20, connections: 32 },
  ];
  const table: Record<string, Record<string, Run[]>> = {};
  const losses: string[] = [];
  for (let r = 0; r < REPEATS; r++) {
    for (const [label, start] of [['cdp', startOurs], ['bare', startBare]] as const) {
      const server = await start();
      let acked = 0;
      for (const s of scenarios) {
        const run = load(server, s.path, s.events, s.connections, `${label}${r}${s.events}`);
        acked += run.ok * s.events;
        ((table[s.name] ??= {})[label] ??= []).push(run);
      }
      await server.stop();
      const rows = await committedRows(server);
      server.cleanup();
      if (label === 'cdp') losses.push(`${acked.toLocaleString('en-US')} acknowledged / ${rows.toLocaleString('en-US')} committed`);
      if (rows < acked) throw new Error(`${label}: ${acked} events acknowledged but only ${rows} committed`);
    }
  }
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`ingest: ${SECONDS} s per run, median of ${REPEATS}, wrk (1 thread) on the same 2-core machine, DuckDB, acknowledged after commit`);
  for (const s of scenarios) {
    const row = (runs: Run[]) => ({
      rps: median(runs.map((x) => x.requestsPerSec)),
      eps: median(runs.map((x) => x.eventsPerSec)),
      p50: median(runs.map((x) => x.p50)),
      p99: median(runs.map((x) => x.p99)),
      errors: runs.reduce((a, x) => a + x.errors, 0),
    });
    const o = row(table[s.name].cdp);
    const b = row(table[s.name].bare);
    console.log(`  ${s.name}, ${s.connections} connections`);
    console.log(`    cdp (Nest, auth, validation) ${fmt(o.rps).padStart(7)} req/s ${fmt(o.eps).padStart(8)} events/s  p50 ${o.p50} ms  p99 ${o.p99} ms  non-2xx/errors ${o.errors}`);
    console.log(`    bare Fastify + appender      ${fmt(b.rps).padStart(7)} req/s ${fmt(b.eps).padStart(8)} events/s  p50 ${b.p50} ms  p99 ${b.p99} ms`);
    console.log(`    ratio cdp / bare: ${(o.rps / b.rps).toFixed(2)}x`);
  }
  console.log(`  every acknowledged event committed: ${losses.join('; ')}`);
}

void main();
