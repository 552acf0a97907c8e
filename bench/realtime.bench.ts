/**
 * Real-time latency (issue 10): with the service (`node bin/cdp.js serve`, DuckDB) holding N existing
 * profiles, the Segment client (`@segment/analytics-node`) sends `Product Viewed` events of new
 * people at a fixed rate; each one enters the `realtime: true` segment and a `schedule: realtime`
 * audience sync sends its `add` to a local webhook receiver. Per event: the time from the client's
 * track() call to the receiver getting that person's add. Printed: p50/p95/p99, events not
 * delivered, the pipeline's lag from /health (sampled each second), and the same-run baseline: the
 * tracking API's own acknowledgement latency (the response to the client's batch), the floor of any path.
 *
 * Usage: npx tsx bench/realtime.bench.ts [rates=100,1000] [seconds=60] [profiles=100000]
 * Needs `npm run build` (the service runs as users run it).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics } from '@segment/analytics-node';
import { loadConfig } from '../src/config/config.loader';
import { ModelEngine } from '../src/models/model-engine';
import { Workspace } from '../src/workspace/workspace';
import { stopChild, waitFor } from './support/wrk';

const ROOT = join(__dirname, '..');
const RATES = (process.argv[2] ?? '100,1000').split(',').map(Number);
const SECONDS = Number(process.argv[3] ?? 60);
const PROFILES = Number(process.argv[4] ?? 100_000);
const ADMIN = 'bench-admin-token';

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);
const fmt = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');

function project(receiver: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-rt-'));
  for (const d of ['segments', 'destinations', 'syncs']) mkdirSync(join(dir, d));
  writeFileSync(
    join(dir, 'cdp.yaml'),
    [
      'name: rt_bench',
      'warehouse: { type: duckdb, path: .cdp/warehouse.duckdb }',
      'identity:',
      '  identifiers:',
      '    - { type: user_id, from: [events.user_id], limit: 1 }',
      '    - { type: email, from: [events.traits.email, events.context.traits.email], limit: 5 }',
      '    - { type: anonymous_id, from: [events.anonymous_id], limit: 100 }',
      '  traits:',
      '    - { name: email, from: [events.traits.email, events.context.traits.email] }',
      'realtime: { debounce_ms: 20, poll_seconds: 1 }',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'segments', 'viewed_not_bought.yaml'),
    ['name: viewed_not_bought', 'realtime: true', 'where:', '  and:', '    - event: { name: Product Viewed }', '    - not: { event: { name: Order Completed } }', '    - trait: { name: email, op: is_set }'].join('\n'),
  );
  writeFileSync(join(dir, 'destinations', 'hook.yaml'), `type: webhook\nsettings:\n  url: ${receiver}/hook\n`);
  writeFileSync(
    join(dir, 'syncs', 'reminders.yaml'),
    ['source: { segment: viewed_not_bought }', 'primary_key: profile_id', 'destination: hook', 'mode: audience', 'mapping: { email: email }', 'options: { batch_size: 1000 }', 'schedule: realtime'].join('\n'),
  );
  return dir;
}

/** N people with an identify each (half with a product view), resolved by a full build: the existing profiles. */
async function seedProfiles(dir: string): Promise<void> {
  const ws = await Workspace.open(loadConfig({ projectDir: dir, env: {} }));
  try {
    await ws.warehouse.execute(`insert into cdp.raw_events (message_id, type, event, user_id, anonymous_id, timestamp, received_at, source_id, traits)
select 'seed-' || range, 'identify', null, 'u' || range, 'a' || range, timestamp '2026-11-01' + to_seconds(range), timestamp '2026-11-01' + to_seconds(range), 'seed',
  json_object('email', 'u' || range || '@seed.example.org')
from range(${PROFILES})`);
    const t0 = performance.now();
    const job = await new ModelEngine(ws).build({});
    if (job.status !== 'success') throw new Error(`the seeding build failed: ${JSON.stringify(job.results.filter((r) => r.status !== 'success'))}`);
    console.log(`seeded ${PROFILES.toLocaleString('en-US')} profiles (build ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } finally {
    await ws.close();
  }
}

async function main() {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { operations: { op: string; fields: { email?: string } }[] } };
      for (const op of body.data.operations) {
        const at = op.op === 'add' && op.fields.email ? sent.get(op.fields.email) : undefined;
        if (at !== undefined) {
          latencies.push(now - at);
          sent.delete(op.fields.email!);
        }
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const dir = project(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
  try {
    await seedProfiles(dir);
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cdp.js'), '-p', dir, 'serve'], {
      // BENCH_LOG=debug BENCH_LOG_FILE=/tmp/rt.log: the service's log (each pass, with its duration) to a file
      env: { ...process.env, PORT: '0', CDP_ADMIN_TOKEN: ADMIN, CDP_LOG_LEVEL: process.env.BENCH_LOG ?? 'warn', CI: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [, url] = await waitFor(child, /serving .* on (http:\/\/localhost:\d+)/);
      // keep reading the service's output (a full pipe would stall it)
      const log = process.env.BENCH_LOG_FILE ? createWriteStream(process.env.BENCH_LOG_FILE) : undefined;
      child.stdout.on('data', (d: Buffer) => log?.write(d));
      const res = await fetch(`${url}/api/sources`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
      const { writeKey } = (await res.json()) as { writeKey: string };
      // a service in production is warm: wait until the profile index has loaded (profiles answer)
      for (let w = 0; w < 1200; w++) {
        const probe = await fetch(`${url}/api/profiles/user_id/u0`, { headers: { authorization: `Bearer ${ADMIN}` } });
        if (probe.status === 200) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      // the acknowledgement baseline: when the tracking API answers the batch an event went in (the
      // client's own track() callback waits at least 300 ms by design, so it cannot measure this)
      const sentAt = new Map<string, number>();
      let acks: number[] = [];
      const httpClient = async (input: string, init: { headers: Record<string, string>; body: string; method: 'POST'; signal: unknown }) => {
        const res = await fetch(input, init as RequestInit);
        const now = Date.now();
        if (res.ok) {
          for (const m of (JSON.parse(init.body) as { batch: { context?: { traits?: { email?: string } } }[] }).batch) {
            const at = m.context?.traits?.email ? sentAt.get(m.context.traits.email) : undefined;
            if (at !== undefined) {
              acks.push(now - at);
              sentAt.delete(m.context!.traits!.email!);
            }
          }
        }
        return res;
      };
      const analytics = new Analytics({ writeKey, host: url, path: '/v1/batch', flushAt: 50, flushInterval: 20, maxRetries: 3, httpClient });
      console.log(`realtime latency, ${PROFILES.toLocaleString('en-US')} existing profiles, ${SECONDS} s per rate (service: node bin/cdp.js serve, DuckDB)`);
      for (const rate of RATES) {
        latencies.length = 0;
        sent.clear();
        acks = [];
        const lags: number[] = [];
        let behindMax = 0;
        const sampler = setInterval(() => {
          void fetch(`${url}/health`)
            .then((r) => r.json() as Promise<{ realtime?: { lagSeconds?: number; eventsBehind?: number } }>)
            .then((h) => {
              lags.push(h.realtime?.lagSeconds ?? 0);
              behindMax = Math.max(behindMax, h.realtime?.eventsBehind ?? 0);
            })
            .catch(() => undefined); // a sample lost while the service is busy is just a missing sample
        }, 1000);
        const total = rate * SECONDS;
        const started = Date.now();
        for (let i = 0; i < total; i++) {
          // pace: event i goes at started + i / rate
          const due = started + (i * 1000) / rate;
          const wait = due - Date.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          const email = `rt${rate}-${i}@bench.example.org`;
          const at = Date.now();
          sent.set(email, at);
          sentAt.set(email, at);
          analytics.track({ userId: `rt${rate}-${i}`, event: 'Product Viewed', properties: { product_id: `p${i % 100}` }, context: { traits: { email } } });
        }
        await analytics.flush();
        // the stragglers: up to 60 s after the last send
        for (let w = 0; w < 600 && sent.size > 0; w++) await new Promise((r) => setTimeout(r, 100));
        clearInterval(sampler);
        console.log(
          `  ${rate}/s: ${latencies.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} delivered; send → destination p50 ${fmt(pct(latencies, 50))}, p95 ${fmt(pct(latencies, 95))}, p99 ${fmt(pct(latencies, 99))}, max ${fmt(latencies.reduce((a, b) => Math.max(a, b), 0))}; ` +
            `lag (health) median ${pct(lags, 50)?.toFixed(1)} s, max ${Math.max(0, ...lags).toFixed(1)} s, events behind max ${behindMax}`,
        );
        console.log(`    baseline: tracking API acknowledgement p50 ${fmt(pct(acks, 50))}, p95 ${fmt(pct(acks, 95))}; ratio p95 / ack p95 ${(pct(latencies, 95) / pct(acks, 95)).toFixed(1)}x`);
      }
      await analytics.closeAndFlush();
    } finally {
      await stopChild(child);
    }
  } finally {
    receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
