import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningService } from '../../src/server/service-file';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { queryAll } from '../../src/warehouse/warehouse';
import { REPO_ROOT, TempProject } from '../support/temp-project';

/**
 * A crash test of the tracking API's promise: an event whose request got a 200 is in the warehouse,
 * even when `cdp serve` is killed with SIGKILL in the middle of a stream of requests.
 */

const CDP = join(REPO_ROOT, 'bin', 'cdp.js');
const ADMIN_TOKEN = 'test-admin-token-crash';

/** The environment of a user's shell, without the variables that would point cdp elsewhere. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CDP_') && k !== 'PORT') env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}

/** A `cdp serve` child process and everything it printed. */
class Server {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly dir: string) {
    this.child = spawn(process.execPath, [CDP, 'serve', '-p', dir], {
      cwd: dir,
      env: cleanEnv({ PORT: '0', CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'error' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get serviceFile(): string {
    return join(this.dir, '.cdp', 'service.json');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until this process (not an earlier one) wrote .cdp/service.json and printed where it listens. */
  async ready(timeoutMs = 20000): Promise<RunningService> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!this.running) throw new Error(`cdp serve exited early\n${this.stdout}\n${this.stderr}`);
      if (existsSync(this.serviceFile) && /cdp is serving/.test(this.stdout)) {
        const service = JSON.parse(readFileSync(this.serviceFile, 'utf8')) as RunningService;
        if (service.pid === this.child.pid) return service;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`cdp serve did not write ${this.serviceFile} in ${timeoutMs} ms\n${this.stdout}\n${this.stderr}`);
  }

  async stop(signal: NodeJS.Signals, timeoutMs = 15000) {
    this.child.kill(signal);
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`cdp serve did not stop on ${signal}`)), timeoutMs).unref());
    return Promise.race([this.exited, timer]);
  }

  /** Last resort for afterAll: this child only, by its pid. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

async function sendTrack(url: string, writeKey: string, messageId: string): Promise<number> {
  const res = await fetch(`${url}/v1/track`, {
    method: 'POST',
    headers: { authorization: basic(writeKey), 'content-type': 'application/json' },
    body: JSON.stringify({ userId: `crash-user-${messageId.length % 7}`, event: 'Crash Test', properties: { messageId }, messageId, timestamp: new Date().toISOString() }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.text();
  return res.status;
}

describe('cdp serve killed with SIGKILL mid-stream', () => {
  const servers: Server[] = [];
  let project: TempProject;

  beforeAll(() => {
    // the service under test is the compiled one: build it from the current sources
    execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'pipe' });
    expect(existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
    project = TempProject.demo();
  }, 120000);

  afterAll(() => {
    for (const s of servers) s.kill();
    project?.cleanup();
  });

  it('keeps every acknowledged event; a restart over the stale service.json works', async () => {
    const first = new Server(project.dir);
    servers.push(first);
    const service = await first.ready();

    const created = await fetch(`${service.url}/api/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'crash' }),
    });
    expect(created.status).toBe(201);
    const { writeKey } = (await created.json()) as { writeKey: string };

    // 8 requests in flight at all times, each with its own messageId, until the service dies
    const sent: string[] = [];
    const acked: string[] = [];
    const failed: string[] = [];
    const otherStatuses: number[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const messageId = `crash-${w}-${i}-${randomUUID()}`;
        sent.push(messageId);
        try {
          const status = await sendTrack(service.url, writeKey, messageId);
          if (status === 200) acked.push(messageId);
          else otherStatuses.push(status);
        } catch {
          failed.push(messageId); // the connection died with the process: unknown whether stored
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));

    // ~1.5 s of traffic, longer on a slow machine until enough were acknowledged to mean something
    const started = Date.now();
    while (Date.now() - started < 1500 || (acked.length <= 150 && Date.now() - started < 15_000)) await new Promise((r) => setTimeout(r, 25));
    const ackedBeforeKill = acked.length;
    first.child.kill('SIGKILL');
    const exit = await first.exited;
    stop = true;
    await Promise.all(workers);

    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(otherStatuses).toEqual([]);
    expect(ackedBeforeKill).toBeGreaterThan(100);
    // requests were in flight when it died (else the kill was not mid-stream)
    expect(failed.length).toBeGreaterThan(0);
    expect(acked.length + failed.length).toBe(sent.length);

    // the killed process could not remove its service.json; it must not stop a new start
    expect(existsSync(first.serviceFile)).toBe(true);
    expect((JSON.parse(readFileSync(first.serviceFile, 'utf8')) as RunningService).pid).toBe(first.child.pid);

    const second = new Server(project.dir);
    servers.push(second);
    const restarted = await second.ready();
    expect(restarted.pid).not.toBe(service.pid);
    // the source and its write key survived; the restarted service takes events
    const after = `crash-after-restart-${randomUUID()}`;
    expect(await sendTrack(restarted.url, writeKey, after)).toBe(200);
    const { code } = await second.stop('SIGTERM');
    expect(code).toBe(0);
    expect(existsSync(second.serviceFile)).toBe(false);

    // read the warehouse file directly, with no service holding it
    const warehouse = await DuckDbWarehouse.open({ path: join(project.dir, '.cdp', 'warehouse.duckdb') });
    let stored: Map<string, number>;
    try {
      const rows = await queryAll(warehouse, `select message_id, count(*) as copies from "cdp"."raw_events" group by message_id`);
      stored = new Map(rows.map((r) => [r.message_id as string, Number(r.copies)]));
    } finally {
      await warehouse.close();
    }

    const lost = acked.filter((id) => !stored.has(id));
    expect({ lost: lost.length, acked: acked.length }).toEqual({ lost: 0, acked: acked.length });
    expect(stored.get(after)).toBe(1);
    // nothing stored twice, nothing stored that was never sent
    const sentSet = new Set([...sent, after]);
    for (const [id, copies] of stored) {
      expect(copies).toBe(1);
      expect(sentSet.has(id)).toBe(true);
    }
    // unacknowledged ones may or may not be there
    const unackedStored = failed.filter((id) => stored.has(id)).length;
    expect(stored.size).toBe(acked.length + unackedStored + 1);
  });
});
