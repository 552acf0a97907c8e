import { BigQueryDialect } from './bigquery.dialect';
import type { Dialect, DialectName } from './dialect';
import { DuckDbDialect } from './duckdb.dialect';
import { PostgresDialect } from './postgres.dialect';
import { SnowflakeDialect } from './snowflake.dialect';

export type { Dialect, DialectName } from './dialect';
export const DIALECT_NAMES: readonly DialectName[] = ['duckdb', 'postgres', 'bigquery', 'snowflake'];

export function dialectFor(name: DialectName): Dialect {
  switch (name) {
    case 'duckdb':
      return new DuckDbDialect();
    case 'postgres':
      return new PostgresDialect();
    case 'bigquery':
      return new BigQueryDialect();
    case 'snowflake':
      return new SnowflakeDialect();
  }
}
