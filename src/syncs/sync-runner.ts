import { randomBytes } from 'node:crypto';
import type { ActionContext, ActionDefinition, DestinationDefinition, DestinationLogger, HttpClient, OutgoingRow, RowResult } from '../destinations/destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError, RowError } from '../destinations/destination-errors';
import { CdpError, errorMessage } from '../errors/cdp-error';
import type { Project } from '../models/project';
import type { ColumnSpec, Relation, Row, Warehouse } from '../warehouse/warehouse';
import { dropTables, queryAll, stageValues } from '../warehouse/warehouse';
import type { Workspace } from '../workspace/workspace';
import { modelSchema } from '../warehouse/warehouse.factory';
import { compileMapping, type CompiledMapping } from './field-mapping';
import { engineOptions, type EngineOptions, type SyncDefinition } from './sync-definition';
import { MODE_OPERATIONS, type Change } from './sync-modes';
import { buildPlan, HASH, KEY, OP, SEQ, SYNCED_AT, sourceQuery, syncTables, type PlanCounts, type SyncTables } from './sync-planner';
import { commitEventsCursor, RECEIVED_AT } from './event-source';
import { SyncRunsRepository, type RunCounts, type RunTrigger, type SyncRun } from './sync-runs.repository';

/** A sync ready to run: its definition, and its destination resolved (settings checked, secrets decrypted). */
export interface SyncTarget {
  definition: SyncDefinition;
  /** where the definition lives (`syncs/x.yaml` or `api`), for messages */
  where: string;
  destination: {
    name: string;
    definition: DestinationDefinition;
    settings: Record<string, unknown>;
    /** secret values, kept out of logs */
    secrets: string[];
  };
  actionName: string;
  action: ActionDefinition;
  /** the action's options, validated */
  options: Record<string, unknown>;
  http: HttpClient;
}

export class SyncBusyError extends CdpError {
  constructor(sync: string, runId: string, owner: string) {
    super('SYNC_BUSY', `sync ${sync} is already running (run ${runId} on ${owner}); one run per sync at a time`);
  }
}

export interface RunOptions {
  trigger: RunTrigger;
  fullResync?: boolean;
  /** rows done of rows planned, after each committed page */
  onProgress?: (done: number, total: number) => void;
  /** called once the run has an id (before planning) */
  onStart?: (runId: string) => void;
  /** stop between batches (service shutdown): the run stays resumable */
  signal?: AbortSignal;
  /**
   * a real-time run after touched passes: diff only these keys (the profiles the passes touched)
   * instead of the whole source; ignored for a first or full run
   */
  keys?: readonly string[];
}

export interface RunnerSettings {
  /** first retry delay; doubles per attempt (with jitter) */
  baseDelayMs: number;
  maxDelayMs: number;
  /** the longest Retry-After honoured; longer asks stop the run (it resumes next time) */
  maxRetryAfterMs: number;
  lockTtlMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RUNNER_SETTINGS: RunnerSettings = {
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 10 * 60_000,
  lockTtlMs: 120_000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

const LOG_COLUMNS: ColumnSpec[] = [
  ...['run_id', 'sync', 'destination', 'destination_type', 'action', 'mode', 'trigger', 'status'].map((name) => ({ name, type: 'string' as const })),
  { name: 'started_at', type: 'timestamp' },
  { name: 'finished_at', type: 'timestamp' },
  ...['planned', 'added', 'changed', 'removed', 'unchanged', 'succeeded', 'failed'].map((name) => ({ name, type: 'bigint' as const })),
  { name: 'error', type: 'string' },
];

/** A run stopped on purpose (configuration error, retries exhausted, lock lost): the message says why. */
class RunStopped extends Error {}

/** Where the sync tables live: the engine's schema, beside raw_events. */
export function engineSchema(ws: Workspace): Pick<Relation, 'schema' | 'database'> {
  return { schema: ws.config.ingest.schema, database: modelSchema(ws.config.warehouse).database };
}

/**
 * Runs syncs: plan (the diff, in the warehouse), then deliver the plan in batches and record what
 * the destination accepted. See ARCHITECTURE.md "Sync semantics".
 *
 * - Batches are sized by the action (and the sync's batch_size); retryable failures back off
 *   exponentially with jitter, honouring the vendor's delay; a batch rejected whole is bisected
 *   until the bad rows are alone; a configuration error stops the run.
 * - After each page of batches, one warehouse transaction moves the accepted rows into the snapshot
 *   and drops the page from the plan (the checkpoint); rejected rows are recorded in the control
 *   store and stay out of the snapshot, so the next run's diff sends them again.
 * - A run killed at any point resumes from its plan: at most the page in flight is sent twice.
 * - One run per sync at a time, through a lock in the control store.
 */
export class SyncRunner {
  private readonly runs: SyncRunsRepository;
  private readonly settings: RunnerSettings;

  constructor(
    private readonly ws: Workspace,
    private readonly logger: DestinationLogger,
    settings: Partial<RunnerSettings> = {},
  ) {
    this.runs = new SyncRunsRepository(ws.store);
    this.settings = { ...DEFAULT_RUNNER_SETTINGS, ...settings };
  }

  tables(sync: string): SyncTables {
    return syncTables(engineSchema(this.ws), sync);
  }

  async run(target: SyncTarget, project: Project, options: RunOptions): Promise<SyncRun> {
    const def = target.definition;
    let unfinished: SyncRun | undefined;
    let runId = '';
    for (let attempt = 1; ; attempt++) {
      unfinished = (await this.runs.unfinished(def.name)).at(-1);
      runId = unfinished?.status === 'running' ? unfinished.id : newRunId();
      const lock = await this.runs.lock(def.name, runId, this.settings.lockTtlMs);
      if (!lock.ok) throw new SyncBusyError(def.name, lock.runId, lock.owner);
      // the run read as unfinished may have finished (and let the lock go) between the read and the
      // lock: read again under the lock, or a finished run would be resumed or closed as interrupted
      const now = (await this.runs.unfinished(def.name)).at(-1);
      if (now?.id === unfinished?.id && now?.status === unfinished?.status) break;
      await this.runs.unlock(def.name, runId);
      if (attempt >= 3) throw new SyncBusyError(def.name, now?.id ?? runId, 'another run');
    }
    const resume = unfinished?.status === 'running' ? unfinished : undefined;
    const heartbeat = new AbortController();
    const timer = setInterval(() => {
      this.runs.renew(def.name, runId, this.settings.lockTtlMs).then(
        (held) => held || heartbeat.abort(),
        () => undefined,
      );
    }, this.settings.lockTtlMs / 3);
    timer.unref();
    try {
      // a run interrupted while planning sent nothing: it is closed and a new one plans again
      if (unfinished && !resume) await this.runs.update(unfinished.id, { status: 'failed', error: 'interrupted while planning; nothing was sent', finishedAt: new Date() });
      if (!resume) await this.runs.create({ id: runId, sync: def.name, trigger: options.trigger, fullResync: options.fullResync ?? false, startedAt: new Date() });
      options.onStart?.(runId);
      return await this.execute(target, project, runId, resume, options, heartbeat.signal);
    } finally {
      clearInterval(timer);
      await this.runs.unlock(def.name, runId);
    }
  }

  private async execute(target: SyncTarget, project: Project, runId: string, resume: SyncRun | undefined, options: RunOptions, lockLost: AbortSignal): Promise<SyncRun> {
    const def = target.definition;
    const engine = engineOptions(def);
    const tables = this.tables(def.name);
    const timings: Record<string, number> = { ...(resume?.timings ?? {}) };
    let lap = performance.now();
    const time = (phase: string) => {
      const now = performance.now();
      timings[phase] = Math.round((timings[phase] ?? 0) + now - lap);
      lap = now;
    };
    const counts: RunCounts = resume ? pickCounts(resume) : { planned: 0, added: 0, changed: 0, removed: 0, unchanged: 0, succeeded: 0, failed: 0 };
    const progress = { checkpoint: resume?.checkpoint ?? 0, batches: resume?.batches ?? 0, retries: resume?.retries ?? 0 };
    let status: SyncRun['status'] = 'succeeded';
    let error: string | null = null;
    try {
      const source = await this.ws.shared(() => sourceQuery(this.ws.warehouse, project, def.source, target.where));
      const mapping = compileMapping(def.mapping, source.columns, { skipNulls: engine.skip_nulls, where: target.where });
      if (!resume) {
        const plan: PlanCounts = await this.ws.shared(() =>
          withKeys(this.ws.warehouse, tables.plan, options.keys, (keys) =>
            buildPlan(this.ws.warehouse, {
              sync: def.name,
              where: target.where,
              source,
              primaryKey: def.primary_key,
              columns: mapping.columns,
              mode: def.mode,
              tables,
              fullResync: options.fullResync,
              firstSync: engine.first_sync,
              keys,
            }),
          ),
        );
        Object.assign(counts, { planned: plan.planned, added: plan.added, changed: plan.changed, removed: plan.removed, unchanged: plan.unchanged });
        await this.ws.shared(() => this.resetCheckpoint(tables.checkpoints, def.name, runId));
        time('plan');
        await this.runs.update(runId, { ...counts, status: 'running', timings });
        if (plan.nullKeys > 0) {
          await this.runs.addErrors(runId, def.name, [{ key: '', op: 'skip', error: `${plan.nullKeys} source rows have no ${def.primary_key} (null primary key) and were skipped` }]);
        }
      }
      if (counts.planned > counts.succeeded + counts.failed || resume) {
        await this.deliver(target, engine, mapping, tables, runId, counts, progress, options, lockLost, timings, source.events !== undefined);
        lap = performance.now();
      }
      // the whole plan is delivered (or rejected row by row): the next run reads on from here
      if (source.events) await this.ws.shared(() => commitEventsCursor(this.ws.warehouse, tables, def.name));
      status = counts.failed > 0 ? 'partial' : 'succeeded';
    } catch (e) {
      status = 'failed';
      error = e instanceof RunStopped || e instanceof ConfigurationError || e instanceof CdpError ? e.message : `unexpected error: ${errorMessage(e)}`;
      if (!(e instanceof RunStopped || e instanceof ConfigurationError || e instanceof CdpError)) this.logger.warn({ sync: def.name, runId, err: errorMessage(e) }, 'sync run failed');
    }
    if (options.signal?.aborted && status === 'failed' && error === ABORTED) {
      // shutdown: leave the run resumable
      await this.runs.update(runId, { ...counts, ...progress, timings });
      return (await this.runs.get(def.name, runId))!;
    }
    const final = { ...counts, ...progress, status, error, timings, finishedAt: new Date() };
    this.logger.debug({ sync: def.name, runId, status, planned: counts.planned, failed: counts.failed, timings }, 'sync run');
    // the log row first, then the final status: whoever sees the run finished finds its row in sync_log
    const logged: SyncRun = { ...(await this.runs.get(def.name, runId))!, ...final };
    await this.ws
      .shared(async () => {
        if (status !== 'failed') await this.ws.warehouse.execute(this.ws.warehouse.dialect.drop(tables.plan, 'table'));
        await this.writeLog(tables.log, target, logged);
      })
      .catch((e: unknown) => this.logger.warn({ sync: def.name, runId, err: errorMessage(e) }, 'could not write sync_log'));
    await this.runs.update(runId, final);
    return logged;
  }

  /** Sends the plan from the checkpoint on, page by page. */
  private async deliver(
    target: SyncTarget,
    engine: EngineOptions,
    mapping: CompiledMapping,
    tables: SyncTables,
    runId: string,
    counts: RunCounts,
    progress: { checkpoint: number; batches: number; retries: number },
    options: RunOptions,
    lockLost: AbortSignal,
    timings: Record<string, number>,
    events: boolean,
  ): Promise<void> {
    let t = performance.now();
    /** milliseconds per delivery phase: read (plan pages), send, checkpoint, record (control store) */
    const lap = (phase: string) => {
      const now = performance.now();
      timings[phase] = Math.round((timings[phase] ?? 0) + now - t);
      t = now;
    };
    const { warehouse: wh } = this.ws;
    const d = wh.dialect;
    const q = (c: string) => d.quoteIdentifier(c);
    const def = target.definition;
    const batchSize = Math.max(1, Math.min(engine.batch_size ?? target.action.batchSize, target.action.maxBatchSize ?? target.action.batchSize));
    // an events sync sends one batch at a time, whatever the action allows: each profile's events in order
    const pageSize = batchSize * (events ? 1 : Math.max(1, target.action.concurrency ?? 1));
    const ctx: ActionContext = {
      settings: target.destination.settings,
      options: target.options,
      sync: { name: def.name, runId, mode: def.mode, planned: counts.planned },
      http: target.http,
      logger: this.logger,
      state: {},
    };
    if (target.action.ensure) ctx.state = await this.withRetries(engine, progress, () => target.action.ensure!(ctx));
    const plan = d.relation(tables.plan);
    const snap = d.relation(tables.snapshot);
    const cols = mapping.columns.map(q);
    // the warehouse's checkpoint is the truth (it moves with the snapshot); the store's may lag a page
    const [saved] = await this.ws.shared(() => queryAll(wh, `select seq from ${d.relation(tables.checkpoints)} where sync = ? and run_id = ?`, [def.name, runId]));
    if (saved) progress.checkpoint = Number(saved.seq);
    const last = counts.planned;
    while (progress.checkpoint < last) {
      if (lockLost.aborted) throw new RunStopped('the run lost its lock (another process took over the sync); it stopped between batches');
      if (options.signal?.aborted) throw new RunStopped(ABORTED);
      // the sent changes are numbered 1..planned: a page is a range, which the warehouse finds without a sort
      const rows = await this.ws.shared(() =>
        queryAll(wh, `select * from ${plan} where ${q(SEQ)} > ? and ${q(SEQ)} <= ? order by ${q(SEQ)}`, [progress.checkpoint, progress.checkpoint + pageSize]),
      );
      lap('read');
      if (rows.length === 0) throw new RunStopped(`the plan of this run is gone (${plan}); the next run plans again`);
      const batches: Row[][] = [];
      for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize));
      const results = (await Promise.all(batches.map((b) => this.deliverBatch(b, target, mapping, ctx, engine, progress)))).flat();
      lap('send');
      const failures = rows.flatMap((r, i) => {
        const res = results[i];
        return res.ok ? [] : [{ seq: Number(r[SEQ]), key: String(r[KEY]), op: String(r[OP]), error: res.error }];
      });
      const lo = progress.checkpoint;
      const hi = Number(rows[rows.length - 1][SEQ]);
      const failedSeqs = new Set(failures.map((f) => f.seq));
      const failed = failures.length ? ` and ${q(SEQ)} not in (${[...failedSeqs].join(', ')})` : '';
      const page = `${q(SEQ)} > ${lo} and ${q(SEQ)} <= ${hi}${failed}`;
      const accepted = new Set(rows.filter((r) => !failedSeqs.has(Number(r[SEQ]))).map((r) => r[OP] as Change));
      // the checkpoint: accepted rows into the snapshot and the page done, in one transaction
      await this.ws.shared(() =>
        wh.transaction([
          // an events snapshot holds the message ids sent and when they were received (event-source.ts)
          ...(events && accepted.has('add')
            ? [`insert into ${snap} (${[KEY, RECEIVED_AT, SYNCED_AT].map(q).join(', ')})\nselect ${q(KEY)}, ${q(RECEIVED_AT)}, ${d.currentTimestamp()} from ${plan} where ${page} and ${q(OP)} = 'add'`]
            : []),
          ...(!events && (accepted.has('change') || accepted.has('remove'))
            ? [`delete from ${snap} where ${q(KEY)} in (select ${q(KEY)} from ${plan} where ${page} and ${q(OP)} in ('change', 'remove'))`]
            : []),
          ...(!events && (accepted.has('add') || accepted.has('change'))
            ? [
                `insert into ${snap} (${[KEY, HASH, SYNCED_AT].map(q).join(', ')}${cols.map((c) => `, ${c}`).join('')})
select ${q(KEY)}, ${q(HASH)}, ${d.currentTimestamp()}${cols.map((c) => `, ${c}`).join('')} from ${plan} where ${page} and ${q(OP)} in ('add', 'change')`,
              ]
            : []),
          `update ${d.relation(tables.checkpoints)} set seq = ${hi} where sync = ${d.literal(def.name)}`,
        ]),
      );
      lap('checkpoint');
      progress.checkpoint = hi;
      progress.batches += batches.length;
      counts.succeeded += rows.length - failures.length;
      counts.failed += failures.length;
      await this.runs.addErrors(runId, def.name, failures);
      await this.runs.update(runId, { ...progress, succeeded: counts.succeeded, failed: counts.failed });
      lap('record');
      options.onProgress?.(counts.succeeded + counts.failed, counts.planned);
    }
  }

  /** One batch: rows mapped (a row that cannot be mapped fails alone), sent, a result per row. */
  private async deliverBatch(rows: Row[], target: SyncTarget, mapping: CompiledMapping, ctx: ActionContext, engine: EngineOptions, progress: { retries: number }): Promise<RowResult[]> {
    const results: RowResult[] = new Array<RowResult>(rows.length);
    const outgoing: { index: number; row: OutgoingRow }[] = [];
    rows.forEach((r, index) => {
      const op = MODE_OPERATIONS[target.definition.mode][r[OP] as Change];
      if (!op) {
        results[index] = { ok: true };
        return;
      }
      try {
        outgoing.push({ index, row: { op, key: String(r[KEY]), fields: mapping.render(r) } });
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        results[index] = { ok: false, error: e.message };
      }
    });
    const sent = await this.send(
      outgoing.map((o) => o.row),
      target,
      ctx,
      engine,
      progress,
    );
    outgoing.forEach((o, i) => (results[o.index] = sent[i]));
    return results;
  }

  /** performBatch with retries, and bisection of a batch rejected whole. */
  private async send(rows: OutgoingRow[], target: SyncTarget, ctx: ActionContext, engine: EngineOptions, progress: { retries: number }): Promise<RowResult[]> {
    if (rows.length === 0) return [];
    try {
      const results = await this.withRetries(engine, progress, () => target.action.performBatch(rows, ctx));
      if (results.length !== rows.length) throw new RunStopped(`destination ${target.destination.name}: answered ${results.length} results for ${rows.length} rows`);
      return results;
    } catch (e) {
      if (e instanceof BatchRejectedError || e instanceof RowError) {
        if (rows.length === 1) return [{ ok: false, error: e.message }];
        const half = Math.ceil(rows.length / 2);
        return [...(await this.send(rows.slice(0, half), target, ctx, engine, progress)), ...(await this.send(rows.slice(half), target, ctx, engine, progress))];
      }
      throw e;
    }
  }

  /** The sync's checkpoint row, at 0 for a new run (created with its table on the first run). */
  private async resetCheckpoint(checkpoints: Relation, sync: string, runId: string): Promise<void> {
    const wh = this.ws.warehouse;
    const d = wh.dialect;
    await wh.execute(d.createTableFromColumns(checkpoints, [{ name: 'sync', type: 'string' }, { name: 'run_id', type: 'string' }, { name: 'seq', type: 'bigint' }], { ifNotExists: true }));
    await wh.transaction([`delete from ${d.relation(checkpoints)} where sync = ${d.literal(sync)}`, `insert into ${d.relation(checkpoints)} (sync, run_id, seq) values (${d.literal(sync)}, ${d.literal(runId)}, 0)`]);
  }

  /** Calls `fn` until it does not throw RetryableError, backing off; gives up after max_attempts. */
  private async withRetries<T>(engine: EngineOptions, progress: { retries: number }, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof RetryableError)) throw e;
        if (attempt >= engine.max_attempts) throw new RunStopped(`gave up after ${attempt} attempts: ${e.message}`);
        if (e.retryAfterMs !== undefined && e.retryAfterMs > this.settings.maxRetryAfterMs) {
          throw new RunStopped(`the destination asked to wait ${Math.round(e.retryAfterMs / 1000)} s (${e.message}); the next run goes on`);
        }
        progress.retries++;
        await this.settings.sleep(this.backoff(attempt, e.retryAfterMs));
      }
    }
  }

  /** Exponential backoff with jitter; a vendor's delay is honoured, with a little jitter on top so replicas spread. */
  backoff(attempt: number, retryAfterMs?: number): number {
    if (retryAfterMs !== undefined) return retryAfterMs + Math.random() * Math.min(1000, retryAfterMs * 0.1);
    const ceiling = Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  private async writeLog(log: Relation, target: SyncTarget, run: SyncRun): Promise<void> {
    const wh = this.ws.warehouse;
    const d = wh.dialect;
    await wh.execute(d.createTableFromColumns(log, LOG_COLUMNS, { ifNotExists: true }));
    const def = target.definition;
    await wh.execute(`insert into ${d.relation(log)} (${LOG_COLUMNS.map((c) => d.quoteIdentifier(c.name)).join(', ')}) values (${LOG_COLUMNS.map(() => '?').join(', ')})`, [
      run.id,
      def.name,
      target.destination.name,
      target.destination.definition.slug,
      target.actionName,
      def.mode,
      run.trigger,
      run.status,
      run.startedAt,
      run.finishedAt,
      run.planned,
      run.added,
      run.changed,
      run.removed,
      run.unchanged,
      run.succeeded,
      run.failed,
      run.error,
    ]);
  }
}

const ABORTED = 'stopped by shutdown; the run resumes from its last checkpoint';

function pickCounts(r: SyncRun): RunCounts {
  return { planned: r.planned, added: r.added, changed: r.changed, removed: r.removed, unchanged: r.unchanged, succeeded: r.succeeded, failed: r.failed };
}

/** Run ids sort by time: `20261130T101500_ab12cd34`. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}_${randomBytes(4).toString('hex')}`;
}

/** Stages `keys` (when given) in a scratch table for the plan, and drops it after. */
async function withKeys<T>(warehouse: Warehouse, near: Relation, keys: readonly string[] | undefined, fn: (keys: Relation | undefined) => Promise<T>): Promise<T> {
  if (!keys) return fn(undefined);
  const rel = await stageValues(warehouse, near, 'sync_keys', 'k', keys);
  try {
    return await fn(rel);
  } finally {
    await dropTables(warehouse, [rel]);
  }
}
