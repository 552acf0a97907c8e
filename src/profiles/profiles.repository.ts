import type { CdpConfig } from '../config/config.schema';
import { timeFloor } from '../identity/identity-sources';
import { rawEventsRelation } from '../ingest/raw-events';
import { modelSchema } from '../warehouse/warehouse.factory';
import { dropTables, queryValue, stageValues, type BindValue, type ColumnInfo, type Relation, type Row, type Warehouse } from '../warehouse/warehouse';

/** The columns every profile has; every other column of `profiles` is a trait. */
export const PROFILE_COLUMNS = ['profile_id', 'first_seen', 'last_seen', 'updated_at'] as const;

/**
 * How many profile ids one query binds: a longer list (a patch of the index after a busy real-time
 * pass) is staged in a scratch table (appended, so still never SQL text) and joined, one query per
 * read whatever its length; engines cap placeholders (PostgreSQL at 65,535, BigQuery's query text
 * at 1 MB), and a scan of raw_events per chunk would cost far more than the staging.
 */
export const PROFILE_IDS_PER_QUERY = 100;

/**
 * The SQL of the profile API, over the tables identity resolution writes to the ingest schema
 * (`cdp` by default; a dataset on BigQuery): identity_graph, profiles, segment_membership (issue 5;
 * optional) and raw_events. Every read takes an optional list of profile ids: without it, it
 * streams the rows of every profile (the index loads them), with it the rows of those (a patch of
 * the index after a real-time pass; the CLI's one profile, uncached events). A list is read in
 * chunks of PROFILE_IDS_PER_QUERY ids, one query each, the ids bound: each chunk's rows come in the
 * order the read names, and a profile's rows all come in the same chunk.
 */
export class ProfilesRepository {
  private readonly graph: Relation;
  private readonly profiles: Relation;
  private readonly memberships: Relation;
  private readonly events: Relation;

  constructor(
    private readonly warehouse: Warehouse,
    config: Pick<CdpConfig, 'warehouse' | 'ingest'>,
  ) {
    const database = modelSchema(config.warehouse).database;
    const at = (name: string): Relation => ({ database, schema: config.ingest.schema, name });
    this.graph = at('identity_graph');
    this.profiles = at('profiles');
    this.memberships = at('segment_membership');
    this.events = rawEventsRelation(config.ingest.schema, database);
  }

  /** The trait columns (every column of `profiles` but PROFILE_COLUMNS), or null while the tables are not built. */
  async traitColumns(): Promise<ColumnInfo[] | null> {
    const [graph, profiles] = await Promise.all([this.warehouse.describe(this.graph), this.warehouse.describe(this.profiles)]);
    if (!graph || !profiles) return null;
    return profiles.columns.filter((c) => !(PROFILE_COLUMNS as readonly string[]).includes(c.name.toLowerCase()));
  }

  /** The profile an identifier (type and normalized value) belongs to. */
  async profileIdOf(type: string, value: string): Promise<string | undefined> {
    const sql = `select profile_id from ${this.rel(this.graph)} where id_type = ? and id_value = ? limit 1`;
    const id = await queryValue<string>(this.warehouse, sql, [type, value]);
    return id ?? undefined;
  }

  /** One row per profile: profile_id, first_seen, last_seen, updated_at and the traits. */
  profileRows(profileIds?: readonly string[]): AsyncIterable<Row> {
    return this.select(`select * from ${this.rel(this.profiles)}`, profileIds);
  }

  /** profile_id, id_type, id_value, source, first_seen, last_seen; by profile, then type and value. */
  identities(profileIds?: readonly string[]): AsyncIterable<Row> {
    return this.select(`select profile_id, id_type, id_value, source, first_seen, last_seen from ${this.rel(this.graph)}`, profileIds, 'profile_id, id_type, id_value');
  }

  /** Current memberships (exited_at is null): profile_id, segment, entered_at. None when the table does not exist. */
  async *segments(profileIds?: readonly string[]): AsyncIterable<Row> {
    if (profileIds?.length === 0 || !(await this.warehouse.describe(this.memberships))) return;
    const sql = `select profile_id, segment, entered_at from ${this.rel(this.memberships)} where exited_at is null`;
    yield* this.select(sql, profileIds, 'profile_id, segment', 'and');
  }

  /**
   * The latest `perProfile` events of each profile (or of the listed ones), newest first:
   * profile_id, position (1 = newest), message_id, type, event, name, timestamp, properties,
   * context. An event belongs to a profile when its user_id is one of the profile's user_id
   * identifiers or its anonymous_id one of its anonymous_id identifiers (trimmed, as resolution
   * normalizes them); raw_events is at least once, so each message_id counts once (its first
   * received copy). Profiles come most recently active first (then by id; for a list, within each
   * chunk), so a reader that stops early keeps the ones most likely looked up.
   */
  latestEvents(perProfile: number, profileIds?: readonly string[]): AsyncIterable<Row> {
    const q = (name: string) => this.warehouse.dialect.quoteIdentifier(name);
    const columns = `e.message_id, e.type, e.event, e.name, e.${q('timestamp')}, e.received_at, e.properties, e.context`;
    const d = this.warehouse.dialect;
    // an event is never older than its identifiers' first_seen (resolution sets it from the events it
    // reads), so a list's events are read from the earliest first_seen of its ids on: on DuckDB the
    // scan skips older row groups (an event not resolved yet comes with the next pass's patch)
    const ofType = (type: string, column: string, since: string) =>
      `select ids.profile_id, ${columns} from ${this.rel(this.events)} e join ids on ids.id_type = '${type}' and trim(e.${column}) = ids.id_value${since}`;
    const sql = (filter: string, since: string) => `with ids as (
  select profile_id, id_type, id_value from ${this.rel(this.graph)} where id_type in ('user_id', 'anonymous_id')${filter}
),
matched as (
  ${ofType('user_id', 'user_id', since)}
  union all
  ${ofType('anonymous_id', 'anonymous_id', since)}
),
copies as (
  select matched.*, row_number() over (partition by profile_id, message_id order by received_at) as copy_number from matched
),
ranked as (
  select copies.*,
         row_number() over (partition by profile_id order by ${q('timestamp')} desc, message_id desc) as position,
         max(${q('timestamp')}) over (partition by profile_id) as latest
  from copies where copy_number = 1
)
select profile_id, position, message_id, type, event, name, ${q('timestamp')}, properties, context from ranked where position <= ?
order by latest desc, profile_id, position`;
    const warehouse = this.warehouse;
    const graph = this.rel(this.graph);
    return this.eachChunk(profileIds, async function* (filter, ids) {
      let since = '';
      if (filter) {
        const earliest = await queryValue(warehouse, `select min(first_seen) from ${graph} where id_type in ('user_id', 'anonymous_id') and ${filter}`, ids);
        const ts = `e.${q('timestamp')}`;
        if (earliest != null) since = `\n    where (${ts} >= ${d.timestampLiteral(timeFloor(earliest))} or ${ts} is null)`;
      }
      yield* warehouse.query(sql(filter && ` and ${filter}`, since), [...ids, perProfile]);
    });
  }

  private select(sql: string, profileIds: readonly string[] | undefined, orderBy?: string, join: 'where' | 'and' = 'where'): AsyncIterable<Row> {
    const order = orderBy ? ` order by ${orderBy}` : '';
    return this.eachChunk(profileIds, (filter, ids) => this.warehouse.query(`${sql}${filter && ` ${join} ${filter}`}${order}`, ids));
  }

  /**
   * Runs `query` once: without a filter (no list: every profile), with the filter
   * `profile_id in (?, …)` and the ids to bind first (up to PROFILE_IDS_PER_QUERY), or over the ids
   * staged in a scratch table (a longer list).
   */
  private async *eachChunk(profileIds: readonly string[] | undefined, query: (filter: string, ids: BindValue[]) => AsyncIterable<Row>): AsyncIterable<Row> {
    if (profileIds === undefined) {
      yield* query('', []);
      return;
    }
    if (profileIds.length === 0) return;
    if (profileIds.length <= PROFILE_IDS_PER_QUERY) {
      yield* query(`profile_id in (${profileIds.map(() => '?').join(', ')})`, [...profileIds]);
      return;
    }
    const staged = await stageValues(this.warehouse, this.profiles, 'profile_ids', 'profile_id', profileIds);
    try {
      yield* query(`profile_id in (select profile_id from ${this.warehouse.dialect.relation(staged)})`, []);
    } finally {
      await dropTables(this.warehouse, [staged]);
    }
  }

  private rel(relation: Relation): string {
    return this.warehouse.dialect.relation(relation);
  }
}
