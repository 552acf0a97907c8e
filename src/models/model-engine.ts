import type { Workspace } from '../workspace/workspace';
import { errorMessage } from '../errors/cdp-error';
import { queryValue, type Relation } from '../warehouse/warehouse';
import { loadSeed } from '../seeds/seed-loader';
import { IDENTITY_TABLES, IdentityResolver, type IdentityRunResult } from '../identity/identity-resolver';
import { buildSegment, type SegmentBuildResult } from '../segments/segment-builder';
import { compileModel, compileSelection, compileTest, displayPath, type CompiledModel } from './compiler';
import { ModelGraph } from './dag';
import type { JobListener, JobResult, NodeResult } from './job-events';
import type { ModelNode, Project } from './project';
import { RunHistoryRepository, type InvocationCommand } from './run-history.repository';

export interface JobOptions {
  select?: string[];
  fullRefresh?: boolean;
  vars?: Record<string, unknown>;
  triggeredBy?: 'cli' | 'api' | 'realtime';
  onEvent?: JobListener;
  /** a pass of the real-time pipeline (RealtimeService): see IdentityRunOptions */
  realtime?: { touched: boolean; lookbackMs: number; watermarkCap?: Date };
}

/**
 * Compile, run, test, seed and build: the dbt-like verbs, over a Workspace.
 * Writes go through workspace.exclusive so two jobs never interleave on one warehouse.
 */
export class ModelEngine {
  private readonly history: RunHistoryRepository;
  /** the profiles the job's touched pass rebuilt, for notifyBuilt (jobs run one at a time) */
  private touched: string[] | undefined;

  constructor(private readonly ws: Workspace) {
    this.history = new RunHistoryRepository(ws.store);
  }

  /** Compiles the selected models and their tests to target/compiled/<dialect>/ without running anything. */
  async compile(options: JobOptions = {}): Promise<{ models: CompiledModel[]; tests: string[] }> {
    return compileSelection(this.ws.project(), this.ws.warehouse.dialect, options.select, (m) => this.isIncremental(m, options.fullRefresh), options.vars);
  }

  run(options: JobOptions = {}): Promise<JobResult> {
    return this.job('run', options, (project, graph, invocationId, results) => this.runNodes(project, graph, graph.select(options.select), 'models', invocationId, options, results));
  }

  seed(options: JobOptions = {}): Promise<JobResult> {
    return this.job('seed', options, (project, graph, invocationId, results) => this.runNodes(project, graph, graph.select(options.select), 'seeds', invocationId, options, results));
  }

  test(options: JobOptions = {}): Promise<JobResult> {
    return this.job('test', options, (project, graph, invocationId, results) => this.runTests(project, graph.select(options.select), invocationId, options, results));
  }

  /** Seeds, models and tests of the selection, in DAG order: everything the project needs. */
  build(options: JobOptions = {}): Promise<JobResult> {
    return this.job('build', options, async (project, graph, invocationId, results) => {
      const selected = graph.select(options.select);
      await this.runNodes(project, graph, selected, 'all', invocationId, options, results);
      await this.runTests(project, selected, invocationId, options, results);
    });
  }

  private async job(
    command: InvocationCommand,
    options: JobOptions,
    body: (project: Project, graph: ModelGraph, invocationId: string, results: NodeResult[]) => Promise<void>,
  ): Promise<JobResult> {
    await this.ws.refreshSegments();
    const project = this.ws.project();
    const graph = new ModelGraph(project);
    graph.select(options.select); // reject a bad selector before anything is recorded
    // a real-time pass runs beside sync runs' steps, and gives way to other jobs waiting
    const queued = performance.now();
    return this.ws.exclusive(async () => {
      const queuedMs = Math.round(performance.now() - queued);
      this.touched = undefined;
      const invocationId = await this.history.startInvocation(command, options.select?.join(' '), options.triggeredBy ?? 'cli');
      const results: NodeResult[] = [];
      let status: JobResult['status'] = 'error';
      try {
        await body(project, graph, invocationId, results);
        status = results.some((r) => r.status === 'error' || r.status === 'fail' || r.status === 'skipped') ? 'error' : 'success';
      } finally {
        await this.history.finishInvocation(invocationId, status);
      }
      this.ws.notifyBuilt(
        results.filter((r) => r.status === 'success' && r.kind !== 'test').map((r) => r.node),
        this.touched,
      );
      this.touched = undefined;
      return { invocationId, command, status, results, queuedMs };
    }, { background: options.triggeredBy === 'realtime' });
  }

  private async runNodes(
    project: Project,
    graph: ModelGraph,
    selected: string[],
    which: 'models' | 'seeds' | 'all',
    invocationId: string,
    options: JobOptions,
    results: NodeResult[],
  ): Promise<void> {
    const nodes = selected
      .map((n) => graph.node(n))
      .filter((n) => (which === 'all' || (which === 'models' ? n.kind !== 'seed' : n.kind === 'seed')) && (n.kind !== 'model' || n.config.enabled));
    const failed = new Set<string>();
    const total = nodes.length;
    // a real-time pass whose identity step rebuilt only the profiles new events touched: the segments
    // re-evaluate those alone, and the profile index reloads those alone, once at the end
    let touched: Relation | undefined;
    const schemas = new Set<string>();
    for (const [i, node] of nodes.entries()) {
      const index = i + 1;
      const what = node.kind === 'model' ? node.config.materialized : node.kind;
      const startedAt = new Date();
      const t0 = performance.now();
      const blockedBy = graph.parentsOf(node.name).find((p) => failed.has(p));
      options.onEvent?.({ type: 'start', index, total, node: node.name, what });
      let result: NodeResult;
      if (blockedBy) {
        failed.add(node.name);
        result = { node: node.name, kind: node.kind, what, status: 'skipped', durationMs: 0, error: `skipped because ${blockedBy} failed` };
      } else {
        let compiledPath: string | undefined;
        try {
          const key = `${node.relation.database ?? ''}.${node.relation.schema}`;
          if (!schemas.has(key)) {
            await this.ws.warehouse.ensureSchema(node.relation.schema, node.relation.database);
            schemas.add(key);
          }
          let rows: number | null;
          let summary: string | undefined;
          if (node.kind === 'seed') {
            rows = await loadSeed(this.ws.warehouse, project, node, (n) => options.onEvent?.({ type: 'progress', node: node.name, rows: n }));
          } else if (node.kind === 'identity') {
            const rt = options.realtime;
            const run = await new IdentityResolver(this.ws.warehouse, node.plan).run({ full: options.fullRefresh, touched: rt?.touched, lookbackMs: rt?.lookbackMs, watermarkCap: rt?.watermarkCap });
            rows = run.profiles;
            summary = identitySummary(run);
            if (run.scope === 'touched') touched = node.plan.relation(IDENTITY_TABLES.touched);
            else this.ws.notifyProfilesChanged();
          } else if (node.kind === 'segment') {
            const built = await buildSegment(this.ws.warehouse, project, node, undefined, touched);
            rows = built.size;
            summary = segmentSummary(built);
            if (!touched) this.ws.notifyProfilesChanged();
          } else {
            const compiled = compileModel(project, node, this.ws.warehouse.dialect, await this.isIncremental(node, options.fullRefresh), options.vars);
            compiledPath = compiled.compiledPath;
            rows = await this.materialize(compiled);
            if (node.config.segment) {
              const built = await buildSegment(this.ws.warehouse, project, node);
              summary = segmentSummary(built);
              this.ws.notifyProfilesChanged();
            }
          }
          result = { node: node.name, kind: node.kind, what, status: 'success', durationMs: performance.now() - t0, rows, compiledPath, summary };
        } catch (e) {
          failed.add(node.name);
          const where = compiledPath ? ` (compiled SQL: ${displayPath(project, compiledPath)})` : node.kind === 'model' ? ` (${node.path})` : '';
          result = { node: node.name, kind: node.kind, what, status: 'error', durationMs: performance.now() - t0, error: `${node.kind} ${node.name} failed${where}: ${errorMessage(e)}`, compiledPath };
        }
      }
      await this.history.recordNodeRun(invocationId, {
        node: node.name,
        nodeType: node.kind,
        materialization: what,
        status: result.status as 'success' | 'error' | 'skipped',
        startedAt,
        durationMs: result.durationMs,
        rows: result.rows,
        error: result.error,
        compiledPath: result.compiledPath,
      });
      results.push(result);
      options.onEvent?.({ type: 'done', index, total, node: node.name, what, status: result.status, durationMs: result.durationMs, rows: result.rows, message: result.error, summary: result.summary });
    }
    if (options.realtime && project.identity) await this.settleTouched(project.identity.plan.relation(IDENTITY_TABLES.touched), touched, failed.size === 0);
  }

  /**
   * The end of a real-time pass: the profiles its identity step rebuilt (identity_touched) are
   * announced to the profile index, and forgotten once every segment of the pass has seen them (a
   * failed or interrupted pass leaves them for the next one).
   */
  private async settleTouched(table: Relation, touched: Relation | undefined, succeeded: boolean): Promise<void> {
    const wh = this.ws.warehouse;
    // a touched identity step wrote the table; otherwise it may not exist yet
    if (!touched && !(await wh.describe(table))) return;
    if (touched) {
      const ids: string[] = [];
      for await (const row of wh.query(`select distinct profile_id from ${wh.dialect.relation(table)}`)) ids.push(String(row.profile_id));
      this.ws.notifyProfilesChanged(ids);
      this.touched = ids;
    }
    if (succeeded) await wh.execute(wh.dialect.deleteAll(table));
  }

  /** Builds one compiled model in the warehouse; returns the rows it now holds (table) or merged (incremental). */
  private async materialize(compiled: CompiledModel): Promise<number | null> {
    const { model, sql } = compiled;
    const wh = this.ws.warehouse;
    const relation = model.relation;
    const existing = await wh.describe(relation);
    const wanted = model.config.materialized === 'view' ? 'view' : 'table';
    if (existing && existing.kind !== wanted) await wh.dropRelation(relation, existing.kind);
    switch (model.config.materialized) {
      case 'view':
        await wh.createView(relation, sql);
        return null;
      case 'table':
        await wh.replaceTable(relation, sql);
        return this.count(relation);
      case 'incremental': {
        if (!compiled.isIncremental) {
          await wh.replaceTable(relation, sql);
          return this.count(relation);
        }
        const keys = uniqueKeys(model);
        if (keys.length === 0) {
          const columns = (existing?.columns ?? []).map((c) => wh.dialect.quoteIdentifier(c.name)).join(', ');
          return (await wh.execute(`insert into ${wh.dialect.relation(relation)} (${columns})\nselect ${columns} from (\n${sql}\n) as new_rows`)) ?? null;
        }
        return wh.merge(relation, sql, keys);
      }
    }
  }

  private async count(relation: Relation): Promise<number> {
    return Number(await queryValue(this.ws.warehouse, `select count(*) as n from ${this.ws.warehouse.dialect.relation(relation)}`));
  }

  private async isIncremental(model: ModelNode, fullRefresh?: boolean): Promise<boolean> {
    if (model.config.materialized !== 'incremental' || fullRefresh) return false;
    const existing = await this.ws.warehouse.describe(model.relation);
    return existing?.kind === 'table';
  }

  private async runTests(project: Project, selected: string[], invocationId: string, options: JobOptions, results: NodeResult[]): Promise<void> {
    const tests = project.tests.filter((t) => selected.includes(t.node));
    const failedNodes = new Set(results.filter((r) => r.status === 'error' || r.status === 'skipped').map((r) => r.node));
    for (const [i, test] of tests.entries()) {
      const index = i + 1;
      const startedAt = new Date();
      const t0 = performance.now();
      options.onEvent?.({ type: 'start', index, total: tests.length, node: test.name, what: 'test' });
      let result: NodeResult;
      const compiled = compileTest(project, test, this.ws.warehouse.dialect);
      if (failedNodes.has(test.node)) {
        result = { node: test.name, kind: 'test', what: test.kind, status: 'skipped', durationMs: 0, error: `skipped because ${test.node} failed`, compiledPath: compiled.compiledPath };
      } else {
        try {
          const failures = Number(await queryValue(this.ws.warehouse, `select count(*) as failures from (\n${compiled.sql}\n) as failing_rows`));
          result = { node: test.name, kind: 'test', what: test.kind, status: failures === 0 ? 'pass' : 'fail', durationMs: performance.now() - t0, failures, compiledPath: compiled.compiledPath };
          if (failures > 0) {
            result.error = `${test.name}: ${failures} failing row${failures === 1 ? '' : 's'} (see ${displayPath(project, compiled.compiledPath)})`;
          }
        } catch (e) {
          result = { node: test.name, kind: 'test', what: test.kind, status: 'error', durationMs: performance.now() - t0, error: `test ${test.name} could not run (compiled SQL: ${displayPath(project, compiled.compiledPath)}): ${errorMessage(e)}`, compiledPath: compiled.compiledPath };
        }
      }
      await this.history.recordTestRun(invocationId, {
        test: test.name,
        node: test.node,
        column: test.column,
        status: result.status === 'skipped' ? 'error' : (result.status as 'pass' | 'fail' | 'error'),
        failures: result.failures,
        startedAt,
        durationMs: result.durationMs,
        error: result.error,
      });
      results.push(result);
      options.onEvent?.({ type: 'done', index, total: tests.length, node: test.name, what: 'test', status: result.status, durationMs: result.durationMs, failures: result.failures, message: result.error });
    }
  }

  /** For the API: each model's latest run. */
  lastRuns(names: string[]) {
    return this.history.lastRuns(names);
  }

  runsOf(name: string, limit?: number) {
    return this.history.runsOf(name, limit);
  }

  testRunsOf(name: string, limit?: number) {
    return this.history.testRunsOf(name, limit);
  }
}

function segmentSummary(built: SegmentBuildResult): string {
  return `${built.size.toLocaleString('en-US')} member${built.size === 1 ? '' : 's'}, +${built.entered.toLocaleString('en-US')} -${built.exited.toLocaleString('en-US')}`;
}

function identitySummary(run: IdentityRunResult): string {
  const n = (x: number, one: string, many = `${one}s`) => `${x.toLocaleString('en-US')} ${x === 1 ? one : many}`;
  return [
    n(run.profiles, 'profile'),
    n(run.identifiers, 'identifier'),
    ...(run.events ? [n(run.events, 'event')] : []),
    run.mode === 'full' ? 'full' : `${n(run.newLinks, 'new link')}`,
    ...(run.scope === 'touched' ? [`${n(run.touched ?? 0, 'profile')} rebuilt`] : []),
    ...(run.merges ? [n(run.merges, 'merge')] : []),
    ...(run.blocked ? [n(run.blocked, 'blocked link')] : []),
  ].join(', ');
}

export function uniqueKeys(model: ModelNode): string[] {
  const k = model.config.unique_key;
  return k === undefined ? [] : Array.isArray(k) ? k : [k];
}
