import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { errorMessage } from '../errors/cdp-error';
import { IDENTITY_NODE } from '../models/project';
import { parseDuration } from '../segments/segment-tree';
import { Workspace } from '../workspace/workspace';
import { listSyncs } from './sync-catalog';
import { isEventsSource, type SyncDefinition } from './sync-definition';
import { SyncBusyError } from './sync-runner';
import { SyncsService } from './syncs.service';

/** How often the scheduler re-reads syncs/*.yaml (API changes apply at once). */
const REFRESH_MS = 30_000;
const PREFIX = 'sync:';
/** A real-time sync that finds itself running tries again this soon (the change must not wait for the next one). */
const REALTIME_RETRY_MS = 200;
/** A real-time run that failed is run again after this, doubled per failure in a row up to the cap. */
const REALTIME_FAILED_RETRY_MS = 2_000;
const REALTIME_FAILED_RETRY_MAX_MS = 30_000;

/**
 * Runs syncs on their schedules with @nestjs/schedule: `every` as an interval, `cron` as a cron job
 * (in its timezone), `after: [models]` when a job of this service builds any of them, `realtime`
 * when a pass of the real-time pipeline (or any job) builds the sync's source (the identity step for
 * an events source), `manual` never. Schedules follow the syncs as they are created, changed or deleted (the API refreshes at
 * once; file edits are picked up within 30 s), and at start the runs a stopped process left
 * unfinished are resumed. A scheduled run that finds its sync running is skipped; a real-time one
 * runs again as soon as the running one ends, so no change waits for the next pass; one that
 * failed (the destination is down) runs again after a backoff (2 s, doubling to 30 s), and every
 * real-time sync runs once at start (a stop may have cut off a pass's notification).
 */
@Injectable()
export class SyncScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  /** sync name → the schedule registered for it (as JSON), to see what changed */
  private readonly registered = new Map<string, string>();
  private after = new Map<string, string[]>();
  /** real-time syncs of a segment keyed by profile_id: their runs may diff only the touched profiles */
  private keyed = new Set<string>();
  /** per real-time sync, the profiles touched since its last run began, or 'all' */
  private readonly touchedKeys = new Map<string, Set<string> | 'all'>();
  /** real-time syncs waiting to run again after the run in progress */
  private readonly pending = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(
    @Inject(SchedulerRegistry) private readonly registry: SchedulerRegistry,
    @Inject(SyncsService) private readonly syncs: SyncsService,
    @Inject(Workspace) private readonly ws: Workspace,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = this.ws.onBuilt((nodes, touched) => this.afterBuild(nodes, touched));
    await this.refresh().catch((e: unknown) => this.syncs.logger.warn({ err: errorMessage(e) }, 'could not read the syncs'));
    await this.syncs.resumeUnfinished().catch((e: unknown) => this.syncs.logger.warn({ err: errorMessage(e) }, 'could not resume sync runs'));
    // real-time syncs once at start: a pass whose notification a stop (or a crash) cut off changed
    // their source without a run; a run that finds nothing new sends nothing (syncs that never ran
    // wait for their first build)
    for (const [name, schedule] of this.registered) {
      if (JSON.parse(schedule) === 'realtime' && (await this.syncs.listRuns(name, 1).catch(() => [])).length > 0) this.fire(name, 'realtime');
    }
    // re-read the files, and pick up runs whose process stopped (their lock lapses) on another replica
    this.timer = setInterval(() => {
      this.refresh().catch((e: unknown) => this.syncs.logger.warn({ err: errorMessage(e) }, 'could not read the syncs'));
      this.syncs.resumeUnfinished().catch((e: unknown) => this.syncs.logger.warn({ err: errorMessage(e) }, 'could not resume sync runs'));
    }, REFRESH_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    this.unsubscribe?.();
    for (const name of this.registered.keys()) this.unregister(name);
  }

  /** Registers, changes and removes schedules to match the syncs as they are now. */
  async refresh(): Promise<void> {
    const syncs = (await listSyncs(this.ws)).map((e) => e.definition).filter((d) => d.enabled);
    const wanted = new Map(syncs.map((d) => [d.name, d]));
    for (const name of [...this.registered.keys()]) {
      if (wanted.get(name) && JSON.stringify(wanted.get(name)!.schedule) === this.registered.get(name)) continue;
      this.unregister(name);
    }
    const after = new Map<string, string[]>();
    for (const def of syncs) {
      if (typeof def.schedule === 'object' && 'after' in def.schedule) after.set(def.name, def.schedule.after);
      if (def.schedule === 'realtime') after.set(def.name, [realtimeNode(def)]);
      if (!this.registered.has(def.name)) this.register(def);
    }
    this.after = after;
    this.keyed = new Set(syncs.filter((d) => d.schedule === 'realtime' && 'segment' in d.source && d.primary_key === 'profile_id').map((d) => d.name));
  }

  /** The schedules registered now, for tests and /health: sync name → schedule. */
  schedules(): Record<string, unknown> {
    return Object.fromEntries([...this.registered].map(([k, v]) => [k, JSON.parse(v) as unknown]));
  }

  private register(def: SyncDefinition): void {
    const s = def.schedule;
    const key = PREFIX + def.name;
    if (typeof s === 'object' && 'every' in s) {
      const handle = setInterval(() => this.fire(def.name, 'schedule'), parseDuration(s.every));
      handle.unref();
      this.registry.addInterval(key, handle);
    } else if (typeof s === 'object' && 'cron' in s) {
      this.registry.addCronJob(key, CronJob.from({ cronTime: s.cron, onTick: () => this.fire(def.name, 'schedule'), start: true, timeZone: s.timezone ?? 'UTC' }));
    }
    this.registered.set(def.name, JSON.stringify(s));
  }

  private unregister(name: string): void {
    const key = PREFIX + name;
    if (this.registry.doesExist('interval', key)) this.registry.deleteInterval(key);
    if (this.registry.doesExist('cron', key)) this.registry.deleteCronJob(key);
    this.registered.delete(name);
    clearTimeout(this.retries.get(name));
    this.retries.delete(name);
    this.failures.delete(name);
  }

  private afterBuild(nodes: string[], touched?: readonly string[]): void {
    const built = new Set(nodes);
    for (const [sync, models] of this.after) {
      if (!models.some((m) => built.has(m))) continue;
      const realtime = JSON.parse(this.registered.get(sync) ?? 'null') === 'realtime';
      if (realtime) this.addKeys(sync, touched && this.keyed.has(sync) ? touched : 'all');
      this.fire(sync, realtime ? 'realtime' : 'after');
    }
  }

  /** Adds keys a real-time run of `sync` is to diff (or 'all': the next run diffs the whole source). */
  private addKeys(sync: string, keys: Iterable<string> | 'all'): void {
    const have = this.touchedKeys.get(sync);
    if (have === 'all') return;
    if (keys === 'all') {
      this.touchedKeys.set(sync, 'all');
      return;
    }
    const set = have ?? new Set<string>();
    for (const k of keys) set.add(k);
    this.touchedKeys.set(sync, set);
  }

  private afterRealtimeRun(name: string, status: string): void {
    clearTimeout(this.retries.get(name));
    this.retries.delete(name);
    if (status !== 'failed') {
      this.failures.delete(name);
      return;
    }
    const n = (this.failures.get(name) ?? 0) + 1;
    this.failures.set(name, n);
    const t = setTimeout(() => {
      this.retries.delete(name);
      if (this.registered.has(name)) this.fire(name, 'realtime');
    }, Math.min(REALTIME_FAILED_RETRY_MAX_MS, REALTIME_FAILED_RETRY_MS * 2 ** (n - 1)));
    t.unref();
    this.retries.set(name, t);
  }

  private fire(name: string, trigger: 'schedule' | 'after' | 'realtime'): void {
    if (trigger === 'realtime' && this.pending.has(name)) return; // a retry is already on its way
    // a real-time run diffs the keys the passes touched since the last run (all of them at start, or
    // after a whole build); a run that does not complete gives them back for the next one
    const taken = trigger === 'realtime' ? this.touchedKeys.get(name) : undefined;
    if (trigger === 'realtime') this.touchedKeys.delete(name);
    const giveBack = () => this.addKeys(name, taken ?? 'all');
    this.syncs.run(name, trigger, taken instanceof Set ? { keys: [...taken] } : {}).then(
      (run) => {
        this.syncs.logger.info({ sync: name, runId: run.id, status: run.status, succeeded: run.succeeded, failed: run.failed }, `${trigger} sync run finished`);
        if (trigger === 'realtime') {
          if (run.status !== 'succeeded') giveBack(); // failed rows are tried again with the next run
          this.afterRealtimeRun(name, run.status);
        }
      },
      (e: unknown) => {
        if (trigger === 'realtime') giveBack();
        if (e instanceof SyncBusyError && trigger === 'realtime') {
          // the running run planned before this change: run again once it is done
          this.pending.add(name);
          setTimeout(() => {
            this.pending.delete(name);
            if (this.registered.has(name)) this.fire(name, 'realtime');
          }, REALTIME_RETRY_MS).unref();
        } else if (e instanceof SyncBusyError) this.syncs.logger.debug({ sync: name }, 'sync is running; this scheduled run is skipped');
        else this.syncs.logger.warn({ sync: name, err: errorMessage(e) }, `${trigger} sync run could not start`);
      },
    );
  }
}

/**
 * The node whose build runs a real-time sync: its segment or model; for an events source, the
 * identity step (each real-time pass resolves the new events' profiles first, so traits are fresh).
 */
function realtimeNode(def: SyncDefinition): string {
  if (isEventsSource(def.source)) return IDENTITY_NODE;
  return 'segment' in def.source ? def.source.segment : def.source.model;
}
