import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Row } from '../warehouse/warehouse';
import { eventJson, headWriter, identityJson, segmentJson, type ProfileDocument } from './profile-document';
import type { ProfilesRepository } from './profiles.repository';

export interface ProfileIndexOptions {
  /** the latest events kept per profile */
  eventsPerProfile: number;
  /**
   * the most characters of event JSON the whole index keeps (about as many bytes); once reached,
   * the remaining profiles keep no events and their answers query the warehouse
   */
  eventBudgetChars?: number;
  /** load this profile only (the CLI); default: every profile */
  profileId?: string;
  /** stops a load (the service is closing) */
  signal?: AbortSignal;
}

export interface ProfileIndexStats {
  profiles: number;
  identifiers: number;
  /** events kept, and their JSON size in characters */
  events: number;
  eventChars: number;
  /** profiles whose events did not fit in the budget (answered from the warehouse) */
  profilesWithoutEvents: number;
  loadMs: number;
}

/** How many rows a load handles before it lets waiting requests run (a load never blocks the event loop for long). */
const ROWS_PER_TURN = 256;

/**
 * An immutable in-memory snapshot of the profile tables: identifier (type, normalized value) ->
 * profile id, and profile id -> the profile as pre-serialized JSON (ProfileDocument), with its
 * latest events. A reload builds a new index beside the old one; the holder swaps the reference
 * when it is complete, so a lookup never sees a half-loaded index.
 *
 * Every table is read with one streaming query (nothing reads a whole result at once), and the load
 * yields to the event loop every few hundred rows, so answers go on while it runs.
 */
export class ProfileIndex {
  private constructor(
    private readonly byIdentifier: ReadonlyMap<string, ReadonlyMap<string, string>>,
    private readonly byId: ReadonlyMap<string, ProfileDocument>,
    readonly stats: ProfileIndexStats,
  ) {}

  /** Loads the index, or answers null when identity resolution has not built the tables yet. */
  static async load(repo: ProfilesRepository, options: ProfileIndexOptions): Promise<ProfileIndex | null> {
    const started = performance.now();
    const traits = await repo.traitColumns();
    if (!traits) return null;
    const { profileId, signal } = options;

    const byIdentifier = new Map<string, Map<string, string>>();
    const identities = new Map<string, string[]>();
    let identifiers = 0;
    await eachRow(repo.identities(profileId), signal, (row) => {
      const id = String(row.profile_id);
      const type = String(row.id_type);
      let values = byIdentifier.get(type);
      if (!values) byIdentifier.set(type, (values = new Map()));
      values.set(String(row.id_value), id);
      push(identities, id, identityJson(row));
      identifiers++;
    });

    const segments = new Map<string, string[]>();
    await eachRow(repo.segments(profileId), signal, (row) => push(segments, String(row.profile_id), segmentJson(row)));

    const events = await loadEvents(repo, options);

    const head = headWriter(traits);
    const byId = new Map<string, ProfileDocument>();
    const stats = { profiles: 0, identifiers, events: 0, eventChars: 0, profilesWithoutEvents: 0, loadMs: 0 };
    await eachRow(repo.profileRows(profileId), signal, (row) => {
      const id = String(row.profile_id);
      const read = events.complete || events.byProfile.has(id) ? (events.byProfile.get(id) ?? []) : undefined;
      const kept = read?.slice(0, options.eventsPerProfile);
      if (kept) {
        stats.events += kept.length;
        for (const e of kept) stats.eventChars += e.length;
      } else {
        stats.profilesWithoutEvents++;
      }
      byId.set(id, {
        profileId: id,
        head: head(row, identities.get(id) ?? [], segments.get(id) ?? []),
        events: kept,
        allEvents: !!read && read.length <= options.eventsPerProfile,
      });
    });
    stats.profiles = byId.size;
    stats.loadMs = Math.round(performance.now() - started);
    return new ProfileIndex(byIdentifier, byId, stats);
  }

  /** The profile id of an identifier: its type and its normalized value. */
  profileIdOf(type: string, value: string): string | undefined {
    return this.byIdentifier.get(type)?.get(value);
  }

  get(profileId: string): ProfileDocument | undefined {
    return this.byId.get(profileId);
  }
}

/**
 * The latest events of each profile, within the budget. One more than asked is read per profile,
 * so a profile with at most `eventsPerProfile` events is known to be complete. Rows come ordered by
 * profile; when the budget runs out the query stops, and the profile it was reading is dropped
 * (a partial list would pass for a complete one).
 */
async function loadEvents(repo: ProfilesRepository, options: ProfileIndexOptions) {
  const byProfile = new Map<string, string[]>();
  const budget = options.eventBudgetChars ?? Infinity;
  let chars = 0;
  let complete = true;
  await eachRow(repo.latestEvents(options.eventsPerProfile + 1, options.profileId), options.signal, (row) => {
    const id = String(row.profile_id);
    const text = eventJson(row);
    chars += text.length;
    if (chars > budget) {
      complete = false;
      byProfile.delete(id);
      return false;
    }
    push(byProfile, id, text);
  });
  return { byProfile, complete };
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Calls `fn` for each row (until it returns false), letting other work run every ROWS_PER_TURN rows. */
async function eachRow(rows: AsyncIterable<Row>, signal: AbortSignal | undefined, fn: (row: Row) => boolean | void): Promise<void> {
  signal?.throwIfAborted();
  let n = 0;
  for await (const row of rows) {
    if (fn(row) === false) return;
    if (++n % ROWS_PER_TURN === 0) {
      await nextTurn();
      signal?.throwIfAborted();
    }
  }
}
