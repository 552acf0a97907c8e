import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { CdpConfig } from '../config/config.schema';
import { CdpError, errorMessage } from '../errors/cdp-error';
import type { Warehouse } from '../warehouse/warehouse';
import { Workspace } from '../workspace/workspace';
import { eventJson, renderProfile, renderProfileWith } from './profile-document';
import { ProfileIndex } from './profile-index';
import { describeRef, ProfileRefs, type ProfileRef } from './profile-ref';
import { PROFILE_IDS_PER_QUERY, ProfilesRepository } from './profiles.repository';
import { DEFAULT_EVENTS } from './profiles.schemas';

export class ProfileNotFoundError extends CdpError {
  constructor(ref: ProfileRef) {
    super('PROFILE_NOT_FOUND', `no profile with ${describeRef(ref)}`);
  }
}

/**
 * A 503: the profiles cannot be answered for now. Before identity resolution has built its tables
 * this is not a 404, which a caller would take as "no such customer" (and perhaps remember).
 */
export class ProfilesUnavailableError extends CdpError {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super('PROFILES_UNAVAILABLE', message);
  }
}

const notBuilt = (config: Pick<CdpConfig, 'ingest'>) =>
  new ProfilesUnavailableError(
    `profiles have not been built yet: identity resolution writes ${config.ingest.schema}.identity_graph and ${config.ingest.schema}.profiles ` +
      '(configure identity: in cdp.yaml, then run it); this answers as soon as they exist',
  );

/**
 * Events are served from the index: each profile keeps its latest DEFAULT_EVENTS events there, as
 * UTF-8 JSON, within this budget (the benchmark's events, with a small context, take ~300 bytes:
 * 256 MB hold ~850,000, e.g. 100,000 profiles of 8 or more events). Why in memory: raw_events has
 * no index on user_id or anonymous_id, so a query for one profile's events scans it (DuckDB, 540,000
 * events: ~100 ms, see bench/RESULTS.md), and per-request queries could not hold a p99 under 10 ms
 * at 1,000 requests/s. Past the budget, the remaining (least recently active) profiles keep none,
 * and like `?events=` above what a profile keeps, their answer queries the warehouse, bounded by
 * the `events` asked for (at most MAX_EVENTS).
 */
export const EVENT_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * A patch of more than this share of the profiles is a whole load instead (which reads every table
 * once, where a patch reads each once per PROFILE_IDS_PER_QUERY ids and, for the events, scans
 * raw_events each time). A patch of at most PROFILE_IDS_PER_QUERY ids stays a patch however small
 * the index: it reads each table once too, the profiles' rows only.
 */
export const PATCH_MAX_SHARE = 0.2;

/**
 * Profile lookups for the API, from an in-memory ProfileIndex. The index loads when the service
 * starts (in the background: the service answers at once, profiles with a 503 until loaded; this
 * also picks up tables a CLI process built while the service was down) and follows each
 * Workspace.notifyProfilesChanged(): without ids by a whole load, beside the old index (lookups
 * meanwhile use the old one); with ids (a real-time pass) by a patch of those profiles, within
 * about the time their queries take.
 */
@Injectable()
export class ProfilesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ProfilesService.name);
  readonly refs: ProfileRefs;
  private readonly repo: ProfilesRepository;
  private index: ProfileIndex | undefined;
  private unavailable = new ProfilesUnavailableError('the profile index is loading; try again in a moment', 1);
  /** the load or patch running, with whatever was asked meanwhile */
  private running: Promise<void> | undefined;
  /** what was asked and not started yet: a whole load, or a patch of these profiles */
  private wholeDue = false;
  private readonly idsDue = new Set<string>();
  private lastLoadMs = 0;
  private lastLoadEnd = -Infinity;
  private readonly closing = new AbortController();
  private unsubscribe = () => {};

  constructor(private readonly ws: Workspace) {
    this.refs = new ProfileRefs(ws.config);
    this.repo = new ProfilesRepository(ws.warehouse, ws.config);
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.ws.onProfilesChanged((profileIds) => void this.refresh(profileIds));
    void this.reload();
  }

  /** Stops a load in progress before the workspace closes (onApplicationShutdown, later). */
  async onModuleDestroy(): Promise<void> {
    this.unsubscribe();
    this.closing.abort();
    await this.running;
  }

  /** The current index's counts and timings (GET /metrics); undefined until an index is loaded. */
  get indexStats(): Readonly<ProfileIndex['stats']> | undefined {
    return this.index?.stats;
  }

  /** Loads a new index whole and swaps it in (see refresh). */
  reload(): Promise<void> {
    return this.refresh();
  }

  /**
   * Brings the index up to date: without ids by a whole load, with ids by a patch of those
   * profiles. One load or patch runs at a time; what is asked meanwhile is folded into the next
   * one (the tables may have changed after the running one read them): the ids into one set, and
   * a whole load takes them all (it reads every profile). The promise settles when nothing asked
   * is left to do.
   *
   * Back-to-back whole loads (identity resolution or segments rebuilding every few seconds) rest as
   * long as the last load took before the next one, so the index never takes more than half a core
   * from the pipeline it is following. Patches do not rest (a real-time pass changes a handful of
   * profiles, and its effect should show within about its own latency), but one of more than
   * PATCH_MAX_SHARE of the profiles is a whole load, and so is the next step after a patch leaves
   * the index due for compaction (ProfileIndex.compactionDue).
   */
  refresh(profileIds?: readonly string[]): Promise<void> {
    if (profileIds === undefined) this.wholeDue = true;
    else for (const id of profileIds) this.idsDue.add(id);
    if (!this.running && !this.due()) return Promise.resolve();
    return (this.running ??= this.drain());
  }

  private due(): boolean {
    return this.wholeDue || this.idsDue.size > 0;
  }

  /**
   * Runs what is due until nothing is. It always awaits before its `finally`, so `running` is set
   * by then; and the last check of due() and the reset of `running` happen in one synchronous step,
   * so a refresh() either joins this drain or starts the next one.
   */
  private async drain(): Promise<void> {
    try {
      do {
        await this.step();
      } while (this.due() && !this.closing.signal.aborted);
    } finally {
      this.running = undefined;
    }
  }

  private async step(): Promise<void> {
    const index = this.index;
    if (index && !this.wholeDue && this.idsDue.size <= Math.max(PATCH_MAX_SHARE * index.stats.profiles, PROFILE_IDS_PER_QUERY)) {
      const ids = [...this.idsDue];
      this.idsDue.clear();
      await this.patchOnce(index, ids);
      return;
    }
    // rest first: what is asked meanwhile folds into this load
    await this.rest(this.lastLoadEnd + this.lastLoadMs - performance.now());
    this.wholeDue = false;
    this.idsDue.clear();
    const t0 = performance.now();
    await this.loadOnce();
    this.lastLoadEnd = performance.now();
    this.lastLoadMs = this.lastLoadEnd - t0;
  }

  private rest(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (ms <= 0 || this.closing.signal.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      this.closing.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }

  /** The profile as UTF-8 JSON (see profileSchema), with its latest `events` events. */
  async find(ref: ProfileRef, events: number): Promise<Buffer> {
    const index = this.index;
    if (!index) throw this.unavailable;
    const profileId = 'profileId' in ref ? ref.profileId : index.profileIdOf(ref.type, ref.value);
    const doc = profileId === undefined ? undefined : index.get(profileId);
    if (!doc) throw new ProfileNotFoundError(ref);
    if (doc.events && (events <= doc.eventEnds.length || doc.allEvents)) return renderProfile(doc, events);
    return renderProfileWith(doc, await latestEvents(this.repo, doc.profileId, events));
  }

  private async loadOnce(): Promise<void> {
    try {
      const next = await ProfileIndex.load(this.repo, { eventsPerProfile: DEFAULT_EVENTS, eventBudgetBytes: EVENT_BUDGET_BYTES, signal: this.closing.signal });
      this.index = next ?? undefined;
      if (!next) {
        this.unavailable = notBuilt(this.ws.config);
        return;
      }
      const s = next.stats;
      this.logger.log(
        `profile index loaded: ${s.profiles} profiles, ${s.identifiers} identifiers, ${s.events} events, ${Math.round(s.bytes / 2 ** 20)} MB of JSON in ${s.loadMs} ms` +
          (s.profilesWithoutEvents ? `; ${s.profilesWithoutEvents} profiles over the event budget read their events from the warehouse` : ''),
      );
    } catch (e) {
      if (this.closing.signal.aborted) return;
      // keep answering from the previous index, if there is one
      this.logger.error(`could not load the profile index: ${errorMessage(e)}`);
      if (!this.index) this.unavailable = new ProfilesUnavailableError(`the profile index could not be loaded: ${errorMessage(e)}`);
    }
  }

  /** Patches the index; a patch that cannot do, or fails, or leaves the index due for compaction, makes a whole load due. */
  private async patchOnce(index: ProfileIndex, profileIds: string[]): Promise<void> {
    try {
      if (!(await index.patch(this.repo, profileIds, this.closing.signal))) {
        this.logger.log('the profile tables changed shape (or are gone): the profile index loads whole');
        this.wholeDue = true;
        return;
      }
      const s = index.stats;
      this.logger.debug(`profile index patched: ${profileIds.length} profiles in ${s.patchMs} ms`);
      if (index.compactionDue()) {
        this.logger.log(
          `profile index: ${Math.round((s.bytes - s.liveBytes) / 2 ** 20)} MB of replaced JSON beside ${Math.round(s.liveBytes / 2 ** 20)} MB live, ` +
            `${Math.round(s.eventBytes / 2 ** 20)} MB of events; it loads whole`,
        );
        this.wholeDue = true;
      }
    } catch (e) {
      if (this.closing.signal.aborted) return;
      // a patch changes the index only in its last, synchronous step: it stopped before, and those
      // profiles stay behind until the load
      this.logger.error(`could not patch the profile index (${profileIds.length} profiles): ${errorMessage(e)}; it loads whole`);
      this.wholeDue = true;
    }
  }
}

/** The latest `count` events of one profile, from the warehouse. */
async function latestEvents(repo: ProfilesRepository, profileId: string, count: number): Promise<string[]> {
  const events: string[] = [];
  if (count === 0) return events;
  for await (const row of repo.latestEvents(count, [profileId])) events.push(eventJson(row));
  return events;
}

/**
 * One profile read straight from the warehouse, the same answer as the service gives: what
 * `cdp profile` does when no service is running.
 */
export async function readProfile(source: { warehouse: Warehouse; config: CdpConfig }, ref: ProfileRef, events: number): Promise<Buffer> {
  const repo = new ProfilesRepository(source.warehouse, source.config);
  if (!(await repo.traitColumns())) throw notBuilt(source.config);
  const profileId = 'profileId' in ref ? ref.profileId : await repo.profileIdOf(ref.type, ref.value);
  const index = profileId === undefined ? null : await ProfileIndex.load(repo, { profileId, eventsPerProfile: events });
  const doc = profileId === undefined ? undefined : index?.get(profileId);
  if (!doc) throw new ProfileNotFoundError(ref);
  return renderProfile(doc, events);
}
