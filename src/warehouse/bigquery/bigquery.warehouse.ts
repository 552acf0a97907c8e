import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BigQuery, type BigQueryOptions, type Job, type Query, type QueryResultsOptions, type Table, type TableField } from '@google-cloud/bigquery';
import { GoogleAuth } from 'google-auth-library';
import { BigQueryDialect } from '../dialects/bigquery.dialect';
import { SqlWarehouse } from '../sql-warehouse';
import { WarehouseError } from '../warehouse-error';
import type { BindValue, Relation, RelationInfo, Row } from '../warehouse';
import { bigQueryError } from './bigquery-errors';
import { encodeValue, integerTypeCastFunction, rowNormalizer, standardType, typedParam } from './bigquery-values';
import { bindNulls } from './placeholders';

const SCOPE = 'https://www.googleapis.com/auth/bigquery';
/** the streaming API's own advice: up to 500 rows per insertAll request (the hard limit is 50,000 rows and 10 MB) */
const DEFAULT_STREAMING_MAX_ROWS = 500;
const STREAMING_MAX_BYTES = 5 * 1024 * 1024;
/**
 * Tables younger than this take load jobs only: rows streamed into a table just created (or dropped
 * and created again under its name) can arrive late or be lost, and a staging table is read (or
 * changed by DML, which the streaming buffer blocks for up to 90 minutes) right after it is filled.
 */
const STREAMING_MIN_TABLE_AGE_MS = 10 * 60_000;
/** rows per getQueryResults page; BigQuery also ends a page at about 10 MB */
const DEFAULT_PAGE_SIZE = 10_000;

export interface BigQueryWarehouseOptions {
  /** the project jobs run in (and bill to); relations without a database live here */
  project: string;
  /** the dataset models go to (warehouse.dataset) */
  dataset: string;
  /** where jobs run and datasets are created: US, EU, europe-west2, ... */
  location: string;
  /** a service account key file; without it, the application default credentials */
  keyFile?: string;
  /** another endpoint than https://bigquery.googleapis.com (a local stand-in, a private endpoint) */
  apiEndpoint?: string;
  /** appends of up to this many rows go through the streaming API (insertAll); larger ones through a load job; 0: always a load job */
  streamingMaxRows?: number;
  /** a query that would bill more bytes fails instead of running (BigQuery's maximumBytesBilled) */
  maximumBytesBilled?: number;
  /** rows per result page (default 10,000) */
  pageSize?: number;
  /** the SDK's retries of rate limits and server errors (default 3 retries, backing off 2 s doubling up to 64 s) */
  retry?: { maxRetries?: number; maxRetryDelaySeconds?: number };
}

/**
 * BigQuery as a warehouse, through @google-cloud/bigquery. Every statement is a query job
 * (jobs.insert) whose results are read a page at a time (getQueryResults with pageToken); values
 * are bound as positional parameters. A schema is a dataset, a database a project.
 *
 * - transaction: one multi-statement query. Statements that create or drop permanent tables or
 *   views cannot run in a BigQuery transaction, so a list holding any runs as a plain script: in
 *   order, stopping at the first error, without rollback (each CREATE OR REPLACE is atomic itself).
 * - append: small inputs into established tables through the streaming API (one insertAll request:
 *   all rows or none), the rest through a load job of newline-delimited JSON (all rows or none; free,
 *   but at most 1,500 loads per table per day).
 * - describe and ensureSchema use the tables and datasets APIs: no query job, no bytes billed.
 */
export class BigQueryWarehouse extends SqlWarehouse {
  readonly type = 'bigquery';
  readonly dialect = new BigQueryDialect();
  readonly client: BigQuery;
  private readonly project: string;
  private readonly location: string;
  private readonly streamingMaxRows: number;
  private readonly maximumBytesBilled?: number;
  private readonly pageSize: number;

  constructor(options: BigQueryWarehouseOptions) {
    super();
    this.project = options.project;
    this.location = options.location;
    this.streamingMaxRows = options.streamingMaxRows ?? DEFAULT_STREAMING_MAX_ROWS;
    this.maximumBytesBilled = options.maximumBytesBilled;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const auth = new GoogleAuth({ keyFilename: options.keyFile, projectId: options.project, scopes: [SCOPE] });
    // Off Google's endpoint nothing may reach Google's token service: a service account key then
    // signs its own access token (a self-signed JWT carrying the BigQuery scope, as Google's gRPC
    // libraries always do). google-auth-library ignores a key file's token_uri, so this is the way to
    // keep the token exchange local.
    if (options.apiEndpoint) auth.useJWTAccessWithScope = true;
    this.client = new BigQuery({
      projectId: options.project,
      location: options.location,
      apiEndpoint: options.apiEndpoint,
      // a GoogleAuth is what @google-cloud/common expects here; BigQueryOptions types it as a client only
      authClient: auth as unknown as BigQueryOptions['authClient'],
      retryOptions: { autoRetry: true, maxRetries: options.retry?.maxRetries ?? 3, maxRetryDelay: options.retry?.maxRetryDelaySeconds ?? 64 },
    });
  }

  /** Checks the key file before the first request, so a wrong path or file is a clear error at start. */
  static async open(options: BigQueryWarehouseOptions): Promise<BigQueryWarehouse> {
    if (options.keyFile) readKeyFile(options.keyFile);
    return new BigQueryWarehouse(options);
  }

  // ── queries ───────────────────────────────────────────────────────────────

  async *query(sql: string, params: BindValue[] = []): AsyncIterable<Row> {
    const job = await this.startQuery(sql, params);
    let complete = false;
    let pageToken: string | undefined;
    let normalize: ((row: Row) => Row) | undefined;
    try {
      for (;;) {
        const { rows, next, response } = await this.page(job, { maxResults: this.pageSize, pageToken });
        if (response.jobComplete === false) continue; // getQueryResults waited ~10 s server-side: ask again
        complete = true;
        normalize ??= rowNormalizer(response.schema?.fields);
        for (const row of rows) yield normalize(row);
        if (!next?.pageToken) return;
        pageToken = next.pageToken;
      }
    } finally {
      // stopped before the job finished (a break, a consumer error): stop paying for it
      if (!complete) await job.cancel().catch(() => undefined);
    }
  }

  async execute(sql: string, params: BindValue[] = []): Promise<number | undefined> {
    const job = await this.startQuery(sql, params);
    const { response } = await this.completion(job, 0);
    return response.numDmlAffectedRows === undefined || response.numDmlAffectedRows === null ? undefined : Number(response.numDmlAffectedRows);
  }

  /**
   * One script job. Each statement's affected-row count is collected from @@row_count (NULL after a
   * statement that is not DML, kept as -1 since BigQuery arrays hold no NULL) and read back from the
   * script's last statement. BEGIN/COMMIT TRANSACTION around the statements unless one of them
   * creates or drops a permanent table or view (see the class comment).
   */
  async transaction(statements: string[]): Promise<(number | undefined)[]> {
    if (statements.length === 0) return [];
    if (statements.length === 1) return [await this.execute(statements[0])];
    const atomic = !statements.some(isPermanentDdl);
    const script = [
      'DECLARE cdp_row_counts ARRAY<INT64> DEFAULT [];',
      ...(atomic ? ['BEGIN TRANSACTION;'] : []),
      ...statements.flatMap((s) => [`${s.replace(/;\s*$/, '')}\n;`, 'SET cdp_row_counts = ARRAY_CONCAT(cdp_row_counts, [COALESCE(@@row_count, -1)]);']),
      ...(atomic ? ['COMMIT TRANSACTION;'] : []),
      'SELECT cdp_row_counts AS row_counts;',
    ].join('\n');
    const job = await this.startQuery(script, []);
    const { rows } = await this.completion(job, 1);
    // a failed script may answer its results without an error: its job status has it
    const [metadata] = await job.getMetadata().catch((e: unknown) => {
      throw bigQueryError(e);
    });
    const failure = metadata.status?.errorResult;
    if (failure) throw bigQueryError({ message: failure.message, errors: metadata.status?.errors ?? [failure] });
    const counts = rows[0]?.row_counts;
    if (!Array.isArray(counts) || counts.length !== statements.length) {
      throw new WarehouseError(`BigQuery: the transaction script answered ${JSON.stringify(counts)} instead of ${statements.length} row counts`);
    }
    return counts.map((n) => (n === -1 || n === null ? undefined : Number(n)));
  }

  /** Starts a query job. Each `?` bound to null becomes NULL (see bindNulls); the rest are typed positional parameters. */
  private async startQuery(sql: string, params: BindValue[]): Promise<Job> {
    let bound: { sql: string; params: Exclude<BindValue, null>[] };
    try {
      bound = bindNulls<Exclude<BindValue, null>>(sql, params);
    } catch (e) {
      throw new WarehouseError(`BigQuery: ${(e as Error).message}`);
    }
    const typed = bound.params.map(typedParam);
    const query: Query = {
      query: bound.sql,
      location: this.location,
      jobPrefix: 'cdp_',
      labels: { app: 'cdp' },
      ...(typed.length ? { params: typed.map((p) => p.value), types: typed.map((p) => p.type) } : {}),
      ...(this.maximumBytesBilled ? { maximumBytesBilled: String(this.maximumBytesBilled) } : {}),
    };
    try {
      const [job] = await this.client.createQueryJob(query);
      return job;
    } catch (e) {
      throw bigQueryError(e);
    }
  }

  /** One getQueryResults call: a page of rows (INT64 and JSON already converted by the SDK, see integerTypeCastFunction). */
  private async page(job: Job, options: { maxResults: number; pageToken?: string }) {
    const request: QueryResultsOptions = {
      // the SDK's paginator would read every page itself (and takes maxResults 0 for "no limit")
      autoPaginate: false,
      maxResults: options.maxResults,
      ...(options.pageToken ? { pageToken: options.pageToken } : {}),
      wrapIntegers: { integerTypeCastFunction },
      parseJSON: true,
    };
    try {
      const [rows, next, response] = await job.getQueryResults(request);
      return { rows: rows as Row[], next: next ?? undefined, response: response ?? {} };
    } catch (e) {
      throw bigQueryError(e);
    }
  }

  /** Waits for the job to finish (getQueryResults long-polls); answers the first `maxResults` rows. */
  private async completion(job: Job, maxResults: number) {
    for (;;) {
      const page = await this.page(job, { maxResults });
      if (page.response.jobComplete !== false) return { ...page, rows: page.rows.map(rowNormalizer(page.response.schema?.fields)) };
    }
  }

  // ── metadata, through the REST API (free: no query job) ───────────────────

  private table(rel: Relation): Table {
    return this.client.dataset(rel.schema, { projectId: rel.database ?? this.project, location: this.location }).table(rel.name);
  }

  /** The table's fields and type (TABLE, VIEW, ...), or undefined when it (or its dataset) does not exist. */
  private async tableMetadata(rel: Relation): Promise<{ type?: string | null; fields: TableField[]; createdAt: number } | undefined> {
    try {
      const [metadata] = await this.table(rel).getMetadata();
      return { type: metadata.type, fields: metadata.schema?.fields ?? [], createdAt: Number(metadata.creationTime ?? 0) };
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw bigQueryError(e, `describe ${this.dialect.relation(rel)}`);
    }
  }

  override async describe(relation: Relation): Promise<RelationInfo | null> {
    const metadata = await this.tableMetadata(relation);
    if (!metadata) return null;
    return {
      kind: /VIEW/.test(metadata.type ?? '') ? 'view' : 'table',
      columns: metadata.fields.map((f) => ({ name: f.name ?? '', type: standardType(f), nullable: f.mode !== 'REQUIRED' })),
    };
  }

  /** The dataset, created in the configured location when missing. */
  override async ensureSchema(schema: string, database?: string): Promise<void> {
    const dataset = this.client.dataset(schema, { projectId: database ?? this.project, location: this.location });
    try {
      const [exists] = await dataset.exists();
      if (!exists) await dataset.create();
    } catch (e) {
      if ((e as { code?: number }).code === 409) return; // created meanwhile by another process
      throw bigQueryError(e, `create dataset ${schema}`);
    }
  }

  // ── loads ─────────────────────────────────────────────────────────────────

  /**
   * Rows by column name. Up to streamingMaxRows rows (and 5 MB) into a table older than 10 minutes
   * (the tracking API's micro-batches into raw_events): one insertAll request, which writes all its
   * rows or none (skipInvalidRows off). Otherwise (bulk loads, seeds, staging and scratch tables) the
   * rows go to a temporary newline-delimited JSON file (memory stays flat) and one load job appends
   * them, all or none. A failing row source or a malformed row stops before anything is sent.
   */
  async append(table: Relation, columns: string[], rows: AsyncIterable<unknown[]> | Iterable<unknown[]>): Promise<number> {
    const name = this.dialect.relation(table);
    const metadata = await this.tableMetadata(table);
    if (!metadata) throw new WarehouseError(`cannot append to ${name}: it does not exist`);
    const types = columns.map((c) => {
      const field = metadata.fields.find((f) => f.name?.toLowerCase() === c.toLowerCase());
      if (!field) throw new WarehouseError(`append to ${name}: it has no column "${c}" (columns: ${metadata.fields.map((f) => f.name).join(', ')})`);
      return standardType(field);
    });
    /** row number `n` (1-based) as the JSON object the API takes; null values left out */
    const record: RowEncoder = (row, n, target) => {
      if (!Array.isArray(row) || row.length !== columns.length) {
        throw new WarehouseError(`append to ${name}: row ${n} has ${Array.isArray(row) ? row.length : 'no'} values for ${columns.length} columns (${columns.join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      columns.forEach((c, i) => {
        const v = encodeValue(row[i], types[i], target);
        if (v !== null) out[c] = v;
      });
      return out;
    };

    const source = (async function* () {
      yield* rows;
    })();
    // read ahead up to the streaming limit: an input that ends within it is one insertAll request
    const head: Record<string, unknown>[] = [];
    const raw: unknown[][] = [];
    let bytes = 0;
    let small = this.streamingMaxRows > 0 && Date.now() - metadata.createdAt >= STREAMING_MIN_TABLE_AGE_MS;
    try {
      while (small) {
        const next = await source.next();
        if (next.done) break;
        raw.push(next.value);
        const encoded = record(next.value, raw.length, 'insertAll');
        head.push(encoded);
        bytes += JSON.stringify(encoded).length;
        if (head.length > this.streamingMaxRows || bytes > STREAMING_MAX_BYTES) small = false;
      }
    } catch (e) {
      await source.return(undefined);
      throw e;
    }
    if (!small) return this.load(table, name, raw, source, record);
    if (head.length === 0) return 0;
    try {
      await this.table(table).insert(head, { skipInvalidRows: false, ignoreUnknownValues: false, partialRetries: 0 });
    } catch (e) {
      throw bigQueryError(e, `append to ${name}`, head);
    }
    return head.length;
  }

  /** The rows into a temporary newline-delimited JSON file, then one load job appends the file. */
  private async load(table: Relation, name: string, head: unknown[][], rest: AsyncGenerator<unknown[]>, record: RowEncoder): Promise<number> {
    const dir = mkdtempSync(join(tmpdir(), 'cdp-bigquery-load-'));
    const file = join(dir, 'rows.ndjson');
    let count = 0;
    try {
      async function* chunks() {
        let chunk = '';
        for await (const row of (async function* () {
          yield* head;
          yield* rest;
        })()) {
          chunk += JSON.stringify(record(row, ++count, 'load')) + '\n';
          if (chunk.length > 256_000) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk) yield chunk;
      }
      await pipeline(Readable.from(chunks()), createWriteStream(file));
      const upload = this.table(table).createWriteStream({
        sourceFormat: 'NEWLINE_DELIMITED_JSON',
        writeDisposition: 'WRITE_APPEND',
        createDisposition: 'CREATE_NEVER',
        maxBadRecords: 0,
        ignoreUnknownValues: false,
        jobPrefix: 'cdp_load_',
      });
      try {
        // 'complete' once the load job is done (the SDK polls jobs.get); 'error' if the upload or the job failed
        await Promise.all([pipeline(createReadStream(file), upload), once(upload, 'complete')]);
      } catch (e) {
        throw bigQueryError(e, `append to ${name}`);
      }
      return count;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    // the SDK holds no connection beyond keep-alive sockets, which close on their own
  }
}

type RowEncoder = (row: unknown[], n: number, target: 'insertAll' | 'load') => Record<string, unknown>;

/** DDL on permanent tables, views, datasets or functions: not allowed inside a BigQuery transaction. */
function isPermanentDdl(sql: string): boolean {
  const head = sql.replace(/^(\s+|--[^\n]*\n?|#[^\n]*\n?|\/\*[\s\S]*?\*\/)*/, '').toLowerCase();
  if (/^create\b/.test(head)) return !/^create\s+(or\s+replace\s+)?temp(orary)?\b/.test(head);
  return /^(drop|alter|undrop)\b/.test(head);
}

function readKeyFile(path: string): void {
  let key: { type?: unknown; client_email?: unknown; private_key?: unknown };
  try {
    key = JSON.parse(readFileSync(path, 'utf8')) as typeof key;
  } catch (e) {
    throw new WarehouseError(`warehouse.key_file ${path}: cannot read it as a JSON key file (${(e as Error).message})`);
  }
  if (key.type === 'service_account' && (typeof key.client_email !== 'string' || typeof key.private_key !== 'string')) {
    throw new WarehouseError(`warehouse.key_file ${path}: a service account key needs client_email and private_key`);
  }
  if (typeof key.type !== 'string') throw new WarehouseError(`warehouse.key_file ${path}: not a Google credentials file (it has no "type")`);
}
