import type { z } from 'zod';

/**
 * The contract between the sync engine and a destination. A destination is one folder
 * `src/destinations/<slug>/` whose `index.ts` exports a DestinationDefinition: what it is, the
 * settings of an instance (credentials and account), and its actions. Each action says which sync
 * modes it serves, its per-sync options, its batch size and rate limit, and has one performBatch
 * that sends explicit operations and returns a result per row. Destinations never diff: the engine
 * decides what is added, changed and removed.
 */

export const DESTINATION_CATEGORIES = ['ads', 'email', 'crm', 'support', 'messaging', 'generic'] as const;
export type DestinationCategory = (typeof DESTINATION_CATEGORIES)[number];

/** How a sync treats its rows (see syncs/sync-modes.ts for which operations each one sends). */
export const SYNC_MODES = ['upsert', 'update', 'insert', 'mirror', 'audience'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/** What the engine asks the destination to do with one row. */
export type Operation = 'upsert' | 'update' | 'insert' | 'delete' | 'add' | 'remove';

/** One row of a batch: the operation, the sync's primary key value and the mapped fields. */
export interface OutgoingRow {
  op: Operation;
  /** the primary key value in the source (e.g. the profile id), as text */
  key: string;
  /** field name (the mapping's left-hand side, dotted names nested: `properties.greeting`) to value */
  fields: Record<string, unknown>;
}

/** The destination's answer for one row, in the order of the batch. */
export type RowResult = { ok: true } | { ok: false; error: string };

export const ROW_OK: RowResult = { ok: true };
export const rowFailed = (error: string): RowResult => ({ ok: false, error });

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** absolute, or relative to the client's base URL */
  url: string;
  headers?: Record<string, string>;
  params?: Record<string, string | number | boolean | undefined>;
  /** sent as JSON unless it is a string or Buffer */
  body?: unknown;
  timeoutMs?: number;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  data: T;
}

/**
 * The one HTTP layer every destination uses (destinations/http): auth headers injected, the shared
 * rate-limit budget taken before each request, timeouts, secrets redacted from logs. Throttling,
 * 5xx and network failures become RetryableError; 401/403 ConfigurationError; other answers come
 * back as they are for the adapter to read (unless the definition's classify says otherwise).
 */
export interface HttpClient {
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
}

export interface DestinationLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
}

/** What an action sees while it runs. */
export interface ActionContext<Settings = Record<string, unknown>, Options = Record<string, unknown>> {
  settings: Settings;
  options: Options;
  /**
   * the sync being run, and the run (for idempotency keys and file names); `planned`: the rows this
   * run sends in all (an adapter may pick a bulk API for large runs)
   */
  sync: { name: string; runId: string; mode: SyncMode; planned?: number };
  http: HttpClient;
  logger: DestinationLogger;
  /** what `ensure` returned for this run (the remote list or audience id, ...) */
  state: Record<string, unknown>;
  /** how asynchronous vendor jobs are polled (http/poll-job.ts; default DEFAULT_JOB_POLLING, tests shorten it) */
  polling?: JobPolling;
}

/** Polling of a vendor's asynchronous job (an import, a bulk ingest): first wait, growth, cap, give-up time. */
export interface JobPolling {
  firstDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export interface TestContext<Settings = Record<string, unknown>> {
  settings: Settings;
  http: HttpClient;
  logger: DestinationLogger;
}

/** A field an action knows (for docs and the types endpoint); mappings may add custom ones when `customFields`. */
export interface FieldSpec {
  description: string;
  type?: 'string' | 'number' | 'boolean' | 'datetime' | 'object';
  required?: boolean;
  /** this field identifies the record at the destination (email, external id, ...) */
  identifier?: boolean;
}

// `any` defaults let definitions with their own settings types sit in one registry list
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ActionDefinition<Settings = any, Options = any> {
  title: string;
  description: string;
  /** the sync modes this action can serve */
  modes: readonly SyncMode[];
  /** per-sync options (the list name, the file name, ...); checked when a sync is loaded */
  options: z.ZodType<Options>;
  fields: Record<string, FieldSpec>;
  /** mappings may send fields not listed in `fields` (custom properties) */
  customFields?: boolean;
  /** rows per performBatch call by default */
  batchSize: number;
  /** the most rows a sync may ask for with its `batch_size` option: the vendor's limit (default batchSize) */
  maxBatchSize?: number;
  /** batches in flight at once for one sync (default 1) */
  concurrency?: number;
  /** find or create what the action writes to (an audience, a list) once per run */
  ensure?(ctx: ActionContext<Settings, Options>): Promise<Record<string, unknown>>;
  performBatch(rows: OutgoingRow[], ctx: ActionContext<Settings, Options>): Promise<RowResult[]>;
}

export interface RateLimit {
  /** requests allowed per window, shared by every sync that uses the same account */
  requests: number;
  perMs: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface DestinationDefinition<Settings = any> {
  slug: string;
  name: string;
  category: DestinationCategory;
  description: string;
  /** the settings of an instance: credentials and account; fields marked `.meta({ writeOnly: true })` are secrets */
  settings: z.ZodType<Settings>;
  /** the key of the account, for rate-limit budgets shared across syncs (default: the instance name) */
  accountKey?(settings: Settings): string;
  /** the vendor's request budget, or a function of the settings (a plan's limit the user sets) */
  rateLimit?: RateLimit | ((settings: Settings) => RateLimit);
  /** the base URL requests are relative to */
  baseUrl?(settings: Settings): string;
  /** headers added to every request (auth) */
  headers?(settings: Settings): Record<string, string>;
  /** vendor-specific throttling or error signals in otherwise successful answers (TikTok's HTTP 200 + code 40100) */
  classify?(response: HttpResponse): Error | undefined;
  /** checks the settings against the vendor (credentials, permissions); throws ConfigurationError */
  testConnection?(ctx: TestContext<Settings>): Promise<void>;
  actions: Record<string, ActionDefinition<Settings>>;
}

/** Identity helper that keeps the settings type flowing into the actions. */
export function defineDestination<Settings>(definition: DestinationDefinition<Settings>): DestinationDefinition<Settings> {
  return definition;
}
