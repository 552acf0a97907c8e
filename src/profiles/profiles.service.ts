import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { CdpConfig } from '../config/config.schema';
import { CdpError, errorMessage } from '../errors/cdp-error';
import type { Warehouse } from '../warehouse/warehouse';
import { Workspace } from '../workspace/workspace';
import { eventJson, renderProfile, renderProfileWith } from './profile-document';
import { ProfileIndex } from './profile-index';
import { describeRef, ProfileRefs, type ProfileRef } from './profile-ref';
import { ProfilesRepository } from './profiles.repository';
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
 * Profile lookups for the API, from an in-memory ProfileIndex. The index loads when the service
 * starts (in the background: the service answers at once, profiles with a 503 until loaded; this
 * also picks up tables a CLI process built while the service was down) and again on each
 * Workspace.notifyProfilesChanged(), beside the old one: lookups meanwhile use the old index.
 */
@Injectable()
export class ProfilesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ProfilesService.name);
  readonly refs: ProfileRefs;
  private readonly repo: ProfilesRepository;
  private index: ProfileIndex | undefined;
  private unavailable = new ProfilesUnavailableError('the profile index is loading; try again in a moment', 1);
  private loading: Promise<void> | undefined;
  private reloadAgain = false;
  private readonly closing = new AbortController();
  private unsubscribe = () => {};

  constructor(private readonly ws: Workspace) {
    this.refs = new ProfileRefs(ws.config);
    this.repo = new ProfilesRepository(ws.warehouse, ws.config);
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.ws.onProfilesChanged(() => void this.reload());
    void this.reload();
  }

  /** Stops a load in progress before the workspace closes (onApplicationShutdown, later). */
  async onModuleDestroy(): Promise<void> {
    this.unsubscribe();
    this.closing.abort();
    await this.loading;
  }

  /**
   * Loads a new index and swaps it in. Calls during a load are folded into one more load after it
   * (the tables may have changed after it read them); the promise settles when that one is done.
   * Back-to-back loads (a real-time pipeline rebuilding profiles every few seconds) rest as long as
   * the last load took before the next one, so the index never takes more than half a core from
   * the pipeline it is following.
   */
  reload(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      let first = true;
      do {
        if (!first) await this.rest(this.lastLoadMs);
        first = false;
        this.reloadAgain = false;
        const t0 = performance.now();
        await this.loadOnce();
        this.lastLoadMs = performance.now() - t0;
      } while (this.reloadAgain && !this.closing.signal.aborted);
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private lastLoadMs = 0;

  private rest(ms: number): Promise<void> {
    return new Promise((resolve) => {
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
}

/** The latest `count` events of one profile, from the warehouse. */
async function latestEvents(repo: ProfilesRepository, profileId: string, count: number): Promise<string[]> {
  const events: string[] = [];
  if (count === 0) return events;
  for await (const row of repo.latestEvents(count, profileId)) events.push(eventJson(row));
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
