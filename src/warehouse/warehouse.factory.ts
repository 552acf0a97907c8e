import type { WarehouseConfig } from '../config/config.schema';
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
    case 'bigquery': {
      const { BigQueryWarehouse } = await import('./bigquery/bigquery.warehouse');
      return BigQueryWarehouse.open({
        project: config.project,
        dataset: config.dataset,
        location: config.location,
        keyFile: config.key_file,
        apiEndpoint: config.api_endpoint,
        streamingMaxRows: config.streaming_max_rows,
        maximumBytesBilled: config.maximum_bytes_billed,
      });
    }
    case 'snowflake': {
      const { SnowflakeWarehouse } = await import('./snowflake/snowflake.warehouse');
      return SnowflakeWarehouse.open({
        account: config.account,
        user: config.user,
        password: config.password,
        privateKeyPath: config.private_key_path,
        privateKeyPassphrase: config.private_key_passphrase,
        database: config.database,
        schema: config.schema,
        warehouse: config.warehouse,
        role: config.role,
        accessUrl: config.access_url,
        poolMax: config.pool?.max,
        stageMinRows: config.stage_min_rows,
      });
    }
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
