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

/** How long after a foreground job a background job waits for the next step of the same work. */
const BACKGROUND_GRACE_MS = 50;

/**
 * What every job works with: the config, the open warehouse and control store, and the project
 * files (re-read for each job, so edits to models/ apply without a restart). The CLI builds one
 * in-process; the service builds one at start and shares it between requests.
 */
export class Workspace {
  /** exclusive(): whether a job runs, and the jobs waiting (foreground first) */
  private busy = false;
  private readonly waiting = { foreground: [] as (() => void)[], background: [] as (() => void)[] };
  private lastForeground = 0;
  private graceTimer?: NodeJS.Timeout;
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
   * Runs jobs that write to the warehouse one at a time, in arrival order; `background` jobs (the
   * real-time pipeline's passes, which come back to back) give way: they start only when no other
   * job waits, and not within BACKGROUND_GRACE_MS of the end of one, so work made of several steps
   * with short pauses between them (a sync run: plan, then page by page) is not cut up by a pass at
   * every step.
   */
  exclusive<T>(job: () => Promise<T>, options: { background?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.busy = true;
        void job()
          .then(resolve, reject)
          .finally(() => {
            this.busy = false;
            if (!options.background) this.lastForeground = Date.now();
            this.next();
          });
      };
      this.waiting[options.background ? 'background' : 'foreground'].push(start);
      this.next();
    });
  }

  private next(): void {
    if (this.busy) return;
    const foreground = this.waiting.foreground.shift();
    if (foreground) return foreground();
    if (this.waiting.background.length === 0) return;
    const wait = this.lastForeground + BACKGROUND_GRACE_MS - Date.now();
    if (wait > 0) {
      this.graceTimer ??= setTimeout(() => {
        this.graceTimer = undefined;
        this.next();
      }, wait);
      return;
    }
    this.waiting.background.shift()!();
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
