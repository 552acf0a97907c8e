import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { DuckDbDialect } from '../dialects/duckdb.dialect';
import { toWarehouseError, WarehouseError } from '../warehouse-error';
import type { BindValue, Relation, Row } from '../warehouse';
import { SqlWarehouse } from '../sql-warehouse';

export interface DuckDbOptions {
  /** database file, or ':memory:' */
  path: string;
  threads?: number;
}

/**
 * The embedded default warehouse. One DuckDBInstance per process (DuckDB lets one process write
 * a file); each call takes its own connection, so queries can stream while others run.
 */
export class DuckDbWarehouse extends SqlWarehouse {
  readonly type = 'duckdb';
  readonly dialect = new DuckDbDialect();

  private constructor(private readonly instance: DuckDBInstance) {
    super();
  }

  static async open(options: DuckDbOptions): Promise<DuckDbWarehouse> {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    try {
      const instance = await DuckDBInstance.create(options.path, options.threads ? { threads: String(options.threads) } : {});
      return new DuckDbWarehouse(instance);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (/lock/i.test(message)) {
        throw new WarehouseError(
          `${options.path} is in use by another process (${message.split('\n')[0]}). Stop that process, or run the command while the service is up so it goes through the service.`,
          'WAREHOUSE_BUSY',
        );
      }
      throw toWarehouseError(e);
    }
  }

  private async withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.instance.connect();
    try {
      return await fn(connection);
    } catch (e) {
      throw toWarehouseError(e);
    } finally {
      connection.closeSync();
    }
  }

  async *query(sql: string, params: BindValue[] = []): AsyncIterable<Row> {
    const connection = await this.instance.connect();
    try {
      const result = await connection.stream(sql, params.map(toDuckValue)).catch((e: unknown) => {
        throw toWarehouseError(e);
      });
      for await (const rows of result.yieldRowObjectJs()) {
        for (const row of rows) yield normalizeRow(row);
      }
    } finally {
      connection.closeSync();
    }
  }

  async execute(sql: string, params: BindValue[] = []): Promise<number | undefined> {
    return this.withConnection(async (c) => {
      const result = await c.run(sql, params.map(toDuckValue));
      return result.rowsChanged;
    });
  }

  async transaction(statements: string[]): Promise<(number | undefined)[]> {
    return this.withConnection(async (c) => {
      const counts: (number | undefined)[] = [];
      await c.run('begin transaction');
      try {
        for (const sql of statements) counts.push((await c.run(sql)).rowsChanged);
        await c.run('commit');
      } catch (e) {
        await c.run('rollback').catch(() => undefined);
        throw e;
      }
      return counts;
    });
  }

  /** The DuckDB appender inside a transaction: all rows land or none do. Values come in table column order. */
  async append(table: Relation, columns: string[], rows: AsyncIterable<unknown[]> | Iterable<unknown[]>): Promise<number> {
    return this.withConnection(async (c) => {
      await c.run('begin transaction');
      try {
        const appender = await c.createAppender(table.name, table.schema, table.database ?? null).catch((e: unknown) => {
          throw new WarehouseError(`cannot append to ${this.dialect.relation(table)}: ${(e as Error).message}`);
        });
        if (appender.columnCount !== columns.length) {
          throw new WarehouseError(`append to ${this.dialect.relation(table)}: the table has ${appender.columnCount} columns, ${columns.length} given (${columns.join(', ')})`);
        }
        let count = 0;
        for await (const row of rows) {
          for (const value of row) appender.appendValue(toDuckValue(value as BindValue));
          appender.endRow();
          count++;
        }
        appender.closeSync();
        await c.run('commit');
        return count;
      } catch (e) {
        await c.run('rollback').catch(() => undefined);
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    // fold the write-ahead log into the database file so a stopped service leaves one clean file
    await this.execute('checkpoint').catch(() => undefined);
    this.instance.closeSync();
  }
}

function toDuckValue(value: BindValue): DuckDBValue {
  if (value instanceof Date) return value.toISOString();
  if (value === undefined) return null;
  return value;
}

/** BIGINTs arrive as bigint; turn the ones that fit into numbers so rows serialize as JSON. */
function normalizeRow(row: Record<string, unknown>): Row {
  for (const key in row) {
    const v = row[key];
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) row[key] = Number(v);
  }
  return row;
}
