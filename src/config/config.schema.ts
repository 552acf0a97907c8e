import { z } from 'zod';
import { identityConfigSchema } from '../identity/identity.config';

/**
 * The one schema for cdp.yaml (after ${ENV} interpolation and environment overrides).
 * Every object is strict: an unknown key is an error that names the key.
 */
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain SQL identifier (letters, digits, _)');

const duckdbWarehouse = z
  .object({
    type: z.literal('duckdb'),
    path: z.string().min(1).default('.cdp/warehouse.duckdb'),
    schema: identifier.default('analytics'),
    threads: z.number().int().positive().optional(),
    /** WAL size that triggers a checkpoint; a checkpoint stalls writers, so the tracking API wants few */
    checkpoint_threshold: z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 1GB').default('1GB'),
    /** DuckDB's memory limit (default 80% of RAM); beyond it joins and sorts spill to disk */
    memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 1GB').optional(),
  })
  .strict();

const postgresWarehouse = z
  .object({
    type: z.literal('postgres'),
    url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
    schema: identifier.default('analytics'),
    pool: z.object({ min: z.number().int().min(0).default(0), max: z.number().int().positive().default(10) }).strict().optional(),
  })
  .strict();

const bigqueryWarehouse = z
  .object({
    type: z.literal('bigquery'),
    project: z.string().min(1),
    dataset: identifier.default('analytics'),
    location: z.string().default('US'),
    /** a service account key file; without it, the application default credentials */
    key_file: z.string().optional(),
    /** another API endpoint than https://bigquery.googleapis.com (a private endpoint, a local stand-in) */
    api_endpoint: z.string().regex(/^https?:\/\//, 'an http(s):// URL').optional(),
    /** appends of up to this many rows use the streaming API (insertAll), larger ones a load job; 0: always a load job (default 500) */
    streaming_max_rows: z.number().int().min(0).max(50_000).optional(),
    /** a query that would bill more bytes fails instead of running */
    maximum_bytes_billed: z.number().int().positive().optional(),
  })
  .strict();

const snowflakeWarehouse = z
  .object({
    type: z.literal('snowflake'),
    account: z.string().min(1),
    user: z.string().min(1),
    /** password auth; or key-pair auth with private_key_path (a PEM PKCS#8 key) */
    password: z.string().optional(),
    private_key_path: z.string().optional(),
    /** the passphrase of an encrypted private key (e.g. ${SNOWFLAKE_KEY_PASSPHRASE}) */
    private_key_passphrase: z.string().optional(),
    database: identifier,
    schema: identifier.default('ANALYTICS'),
    warehouse: identifier.optional(),
    role: identifier.optional(),
    /** another endpoint than https://<account>.snowflakecomputing.com (a private link, a local stand-in) */
    access_url: z.string().regex(/^https?:\/\/[^\s/]+/, 'an http(s):// URL').optional(),
    /** concurrent Snowflake sessions (default 8) */
    pool: z.object({ max: z.number().int().positive().default(8) }).strict().optional(),
    /** appends of at least this many rows go through a stage and COPY INTO, smaller ones through bound INSERTs; 0: always a stage (default 1000) */
    stage_min_rows: z.number().int().min(0).optional(),
  })
  .strict();

export const warehouseSchema = z.discriminatedUnion('type', [
  duckdbWarehouse,
  postgresWarehouse,
  bigqueryWarehouse,
  snowflakeWarehouse,
]);

export const controlStoreSchema = z
  .object({
    url: z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'a sqlite:<path> or postgres:// URL').default('sqlite://.cdp/control.sqlite'),
  })
  .strict();

const varValue: z.ZodType<unknown> = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.any()), z.record(z.string(), z.any())]);

export const cdpConfigSchema = z
  .object({
    name: z.string().min(1).default('cdp'),
    warehouse: warehouseSchema.default({ type: 'duckdb', path: '.cdp/warehouse.duckdb', schema: 'analytics', checkpoint_threshold: '1GB' }),
    control_store: controlStoreSchema.default({ url: 'sqlite://.cdp/control.sqlite' }),
    server: z
      .object({
        port: z.number().int().min(0).max(65535).default(3000),
        host: z.string().default('0.0.0.0'),
      })
      .strict()
      .default({ port: 3000, host: '0.0.0.0' }),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    paths: z
      .object({
        models: z.string().default('models'),
        seeds: z.string().default('seeds'),
        segments: z.string().default('segments'),
        target: z.string().default('target'),
      })
      .strict()
      .default({ models: 'models', seeds: 'seeds', segments: 'segments', target: 'target' }),
    vars: z.record(z.string(), varValue).default({}),
    /** event sources declared as code; their write keys come from the environment */
    sources: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a name of letters, digits, _ . -'),
            write_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
          })
          .strict(),
      )
      .default([]),
    ingest: z
      .object({
        /** events waiting for a commit; beyond it the API answers 503 with Retry-After */
        max_buffered_events: z.number().int().positive().default(100_000),
        /** commits in flight at once: the next group fills while the warehouse commits the last */
        flush_concurrency: z.number().int().min(1).max(64).default(2),
        /** where raw_events lives (a dataset on BigQuery) */
        schema: identifier.default('cdp'),
      })
      .strict()
      .default({ max_buffered_events: 100_000, flush_concurrency: 2, schema: 'cdp' }),
    /** identity resolution and profile traits; without it no profiles are built */
    identity: identityConfigSchema.optional(),
    /**
     * the real-time pipeline of the service: new events go through identity resolution, profiles and
     * the `realtime: true` segments as they commit, and `schedule: realtime` syncs deliver the changes
     */
    realtime: z
      .object({
        /** off: realtime segments and syncs are built only by builds (default on) */
        enabled: z.boolean().default(true),
        /** wait this long after a commit for more events before a pass (they go together) */
        debounce_ms: z.number().int().min(0).max(60_000).default(100),
        /** look for events committed by other processes this often */
        poll_seconds: z.number().positive().max(3600).default(5),
        /**
         * how far behind its watermark a pass re-reads events, for events another process received
         * earlier but committed later (this process's own commits are tracked exactly)
         */
        lookback_seconds: z.number().min(0).max(3600).default(5),
      })
      .strict()
      .default({ enabled: true, debounce_ms: 100, poll_seconds: 5, lookback_seconds: 5 }),
  })
  .strict();

export type CdpConfigFile = z.input<typeof cdpConfigSchema>;
export type WarehouseConfig = z.output<typeof warehouseSchema>;
export type WarehouseType = WarehouseConfig['type'];

/** The validated configuration plus where it came from. */
export type CdpConfig = z.output<typeof cdpConfigSchema> & {
  /** absolute project directory; relative paths in the config resolve against it */
  projectDir: string;
  /** absolute path of cdp.yaml (may not exist: then every value is a default or an override) */
  configFile: string;
  /** CDP_ADMIN_TOKEN, if set */
  adminToken?: string;
};
