import Handlebars from 'handlebars';
import type { Dialect } from '../warehouse/dialects';
import type { ModelNode, Project } from './project';
import { ProjectError, suggest } from './project';

export interface RenderContext {
  project: Project;
  dialect: Dialect;
  /** true when the model is incremental, its table exists and this is not a full refresh */
  isIncremental: boolean;
  /** vars given on the command line override cdp.yaml's */
  vars?: Record<string, unknown>;
}

/**
 * Renders a model's template to SQL for one dialect. Helpers: ref, source, var, is_incremental,
 * the dialect macros, and `{{this}}` (the model's own relation). Output is never HTML-escaped.
 */
export function renderModel(model: ModelNode, ctx: RenderContext): string {
  const hb = Handlebars.create();
  const { project, dialect } = ctx;
  const vars = { ...project.config.vars, ...(ctx.vars ?? {}) };
  const relationOf = (name: string) => {
    const node = project.models.get(name) ?? project.seeds.get(name);
    if (!node) throw new ProjectError(`${model.path}: ref "${name}" is not a model or seed`);
    return dialect.relation(node.relation);
  };
  const helpers: Record<string, Handlebars.HelperDelegate> = {
    ref: (name: string) => relationOf(name),
    source: (source: string, table: string) => {
      const t = project.sources.get(`${source}.${table}`);
      if (!t) throw new ProjectError(`${model.path}: source "${source}" "${table}" is not declared`);
      return dialect.relation(t.relation);
    },
    var: (...args: unknown[]) => {
      const [name, fallback] = args.slice(0, -1) as [string, unknown];
      if (name in vars) return renderValue(vars[name], dialect);
      if (args.length > 2) return renderValue(fallback, dialect);
      throw new ProjectError(`${model.path}: var "${name}" is not set; add it under vars: in cdp.yaml or give a default: {{var "${name}" 30}}`);
    },
    is_incremental: () => ctx.isIncremental,
  };
  for (const [name, macro] of Object.entries(dialect.macros)) {
    helpers[name] = (...args: unknown[]) => macro(...args.slice(0, -1).map(String));
  }
  hb.registerHelper(helpers);
  const self = { toString: () => dialect.relation(model.relation) };
  try {
    const template = hb.compile(model.rawSql, {
      noEscape: true,
      strict: true,
      knownHelpers: Object.fromEntries(Object.keys(helpers).map((h) => [h, true])),
      knownHelpersOnly: true,
    });
    return template(self).trim().replace(/;\s*$/, '');
  } catch (e) {
    if (e instanceof ProjectError) throw e;
    throw new ProjectError(templateError(model.path, (e as Error).message, Object.keys(helpers)));
  }
}

/**
 * Handlebars' own words for an unknown name ("You specified knownHelpersOnly, but used the unknown
 * helper x - 1:7", "\"x\" not defined in [context] - 1:7") in the project's terms, with the closest helper.
 */
function templateError(path: string, message: string, helpers: string[]): string {
  const text = message.split('\n').slice(0, 3).join(' ');
  const helper = /unknown helper (\S+) - (\d+):(\d+)$/.exec(text);
  const name = /^"([^"]+)" not defined in .* - (\d+):(\d+)$/.exec(text);
  const [, unknown, line, col] = helper ?? name ?? [];
  if (!unknown) return `${path}: template error: ${text}`;
  // Handlebars counts columns from 0; editors (and the yml errors) from 1
  return `${path}:${line}:${Number(col) + 1}: template error: unknown ${helper ? 'helper' : 'name'} "${unknown}"${suggest(unknown, helpers)}`;
}

/** Vars render as SQL-ready text: numbers as is, strings as written (they are SQL fragments set by the project). */
function renderValue(value: unknown, dialect: Dialect): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return dialect.literal(value);
  return JSON.stringify(value);
}
