import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Connection, ConnectionOptions, RowStatement, StatementOption } from 'snowflake-sdk';
import { SnowflakeDialect } from '../dialects/snowflake.dialect';
import { SqlWarehouse } from '../sql-warehouse';
import { WarehouseError } from '../warehouse-error';
import type { BindValue, Relation, RelationInfo, Row } from '../warehouse';
import { loadDriver, type SnowflakeDriver } from './driver';
import { SessionPool } from './session-pool';
import { snowflakeError, type ErrorContext } from './snowflake-errors';
import { checkWidth, csvRecord, loadText, rowReader, toBind, unfoldName } from './values';

const gzipAsync = promisify(gzip);

export interface SnowflakeOptions {
  /** the account identifier: `myorg-myaccount` (or a legacy locator such as `xy12345.eu-west-1`) */
  account: string;
  user: string;
  /** password auth; or key-pair auth with privateKeyPath (PEM, PKCS#8) and its passphrase if encrypted */
  password?: string;
  privateKeyPath?: string;
  privateKeyPassphrase?: string;
  database: string;
  schema: string;
  warehouse?: string;
  role?: string;
  /** where the driver connects instead of https://<account>.snowflakecomputing.com (a stand-in, a private link) */
  accessUrl?: string;
  /** concurrent sessions (default 8) */
  poolMax?: number;
  /** appends of at least this many rows go through a stage and COPY INTO (default 1000; 0: always) */
  stageMinRows?: number;
  /** uncompressed size of each staged file (default 16 MB) */
  stageFileBytes?: number;
  /** extra driver connection options (tests: retry counts) */
  driverOptions?: Partial<ConnectionOptions>;
}

/** at most this many `?` values in one INSERT of an append */
const MAX_BINDS_PER_INSERT = 10_000;
/** how long a Snowflake column list is trusted by append (a table replaced meanwhile is re-read) */
const COLUMN_CACHE_MS = 60_000;
const DDL = /^\s*(create|alter|drop|truncate|undrop|grant|revoke|comment)\b/i;
const JSON_TYPES = /^(variant|object|array)/i;

interface Executed {
  rows: Row[];
}

/**
 * Snowflake as a warehouse, through snowflake-sdk. Each call takes a session from a small pool
 * (a transaction, a temporary stage and a streamed result need theirs), sessions run in UTC, `?`
 * values are bound, results stream (the driver pages through the result's chunks as rows are read),
 * and `append` loads through a temporary stage and COPY INTO (small inputs: bound INSERTs).
 */
export class SnowflakeWarehouse extends SqlWarehouse {
  readonly type = 'snowflake';
  readonly dialect = new SnowflakeDialect();
  private readonly pool: SessionPool<Connection>;
  private readonly context: ErrorContext;
  private readonly columnCache = new Map<string, { at: number; info: RelationInfo | null }>();

  private constructor(
    private readonly driver: SnowflakeDriver,
    private readonly options: SnowflakeOptions,
  ) {
    super();
    this.context = { account: options.account, user: options.user, url: options.accessUrl ?? `https://${options.account}.snowflakecomputing.com` };
    this.pool = new SessionPool<Connection>({
      open: () => this.openSession(),
      close: (c) => new Promise<void>((resolve) => c.destroy(() => resolve())),
      alive: (c) => c.isUp(),
      max: options.poolMax ?? 8,
      maxIdleMs: 30 * 60_000,
    });
  }

  /** Loads the driver; sessions open on first use (the first query reports a login failure). */
  static async open(options: SnowflakeOptions): Promise<SnowflakeWarehouse> {
    if (!options.password && !options.privateKeyPath) {
      throw new WarehouseError('warehouse (snowflake): give password, or private_key_path for key-pair authentication');
    }
    return new SnowflakeWarehouse(await loadDriver(), options);
  }

  private connectionOptions(): ConnectionOptions {
    const o = this.options;
    const auth: Partial<ConnectionOptions> = o.privateKeyPath
      ? { authenticator: 'SNOWFLAKE_JWT', privateKeyPath: o.privateKeyPath, ...(o.privateKeyPassphrase ? { privateKeyPass: o.privateKeyPassphrase } : {}) }
      : { password: o.password };
    return {
      account: o.account,
      username: o.user,
      ...auth,
      database: o.database,
      schema: o.schema,
      ...(o.warehouse ? { warehouse: o.warehouse } : {}),
      ...(o.role ? { role: o.role } : {}),
      ...(o.accessUrl ? { accessUrl: o.accessUrl } : {}),
      application: 'cdp',
      ...o.driverOptions,
    };
  }

  /** Logs in and sets the session up: UTC, as every engine stores time (TIMESTAMP_NTZ holding UTC). */
  private async openSession(): Promise<Connection> {
    const connection = this.driver.createConnection(this.connectionOptions());
    try {
      await new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())));
    } catch (e) {
      throw snowflakeError(e, this.context);
    }
    try {
      await this.run(connection, `alter session set timezone = 'UTC'`);
      return connection;
    } catch (e) {
      connection.destroy(() => undefined);
      throw e;
    }
  }

  private async withSession<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const connection = await this.pool.acquire();
    let reusable = true;
    try {
      return await fn(connection);
    } catch (e) {
      reusable = !(e instanceof SessionBroken);
      throw e instanceof SessionBroken ? e.cause : e;
    } finally {
      this.pool.release(connection, reusable);
    }
  }

  /** Runs a statement to the end, its (small) result in memory. */
  private run(connection: Connection, sql: string, params: BindValue[] = [], extra: Partial<StatementOption> = {}): Promise<Executed> {
    return new Promise<Executed>((resolve, reject) => {
      connection.execute({
        sqlText: sql,
        ...(params.length ? { binds: params.map(toBind) } : {}),
        fetchAsString: ['Number'],
        rowMode: 'array',
        ...extra,
        complete: (err, statement, rows) => {
          if (err) return reject(snowflakeError(err, this.context));
          const read = rowReader(statement.getColumns() ?? []);
          resolve({ rows: ((rows ?? []) as unknown[][]).map(read) });
        },
      });
    });
  }

  async *query(sql: string, params: BindValue[] = []): AsyncIterable<Row> {
    const connection = await this.pool.acquire();
    try {
      // streamResult: the complete callback comes with the first page; rows are read chunk by chunk
      const statement = await new Promise<RowStatement>((resolve, reject) => {
        connection.execute({
          sqlText: sql,
          ...(params.length ? { binds: params.map(toBind) } : {}),
          streamResult: true,
          fetchAsString: ['Number'],
          rowMode: 'array',
          complete: (err, stmt) => (err ? reject(snowflakeError(err, this.context)) : resolve(stmt)),
        });
      });
      const read = rowReader(statement.getColumns() ?? []);
      const stream = statement.streamRows();
      try {
        for await (const values of stream as AsyncIterable<unknown[]>) yield read(values);
      } catch (e) {
        throw snowflakeError(e, this.context);
      } finally {
        // a consumer that stops early: no further chunk is fetched
        stream.destroy();
      }
    } finally {
      this.pool.release(connection);
    }
  }

  async execute(sql: string, params: BindValue[] = []): Promise<number | undefined> {
    return this.withSession(async (c) => affected(await this.run(c, sql, params)));
  }

  /**
   * BEGIN, the statements, COMMIT on one session; ROLLBACK on error. Snowflake commits an open
   * transaction before (and after) a DDL statement, so a transaction that creates a table is atomic
   * only from that statement on: a new transaction begins after each DDL statement here, so the
   * DML that follows it still lands together.
   */
  async transaction(statements: string[]): Promise<(number | undefined)[]> {
    return this.withSession((c) =>
      this.inTransaction(c, async () => {
        const counts: (number | undefined)[] = [];
        for (const sql of statements) {
          counts.push(affected(await this.run(c, sql)));
          if (DDL.test(sql)) await this.run(c, 'begin');
        }
        return counts;
      }),
    );
  }

  /** BEGIN, `fn`, COMMIT; ROLLBACK when `fn` fails (a session whose rollback fails is not reused). */
  private async inTransaction<T>(c: Connection, fn: () => Promise<T>): Promise<T> {
    await this.run(c, 'begin');
    let result: T;
    try {
      result = await fn();
      await this.run(c, 'commit');
    } catch (e) {
      try {
        await this.run(c, 'rollback');
      } catch {
        throw new SessionBroken(e);
      }
      throw e;
    }
    return result;
  }

  override async describe(relation: Relation): Promise<RelationInfo | null> {
    const info = await super.describe(relation);
    return info && { ...info, columns: info.columns.map((c) => ({ ...c, name: unfoldName(c.name) })) };
  }

  /**
   * Loads rows into an existing table. Small inputs (under stageMinRows rows) go in bound
   * multi-row INSERTs inside one transaction. Larger ones are written as gzip'd CSV files (16 MB
   * each before compression), PUT to a temporary internal stage as they fill (memory stays at one
   * file), and loaded by one COPY INTO: all rows or none (ON_ERROR = ABORT_STATEMENT). Values go as
   * text that Snowflake casts to each column's type; JSON columns (VARIANT) through PARSE_JSON.
   */
  async append(table: Relation, columns: string[], rows: AsyncIterable<unknown[]> | Iterable<unknown[]>): Promise<number> {
    const target = this.dialect.relation(table);
    const info = await this.columnsOf(table);
    const iterator = Symbol.asyncIterator in rows ? rows[Symbol.asyncIterator]() : rows[Symbol.iterator]();
    try {
      if (!info) throw new WarehouseError(`cannot append to ${target}: it does not exist`);
      const types = columns.map((name) => {
        const column = info.columns.find((c) => c.name === name);
        if (!column) throw new WarehouseError(`cannot append to ${target}: it has no column "${name}" (it has ${info.columns.map((c) => c.name).join(', ')})`);
        return column.type;
      });
      const json = types.map((t) => JSON_TYPES.test(t));
      const minStaged = this.options.stageMinRows ?? 1000;
      const head: unknown[][] = [];
      let done = false;
      while (head.length < Math.max(minStaged, 1)) {
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        checkWidth(next.value, columns.length, head.length + 1, target);
        head.push(next.value);
      }
      if (done && !head.length) return 0;
      if (done && head.length < minStaged) return await this.insertRows(table, columns, json, head);
      return await this.stageAndCopy(table, columns, json, head, done ? undefined : iterator);
    } catch (e) {
      this.columnCache.delete(target);
      // a source left half-read is closed (a generator's finally runs)
      await Promise.resolve(iterator.return?.()).catch(() => undefined);
      throw e;
    }
  }

  private async columnsOf(table: Relation): Promise<RelationInfo | null> {
    const key = this.dialect.relation(table);
    const cached = this.columnCache.get(key);
    if (cached && Date.now() - cached.at < COLUMN_CACHE_MS) return cached.info;
    const info = await this.describe(table);
    this.columnCache.set(key, { at: Date.now(), info });
    return info;
  }

  /** `insert into t (a, b) select column1, parse_json(column2) from values (?, ?), ...`: PARSE_JSON is not allowed in VALUES itself. */
  private async insertRows(table: Relation, columns: string[], json: boolean[], rows: unknown[][]): Promise<number> {
    if (!rows.length) return 0;
    const cols = columns.map((c) => this.dialect.quoteIdentifier(c)).join(', ');
    const select = json.map((j, i) => (j ? `parse_json(column${i + 1})` : `column${i + 1}`)).join(', ');
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const perInsert = Math.max(1, Math.floor(MAX_BINDS_PER_INSERT / columns.length));
    const statements: { sql: string; params: BindValue[] }[] = [];
    for (let i = 0; i < rows.length; i += perInsert) {
      const batch = rows.slice(i, i + perInsert);
      statements.push({
        sql: `insert into ${this.dialect.relation(table)} (${cols})\nselect ${select} from values ${batch.map(() => tuple).join(', ')}`,
        params: batch.flatMap((r) => r.map(loadText)),
      });
    }
    return this.withSession(async (c) => {
      if (statements.length === 1) return affected(await this.run(c, statements[0].sql, statements[0].params)) ?? rows.length;
      await this.inTransaction(c, async () => {
        for (const s of statements) await this.run(c, s.sql, s.params);
      });
      return rows.length;
    });
  }

  private async stageAndCopy(table: Relation, columns: string[], json: boolean[], head: unknown[][], rest: AsyncIterator<unknown[]> | Iterator<unknown[]> | undefined): Promise<number> {
    const target = this.dialect.relation(table);
    const stage = this.dialect.relation({ database: table.database, schema: table.schema, name: `cdp_append_${randomBytes(8).toString('hex')}` });
    const fileBytes = this.options.stageFileBytes ?? 16 * 1024 * 1024;
    return this.withSession(async (c) => {
      // temporary: the stage and its files go when the session ends, even if the DROP below never runs
      await this.run(c, `create temporary stage ${stage}`);
      try {
        let parts: string[] = [];
        let size = 0;
        let files = 0;
        let count = 0;
        const flush = async () => {
          const file = `part-${String(++files).padStart(5, '0')}.csv.gz`;
          const body = await gzipAsync(parts.join(''));
          parts = [];
          size = 0;
          // fileStream: the driver uploads the buffer (encrypted) to the stage's cloud storage
          let put: Executed;
          try {
            put = await this.run(c, `put 'file://${file}' '@${stage}' auto_compress = false source_compression = gzip overwrite = true`, [], { fileStream: body } as Partial<StatementOption>);
          } catch (e) {
            throw new WarehouseError(`append to ${target}: the upload of ${file} to the stage failed: ${(e as Error).message.replace(/^Snowflake: /, '')}`);
          }
          // the driver reports some failures (an expired storage token) as a status, not an error
          const status = put.rows.map((r) => String(r.status as string)).find((st) => st !== 'UPLOADED');
          if (status) throw new WarehouseError(`append to ${target}: the upload of ${file} to the stage failed (${status})`);
        };
        const add = async (row: unknown[]) => {
          const line = csvRecord(row);
          parts.push(line);
          size += line.length;
          count++;
          if (size >= fileBytes) await flush();
        };
        for (const row of head) await add(row);
        if (rest) {
          for (let next = await rest.next(); !next.done; next = await rest.next()) {
            checkWidth(next.value, columns.length, count + 1, target);
            await add(next.value);
          }
        }
        if (parts.length) await flush();
        if (!files) return 0;
        const select = json.map((j, i) => (j ? `parse_json($${i + 1})` : `$${i + 1}`)).join(', ');
        const copied = await this.run(
          c,
          `copy into ${target} (${columns.map((col) => this.dialect.quoteIdentifier(col)).join(', ')})
from (select ${select} from @${stage})
file_format = (type = csv field_optionally_enclosed_by = '"' empty_field_as_null = true null_if = () escape_unenclosed_field = none compression = gzip)
on_error = abort_statement`,
        );
        const loaded = copied.rows.reduce((n, r) => n + Number(r.rows_loaded ?? 0), 0);
        if (loaded !== count) throw new WarehouseError(`append to ${target}: COPY INTO loaded ${loaded} of the ${count} rows staged (${JSON.stringify(copied.rows)})`);
        return loaded;
      } finally {
        await this.run(c, `drop stage if exists ${stage}`).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** A failure after which the session's state is unknown (a rollback failed): it is closed, not reused. */
class SessionBroken extends Error {
  constructor(override readonly cause: unknown) {
    super('session broken');
  }
}

/**
 * The rows a DML statement changed, from Snowflake's result columns ("number of rows inserted",
 * "... updated", "... deleted"; a MERGE has several); undefined for other statements.
 */
function affected({ rows }: Executed): number | undefined {
  if (rows.length !== 1) return undefined;
  let total: number | undefined;
  for (const [name, value] of Object.entries(rows[0])) {
    if (/^number of rows (inserted|updated|deleted)$/i.test(name)) total = (total ?? 0) + Number(value);
  }
  return total;
}
