import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { CdpError, errorMessage } from '../errors/cdp-error';
import { createLogger } from '../logging/logger';
import { Workspace } from '../workspace/workspace';
import { compileMapping } from './field-mapping';
import { findSync, listSyncs, resolveSync, SyncsRepository, whereOf, type SyncEntry } from './sync-catalog';
import { engineOptions, SyncDefinitionError, type SyncDefinition } from './sync-definition';
import { MODE_OPERATIONS } from './sync-modes';
import { previewPlan, sourceQuery } from './sync-planner';
import { dropEventsCursor } from './event-source';
import { SyncBusyError, SyncRunner, type RunOptions, type RunnerSettings } from './sync-runner';
import { SyncRunsRepository, type RunTrigger, type SyncRun } from './sync-runs.repository';
import type { ErrorsQuery, PlanResult, RunView, SyncDetail, SyncListItem, SyncUpdate } from './syncs.schemas';

export const toRunView = (r: SyncRun): RunView => ({
  id: r.id,
  sync: r.sync,
  status: r.status,
  trigger: r.trigger,
  fullResync: r.fullResync,
  counts: { planned: r.planned, added: r.added, changed: r.changed, removed: r.removed, unchanged: r.unchanged, succeeded: r.succeeded, failed: r.failed },
  batches: r.batches,
  retries: r.retries,
  error: r.error,
  timings: r.timings,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  durationMs: r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
});

class ConflictError extends CdpError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** A run asked for while the service stops: it starts after the restart (real-time syncs run once at start). */
class ServiceStoppingError extends CdpError {
  constructor() {
    super('SERVICE_STOPPING', 'the service is stopping; no sync run starts now');
  }
}

class RunNotFoundError extends CdpError {
  constructor(sync: string, id: string) {
    super('SYNC_NOT_FOUND', `sync ${sync} has no run "${id}"`);
  }
}

/**
 * Syncs: the definitions (files and API), their runs and plans. Used by the API (as a Nest
 * provider) and by the CLI (constructed on a Workspace). Runs started here are tracked so a shutdown
 * stops them between batches, resumable.
 */
@Injectable()
export class SyncsService implements OnApplicationShutdown {
  private readonly repo: SyncsRepository;
  private readonly runs: SyncRunsRepository;
  private readonly runner: SyncRunner;
  readonly logger: Logger;
  private readonly shutdown = new AbortController();
  /** runs in flight in this process, by sync */
  private readonly active = new Map<string, Promise<SyncRun>>();

  constructor(@Inject(Workspace) readonly workspace: Workspace, settings: Partial<RunnerSettings> = {}, logger?: Logger) {
    this.repo = new SyncsRepository(workspace.store);
    this.runs = new SyncRunsRepository(workspace.store);
    this.logger = logger ?? createLogger(workspace.config).child({ module: 'syncs' });
    this.runner = new SyncRunner(workspace, this.logger, settings);
  }

  async list(): Promise<SyncListItem[]> {
    const entries = await listSyncs(this.workspace);
    return Promise.all(entries.map(async (e) => this.listItem(e)));
  }

  async get(name: string): Promise<SyncDetail> {
    const entry = await findSync(this.workspace, name);
    return { ...(await this.listItem(entry)), definition: entry.definition as unknown as Record<string, unknown>, problems: await this.problems(entry) };
  }

  async create(definition: SyncDefinition): Promise<SyncDetail> {
    const existing = (await listSyncs(this.workspace)).find((s) => s.definition.name === definition.name);
    if (existing) throw new ConflictError(`sync ${definition.name} exists (${existing.path ?? 'created through the API'})`);
    await this.check({ definition, origin: 'api' });
    if (!(await this.repo.create(definition))) throw new ConflictError(`sync ${definition.name} exists`);
    return this.get(definition.name);
  }

  async replace(name: string, body: SyncUpdate): Promise<SyncDetail> {
    const entry = await findSync(this.workspace, name);
    if (entry.origin === 'file') throw new ConflictError(`sync ${name} is defined in ${entry.path}; edit the file`);
    const definition = { ...body, name };
    await this.check({ definition, origin: 'api' });
    await this.repo.update(definition);
    return this.get(name);
  }

  /** Deletes an API sync, its snapshot and plan; its run history stays. */
  async delete(name: string): Promise<void> {
    const entry = await findSync(this.workspace, name);
    if (entry.origin === 'file') throw new ConflictError(`sync ${name} is defined in ${entry.path}; delete the file`);
    if (await this.runs.locked(name)) throw new ConflictError(`sync ${name} is running; delete it when the run ends`);
    await this.repo.delete(name);
    const tables = this.runner.tables(name);
    const d = this.workspace.warehouse.dialect;
    await this.workspace.shared(async () => {
      for (const t of [tables.snapshot, tables.plan]) await this.workspace.warehouse.execute(d.drop(t, 'table'));
      await dropEventsCursor(this.workspace.warehouse, tables, name);
    });
  }

  /** Starts a run in the background; resolves with its id once it has one (a busy sync is a 409 at once). */
  trigger(name: string, trigger: RunTrigger, options: Pick<RunOptions, 'fullResync'> = {}): Promise<{ runId: string; status: string }> {
    return new Promise((resolve, reject) => {
      let started = false;
      this.start(name, trigger, {
        ...options,
        onStart: (runId) => {
          started = true;
          resolve({ runId, status: 'running' });
        },
      }).catch((e: unknown) => {
        if (!started) reject(e instanceof Error ? e : new Error(String(e)));
        else this.logger.warn({ sync: name, err: errorMessage(e) }, 'sync run failed');
      });
    });
  }

  /** Runs a sync and waits for the end (the CLI, schedules). */
  async run(name: string, trigger: RunTrigger, options: Omit<RunOptions, 'trigger' | 'signal'> = {}): Promise<SyncRun> {
    return this.start(name, trigger, options);
  }

  private async start(name: string, trigger: RunTrigger, options: Omit<RunOptions, 'trigger' | 'signal'>): Promise<SyncRun> {
    // tracked from the first await: a shutdown waits for a run that is still finding its sync
    // (else the workspace could close under it and leave its lock behind); none starts after it
    if (this.shutdown.signal.aborted) throw new ServiceStoppingError();
    const promise = (async () => {
      const entry = await findSync(this.workspace, name);
      const target = await resolveSync(this.workspace, entry, this.logger);
      await this.workspace.refreshSegments();
      return this.runner.run(target, this.workspace.project(), { ...options, trigger, signal: this.shutdown.signal });
    })();
    this.active.set(name, promise);
    try {
      return await promise;
    } finally {
      if (this.active.get(name) === promise) this.active.delete(name);
    }
  }

  async listRuns(name: string, limit: number): Promise<RunView[]> {
    await findSync(this.workspace, name);
    return (await this.runs.list(name, limit)).map(toRunView);
  }

  async getRun(name: string, id: string): Promise<RunView> {
    const run = await this.runs.get(name, id);
    if (!run) {
      await findSync(this.workspace, name);
      throw new RunNotFoundError(name, id);
    }
    return toRunView(run);
  }

  async runErrors(name: string, id: string, query: ErrorsQuery) {
    await this.getRun(name, id);
    return this.runs.errors(id, query.limit, query.offset);
  }

  /** What a run would send now, with samples of the fields; sends and changes nothing. */
  async plan(name: string, sample = 3): Promise<PlanResult> {
    const entry = await findSync(this.workspace, name);
    const target = await resolveSync(this.workspace, entry, this.logger);
    const def = entry.definition;
    await this.workspace.refreshSegments();
    const project = this.workspace.project();
    return this.workspace.shared(async () => {
      const source = await sourceQuery(this.workspace.warehouse, project, def.source, target.where);
      const engine = engineOptions(def);
      const mapping = compileMapping(def.mapping, source.columns, { skipNulls: engine.skip_nulls, where: target.where });
      // first_sync matters to an events source's preview: a new forward-only event sync sends no history
      const result = await previewPlan(
        this.workspace.warehouse,
        { sync: def.name, where: target.where, source, primaryKey: def.primary_key, columns: mapping.columns, mode: def.mode, tables: this.runner.tables(def.name), firstSync: engine.first_sync },
        sample,
      );
      return {
        sync: def.name,
        mode: def.mode,
        destination: def.destination,
        added: result.added,
        changed: result.changed,
        removed: result.removed,
        unchanged: result.unchanged,
        planned: result.planned,
        nullKeys: result.nullKeys,
        samples: result.samples
          .filter((s) => MODE_OPERATIONS[def.mode][s.change] !== null)
          .map((s) => {
            try {
              return { change: s.change, key: s.key, fields: mapping.render(s.row) };
            } catch (e) {
              return { change: s.change, key: s.key, fields: null, error: errorMessage(e) };
            }
          }),
      };
    });
  }

  /** Runs left unfinished by a stopped process (their lock lapsed): resumed from their checkpoints. */
  async resumeUnfinished(): Promise<void> {
    for (const run of await this.runs.unfinished()) {
      if (this.active.has(run.sync)) continue;
      // a live lock means another process works on it (a dead process's lock is taken over)
      this.start(run.sync, 'resume', {}).then(
        (r) => this.logger.info({ sync: run.sync, runId: r.id, status: r.status }, 'resumed an unfinished sync run'),
        (e: unknown) => {
          if (!(e instanceof SyncBusyError)) this.logger.warn({ sync: run.sync, err: errorMessage(e) }, 'could not resume sync run');
        },
      );
    }
  }

  /** Stops runs between batches (they resume at the next start) and waits for them. */
  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.active.values()]);
  }

  private async listItem(entry: SyncEntry): Promise<SyncListItem> {
    const def = entry.definition;
    const last = await this.runs.latest(def.name);
    return {
      name: def.name,
      origin: entry.origin,
      ...(entry.path ? { path: entry.path } : {}),
      ...(def.description ? { description: def.description } : {}),
      // an events source's settings (where, traits) as JSON
      source: Object.fromEntries(Object.entries(def.source).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
      destination: def.destination,
      ...(def.action ? { action: def.action } : {}),
      mode: def.mode,
      schedule: def.schedule,
      enabled: def.enabled,
      lastRun: last ? toRunView(last) : null,
    };
  }

  private async problems(entry: SyncEntry): Promise<string[]> {
    try {
      await this.check(entry);
      return [];
    } catch (e) {
      return [errorMessage(e)];
    }
  }

  /** A sync can run: destination, action, options and mapped fields check out; so does the source, when it is built. */
  private async check(entry: SyncEntry): Promise<void> {
    const target = await resolveSync(this.workspace, entry, this.logger);
    const def = entry.definition;
    await this.workspace.refreshSegments();
    const project = this.workspace.project();
    let source;
    try {
      source = await sourceQuery(this.workspace.warehouse, project, def.source, whereOf(entry));
    } catch (e) {
      // a source not built yet is fine: the first run after the build checks it
      if (e instanceof SyncDefinitionError && /has not been built yet/.test(e.message)) return;
      throw e;
    }
    compileMapping(def.mapping, source.columns, { skipNulls: false, where: target.where });
    if (!source.columns.some((c) => c.toLowerCase() === def.primary_key.toLowerCase())) {
      throw new SyncDefinitionError(`${target.where}: primary_key: the source (${source.label}) has no column "${def.primary_key}"`);
    }
  }
}
