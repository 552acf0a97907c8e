import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import Handlebars from 'handlebars';
import type { z } from 'zod';
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { CdpConfig } from '../config/config.schema';
import { resolveIn } from '../config/config.loader';
import { CdpError } from '../errors/cdp-error';
import { modelSchema } from '../warehouse/warehouse.factory';
import type { LogicalType, Relation } from '../warehouse/warehouse';
import { planIdentity, type IdentityPlan } from '../identity/identity-sources';
import { DataTest, dataTestsFor } from './data-test';
import { segmentSchema, type Condition, type SegmentDefinition } from '../segments/segment-tree';
import { projectYmlSchema, type ColumnDoc, type ModelConfig } from './project.schema';

export class ProjectError extends CdpError {
  constructor(message: string) {
    super('PROJECT_INVALID', message);
  }
}

export interface ModelNode {
  kind: 'model';
  name: string;
  /** path of the .sql file, relative to the project folder */
  path: string;
  rawSql: string;
  description?: string;
  ymlPath?: string;
  config: ModelConfig;
  columns: ColumnDoc[];
  relation: Relation;
  /** models and seeds this one refs */
  refs: string[];
  /** [source, table] pairs */
  sources: [string, string][];
}

export interface SeedNode {
  kind: 'seed';
  name: string;
  /** a .csv file, or a folder of .csv files loaded into one table */
  path: string;
  files: string[];
  description?: string;
  /** the yml that documents the seed, if one does */
  ymlPath?: string;
  columnTypes: Record<string, LogicalType>;
  columns: ColumnDoc[];
  relation: Relation;
}

export interface SourceTable {
  source: string;
  name: string;
  relation: Relation;
  description?: string;
}

/**
 * Identity resolution as one step of the DAG: it reads the models and seeds named in cdp.yaml's
 * `identity:` and writes the identity tables; models that read `{{source "cdp" "profiles"}}` (or
 * any identity table) run after it.
 */
export interface IdentityNode {
  kind: 'identity';
  name: typeof IDENTITY_NODE;
  path: string;
  refs: string[];
  relation: Relation;
  columns: ColumnDoc[];
  plan: IdentityPlan;
}

export const IDENTITY_NODE = 'identity';

/** The identity tables models can read as sources of `cdp` once identity is configured. */
export const IDENTITY_SOURCES: Record<string, string> = {
  profiles: 'one row per customer profile, with merged and computed traits',
  identity_graph: 'every identifier and the profile it belongs to',
  profile_merges: 'profiles merged into others (or split off), with a link that explains it',
  identity_blocked_edges: 'links not merged because they would break an identifier limit',
  profile_events: 'every event of every profile (profile_id, event, occurred_at, source, properties), from identity.events',
};

/**
 * A segment defined as a condition tree (a file in segments/, or created through the API). It is
 * built after the identity step (and the segments it names) into a table of its current members,
 * and its entries and exits are recorded in `cdp.segment_membership`. A SQL segment is a model
 * with `config: { segment: true }`.
 */
export interface SegmentNode {
  kind: 'segment';
  name: string;
  /** the file (`segments/vip.yaml`), or `api` */
  path: string;
  description?: string;
  definition: SegmentDefinition;
  /** the segments its tree names */
  refs: string[];
  /** the table of its current members (profile_id, split_group) */
  relation: Relation;
}

/** A node of the DAG: something that is built in the warehouse. */
export type GraphNode = ModelNode | SeedNode | IdentityNode | SegmentNode;

export interface Project {
  config: CdpConfig;
  models: Map<string, ModelNode>;
  seeds: Map<string, SeedNode>;
  sources: Map<string, SourceTable>;
  tests: DataTest[];
  /** set when cdp.yaml has an identity section */
  identity?: IdentityNode;
  /** condition-tree segments (files and API); SQL segments are models with config.segment */
  segments: Map<string, SegmentNode>;
}

/**
 * Reads models/, seeds/ and segments/ (sql, csv and yml) into a Project, with the segments created
 * through the API (kept in the control store) when given. Errors name the file and the key.
 */
export function loadProject(config: CdpConfig, apiSegments: SegmentDefinition[] = []): Project {
  const modelsDir = resolveIn(config.projectDir, config.paths.models);
  const seedsDir = resolveIn(config.projectDir, config.paths.seeds);
  const rel = (p: string) => relative(config.projectDir, p);
  const target = modelSchema(config.warehouse);

  const models = new Map<string, ModelNode>();
  const seeds = new Map<string, SeedNode>();
  const sources = new Map<string, SourceTable>();

  for (const file of walk(modelsDir).filter((f) => extname(f) === '.sql')) {
    const name = basename(file, '.sql');
    const existing = models.get(name);
    if (existing) throw new ProjectError(`two models are named "${name}": ${existing.path} and ${rel(file)}`);
    const rawSql = readFileSync(file, 'utf8');
    const { refs, sources: srcs } = staticDependencies(rawSql, rel(file));
    models.set(name, {
      kind: 'model',
      name,
      path: rel(file),
      rawSql,
      config: { materialized: 'view', tags: [], enabled: true, segment: false },
      columns: [],
      relation: { ...target, name },
      refs,
      sources: srcs,
    });
  }

  for (const entry of existsSync(seedsDir) ? readdirSync(seedsDir).sort() : []) {
    const full = join(seedsDir, entry);
    let files: string[] = [];
    let name: string;
    if (statSync(full).isDirectory()) {
      files = readdirSync(full).filter((f) => extname(f) === '.csv').sort().map((f) => join(full, f));
      name = entry;
    } else if (extname(entry) === '.csv') {
      files = [full];
      name = basename(entry, '.csv');
    } else continue;
    if (files.length === 0) continue;
    if (models.has(name)) throw new ProjectError(`"${name}" is both a model (${models.get(name)!.path}) and a seed (${rel(full)})`);
    seeds.set(name, { kind: 'seed', name, path: rel(full), files, columnTypes: {}, columns: [], relation: { ...target, name } });
  }

  // The engine's own table, at the schema cdp.yaml gives it: {{source "cdp" "raw_events"}} needs no yml.
  sources.set('cdp.raw_events', {
    source: 'cdp',
    name: 'raw_events',
    description: 'every message sent to the tracking API (/v1), at least once',
    relation: { database: target.database, schema: config.ingest.schema, name: 'raw_events' },
  });

  const tests: DataTest[] = [];
  for (const file of [...walk(modelsDir), ...walk(seedsDir)].filter((f) => ['.yml', '.yaml'].includes(extname(f)))) {
    const yml = parseYml(file, rel(file));
    yml.models.forEach((m, i) => {
      const model = models.get(m.name);
      if (!model) throw new ProjectError(`${rel(file)}: models[${i}].name: "${m.name}" has no .sql file under ${config.paths.models}/${suggest(m.name, [...models.keys()])}`);
      model.description = m.description;
      model.ymlPath = rel(file);
      model.config = { ...model.config, ...(m.config ?? {}) };
      model.columns = m.columns;
      model.relation = {
        ...target,
        ...(m.config?.schema ? { schema: m.config.schema } : {}),
        name: m.config?.alias ?? m.name,
      };
    });
    yml.seeds.forEach((s, i) => {
      const seed = seeds.get(s.name);
      if (!seed) throw new ProjectError(`${rel(file)}: seeds[${i}].name: "${s.name}" has no .csv file or folder under ${config.paths.seeds}/${suggest(s.name, [...seeds.keys()])}`);
      seed.description = s.description;
      seed.ymlPath = rel(file);
      seed.columnTypes = s.config?.column_types ?? {};
      seed.columns = s.columns;
      if (s.config?.schema) seed.relation = { ...seed.relation, schema: s.config.schema };
    });
    for (const src of yml.sources) {
      for (const table of src.tables) {
        sources.set(`${src.name}.${table.name}`, {
          source: src.name,
          name: table.name,
          description: table.description,
          relation: { database: src.database ?? target.database, schema: src.schema, name: table.identifier ?? table.name },
        });
      }
    }
  }

  const project: Project = { config, models, seeds, sources, tests, segments: new Map() };
  if (config.identity) {
    for (const [name, description] of Object.entries(IDENTITY_SOURCES)) {
      sources.set(`cdp.${name}`, { source: 'cdp', name, description, relation: { database: target.database, schema: config.ingest.schema, name } });
    }
    if (models.has(IDENTITY_NODE) || seeds.has(IDENTITY_NODE)) {
      throw new ProjectError(`"${IDENTITY_NODE}" is the name of the identity resolution step; rename the model or seed ${(models.get(IDENTITY_NODE) ?? seeds.get(IDENTITY_NODE))!.path}`);
    }
    const plan = planIdentity(project)!;
    project.identity = {
      kind: 'identity',
      name: IDENTITY_NODE,
      path: relative(config.projectDir, config.configFile),
      refs: plan.dependencies,
      relation: plan.relation('profiles'),
      columns: [],
      plan,
    };
  }
  loadSegments(project, apiSegments);
  for (const node of [...models.values(), ...seeds.values()]) {
    for (const [i, column] of node.columns.entries()) {
      tests.push(...dataTestsFor(project, node, column, `${node.ymlPath ?? node.path}: ${node.kind} ${node.name}: columns[${i}]`));
    }
  }
  for (const model of models.values()) {
    for (const ref of model.refs) {
      if (!models.has(ref) && !seeds.has(ref) && !project.segments.has(ref)) {
        throw new ProjectError(`${model.path}: ref "${ref}" is not a model, seed or segment${suggest(ref, [...models.keys(), ...seeds.keys(), ...project.segments.keys()])}`);
      }
    }
    for (const [src, table] of model.sources) {
      if (!sources.has(`${src}.${table}`)) {
        throw new ProjectError(`${model.path}: source "${src}" "${table}" is not declared in any yml under ${config.paths.models}/ (sources: [{name: ${src}, schema: ..., tables: [{name: ${table}}]}])`);
      }
    }
  }
  return project;
}

/** Reads segments/*.yaml and adds the API's segments; checks names and the segments each tree names. */
function loadSegments(project: Project, apiSegments: SegmentDefinition[]): void {
  const { config, models, seeds, segments } = project;
  const dir = resolveIn(config.projectDir, config.paths.segments);
  const rel = (p: string) => relative(config.projectDir, p);
  const target = modelSchema(config.warehouse);
  const found: [SegmentDefinition, string][] = [];
  for (const file of walk(dir).filter((f) => ['.yml', '.yaml'].includes(extname(f)))) {
    const definition = parseYamlFile(file, rel(file), segmentSchema);
    const stem = basename(file, extname(file));
    if (definition.name !== stem) throw new ProjectError(`${rel(file)}: name: "${definition.name}" differs from the file name; name the file ${definition.name}${extname(file)}`);
    found.push([definition, rel(file)]);
  }
  for (const definition of apiSegments) found.push([definition, 'api']);
  for (const [definition, path] of found) {
    const { name } = definition;
    const clash = segments.get(name)?.path ?? models.get(name)?.path ?? seeds.get(name)?.path ?? (name === IDENTITY_NODE ? 'the identity step' : undefined);
    // a file added later under the name of an API segment wins (files are read first); the API one
    // stays in the control store, out of the build, until it is deleted or the file renamed
    if (clash && path === 'api') continue;
    if (clash) throw new ProjectError(`${path}: name: "${name}" is already ${clash === 'api' ? 'a segment created through the API' : `taken by ${clash}`}`);
    segments.set(name, { kind: 'segment', name, path, description: definition.description, definition, refs: segmentRefs(definition.where), relation: { ...target, name } });
  }
  if (segments.size > 0 && !project.identity) {
    throw new ProjectError(`${[...segments.values()][0].path}: segments need profiles; add an identity: section to ${relative(config.projectDir, config.configFile)}`);
  }
  for (const segment of segments.values()) {
    for (const ref of segment.refs) {
      const model = models.get(ref);
      if (!segments.has(ref) && !model?.config.segment) {
        throw new ProjectError(`${segment.path}: segment "${ref}" does not exist${suggest(ref, [...segments.keys(), ...[...models.values()].filter((m) => m.config.segment).map((m) => m.name)])}`);
      }
    }
  }
}

/** The segment names a condition tree refers to. */
function segmentRefs(where: Condition): string[] {
  const out = new Set<string>();
  const visit = (c: Condition): void => {
    if ('and' in c) c.and.forEach(visit);
    else if ('or' in c) c.or.forEach(visit);
    else if ('not' in c) visit(c.not);
    else if ('segment' in c) out.add(c.segment.name);
  };
  visit(where);
  return [...out].sort();
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

function parseYml(file: string, shown: string) {
  return parseYamlFile(file, shown, projectYmlSchema);
}

/**
 * Reads a YAML file against a zod schema. Errors name the file, the line and column, and the key:
 * `segments/vip.yaml:4:7: where.trait.op: Invalid option: ...`.
 */
export function parseYamlFile<S extends z.ZodType>(file: string, shown: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
  if (doc.errors.length) {
    const pos = doc.errors[0].linePos?.[0];
    throw new ProjectError(`${shown}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys
      .map((key) => {
        const full = key ? [...path, key] : path;
        let where = shown;
        for (let n = full.length; n >= 0; n--) {
          const node = doc.getIn(full.slice(0, n), true) as (Node & { range?: [number, number, number] }) | undefined;
          if (node?.range) {
            const { line, col } = lineCounter.linePos(node.range[0]);
            where = `${shown}:${line}:${col}`;
            break;
          }
        }
        const dotted = full.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
        return `${where}: ${dotted || '(top level)'}: ${key ? 'unknown key' : issue.message}`;
      })
      .join('\n');
  });
  throw new ProjectError(lines.join('\n'));
}

/** Finds {{ref "x"}} and {{source "a" "b"}} anywhere in a template, in every branch, without rendering. */
function staticDependencies(sql: string, path: string): { refs: string[]; sources: [string, string][] } {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(sql);
  } catch (e) {
    throw new ProjectError(`${path}: template error: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
  }
  const refs = new Set<string>();
  const sources: [string, string][] = [];
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; path?: { original?: string }; params?: { type: string; value?: unknown }[] };
    if ((n.type === 'MustacheStatement' || n.type === 'SubExpression') && n.path?.original) {
      const args = (n.params ?? []).map((p) => (p.type === 'StringLiteral' ? String(p.value) : undefined));
      if (n.path.original === 'ref') {
        if (args.length !== 1 || args[0] === undefined) throw new ProjectError(`${path}: ref takes one quoted model name: {{ref "stg_orders"}}`);
        refs.add(args[0]);
      } else if (n.path.original === 'source') {
        if (args.length !== 2 || args.some((a) => a === undefined)) throw new ProjectError(`${path}: source takes a source and a table name: {{source "shop" "orders"}}`);
        sources.push([args[0]!, args[1]!]);
      }
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === 'object') visit(value);
    }
  };
  visit(ast);
  return { refs: [...refs].sort(), sources };
}

/** " (did you mean "x"?)" for the closest name, when one is close. */
export function suggest(name: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
