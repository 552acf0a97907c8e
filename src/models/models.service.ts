import { Injectable } from '@nestjs/common';
import { Workspace } from '../workspace/workspace';
import { ModelGraph } from './dag';
import { ModelEngine, uniqueKeys, type JobOptions } from './model-engine';
import type { ModelNode } from './project';
import type { ModelDetail, ModelListItem } from './models.schemas';
import { renderCompiled } from './compiler';
import { DagError } from './dag';

/** The model API's rules: listing, detail with compiled SQL and columns, and runs. */
@Injectable()
export class ModelsService {
  readonly engine: ModelEngine;

  constructor(private readonly ws: Workspace) {
    this.engine = new ModelEngine(ws);
  }

  async list(): Promise<ModelListItem[]> {
    const project = this.ws.project();
    const graph = new ModelGraph(project);
    const models = graph.order.map((n) => project.models.get(n)).filter((m): m is ModelNode => !!m);
    const last = await this.engine.lastRuns(models.map((m) => m.name));
    return models.map((m) => ({
      ...summary(m, this.ws.warehouse.dialect.relation(m.relation)),
      dependsOn: graph.parentsOf(m.name),
      lastRun: last.get(m.name) ?? null,
    }));
  }

  async get(name: string): Promise<ModelDetail> {
    const project = this.ws.project();
    const graph = new ModelGraph(project);
    const model = project.models.get(name);
    if (!model) throw new DagError('MODEL_NOT_FOUND', `no model named "${name}"`);
    const info = await this.ws.warehouse.describe(model.relation);
    const isIncremental = model.config.materialized === 'incremental' && info?.kind === 'table';
    const compiled = renderCompiled(project, model, this.ws.warehouse.dialect, isIncremental);
    const docs = new Map(model.columns.map((c) => [c.name, c]));
    const tests = project.tests.filter((t) => t.node === name);
    const columnNames = [...new Set([...(info?.columns.map((c) => c.name) ?? []), ...docs.keys()])];
    return {
      ...summary(model, this.ws.warehouse.dialect.relation(model.relation)),
      dependsOn: graph.parentsOf(name),
      dependents: graph.childrenOf(name),
      exists: !!info,
      compiledPath: compiled.compiledPath,
      compiledSql: compiled.sql,
      columns: columnNames.map((c) => ({
        name: c,
        type: info?.columns.find((x) => x.name === c)?.type ?? null,
        description: docs.get(c)?.description ?? null,
        tests: tests.filter((t) => t.column === c).map((t) => t.name),
      })),
      lastRuns: await this.engine.runsOf(name, 20),
      lastTestRuns: await this.engine.testRunsOf(name, 20),
    };
  }

  runOne(name: string, opts: { downstream: boolean; upstream: boolean; fullRefresh: boolean }) {
    const project = this.ws.project();
    if (!project.models.has(name)) throw new DagError('MODEL_NOT_FOUND', `no model named "${name}"`);
    const selector = `${opts.upstream ? '+' : ''}${name}${opts.downstream ? '+' : ''}`;
    return this.engine.run({ select: [selector], fullRefresh: opts.fullRefresh, triggeredBy: 'api' });
  }

  job(command: 'run' | 'test' | 'seed' | 'build', options: JobOptions) {
    return this.engine[command]({ ...options, triggeredBy: 'api' });
  }

  async compile(options: JobOptions) {
    const { models, tests } = await this.ws.exclusive(() => this.engine.compile(options));
    return { compiled: { models: models.map((m) => m.compiledPath), tests } };
  }
}

function summary(m: ModelNode, relation: string) {
  return {
    name: m.name,
    description: m.description ?? null,
    path: m.path,
    relation,
    materialization: m.config.materialized,
    uniqueKey: uniqueKeys(m),
    tags: m.config.tags,
    enabled: m.config.enabled,
  };
}
