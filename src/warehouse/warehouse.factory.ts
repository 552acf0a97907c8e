import type { WarehouseConfig } from '../config/config.schema';
import { WarehouseError } from './warehouse-error';
import type { Relation, Warehouse } from './warehouse';

/** Opens the configured warehouse. Adapters load lazily so an unused engine's driver is never required. */
export async function openWarehouse(config: WarehouseConfig): Promise<Warehouse> {
  switch (config.type) {
    case 'duckdb': {
      const { DuckDbWarehouse } = await import('./duckdb/duckdb.warehouse');
      return DuckDbWarehouse.open({ path: config.path, threads: config.threads, checkpointThreshold: config.checkpoint_threshold, memoryLimit: config.memory_limit });
    }
    case 'postgres': {
      const { PostgresWarehouse } = await import('./postgres/postgres.warehouse');
      return new PostgresWarehouse({ url: config.url, pool: config.pool });
    }
    case 'bigquery':
    case 'snowflake':
      throw new WarehouseError(
        `warehouse type "${config.type}" can compile models (cdp compile) but cannot execute them yet; use duckdb or postgres`,
      );
  }
}

/** Where models go: the configured schema (BigQuery: the dataset in the project). */
export function modelSchema(config: WarehouseConfig): Pick<Relation, 'database' | 'schema'> {
  switch (config.type) {
    case 'bigquery':
      return { database: config.project, schema: config.dataset };
    case 'snowflake':
      return { database: config.database, schema: config.schema };
    default:
      return { schema: config.schema };
  }
}
