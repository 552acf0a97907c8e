import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { CDP_CONFIG } from '../config/config.module';
import type { CdpConfig } from '../config/config.schema';
import { errorMessage } from '../errors/cdp-error';
import { IDENTITY_TABLES } from '../identity/identity-resolver';
import { toDate } from '../identity/identity-sources';
import { rawEventsRelation } from '../ingest/raw-events';
import { createLogger } from '../logging/logger';
import { ModelEngine } from '../models/model-engine';
import { RunHistoryRepository } from '../models/run-history.repository';
import { EVENTS } from '../identity/identity-sources';
import { IDENTITY_NODE, type Project } from '../models/project';
import { listSyncs } from '../syncs/sync-catalog';
import { queryAll } from '../warehouse/warehouse';
import { modelSchema } from '../warehouse/warehouse.factory';
import { Workspace } from '../workspace/workspace';

/** The last pass of the pipeline, as /health shows it. */
export interface RealtimePass {
  startedAt: string;
  durationMs: number;
  status: 'success' | 'error';
  /** the nodes it built: identity, then the segments */
  nodes: string[];
  error?: string;
}

export interface RealtimeStatus {
  /**
   * off (disabled, or nothing is real-time), waiting (for a first build of the profiles), idle, running
   * (a pass is going), failing (the last pass failed)
   */
  status: 'off' | 'waiting' | 'idle' | 'running' | 'failing';
  /** committed events identity resolution has not read yet */
  eventsBehind: number;
  /** how long the oldest of them has waited, in seconds (0 when caught up) */
  lagSeconds: number;
  /** the segments each pass builds: `realtime: true` ones and the sources of `schedule: realtime` syncs */
  segments: string[];
  lastPass?: RealtimePass;
  passes: number;
}

/**
 * The real-time pipeline of the service. When the tracking API commits events (or, every
 * `realtime.poll_seconds`, when another process did), a pass runs the identity step on the new
 * events alone and rebuilds only what they touch: the components their identifiers reach, the
 * profiles and profile_events rows of the touched profiles, and the segments marked `realtime:
 * true` and those `schedule: realtime` syncs read, for those profiles only (entries and exits to
 * the membership history); the build's notification then runs the real-time syncs (SyncScheduler),
 * with the same diff, snapshot, retries and checkpoints as any run, and patches the profile index.
 * A pass is a build with its scope narrowed (ModelEngine's `realtime` option); when a model or seed
 * identity reads was rebuilt since the last identity run, the pass rebuilds every profile instead.
 * Events that commit during a pass start another one right after; a failed pass is retried after
 * the poll interval, never in a hot loop; the touched profiles a failed pass leaves in
 * identity_touched are taken up by the next.
 *
 * Ingestion never waits for a pass: the tracking API appends on its own connection, and the
 * events a pass has not read are counted in `status()` (and /health). The watermark a pass leaves
 * stays below the oldest event this process received and has not committed yet, so an event that
 * commits late is never skipped; `realtime.lookback_seconds` covers other processes.
 */
@Injectable()
export class RealtimeService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger: Logger;
  private readonly engine: ModelEngine;
  private readonly history: RunHistoryRepository;
  private segments: string[] = [];
  private active = false;
  private running: Promise<void> | undefined;
  private again = false;
  private timer?: NodeJS.Timeout;
  private poll?: NodeJS.Timeout;
  private notBefore = 0;
  private lastPass?: RealtimePass;
  private passes = 0;
  private failures = 0;
  /** identity_runs and identity_touched exist (they are never dropped once built) */
  private identityTables = false;
  private unsubscribe?: () => void;
  private stopped = false;

  constructor(
    @Inject(CDP_CONFIG) private readonly config: CdpConfig,
    @Inject(Workspace) private readonly ws: Workspace,
  ) {
    this.logger = createLogger(config).child({ module: 'realtime' });
    this.engine = new ModelEngine(ws);
    this.history = new RunHistoryRepository(ws.store);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.realtime.enabled) return;
    this.unsubscribe = this.ws.onEventsCommitted(() => this.trigger());
    await this.refresh().catch((e: unknown) => this.logger.warn({ err: errorMessage(e) }, 'could not read the real-time segments and syncs'));
    // events written by other processes (another replica), and segment or sync changes
    this.poll = setInterval(() => {
      this.refresh().then(
        () => this.trigger(),
        (e: unknown) => this.logger.warn({ err: errorMessage(e) }, 'could not read the real-time segments and syncs'),
      );
    }, this.config.realtime.poll_seconds * 1000);
    this.poll.unref();
    this.trigger();
  }

  /** Stops the pipeline and lets the pass in progress finish first, while the syncs still listen for its notification. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.poll);
    clearTimeout(this.timer);
    await this.running;
  }

  /** Which segments a pass builds; the pipeline is active when there is at least one. */
  async refresh(): Promise<void> {
    await this.ws.refreshSegments();
    const project = this.ws.project();
    const realtimeSyncs = (await listSyncs(this.ws)).map((e) => e.definition).filter((d) => d.enabled && d.schedule === 'realtime');
    const realtimeSyncSources = realtimeSyncs.flatMap((d) => ('segment' in d.source ? [d.source.segment] : []));
    this.segments = realtimeSegments(project, realtimeSyncSources);
    // event-forwarding syncs need passes too: they send after the identity step (fresh traits)
    this.active = project.identity !== undefined && (this.segments.length > 0 || realtimeSyncs.length > 0);
  }

  /** Asks for a pass soon (after the debounce), or right after the one running. */
  trigger(): void {
    if (!this.active || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(this.config.realtime.debounce_ms, this.notBefore - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.pass().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
    }, wait);
    this.timer.unref();
  }

  /** Waits for the pass in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.timer) await (this.running ?? new Promise((r) => setTimeout(r, 10)));
  }

  private async pass(): Promise<void> {
    const project = this.ws.project();
    if (!project.identity) return;
    const { behind, pending } = await this.backlog(project);
    if (behind === 0 && pending === 0) return; // nothing new (or nothing built yet)
    const started = new Date();
    const t0 = performance.now();
    const nodes = [IDENTITY_NODE, ...this.segments];
    try {
      const touched = await this.onlyEventsChanged(project);
      const job = await this.engine.build({
        select: nodes,
        triggeredBy: 'realtime',
        realtime: { touched, lookbackMs: this.config.realtime.lookback_seconds * 1000, watermarkCap: this.ws.oldestEventInFlight() },
      });
      const failed = job.results.find((r) => r.status === 'error' || r.status === 'fail');
      if (failed) throw new Error(`${failed.node}: ${failed.error ?? failed.status}`);
      this.lastPass = { startedAt: started.toISOString(), durationMs: Math.round(performance.now() - t0), status: 'success', nodes };
      this.notBefore = 0;
      this.logger.debug(
        { durationMs: this.lastPass.durationMs, queuedMs: job.queuedMs, events: behind, touched, steps: Object.fromEntries(job.results.map((r) => [r.node, Math.round(r.durationMs)])) },
        'real-time pass',
      );
    } catch (e) {
      this.lastPass = { startedAt: started.toISOString(), durationMs: Math.round(performance.now() - t0), status: 'error', nodes, error: errorMessage(e) };
      this.failures++;
      this.notBefore = Date.now() + this.config.realtime.poll_seconds * 1000;
      this.logger.warn({ err: errorMessage(e) }, 'real-time pass failed; it is retried after the poll interval');
    } finally {
      this.passes++;
    }
  }

  /**
   * Whether only events changed since the last identity run: then a pass rebuilds only the profiles
   * they touch. When a model or seed that identity reads was rebuilt since (by a build of this or
   * another process), the pass rebuilds every profile, as a build would.
   */
  private async onlyEventsChanged(project: Project): Promise<boolean> {
    const sources = [...project.identity!.plan.sources.keys()].filter((name) => name !== EVENTS);
    if (sources.length === 0) return true;
    const last = await this.history.lastRuns([IDENTITY_NODE, ...sources]);
    const identity = last.get(IDENTITY_NODE);
    if (!identity) return false;
    return sources.every((name) => {
      const run = last.get(name);
      return !run || run.status === 'skipped' || run.startedAt < identity.startedAt;
    });
  }

  /** Committed events identity resolution has not read: how many, and since when; profiles a failed pass left for the segments. */
  private async backlog(project: Project): Promise<{ behind: number; oldest: Date | null; built: boolean; pending: number }> {
    const wh = this.ws.warehouse;
    const d = wh.dialect;
    const raw = d.relation(rawEventsRelation(this.config.ingest.schema, modelSchema(this.config.warehouse).database));
    const runs = project.identity!.plan.relation(IDENTITY_TABLES.runs);
    const touched = project.identity!.plan.relation(IDENTITY_TABLES.touched);
    // until a build has run identity resolution once, the pipeline waits (it keeps built profiles
    // fresh); once its tables exist they stay, so they are looked up until then only (GET /health
    // and every pass ask)
    if (!this.identityTables) {
      if (!(await wh.describe(runs))) return { behind: 0, oldest: null, built: false, pending: 0 };
      if (await wh.describe(touched)) this.identityTables = true;
    }
    try {
      const [run] = await queryAll(
        wh,
        `select count(*) as n, max(events_watermark) as w${this.identityTables ? `, (select count(*) from ${d.relation(touched)}) as pending` : ''} from ${d.relation(runs)}`,
      );
      if (Number(run?.n ?? 0) === 0) return { behind: 0, oldest: null, built: false, pending: 0 };
      const where = run.w == null ? '' : ' where received_at > ?';
      const [row] = await queryAll(wh, `select count(*) as n, min(received_at) as oldest from ${raw}${where}`, run.w == null ? [] : [toDate(run.w)]);
      return { behind: Number(row?.n ?? 0), oldest: row?.oldest == null ? null : toDate(row.oldest), built: true, pending: Number(run.pending ?? 0) };
    } catch (e) {
      this.identityTables = false; // dropped behind the service's back: look again next time
      throw e;
    }
  }

  /** Passes run and failed since the service started, and the last one: no warehouse query (GET /metrics). */
  passStats(): { passes: number; failures: number; lastPass?: RealtimePass } {
    return { passes: this.passes, failures: this.failures, lastPass: this.lastPass };
  }

  /** The pipeline's state and backlog (GET /health). */
  async status(): Promise<RealtimeStatus> {
    const project = this.ws.project();
    if (!this.active || !project.identity) return { status: 'off', eventsBehind: 0, lagSeconds: 0, segments: [], passes: this.passes };
    const { behind, oldest, built } = await this.backlog(project);
    return {
      status: !built ? 'waiting' : this.running ? 'running' : this.lastPass?.status === 'error' ? 'failing' : 'idle',
      eventsBehind: behind,
      lagSeconds: oldest ? Math.max(0, Math.round((Date.now() - oldest.getTime()) / 100) / 10) : 0,
      segments: this.segments,
      lastPass: this.lastPass,
      passes: this.passes,
    };
  }
}

/** The tree segments built in real time: marked `realtime: true`, or read by a real-time sync. */
export function realtimeSegments(project: Project, readBySyncs: string[]): string[] {
  const wanted = new Set(readBySyncs);
  return [...project.segments.values()].filter((s) => s.definition.realtime === true || wanted.has(s.name)).map((s) => s.name);
}
