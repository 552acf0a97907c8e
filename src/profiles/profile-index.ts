import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ColumnInfo, Row } from '../warehouse/warehouse';
import { ByteArena, CHUNK_BYTES } from './byte-arena';
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
  /**
   * bytes of replaced documents the arena may hold, whatever the live bytes, before compactionDue()
   * asks for a whole load (default: one arena chunk): below that a load would free next to nothing
   */
  garbageSlackBytes?: number;
}

export interface ProfileIndexStats {
  profiles: number;
  identifiers: number;
  /** events kept, and their JSON size */
  events: number;
  eventBytes: number;
  /** bytes of JSON in all (outside the V8 heap), with the documents patches replaced */
  bytes: number;
  /** bytes of the current documents (heads and events); `bytes` less these is garbage patches left */
  liveBytes: number;
  /** profiles whose events did not fit in the budget (answered from the warehouse) */
  profilesWithoutEvents: number;
  loadMs: number;
  /** patches applied since the load, and how long the last one took */
  patches: number;
  patchMs: number;
}

/** How many rows a load handles before it lets waiting requests run (a load never blocks the event loop for long). */
const ROWS_PER_TURN = 256;

/**
 * How far patches may take the kept events past the budget before compactionDue() asks for a whole
 * load, which applies the budget again (an eighth: 32 MB of the service's 256).
 */
const EVENT_BUDGET_SLACK = 1 / 8;

/**
 * An in-memory snapshot of the profile tables: identifier (type, normalized value) -> profile id,
 * and profile id -> the profile as pre-serialized JSON (ProfileDocument), with its latest events. A
 * reload builds a new index beside the old one; the holder swaps the reference when it is
 * complete, so a lookup never sees a half-loaded index.
 *
 * Every table is read with one streaming query (nothing reads a whole result at once), and the load
 * yields to the event loop every few hundred rows, so answers go on while it runs.
 *
 * Between loads, patch() brings a few profiles up to date in place (a real-time pass changes a
 * handful; a whole load of 100,000 profiles takes ~10 s of CPU). It reads them first and changes
 * the maps in one synchronous step, so a lookup (which reads both maps without awaiting) sees the
 * index before the patch or after it, never between. The documents a patch replaces stay in the
 * arena as garbage, counted in the stats; compactionDue() says when a whole load should free them.
 */
export class ProfileIndex {
  private patching = false;

  private constructor(
    private readonly byIdentifier: Map<string, Map<string, string>>,
    private readonly byId: Map<string, ProfileDocument>,
    private readonly arena: ByteArena,
    private readonly traits: readonly ColumnInfo[],
    private readonly options: ProfileIndexOptions,
    readonly stats: ProfileIndexStats,
  ) {}

  /** Loads the index, or answers null when identity resolution has not built the tables yet. */
  static async load(repo: ProfilesRepository, options: ProfileIndexOptions): Promise<ProfileIndex | null> {
    const started = performance.now();
    const traits = await repo.traitColumns();
    if (!traits) return null;
    const stats = { profiles: 0, identifiers: 0, events: 0, eventBytes: 0, bytes: 0, liveBytes: 0, profilesWithoutEvents: 0, loadMs: 0, patches: 0, patchMs: 0 };
    const index = new ProfileIndex(new Map(), new Map(), new ByteArena(), traits, options, stats);
    const ids = options.profileId === undefined ? undefined : [options.profileId];
    const read = await readProfiles(repo, index.arena, traits, ids, options.eventBudgetBytes ?? Infinity, options, (type, value, id) => index.point(type, value, id));
    for (const [id, doc] of read) {
      index.byId.set(id, doc);
      index.count(doc, 1);
    }
    stats.bytes = index.arena.bytes;
    stats.loadMs = Math.round(performance.now() - started);
    return index;
  }

  /** The profile id of an identifier: its type and its normalized value. */
  profileIdOf(type: string, value: string): string | undefined {
    return this.byIdentifier.get(type)?.get(value);
  }

  get(profileId: string): ProfileDocument | undefined {
    return this.byId.get(profileId);
  }

  /**
   * Brings the listed profiles up to date: reads their rows, identities, memberships and latest
   * events, then in one synchronous step drops their documents, adds those that still exist and
   * points their identifiers at them. A listed profile that no longer exists (merged into another)
   * is gone, and so are its identifiers, unless a listed profile has them now (the survivor of a
   * merge, listed with it). Patched profiles keep their latest events whatever the budget (they
   * are the most recently active, the ones a load keeps first); compactionDue() says when the
   * budget needs a load again.
   *
   * Answers false, and changes nothing, when a patch cannot do: the tables are gone, or their trait
   * columns changed (every head would); a whole load is due. One patch of an index at a time.
   */
  async patch(repo: ProfilesRepository, profileIds: readonly string[], signal?: AbortSignal): Promise<boolean> {
    if (this.patching) throw new Error('a patch of this profile index is already running');
    this.patching = true;
    try {
      const started = performance.now();
      const traits = await repo.traitColumns();
      if (!traits || !sameColumns(traits, this.traits)) return false;
      const ids = [...new Set(profileIds)];
      const claimed = new Map<string, [string, string][]>();
      const fresh = await readProfiles(repo, this.arena, traits, ids, Infinity, { ...this.options, signal }, (type, value, id) => push(claimed, id, [type, value]));
      // the identifiers the listed profiles answer for now: their heads list them (the index keeps
      // no second list of them on the heap)
      const held = new Map<string, [string, string][]>();
      for (const [n, id] of ids.entries()) {
        const doc = this.byId.get(id);
        if (doc) held.set(id, identifiersOf(doc));
        if ((n + 1) % ROWS_PER_TURN === 0) await nextTurn();
      }
      signal?.throwIfAborted();

      // from here on synchronous: no lookup runs until the patch is whole
      for (const [id, identifiers] of held) {
        for (const [type, value] of identifiers) {
          const values = this.byIdentifier.get(type);
          if (values?.get(value) !== id) continue;
          values.delete(value);
          this.stats.identifiers--;
        }
        this.count(this.byId.get(id)!, -1);
        this.byId.delete(id);
      }
      for (const [id, doc] of fresh) {
        this.byId.set(id, doc);
        this.count(doc, 1);
        for (const [type, value] of claimed.get(id) ?? []) this.point(type, value, id);
      }
      this.stats.bytes = this.arena.bytes;
      this.stats.patches++;
      this.stats.patchMs = Math.round(performance.now() - started);
      return true;
    } finally {
      this.patching = false;
    }
  }

  /**
   * Whether a whole load is due: patches left more replaced bytes in the arena than live ones
   * (past garbageSlackBytes), or took the kept events past the budget by more than
   * EVENT_BUDGET_SLACK.
   */
  compactionDue(): boolean {
    const { bytes, liveBytes, eventBytes } = this.stats;
    const garbage = bytes - liveBytes;
    const budget = this.options.eventBudgetBytes ?? Infinity;
    return (garbage > liveBytes && garbage > (this.options.garbageSlackBytes ?? CHUNK_BYTES)) || eventBytes > budget * (1 + EVENT_BUDGET_SLACK);
  }

  private point(type: string, value: string, profileId: string): void {
    let values = this.byIdentifier.get(type);
    if (!values) this.byIdentifier.set(type, (values = new Map()));
    if (!values.has(value)) this.stats.identifiers++;
    values.set(value, profileId);
  }

  /** Adds a document to the stats (sign 1) or takes it out (-1). */
  private count(doc: ProfileDocument, sign: 1 | -1): void {
    const s = this.stats;
    s.profiles += sign;
    s.liveBytes += sign * (doc.head.length + (doc.events?.length ?? 0));
    if (doc.events) {
      s.events += sign * doc.eventEnds.length;
      s.eventBytes += sign * doc.events.length;
    } else s.profilesWithoutEvents += sign;
  }
}

type KeptEvents = Pick<ProfileDocument, 'events' | 'eventEnds' | 'allEvents'>;
const NO_EVENTS: KeptEvents = { events: Buffer.alloc(0), eventEnds: [], allEvents: true };

/**
 * The documents of every profile (no list) or of the listed ones, written to the arena; each
 * identifier read is handed to `onIdentifier` (also those of a profile without a `profiles` row).
 */
async function readProfiles(
  repo: ProfilesRepository,
  arena: ByteArena,
  traits: readonly ColumnInfo[],
  profileIds: readonly string[] | undefined,
  eventBudgetBytes: number,
  options: ProfileIndexOptions,
  onIdentifier: (type: string, value: string, profileId: string) => void,
): Promise<Map<string, ProfileDocument>> {
  const { signal } = options;
  const identities = new Map<string, string[]>();
  const segments = new Map<string, string[]>();
  // three queries at once: the warehouse computes one (events: a join and window functions) while Node reads another
  const [, , events] = await Promise.all([
    eachRow(repo.identities(profileIds), signal, (row) => {
      const id = String(row.profile_id);
      onIdentifier(String(row.id_type), String(row.id_value), id);
      push(identities, id, identityJson(row));
    }),
    eachRow(repo.segments(profileIds), signal, (row) => push(segments, String(row.profile_id), segmentJson(row))),
    loadEvents(repo, arena, profileIds, options.eventsPerProfile, eventBudgetBytes, signal),
  ]);

  const head = headWriter(traits);
  const byId = new Map<string, ProfileDocument>();
  await eachRow(repo.profileRows(profileIds), signal, (row) => {
    const id = String(row.profile_id);
    const kept = events.byProfile.get(id) ?? (events.complete ? NO_EVENTS : undefined);
    byId.set(id, {
      profileId: id,
      head: arena.write([head(row, identities.get(id) ?? [], segments.get(id) ?? [])]).view,
      events: kept?.events,
      eventEnds: kept?.eventEnds ?? NO_EVENTS.eventEnds,
      allEvents: kept?.allEvents ?? false,
    });
  });
  return byId;
}

/**
 * The latest events of each profile, written to the arena as they stream, within the budget. One
 * more than kept is read per profile, so a profile with at most `perProfile` events is known to be
 * complete. Rows come grouped by profile, the most recently active first; when the budget runs out
 * the query stops (the profiles kept are the most recently active), and the profile it was reading
 * keeps none (a partial list would pass for a complete one).
 */
async function loadEvents(repo: ProfilesRepository, arena: ByteArena, profileIds: readonly string[] | undefined, perProfile: number, budget: number, signal: AbortSignal | undefined) {
  const byProfile = new Map<string, KeptEvents>();
  let current: string | undefined;
  let group: string[] = [];
  let bytes = 0;
  let complete = true;
  const flush = () => {
    if (current === undefined) return;
    const { view, ends } = arena.write(group.slice(0, perProfile), ',');
    byProfile.set(current, { events: view, eventEnds: ends, allEvents: group.length <= perProfile });
  };
  await eachRow(repo.latestEvents(perProfile + 1, profileIds), signal, (row) => {
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

/** The identifiers a document lists (type and value, as the index keys them). */
function identifiersOf(doc: ProfileDocument): [string, string][] {
  // the head is the answer up to its events: closing the list makes it whole JSON
  const { identities } = JSON.parse(`${doc.head.toString()}]}`) as { identities: { type: unknown; value: unknown }[] };
  return identities.map((i) => [String(i.type), String(i.value)]);
}

const sameColumns = (a: readonly ColumnInfo[], b: readonly ColumnInfo[]): boolean => a.length === b.length && a.every((c, i) => c.name === b[i].name && c.type === b[i].type);

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
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
