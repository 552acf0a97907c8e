import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { resolveIn } from '../config/config.loader';
import type { Dialect } from '../warehouse/dialects';
import type { Relation } from '../warehouse/warehouse';
import { compileDataTest, type DataTest } from './data-test';
import type { ModelNode, Project } from './project';
import { ModelGraph } from './dag';
import { renderModel } from './renderer';

export interface CompiledModel {
  model: ModelNode;
  sql: string;
  /** relative to the project folder: target/compiled/<dialect>/models/... */
  compiledPath: string;
  isIncremental: boolean;
}

export interface CompiledTest {
  test: DataTest;
  sql: string;
  compiledPath: string;
}

/** Renders a model and writes it to target/compiled/<dialect>/<path of the model>. */
export function compileModel(project: Project, model: ModelNode, dialect: Dialect, isIncremental: boolean, vars?: Record<string, unknown>): CompiledModel {
  const compiled = renderCompiled(project, model, dialect, isIncremental, vars);
  writeCompiled(project, compiled.compiledPath, compiled.sql);
  return compiled;
}

/** The compiled SQL and where compile would write it, without writing (for reads such as the API's). */
export function renderCompiled(project: Project, model: ModelNode, dialect: Dialect, isIncremental: boolean, vars?: Record<string, unknown>): CompiledModel {
  const sql = renderModel(model, { project, dialect, isIncremental, vars });
  return { model, sql, compiledPath: join(project.config.paths.target, 'compiled', dialect.name, model.path), isIncremental };
}

/** Compiles the selected models (and the tests on them); `isIncremental` says which incremental models already exist. */
export async function compileSelection(
  project: Project,
  dialect: Dialect,
  select: string[] | undefined,
  isIncremental: (model: ModelNode) => Promise<boolean>,
  vars?: Record<string, unknown>,
): Promise<{ models: CompiledModel[]; tests: string[] }> {
  const selected = new ModelGraph(project).select(select);
  const models: CompiledModel[] = [];
  for (const name of selected) {
    const model = project.models.get(name);
    if (model?.config.enabled) models.push(compileModel(project, model, dialect, await isIncremental(model), vars));
  }
  const tests = project.tests.filter((t) => selected.includes(t.node)).map((t) => compileTest(project, t, dialect).compiledPath);
  return { models, tests };
}

export function compileTest(project: Project, test: DataTest, dialect: Dialect): CompiledTest {
  const sql = compileDataTest(test, dialect, (name) => relationOf(project, name));
  const compiledPath = join(project.config.paths.target, 'compiled', dialect.name, 'tests', `${test.name}.sql`);
  writeCompiled(project, compiledPath, sql);
  return { test, sql, compiledPath };
}

export function relationOf(project: Project, name: string): Relation {
  const node = project.models.get(name) ?? project.seeds.get(name);
  if (!node) throw new Error(`unknown node ${name}`);
  return node.relation;
}

function writeCompiled(project: Project, path: string, sql: string): void {
  const full = resolveIn(project.config.projectDir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, sql + '\n');
}

/** A compiled file as messages show it: relative to the current folder when inside it, else to the project. */
export function displayPath(project: Project, path: string): string {
  const fromCwd = relative(process.cwd(), resolveIn(project.config.projectDir, path));
  return fromCwd && !fromCwd.startsWith('..') ? fromCwd : path;
}
