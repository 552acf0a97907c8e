import { EventEmitter } from 'node:events';
import type { CdpConfig } from '../config/config.schema';
import { openControlStore, type ControlStore } from '../store/control-store';
import { modelSchema, openWarehouse } from '../warehouse/warehouse.factory';
import { ensureRawEvents, rawEventsRelation } from '../ingest/raw-events';
import type { Warehouse } from '../warehouse/warehouse';
import { loadProject, type Project } from '../models/project';
import type { SegmentDefinition } from '../segments/segment-tree';
import { SegmentsRepository } from '../segments/segments.repository';

const PROFILES_CHANGED = 'profiles-changed';
const NODES_BUILT = 'nodes-built';
const EVENTS_COMMITTED = 'events-committed';

/** What `exclusive()` runs: a job alone, a real-time pass beside sync steps, a sync step beside passes and other steps. */
type WorkKind = 'job' | 'pass' | 'step';

/**
 * What every job works with: the config, the open warehouse and control store, and the project
 * files (re-read for each job, so edits to models/ apply without a restart). The CLI builds one
 * in-process; the service builds one at start and shares it between requests.
 */
export class Workspace {
  /** exclusive() and shared(): the work running and waiting, per kind */
  private readonly running: Record<WorkKind, number> = { job: 0, pass: 0, step: 0 };
  private readonly waiting: Record<WorkKind, (() => void)[]> = { job: [], pass: [], step: [] };
  private readonly signals = new EventEmitter();
  /** the segments created through the API (control store), as of the last refreshSegments() */
  private apiSegments: SegmentDefinition[] = [];

  private constructor(
    readonly config: CdpConfig,
    readonly warehouse: Warehouse,
    readonly store: ControlStore,
  ) {}

  static async open(config: CdpConfig): Promise<Workspace> {
    const store = await openControlStore(config.control_store.url, config.projectDir);
    try {
      const warehouse = await openWarehouse(config.warehouse);
      try {
        // the engine's own tables exist before any model can read them
        await ensureRawEvents(warehouse, rawEventsRelation(config.ingest.schema, modelSchema(config.warehouse).database));
        const ws = new Workspace(config, warehouse, store);
        await ws.refreshSegments();
        return ws;
      } catch (e) {
        await warehouse.close();
        throw e;
      }
    } catch (e) {
      await store.destroy();
      throw e;
    }
  }

  /** The project files, with the segments created through the API as of the last refreshSegments(). */
  project(): Project {
    return loadProject(this.config, this.apiSegments);
  }

  /**
   * Re-reads the API's segments from the control store: several service replicas (and the CLI) may
   * share one PostgreSQL store, so jobs call it before they load the project.
   */
  async refreshSegments(): Promise<void> {
    this.apiSegments = (await new SegmentsRepository(this.store).list()).map((s) => s.definition);
  }

  /**
   * Runs jobs that write to the warehouse one at a time, in arrival order. `background` jobs (the
   * real-time pipeline's passes, which come back to back) start only when no other job waits; they
   * run beside sync runs' steps (see shared()), so a pass never waits for a destination's sync and
   * a sync never waits for a pass.
   */
  exclusive<T>(job: () => Promise<T>, options: { background?: boolean } = {}): Promise<T> {
    return this.schedule(options.background ? 'pass' : 'job', job);
  }

  /**
   * Runs a step of a sync run (reading its source, building its plan, reading a page, writing a
   * checkpoint): beside real-time passes and other steps, never beside a job (a build, a load).
   * Each step's statements read consistent snapshots (the warehouse's transactions), steps write
   * only their sync's own tables, and a pass's changes reach a real-time sync's next run (its keys
   * are gathered from the pass's notification), so nothing is missed by running them together.
   */
  shared<T>(step: () => Promise<T>): Promise<T> {
    return this.schedule('step', step);
  }

  private schedule<T>(kind: WorkKind, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting[kind].push(() => {
        this.running[kind]++;
        void work()
          .then(resolve, reject)
          .finally(() => {
            this.running[kind]--;
            this.next();
          });
      });
      this.next();
    });
  }

  /** Starts what may start: a waiting job holds back new passes and steps until it has run (jobs are not starved). */
  private next(): void {
    const { running, waiting } = this;
    if (running.job > 0) return;
    if (waiting.job.length > 0) {
      if (running.pass === 0 && running.step === 0) waiting.job.shift()!();
      return;
    }
    while (waiting.step.length > 0) waiting.step.shift()!();
    if (running.pass === 0 && waiting.pass.length > 0) waiting.pass.shift()!();
  }

  /**
   * Says that the profile tables (identity_graph, profiles, segment_membership) were rewritten in
   * this process: identity resolution and segment runs call it after they commit, and the service's
   * profile index follows. Without `profileIds` anything may have changed (the index reloads
   * whole); with them only these profiles changed (the real-time pipeline's passes: the index
   * patches them), some perhaps no longer existing (merged into another: list that one too, it
   * holds their identifiers now). An empty list says nothing. Listeners run synchronously and must
   * not throw.
   */
  notifyProfilesChanged(profileIds?: readonly string[]): void {
    if (profileIds?.length === 0) return;
    this.signals.emit(PROFILES_CHANGED, profileIds);
  }

  /** Calls `listener` after each notifyProfilesChanged(), with its ids if it had some; returns the function that unsubscribes. */
  onProfilesChanged(listener: (profileIds?: readonly string[]) => void): () => void {
    this.signals.on(PROFILES_CHANGED, listener);
    return () => this.signals.off(PROFILES_CHANGED, listener);
  }

  /**
   * Says that a job built these models, seeds or segments (successfully), so syncs scheduled
   * `after:` them can run. `touched`: a real-time pass that rebuilt only these profiles (their
   * segment rows alone changed; real-time syncs diff those keys). Listeners run synchronously and
   * must not throw.
   */
  notifyBuilt(nodes: string[], touched?: readonly string[]): void {
    if (nodes.length) this.signals.emit(NODES_BUILT, nodes, touched);
  }

  /** Calls `listener` with the nodes (and touched profiles) of each notifyBuilt(); returns the function that unsubscribes. */
  onBuilt(listener: (nodes: string[], touched?: readonly string[]) => void): () => void {
    this.signals.on(NODES_BUILT, listener);
    return () => this.signals.off(NODES_BUILT, listener);
  }

  /** receivedAt (ms) of events not committed yet → how many requests */
  private readonly inFlight = new Map<number, number>();

  /** Says that the tracking API committed new events to raw_events (the real-time pipeline wakes up). */
  notifyEventsCommitted(count: number): void {
    if (count > 0) this.signals.emit(EVENTS_COMMITTED, count);
  }

  /**
   * Says that the tracking API received events at `receivedAt` that are not committed yet; call the
   * function it returns once they are (or failed). The real-time pipeline keeps its watermark below
   * the oldest such time, so an event that commits after a later one is never skipped.
   */
  eventsInFlight(receivedAt: Date): () => void {
    const t = receivedAt.getTime();
    this.inFlight.set(t, (this.inFlight.get(t) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.inFlight.get(t) ?? 1) - 1;
      if (n > 0) this.inFlight.set(t, n);
      else this.inFlight.delete(t);
    };
  }

  /** The oldest receivedAt of events not committed yet (see eventsInFlight), if any. */
  oldestEventInFlight(): Date | undefined {
    let oldest = Infinity;
    for (const t of this.inFlight.keys()) if (t < oldest) oldest = t;
    return oldest === Infinity ? undefined : new Date(oldest);
  }

  /** Calls `listener` after each notifyEventsCommitted(); returns the function that unsubscribes. */
  onEventsCommitted(listener: (count: number) => void): () => void {
    this.signals.on(EVENTS_COMMITTED, listener);
    return () => this.signals.off(EVENTS_COMMITTED, listener);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.warehouse.close(), this.store.destroy()]);
  }
}
