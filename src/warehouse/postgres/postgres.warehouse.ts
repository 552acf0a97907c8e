import knex, { type Knex } from 'knex';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { PostgresDialect } from '../dialects/postgres.dialect';
import { toWarehouseError } from '../warehouse-error';
import type { BindValue, Relation, Row } from '../warehouse';
import { SqlWarehouse } from '../sql-warehouse';
import { toPgPlaceholders } from './placeholders';
import QueryStream from 'pg-query-stream';

export interface PostgresOptions {
  url: string;
  pool?: { min: number; max: number };
}

/** int8 and numeric as numbers when they fit, so results serialize as JSON numbers as on DuckDB. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) {
      return (value: string) => {
        const n = Number(value);
        return Number.isSafeInteger(n) || (oid === 1700 && Number.isFinite(n)) ? n : value;
      };
    }
    return pg.types.getTypeParser(oid, format);
  },
};

/** PostgreSQL as a warehouse, through knex + pg. Rows stream through a server-side cursor. */
export class PostgresWarehouse extends SqlWarehouse {
  readonly type = 'postgres';
  readonly dialect = new PostgresDialect();
  readonly knex: Knex;

  constructor(options: PostgresOptions) {
    super();
    this.knex = knex({
      client: 'pg',
      connection: { connectionString: options.url, types } as Knex.PgConnectionConfig,
      pool: { min: options.pool?.min ?? 0, max: options.pool?.max ?? 10 },
    });
  }

  /** A pooled pg client for the length of `fn`. Queries go to pg directly: knex would rewrite every `?`. */
  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = (await this.knex.client.acquireConnection()) as pg.PoolClient;
    try {
      return await fn(client);
    } finally {
      await this.knex.client.releaseConnection(client);
    }
  }

  async *query(sql: string, params: BindValue[] = []): AsyncIterable<Row> {
    const client = (await this.knex.client.acquireConnection()) as pg.PoolClient;
    const stream = client.query(new QueryStream(toPgPlaceholders(sql, params.length), params, { highWaterMark: 1000 }));
    try {
      for await (const row of stream as AsyncIterable<Row>) yield row;
    } catch (e) {
      throw toWarehouseError(e);
    } finally {
      // an early break closes the cursor before the client goes back to the pool
      await new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        stream.once('close', () => resolve());
        stream.destroy();
      });
      await this.knex.client.releaseConnection(client);
    }
  }

  async execute(sql: string, params: BindValue[] = []): Promise<number | undefined> {
    try {
      return await this.withClient(async (c) => (await c.query(toPgPlaceholders(sql, params.length), params)).rowCount ?? undefined);
    } catch (e) {
      throw toWarehouseError(e);
    }
  }

  async transaction(statements: string[]): Promise<(number | undefined)[]> {
    try {
      return await this.withClient(async (c) => {
        const counts: (number | undefined)[] = [];
        await c.query('begin');
        try {
          for (const sql of statements) counts.push((await c.query(sql)).rowCount ?? undefined);
          await c.query('commit');
        } catch (e) {
          await c.query('rollback').catch(() => undefined);
          throw e;
        }
        return counts;
      });
    } catch (e) {
      throw toWarehouseError(e);
    }
  }

  /** COPY ... FROM STDIN inside a transaction: all rows land or none do. */
  async append(table: Relation, columns: string[], rows: AsyncIterable<unknown[]> | Iterable<unknown[]>): Promise<number> {
    const client = (await this.knex.client.acquireConnection()) as pg.PoolClient;
    let count = 0;
    try {
      await client.query('begin');
      const cols = columns.map((c) => this.dialect.quoteIdentifier(c)).join(', ');
      const copy = client.query(copyFrom(`copy ${this.dialect.relation(table)} (${cols}) from stdin with (format csv)`));
      async function* lines() {
        let chunk = '';
        for await (const row of rows) {
          chunk += row.map(csvValue).join(',') + '\n';
          count++;
          if (chunk.length > 64_000) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk) yield chunk;
      }
      await pipeline(Readable.from(lines()), copy);
      await client.query('commit');
      return count;
    } catch (e) {
      await client.query('rollback').catch(() => undefined);
      throw toWarehouseError(e);
    } finally {
      await this.knex.client.releaseConnection(client);
    }
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }
}

function csvValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return `"${s.replace(/"/g, '""')}"`;
}
