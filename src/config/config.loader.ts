import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { CdpError } from '../errors/cdp-error';
import { cdpConfigSchema, type CdpConfig } from './config.schema';

export const CONFIG_FILE_NAME = 'cdp.yaml';

export interface LoadConfigOptions {
  /** project folder; default CDP_PROJECT_DIR or the working directory */
  projectDir?: string;
  env?: NodeJS.ProcessEnv;
}

type Path = (string | number)[];
/** Where a value came from, to name it in an error: a file position or an environment variable. */
type Origin = { file: string; line?: number; column?: number } | { env: string };

export class ConfigError extends CdpError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/**
 * Loads `cdp.yaml` from the project folder, interpolates `${ENV_VAR}` references, applies the
 * `CDP_*` environment overrides and validates the result with the one zod schema. Every failure
 * is a ConfigError whose message names the file (with line) or variable, the key and what was expected.
 */
export function loadConfig(options: LoadConfigOptions = {}): CdpConfig {
  const env = options.env ?? process.env;
  const projectDir = resolve(options.projectDir ?? env.CDP_PROJECT_DIR ?? process.cwd());
  const configFile = resolve(projectDir, CONFIG_FILE_NAME);
  if (!existsSync(configFile)) {
    throw new ConfigError(
      `${configFile}: file not found. Create ${CONFIG_FILE_NAME} in the project folder, or set CDP_PROJECT_DIR to a folder that has one.`,
    );
  }
  const text = readFileSync(configFile, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new ConfigError(`${configFile}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null) {
    throw new ConfigError(`${configFile}: expected a mapping of keys (warehouse, control_store, ...) at the top level`);
  }

  // declared before interpolation: an unset ${ENV} reference reports its position through originOf
  const overrideOrigins = new Map<string, string>();
  /** Where the value at `path` was written; `atKey`: where its key was (for an unknown key, on its own line). */
  const originOf = (path: Path, atKey = false): Origin => {
    const envName = overrideOrigins.get(path.join('.'));
    if (envName) return { env: envName };
    const parent = atKey && path.length > 0 ? doc.getIn(path.slice(0, -1), true) : undefined;
    const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && item.key.value === path[path.length - 1]) : undefined;
    if (pair && isScalar(pair.key) && pair.key.range) {
      const { line, col } = lineCounter.linePos(pair.key.range[0]);
      return { file: configFile, line, column: col };
    }
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return { file: configFile, line, column: col };
      }
    }
    return { file: configFile };
  };

  const interpolated = interpolateEnv(raw as Record<string, unknown>, env, [], (path, name) =>
    fail(originOf(path), path, `environment variable ${name} is not set (set it, or give a default: \${${name}:-...})`),
  );
  applyEnvOverrides(interpolated, env, overrideOrigins);

  const parsed = cdpConfigSchema.safeParse(interpolated);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => describeIssue(issue, originOf, interpolated));
    throw new ConfigError(messages.join('\n'));
  }
  const config: CdpConfig = { ...parsed.data, projectDir, configFile, adminToken: env.CDP_ADMIN_TOKEN || undefined };
  if (config.warehouse.type === 'duckdb' && config.warehouse.path !== ':memory:') {
    config.warehouse.path = resolveIn(projectDir, config.warehouse.path);
  }
  if (config.warehouse.type === 'bigquery' && config.warehouse.key_file) {
    config.warehouse.key_file = resolveIn(projectDir, config.warehouse.key_file);
  }
  if (config.warehouse.type === 'snowflake' && config.warehouse.private_key_path) {
    config.warehouse.private_key_path = resolveIn(projectDir, config.warehouse.private_key_path);
  }
  return config;
}

export function resolveIn(projectDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(projectDir, path);
}

function fail(origin: Origin, path: Path, message: string): never {
  throw new ConfigError(`${formatOrigin(origin)}: ${formatPath(path)}: ${message}`);
}

function formatOrigin(origin: Origin): string {
  if ('env' in origin) return `environment variable ${origin.env}`;
  return origin.line ? `${origin.file}:${origin.line}:${origin.column}` : origin.file;
}

const formatPath = (path: Path): string =>
  path.length === 0 ? '(top level)' : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

function describeIssue(issue: z.core.$ZodIssue, originOf: (p: Path, atKey?: boolean) => Origin, config: unknown): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => `${formatOrigin(originOf([...path, key], true))}: ${formatPath([...path, key])}: unknown key (allowed here: ${allowedKeys(path, config).join(', ')})`)
      .join('\n');
  }
  // the schema's own format messages name what is wanted ("a postgres:// URL")
  let message = issue.code === 'invalid_format' && /^an? /.test(issue.message) ? `expected ${issue.message}` : issue.message;
  const value = valueAt(config, path);
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    message = `expected one of "duckdb", "postgres", "bigquery", "snowflake"${value === undefined ? '' : `, got ${JSON.stringify(value)}`}`;
  } else if (issue.code === 'invalid_type' && value === undefined) {
    message = `required key is missing (expected ${issue.expected})`;
  } else if (value !== null && ['string', 'number', 'boolean'].includes(typeof value)) {
    message += ` (got ${JSON.stringify(value)})`;
  }
  return `${formatOrigin(originOf(path))}: ${formatPath(path)}: ${message}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function valueAt(config: unknown, path: Path): unknown {
  let v = config;
  for (const key of path) v = isRecord(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[key] : undefined;
  return v;
}

type Shape = Record<string, z.ZodType>;

/**
 * The keys the schema allows at a path, to suggest them next to an unknown key. Inside the
 * warehouse union they are the keys of the warehouse type the config names (duckdb: path, ...).
 */
function allowedKeys(path: Path, config: unknown): string[] {
  let schema: z.ZodType = cdpConfigSchema;
  let value = config;
  for (const key of path) {
    if (typeof key === 'number') {
      // into a list: the schema of its items
      const element = (unwrap(schema) as unknown as { element?: z.ZodType }).element;
      if (!element) return [];
      schema = element;
      value = Array.isArray(value) ? (value as unknown[])[key] : undefined;
      continue;
    }
    const shape = shapeOf(schema, value);
    if (!shape || typeof key !== 'string' || !shape[key]) return [];
    schema = shape[key];
    value = isRecord(value) ? value[key] : undefined;
  }
  const shape = shapeOf(schema, value);
  if (shape) return Object.keys(shape);
  const options = (unwrap(schema) as unknown as { options?: z.ZodType[] }).options;
  if (options) return [...new Set(options.flatMap((o) => Object.keys((unwrap(o) as unknown as { shape: object }).shape)))];
  return [];
}

/** An object schema's shape; for a union, the shape of the option whose `type` literal the value names. */
function shapeOf(schema: z.ZodType, value: unknown): Shape | undefined {
  const s = unwrap(schema) as unknown as { shape?: Shape; options?: z.ZodType[] };
  if (s.shape) return s.shape;
  const type = isRecord(value) ? value.type : undefined;
  for (const option of s.options ?? []) {
    const shape = (unwrap(option) as unknown as { shape?: Shape }).shape;
    const literal = shape?.type as unknown as { _zod?: { def: { values?: unknown[] } } } | undefined;
    if (type !== undefined && literal?._zod?.def.values?.includes(type)) return shape;
  }
  return undefined;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as unknown as { unwrap?: () => z.ZodType; _zod: { def: { type: string; innerType?: z.ZodType } } };
  while (s._zod.def.innerType) s = s._zod.def.innerType;
  return s as unknown as z.ZodType;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${NAME} and ${NAME:-default} in every string value. */
function interpolateEnv<T>(value: T, env: NodeJS.ProcessEnv, path: Path, missing: (path: Path, name: string) => never): T {
  if (typeof value === 'string') {
    const replaced = value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      return missing(path, name);
    });
    // `port: ${PORT}` is a whole value from the environment: read it as YAML would (3000 is a number, true a boolean)
    const whole = new RegExp(`^${ENV_REF.source}$`).test(value);
    if (whole && /^(-?\d+(\.\d+)?|true|false)$/.test(replaced)) return (replaced === 'true' ? true : replaced === 'false' ? false : Number(replaced)) as T;
    return replaced as T;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, i], missing)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k], missing)]),
    ) as T;
  }
  return value;
}

/**
 * The environment overrides. CDP_WAREHOUSE_URL replaces the warehouse block:
 * `duckdb:<path>` (or `duckdb::memory:`), `postgres://...`, `bigquery://<project>/<dataset>`.
 */
function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv, origins: Map<string, string>): void {
  const set = (path: string[], value: unknown, envName: string) => {
    let obj = config;
    for (const key of path.slice(0, -1)) {
      if (typeof obj[key] !== 'object' || obj[key] === null) obj[key] = {};
      obj = obj[key] as Record<string, unknown>;
    }
    obj[path[path.length - 1]] = value;
    origins.set(path.join('.'), envName);
  };

  if (env.CDP_WAREHOUSE_URL) {
    const url = env.CDP_WAREHOUSE_URL;
    const current = (config.warehouse ?? {}) as Record<string, unknown>;
    const keepSchema = (type: string) => (current.type === type && current.schema ? { schema: current.schema } : {});
    let warehouse: Record<string, unknown>;
    if (url.startsWith('duckdb:')) {
      warehouse = { type: 'duckdb', path: url.slice('duckdb:'.length).replace(/^\/\//, '') || '.cdp/warehouse.duckdb', ...keepSchema('duckdb') };
    } else if (/^postgres(ql)?:\/\//.test(url)) {
      warehouse = { type: 'postgres', url, ...keepSchema('postgres') };
    } else if (url.startsWith('bigquery://')) {
      const [project, dataset] = url.slice('bigquery://'.length).split('/');
      warehouse = { type: 'bigquery', project, ...(dataset ? { dataset } : {}) };
    } else {
      throw new ConfigError(
        `environment variable CDP_WAREHOUSE_URL: expected duckdb:<path>, postgres://..., or bigquery://<project>/<dataset>, got "${url.split(':')[0]}:..."`,
      );
    }
    config.warehouse = warehouse;
    for (const key of Object.keys(warehouse)) origins.set(`warehouse.${key}`, 'CDP_WAREHOUSE_URL');
    origins.set('warehouse', 'CDP_WAREHOUSE_URL');
  }
  if (env.CDP_WAREHOUSE_SCHEMA) {
    // no warehouse block means the default duckdb warehouse: keep its type, or the schema alone fails the union
    if (config.warehouse === undefined) config.warehouse = { type: 'duckdb' };
    // on BigQuery the schema is the dataset
    const key = (config.warehouse as { type?: string }).type === 'bigquery' ? 'dataset' : 'schema';
    set(['warehouse', key], env.CDP_WAREHOUSE_SCHEMA, 'CDP_WAREHOUSE_SCHEMA');
  }
  if (env.CDP_CONTROL_STORE_URL) set(['control_store', 'url'], env.CDP_CONTROL_STORE_URL, 'CDP_CONTROL_STORE_URL');
  if (env.PORT) {
    if (!/^\s*\d+\s*$/.test(env.PORT)) throw new ConfigError(`environment variable PORT: expected a port number (0-65535), got "${env.PORT}"`);
    set(['server', 'port'], Number(env.PORT), 'PORT');
  }
  if (env.CDP_LOG_LEVEL) set(['log_level'], env.CDP_LOG_LEVEL, 'CDP_LOG_LEVEL');
}
