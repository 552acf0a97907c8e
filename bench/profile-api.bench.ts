/**
 * Profile API latency on DuckDB: GET /api/profiles/:idType/:idValue and /api/profiles/:profileId
 * (random identifiers of every type and profile ids) at about 1,000 requests/s, and at saturation,
 * against the same-run baseline of a bare Fastify server answering a fixed JSON of the same size
 * (bench/profile-api/bare-server.ts). The load generator is wrk (bench/profile-api/lookup.lua) on
 * the same machine. The warehouse holds the tables identity resolution writes, made by SQL here:
 * PROFILES profiles with ~3.9 identifiers each, 7 traits, ~5 events each (1% of them 45).
 * Also: the index load time and the service's memory, and the answers whose events come from the
 * warehouse (`?events=` above what the index keeps).
 * Usage: tsx bench/profile-api.bench.ts [seconds per run=10] [repeats=3] [profiles=100000]
 * Needs `npm run build` (the service runs as `node bin/cdp.js serve`, as users run it) and wrk.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config.loader';
import { queryAll } from '../src/warehouse/warehouse';
import { Workspace } from '../src/workspace/workspace';
import { PROFILES_PROJECT_YAML } from '../test/support/profile-tables';
import { median, requireWrk, runWrk, stopChild, waitFor } from './support/wrk';

const ROOT = join(__dirname, '..');
const SECONDS = Number(process.argv[2] ?? 10);
const REPEATS = Number(process.argv[3] ?? 3);
const PROFILES = Number(process.argv[4] ?? 100_000);
const ADMIN = 'bench-admin-token';
const HEAVY = Math.ceil(PROFILES / 100);

const pid = (i: string) => `'p' || lpad(${i}::varchar, 7, '0')`;

/** The tables identity resolution writes, for PROFILES profiles, by SQL in DuckDB. */
const DATA_SQL = [
  `create or replace table cdp.profiles as
   select ${pid('i')} as profile_id,
          timestamp '2024-01-01' + (i % 300) * interval 1 day as first_seen,
          timestamp '2024-11-01' + (i % 1000) * interval 1 minute as last_seen,
          timestamp '2024-11-29 06:00:00' as updated_at,
          'Customer ' || i as name, (['free', 'pro', 'team'])[1 + i % 3] as plan, (i % 17)::integer as orders,
          round((i % 1000) * 1.37, 2)::double as lifetime_value, i % 10 = 0 as is_vip,
          timestamp '2024-10-01' + (i % 500) * interval 1 hour as last_order_at, 'GB' as country
   from range(${PROFILES}) t(i)`,
  `create or replace table cdp.identity_graph as
   with p as (select i, ${pid('i')} as profile_id, timestamp '2024-01-01' + (i % 300) * interval 1 day as seen from range(${PROFILES}) t(i))
   select profile_id, 'user_id' as id_type, 'u' || i as id_value, 'events' as source, seen as first_seen, seen as last_seen, i as component from p
   union all select profile_id, 'email', 'customer' || i || '@example.com', 'stg_customers', seen, seen, i from p
   union all select profile_id, 'email', 'c.' || i || '@mail.example.org', 'events', seen, seen, i from p where i % 4 = 0
   union all select profile_id, 'phone', '+447700' || lpad(i::varchar, 6, '0'), 'events', seen, seen, i from p where i % 3 = 0
   union all select profile_id, 'anonymous_id', 'anon-' || i || '-1', 'events', seen, seen, i from p
   union all select profile_id, 'anonymous_id', 'anon-' || i || '-2', 'events', seen, seen, i from p where i % 3 = 1`,
  // ~5 events a profile, half through the user id, half through an anonymous id; the first 1% have 40 more
  `insert into cdp.raw_events (message_id, type, event, name, user_id, anonymous_id, "timestamp", received_at, properties, context)
   with e as (
     select n, n % ${PROFILES} as i, n // ${PROFILES} as k from range(${PROFILES * 5}) t(n)
     union all select ${PROFILES * 5} + n, n % ${HEAVY}, 5 + n // ${HEAVY} from range(${HEAVY * 40}) t(n)
   )
   select 'msg-' || n, case when n % 7 = 0 then 'page' else 'track' end, case when n % 7 = 0 then null else 'Product Viewed' end,
          case when n % 7 = 0 then 'Product' end,
          case when n % 2 = 0 then 'u' || i end, case when n % 2 = 1 then 'anon-' || i || '-1' end,
          timestamp '2024-11-01' + k * interval 1 hour + (i % 3600) * interval 1 second,
          timestamp '2024-11-01' + k * interval 1 hour + (i % 3600) * interval 1 second,
          json_object('sku', 'sku-' || (n % 500), 'price', 19.99, 'currency', 'GBP'),
          json_object('ip', '192.0.2.' || (n % 250), 'library', json_object('name', 'analytics.js', 'version', '2.11.1'), 'page', json_object('path', '/products/sku-' || (n % 500)))
   from e`,
];

interface Project {
  dir: string;
  /** request paths wrk picks from */
  paths: string;
  identifiers: number;
  events: number;
}

async function buildProject(): Promise<Project> {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-profiles-'));
  writeFileSync(join(dir, 'cdp.yaml'), PROFILES_PROJECT_YAML);
  const ws = await Workspace.open(loadConfig({ projectDir: dir, env: {} }));
  try {
    for (const sql of DATA_SQL) await ws.warehouse.execute(sql);
    // 20,000 random identifiers of every type and 5,000 profile ids (both small results)
    const ids = await queryAll(ws.warehouse, `select id_type, id_value from cdp.identity_graph using sample 20000 rows`);
    const profiles = await queryAll(ws.warehouse, `select profile_id from cdp.profiles using sample 5000 rows`);
    const paths = [
      ...ids.map((r) => `/api/profiles/${r.id_type}/${encodeURIComponent(String(r.id_value))}`),
      ...profiles.map((r) => `/api/profiles/${encodeURIComponent(String(r.profile_id))}`),
    ];
    writeFileSync(join(dir, 'paths.txt'), paths.join('\n') + '\n');
    // queryAll, not queryValue: a query left early keeps the DuckDB file locked after close (until exit)
    const [counts] = await queryAll(ws.warehouse, 'select (select count(*) from cdp.identity_graph) as identifiers, (select count(*) from cdp.raw_events) as events');
    return { dir, paths: join(dir, 'paths.txt'), identifiers: Number(counts.identifiers), events: Number(counts.events) };
  } finally {
    await ws.close();
  }
}

interface Server {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const auth = { authorization: `Bearer ${ADMIN}` };

/** `cdp serve` on the project; resolves once its profile index has loaded (answers 200, not 503). */
async function startOurs(project: Project): Promise<Server & { loadMs: number }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cdp.js'), '-p', project.dir, 'serve'], {
    env: { ...process.env, PORT: '0', CDP_ADMIN_TOKEN: ADMIN, CDP_LOG_LEVEL: 'warn', CI: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [, url] = await waitFor(child, /serving .* on (http:\/\/localhost:\d+)/);
  const started = performance.now();
  for (;;) {
    const res = await fetch(`${url}/api/profiles/user_id/u1?events=0`, { headers: auth });
    if (res.status === 200) break;
    if (res.status !== 503) throw new Error(`the service answered ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, pid: child.pid!, loadMs: performance.now() - started, stop: () => stopChild(child) };
}

async function startBare(bodyFile: string): Promise<Server> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), join(__dirname, 'profile-api', 'bare-server.ts'), bodyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [, port] = await waitFor(child, /listening (\d+)/);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) };
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function load(server: Server, project: Project, connections: number, delayMs: number): Run {
  const run = runWrk(server.url, {
    connections,
    seconds: SECONDS,
    script: join(__dirname, 'profile-api', 'lookup.lua'),
    env: { AUTH: auth.authorization, PATHS: project.paths, DELAY_MS: String(delayMs) },
  });
  return { rps: run.requests / SECONDS, p50: run.p50, p99: run.p99, errors: run.errors };
}

/** Sequential answers (one at a time), ms: p50 and p99. */
async function sequential(urls: string[]): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (const url of urls) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: auth });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)] };
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  requireWrk();
  const t0 = performance.now();
  const project = await buildProject();
  console.log(
    `built ${PROFILES.toLocaleString('en-US')} profiles, ${project.identifiers.toLocaleString('en-US')} identifiers, ` +
      `${project.events.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const scenarios = [
    // 20 connections, each pausing 0..38 ms (19 on average) after an answer: about 1,000 requests/s
    { name: '~1,000 req/s (20 connections, paced)', connections: 20, delayMs: 19 },
    { name: 'saturation (32 connections, no pause)', connections: 32, delayMs: 0 },
  ];
  const table: Record<string, Record<'cdp' | 'bare', Run[]>> = {};
  const loads: number[] = [];
  const rss: number[] = [];
  let uncached = { p50: 0, p99: 0 };
  let cached = { p50: 0, p99: 0 };
  const bodyFile = join(project.dir, 'body.json');
  let answerBytes = 0;
  try {
    for (let r = 0; r < REPEATS; r++) {
      const ours = await startOurs(project);
      loads.push(ours.loadMs);
      rss.push(rssMb(ours.pid));
      // the bare server answers a typical profile (5 events) of the same size
      const body = await (await fetch(`${ours.url}/api/profiles/user_id/u${PROFILES - 1}`, { headers: auth })).text();
      writeFileSync(bodyFile, body);
      answerBytes = Buffer.byteLength(body);
      if (r === 0) {
        const heavy = Array.from({ length: 200 }, (_, k) => `${ours.url}/api/profiles/user_id/u${k % HEAVY}`);
        cached = await sequential(heavy.map((u) => `${u}?events=20`));
        uncached = await sequential(heavy.map((u) => `${u}?events=50`));
      }
      for (const s of scenarios) ((table[s.name] ??= { cdp: [], bare: [] }).cdp).push(load(ours, project, s.connections, s.delayMs));
      await ours.stop();
      const bare = await startBare(bodyFile);
      for (const s of scenarios) table[s.name].bare.push(load(bare, project, s.connections, s.delayMs));
      await bare.stop();
    }
  } finally {
    rmSync(project.dir, { recursive: true, force: true });
  }

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`profile API: ${SECONDS} s per run, median of ${REPEATS}, wrk (1 thread) on the same machine, DuckDB`);
  console.log(`  index load at start: ${fmt(median(loads))} ms; service RSS after it: ${fmt(median(rss))} MB; answer size ${fmt(answerBytes)} bytes`);
  for (const s of scenarios) {
    const row = (runs: Run[]) => ({ rps: median(runs.map((x) => x.rps)), p50: median(runs.map((x) => x.p50)), p99: median(runs.map((x) => x.p99)), errors: runs.reduce((a, x) => a + x.errors, 0) });
    const o = row(table[s.name].cdp);
    const b = row(table[s.name].bare);
    console.log(`  ${s.name}`);
    console.log(`    cdp (Nest, admin token, index)  ${fmt(o.rps).padStart(6)} req/s  p50 ${o.p50} ms  p99 ${o.p99} ms  non-2xx/errors ${o.errors}`);
    console.log(`    bare Fastify, fixed JSON        ${fmt(b.rps).padStart(6)} req/s  p50 ${b.p50} ms  p99 ${b.p99} ms`);
    console.log(`    ratio cdp / bare: p99 ${(o.p99 / b.p99).toFixed(2)}x, req/s ${(o.rps / b.rps).toFixed(2)}x`);
  }
  const r2 = (n: number) => n.toFixed(2);
  console.log(`  one at a time, profiles with 45 events: ?events=20 (index) p50 ${r2(cached.p50)} ms p99 ${r2(cached.p99)} ms; ?events=50 (warehouse) p50 ${r2(uncached.p50)} ms p99 ${r2(uncached.p99)} ms`);
}

void main();
