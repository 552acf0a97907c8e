import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningService } from '../../src/server/service-file';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';
import { queryAll } from '../../src/warehouse/warehouse';
import { buildOnce } from '../support/build';
import { ServedProject } from '../support/cli';
import { REPO_ROOT, TempProject } from '../support/temp-project';
import { createSource } from '../support/test-app';

/**
 * A crash test of the tracking API's promise: an event whose request got a 200 is in the warehouse,
 * even when `cdp serve` is killed with SIGKILL in the middle of a stream of requests.
 */

const ADMIN_TOKEN = 'test-admin-token-crash';
const SERVE_ENV = { CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'error' };

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
  const servers: ServedProject[] = [];
  let project: TempProject;

  beforeAll(() => {
    // the service under test is the compiled one: build it from the current sources
    buildOnce();
    expect(existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
    project = TempProject.demo();
  }, 120000);

  afterAll(() => {
    for (const s of servers) s.kill();
    project?.cleanup();
  });

  it('keeps every acknowledged event; a restart over the stale service.json works', async () => {
    const first = new ServedProject(project.dir, SERVE_ENV);
    servers.push(first);
    const service = await first.ready();

    const { writeKey } = await createSource(service.url, ADMIN_TOKEN, 'crash');

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

    const second = new ServedProject(project.dir, SERVE_ENV);
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
