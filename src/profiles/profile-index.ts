import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Row } from '../warehouse/warehouse';
import { ByteArena } from './byte-arena';
import { eventJson, headWriter, identityJson, segmentJson, type ProfileDocument } from './profile-document';
import type { ProfilesRepository } from './profiles.repository';

export interface ProfileIndexOptions {
  /** the latest events kept per profile */
  eventsPerProfile: number;
  /**
   * the most bytes of event JSON the whole index keeps; once reached, the remaining profiles keep
   * no events and their answers query the warehouse
   */
  eventBudgetBytes?: number;
  /** load this profile only (the CLI); default: every profile */
  profileId?: string;
  /** stops a load (the service is closing) */
  signal?: AbortSignal;
}

export interface ProfileIndexStats {
  profiles: number;
  identifiers: number;
  /** events kept, and their JSON size */
  events: number;
  eventBytes: number;
  /** bytes of JSON in all (outside the V8 heap) */
  bytes: number;
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
    const segments = new Map<string, string[]>();
    // three queries at once: the warehouse computes one (events: a join and window functions) while Node reads another
    const arena = new ByteArena();
    const [, , events] = await Promise.all([
      eachRow(repo.identities(profileId), signal, (row) => {
        const id = String(row.profile_id);
        const type = String(row.id_type);
        let values = byIdentifier.get(type);
        if (!values) byIdentifier.set(type, (values = new Map()));
        values.set(String(row.id_value), id);
        push(identities, id, identityJson(row));
        identifiers++;
      }),
      eachRow(repo.segments(profileId), signal, (row) => push(segments, String(row.profile_id), segmentJson(row))),
      loadEvents(repo, arena, options),
    ]);

    const head = headWriter(traits);
    const byId = new Map<string, ProfileDocument>();
    const stats = { profiles: 0, identifiers, events: 0, eventBytes: arena.bytes, profilesWithoutEvents: 0, bytes: 0, loadMs: 0 };
    await eachRow(repo.profileRows(profileId), signal, (row) => {
      const id = String(row.profile_id);
      const kept = events.byProfile.get(id) ?? (events.complete ? NO_EVENTS : undefined);
      if (kept) stats.events += kept.eventEnds.length;
      else stats.profilesWithoutEvents++;
      byId.set(id, {
        profileId: id,
        head: arena.write([head(row, identities.get(id) ?? [], segments.get(id) ?? [])]).view,
        events: kept?.events,
        eventEnds: kept?.eventEnds ?? NO_EVENTS.eventEnds,
        allEvents: kept?.allEvents ?? false,
      });
    });
    stats.profiles = byId.size;
    stats.bytes = arena.bytes;
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

type KeptEvents = Pick<ProfileDocument, 'events' | 'eventEnds' | 'allEvents'>;
const NO_EVENTS: KeptEvents = { events: Buffer.alloc(0), eventEnds: [], allEvents: true };

/**
 * The latest events of each profile, written to the arena as they stream, within the budget. One
 * more than kept is read per profile, so a profile with at most `eventsPerProfile` events is known
 * to be complete. Rows come grouped by profile, the most recently active first; when the budget
 * runs out the query stops (the profiles kept are the most recently active), and the profile it
 * was reading keeps none (a partial list would pass for a complete one).
 */
async function loadEvents(repo: ProfilesRepository, arena: ByteArena, options: ProfileIndexOptions) {
  const byProfile = new Map<string, KeptEvents>();
  const budget = options.eventBudgetBytes ?? Infinity;
  const perProfile = options.eventsPerProfile;
  let current: string | undefined;
  let group: string[] = [];
  let bytes = 0;
  let complete = true;
  const flush = () => {
    if (current === undefined) return;
    const { view, ends } = arena.write(group.slice(0, perProfile), ',');
    byProfile.set(current, { events: view, eventEnds: ends, allEvents: group.length <= perProfile });
  };
  await eachRow(repo.latestEvents(perProfile + 1, options.profileId), options.signal, (row) => {
    const id = String(row.profile_id);
    if (id !== current) {
      flush();
      current = id;
      group = [];
    }
    const text = eventJson(row);
    if (group.length < perProfile) bytes += Buffer.byteLength(text) + 1;
    if (bytes > budget) {
      complete = false;
      current = undefined;
      return false;
    }
    group.push(text);
  });
  flush();
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
