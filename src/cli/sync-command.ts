import type { RunningService } from '../server/service-file';
import type { RunView, PlanResult } from '../syncs/syncs.schemas';
import type { SyncsService } from '../syncs/syncs.service';
import { toRunView } from '../syncs/syncs.service';

const count = (n: number) => n.toLocaleString('en-US');
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** `cdp sync x --plan`: the counts of each change with a sample of the fields each would send. */
export function planText(plan: PlanResult): string {
  const lines = [`plan for ${plan.sync} (${plan.mode} → ${plan.destination})`];
  const width = Math.max(...[plan.added, plan.changed, plan.removed, plan.unchanged].map((n) => count(n).length));
  const sampleOf = (change: string) =>
    plan.samples
      .filter((s) => s.change === change)
      .map((s) => `e.g. ${clip(s.key, 12)} ${s.fields ? clip(JSON.stringify(s.fields), 90) : `(cannot be sent: ${s.error})`}`);
  for (const [label, change, n] of [
    ['add', 'add', plan.added],
    ['change', 'change', plan.changed],
    ['remove', 'remove', plan.removed],
  ] as const) {
    const samples = sampleOf(change);
    lines.push(`  ${label.padEnd(9)} ${count(n).padStart(width)}${samples.length ? `   ${samples[0]}` : ''}`);
    for (const s of samples.slice(1)) lines.push(`  ${' '.repeat(9 + width + 1)}   ${s}`);
  }
  lines.push(`  ${'unchanged'.padEnd(9)} ${count(plan.unchanged).padStart(width)}`);
  if (plan.planned < plan.added + plan.changed + plan.removed) lines.push(`  (mode ${plan.mode} sends ${count(plan.planned)} of these; the rest only update the snapshot)`);
  if (plan.nullKeys) lines.push(`  ${count(plan.nullKeys)} source rows have a null primary key and are skipped`);
  lines.push('nothing sent (--plan)');
  return `${lines.join('\n')}\n`;
}

/** The line a finished run prints, and the exit code it deserves. */
export function runText(run: RunView): string {
  const c = run.counts;
  const seconds = run.durationMs === null ? '' : ` in ${(run.durationMs / 1000).toFixed(2)}s`;
  const head = `${run.sync}: ${run.status}${seconds}: ${count(c.added)} added, ${count(c.changed)} changed, ${count(c.removed)} removed, ${count(c.unchanged)} unchanged; sent ${count(c.succeeded)}, rejected ${count(c.failed)}`;
  const extra = [run.retries ? `${run.retries} retries` : '', run.error ? `error: ${run.error}` : '', c.failed ? `rejected rows: GET /api/syncs/${run.sync}/runs/${run.id}/errors` : '']
    .filter(Boolean)
    .map((s) => `  ${s}`);
  return `${[head, ...extra].join('\n')}\n`;
}

/** A progress bar on a terminal; nothing on pipes (the final line says it all). */
export function progressBar(out: NodeJS.WriteStream = process.stdout): { update: (done: number, total: number) => void; end: () => void } {
  let shown = false;
  return {
    update(done, total) {
      if (!out.isTTY || total === 0) return;
      const width = 30;
      const filled = Math.round((done / total) * width);
      out.write(`\r\x1b[K  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count(done)} / ${count(total)} rows`);
      shown = true;
    },
    end() {
      if (shown) out.write('\r\x1b[K');
    },
  };
}

/** Runs one sync in this process with a progress bar; prints the result line. */
export async function runSyncHere(service: SyncsService, name: string, fullResync: boolean, trigger: 'cli' | 'after' = 'cli'): Promise<RunView> {
  const bar = progressBar();
  process.stdout.write(`sync ${name}: planning\n`);
  try {
    const run = toRunView(await service.run(name, trigger, { fullResync, onProgress: (d, t) => bar.update(d, t) }));
    bar.end();
    process.stdout.write(runText(run));
    return run;
  } catch (e) {
    bar.end();
    throw e;
  }
}

/** The same through the running service's API: start the run, follow it until it ends. */
export async function runSyncRemote(service: RunningService, name: string, fullResync: boolean): Promise<RunView> {
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(new URL(path, service.url), {
      method,
      headers: { authorization: `Bearer ${service.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await response.json()) as T & { message?: string };
    if (!response.ok) throw new Error(json.message ?? `the service answered ${response.status}`);
    return json;
  };
  const bar = progressBar();
  const { runId } = await api<{ runId: string }>('POST', `/api/syncs/${encodeURIComponent(name)}/runs`, { full_resync: fullResync });
  for (;;) {
    const run = await api<RunView>('GET', `/api/syncs/${encodeURIComponent(name)}/runs/${encodeURIComponent(runId)}`);
    bar.update(run.counts.succeeded + run.counts.failed, run.counts.planned);
    if (run.finishedAt) {
      bar.end();
      process.stdout.write(runText(run));
      return run;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function planRemote(service: RunningService, name: string, sample: number): Promise<PlanResult> {
  const response = await fetch(new URL(`/api/syncs/${encodeURIComponent(name)}/plan?sample=${sample}`, service.url), { headers: { authorization: `Bearer ${service.token}` } });
  const json = (await response.json()) as PlanResult & { message?: string };
  if (!response.ok) throw new Error(json.message ?? `the service answered ${response.status}`);
  return json;
}

/**
 * After `cdp run`/`cdp build` in this process: the syncs scheduled `after:` the models the job built
 * run now, as the service's scheduler would run them.
 */
export async function runAfterSyncs(service: SyncsService, built: string[]): Promise<boolean> {
  const { listSyncs } = await import('../syncs/sync-catalog');
  const done = new Set(built);
  const due = (await listSyncs(service.workspace)).filter((e) => {
    const s = e.definition.schedule;
    return e.definition.enabled && typeof s === 'object' && 'after' in s && s.after.some((m) => done.has(m));
  });
  let ok = true;
  for (const entry of due) {
    try {
      const run = await runSyncHere(service, entry.definition.name, false, 'after');
      ok &&= run.status === 'succeeded';
    } catch (e) {
      ok = false;
      process.stdout.write(`sync ${entry.definition.name}: could not run: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  return ok;
}
