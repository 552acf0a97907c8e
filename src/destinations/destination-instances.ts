import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { CdpConfig } from '../config/config.schema';
import { CdpError, errorMessage } from '../errors/cdp-error';
import { parseYamlFile, suggest } from '../models/project';
import type { ControlStore } from '../store/control-store';
import { SecretBox, type SecretKeyOptions } from '../store/secrets';
import type { DestinationDefinition } from './destination-definition';
import { DestinationsRepository } from './destinations.repository';
import { destinationTypes } from './registry';
import { pathFields, secretFields, secretValues, settingsShape, validateSettings } from './settings-schema';

/**
 * Destination instances: a type (a definition from the registry) with the settings of one
 * account. Two kinds share one shape: files `destinations/<name>.yaml` (secrets as `${ENV_VAR}`
 * references, resolved when the instance is used) and instances created through the API (kept in
 * the control store, secret fields encrypted). A file wins a name clash.
 *
 * Loading never fails as a whole: a broken file is listed with its error, and each instance's
 * problems (unknown type, bad settings, unset variables) are reported beside it. Using an instance
 * (resolve) is where its problems become an error.
 */

/** The folder of the instance files, relative to the project folder. */
export const DESTINATIONS_DIR = 'destinations';

/** A name: letters, digits, `_ . -`, up to 63 characters (the control store's key). */
export const DESTINATION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;
export const DESTINATION_NAME_HINT = 'letters, digits, _ . - (up to 63, not starting with . or -)';

export interface DestinationInstance {
  name: string;
  /** the destination type's slug (`webhook`, `klaviyo`, ...) */
  type: string;
  description?: string;
  /** files: as written (`${ENV}` references unresolved); API: the settings without the secret fields */
  settings: Record<string, unknown>;
  origin: 'file' | 'api';
  /** the file, relative to the project folder (file instances) */
  path?: string;
  /** API instances: the secret fields, encrypted (store/secrets.ts) */
  encryptedSecrets?: string;
  createdAt?: Date;
  updatedAt?: Date;
  /** a file that could not be read as an instance (bad YAML, wrong keys): why; such an instance cannot be used */
  error?: string;
}

/** What the sync engine (and the test endpoint) works with. */
export interface ResolvedDestination {
  instance: DestinationInstance;
  definition: DestinationDefinition;
  /** validated by the definition's schema, secrets decrypted, `${ENV}` resolved, relative paths made absolute */
  settings: Record<string, unknown>;
  /** the secret values, for the HTTP client and logs to redact */
  secrets: string[];
  /** whose rate-limit budget requests count against: `<type>:<definition.accountKey(settings) or the instance name>` */
  accountKey: string;
}

export class DestinationNotFoundError extends CdpError {
  constructor(name: string, known: string[]) {
    super('DESTINATION_NOT_FOUND', `no destination named "${name}"${suggest(name, known)}`);
  }
}

/** An instance that cannot be used as it is: unknown type, settings its type rejects, an unset variable. */
export class DestinationInvalidError extends CdpError {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super('DESTINATION_INVALID', message);
  }
}

// ── files ────────────────────────────────────────────────────────────────────
export const destinationFileSchema = z
  .object({
    name: z.string().optional().describe('must equal the file name (without .yaml)'),
    type: z.string().min(1).describe('the destination type (GET /api/destinations/types)'),
    description: z.string().optional(),
    settings: z.record(z.string(), z.unknown()).default({}).describe('the settings of the type; secrets as ${ENV_VAR}'),
  })
  .strict();

/** Reads `destinations/*.yaml` (and `*.yml`); a file that cannot be read is returned with its `error`. */
export function loadDestinationFiles(projectDir: string): DestinationInstance[] {
  const dir = join(projectDir, DESTINATIONS_DIR);
  if (!existsSync(dir)) return [];
  const out = new Map<string, DestinationInstance>();
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && ['.yaml', '.yml'].includes(extname(e.name)))
    .map((e) => e.name)
    .sort();
  for (const file of files) {
    const name = basename(file, extname(file));
    const path = `${DESTINATIONS_DIR}/${file}`;
    const broken = (error: string, type = ''): DestinationInstance => ({ name, type, settings: {}, origin: 'file', path, error });
    if (out.has(name)) {
      out.set(`${name}\0${file}`, broken(`${path}: a second file for destination "${name}" (${out.get(name)!.path}); remove one`));
      continue;
    }
    if (!DESTINATION_NAME.test(name)) {
      out.set(name, broken(`${path}: the file name is the destination name: ${DESTINATION_NAME_HINT}`));
      continue;
    }
    let parsed: z.output<typeof destinationFileSchema>;
    try {
      parsed = parseYamlFile(join(dir, file), path, destinationFileSchema);
    } catch (e) {
      out.set(name, broken(errorMessage(e)));
      continue;
    }
    if (parsed.name !== undefined && parsed.name !== name) {
      out.set(name, broken(`${path}: name: "${parsed.name}" differs from the file name; name the file ${parsed.name}${extname(file)}`, parsed.type));
      continue;
    }
    out.set(name, { name, type: parsed.type, ...(parsed.description !== undefined ? { description: parsed.description } : {}), settings: parsed.settings, origin: 'file', path });
  }
  return [...out.values()];
}

// ── ${ENV} references ────────────────────────────────────────────────────────
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REF = new RegExp(`^${ENV_REF.source}$`);

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of the settings. An unset (or empty)
 * variable without a default is reported as `settings.<key>: environment variable NAME is not set`
 * and the key is left out. A whole-value reference that reads as a number or boolean becomes one
 * when the field does not take the text (`port: ${SMTP_PORT}`).
 */
export function resolveEnvReferences(
  settings: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  schema?: z.ZodType,
): { settings: Record<string, unknown>; problems: { key: string; message: string }[] } {
  const problems: { key: string; message: string }[] = [];
  const shape = schema ? settingsShape(schema) : {};
  const visit = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      let unset: string | undefined;
      const replaced = value.replace(ENV_REF, (whole, name: string, fallback: string | undefined) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        unset ??= name;
        return whole;
      });
      if (unset) {
        problems.push({ key: path, message: `settings.${path}: environment variable ${unset} is not set` });
        return undefined;
      }
      return replaced;
    }
    if (Array.isArray(value)) return value.map((v, i) => visit(v, `${path}[${i}]`));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v, `${path}.${k}`)]));
    return value;
  };
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(settings)) {
    let value = visit(raw, key);
    if (value === undefined) continue;
    const field = shape[key];
    if (typeof raw === 'string' && WHOLE_REF.test(raw) && typeof value === 'string' && field && !field.safeParse(value).success) {
      const typed = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value === 'true' ? true : value === 'false' ? false : undefined;
      if (typed !== undefined && field.safeParse(typed).success) value = typed;
    }
    out[key] = value;
  }
  return { settings: out, problems };
}

// ── resolving ────────────────────────────────────────────────────────────────
export interface ResolveOptions {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  /** API instances: their secret fields, decrypted */
  secrets?: Record<string, unknown>;
}

/** Where an instance's problems are said to be: its file, or `destination "x"`. */
export const instanceLabel = (instance: DestinationInstance): string => instance.path ?? `destination "${instance.name}"`;

/**
 * An instance's settings ready to use, or its problems (each naming the file or instance and the
 * key). Pure apart from reading `env`: the service and the sync engine call it through
 * DestinationInstances.resolve.
 */
export function resolveSettings(
  instance: DestinationInstance,
  definition: DestinationDefinition,
  options: ResolveOptions,
): { ok: true; settings: Record<string, unknown>; secrets: string[] } | { ok: false; problems: string[] } {
  const where = instanceLabel(instance);
  if (instance.error) return { ok: false, problems: [instance.error] };
  let raw = { ...instance.settings, ...(options.secrets ?? {}) };
  const problems: string[] = [];
  const unset = new Set<string>();
  if (instance.origin === 'file') {
    const resolved = resolveEnvReferences(raw, options.env, definition.settings);
    raw = resolved.settings;
    for (const p of resolved.problems) {
      problems.push(`${where}: ${p.message}`);
      unset.add(p.key.split(/[.[]/)[0]);
    }
  }
  const checked = validateSettings(definition.settings, raw);
  if (!checked.ok) {
    // a key left out for an unset variable is reported once, as the variable
    problems.push(...checked.problems.filter((p) => !unset.has(/^settings\.([^.:[]+)/.exec(p)?.[1] ?? '')).map((p) => `${where}: ${p}`));
  }
  if (problems.length || !checked.ok) return { ok: false, problems };
  const settings = checked.settings;
  for (const key of pathSettings(definition)) {
    const value = settings[key];
    if (typeof value === 'string' && value !== '' && !isAbsolute(value)) settings[key] = resolve(options.projectDir, value);
  }
  return { ok: true, settings, secrets: secretValues(settings, secretFields(definition.settings)) };
}

/**
 * The settings holding a file path: `.meta({ format: 'path' })` in the schema, and the `file`
 * type's `path` until its schema says so.
 */
function pathSettings(definition: DestinationDefinition): string[] {
  const keys = pathFields(definition.settings);
  return definition.slug === 'file' && !keys.includes('path') ? [...keys, 'path'] : keys;
}

/** `type: unknown destination type "x" (did you mean "y"?) (known: ...)`, or undefined when the type is known. */
export function unknownTypeProblem(type: string, types: ReadonlyMap<string, DestinationDefinition>): string | undefined {
  if (types.has(type)) return undefined;
  const known = [...types.keys()].sort();
  return `type: unknown destination type "${type}"${suggest(type, known)} (known: ${known.join(', ') || 'none'})`;
}

/** The instance's unknown type as a problem naming its file (or instance). */
const unknownType = (instance: DestinationInstance, types: ReadonlyMap<string, DestinationDefinition>): string | undefined => {
  const problem = unknownTypeProblem(instance.type, types);
  return problem && `${instanceLabel(instance)}: ${problem}`;
};

export interface DestinationDeps {
  config: Pick<CdpConfig, 'projectDir'>;
  store: ControlStore;
  /** default: opened from CDP_SECRET_KEY or the project's key file on first use */
  secrets?: SecretBox;
  /** default: the registry */
  types?: ReadonlyMap<string, DestinationDefinition>;
  /** default: process.env */
  env?: NodeJS.ProcessEnv;
  /** told when a secret key is generated (opening the default SecretBox) */
  onKeyGenerated?: SecretKeyOptions['onGenerated'];
}

/**
 * The instances of a project: files and control store, read fresh on each call (edits to
 * destinations/*.yaml and other replicas' API changes apply without a restart). Usable outside
 * Nest: the sync engine builds one from the Workspace (`new DestinationInstances(ws)`).
 */
export class DestinationInstances {
  readonly types: ReadonlyMap<string, DestinationDefinition>;
  readonly repo: DestinationsRepository;
  private readonly env: NodeJS.ProcessEnv;
  private box?: SecretBox;

  constructor(private readonly deps: DestinationDeps) {
    this.types = deps.types ?? destinationTypes;
    this.repo = new DestinationsRepository(deps.store);
    this.env = deps.env ?? process.env;
    this.box = deps.secrets;
  }

  get projectDir(): string {
    return this.deps.config.projectDir;
  }

  /** The key, opened once (a wrong CDP_SECRET_KEY throws a ConfigError naming it). */
  get secretBox(): SecretBox {
    this.box ??= SecretBox.open({ projectDir: this.projectDir, env: this.env, onGenerated: this.deps.onKeyGenerated });
    return this.box;
  }

  /** Every instance, files first; an API instance whose name a file took is left out (the file wins). */
  async list(): Promise<DestinationInstance[]> {
    const files = loadDestinationFiles(this.projectDir);
    const taken = new Set(files.map((f) => f.name));
    const api = (await this.repo.list()).filter((d) => !taken.has(d.name)).map(apiInstance);
    return [...files, ...api].sort((a, b) => a.name.localeCompare(b.name));
  }

  async find(name: string): Promise<DestinationInstance | undefined> {
    const file = loadDestinationFiles(this.projectDir).find((f) => f.name === name);
    if (file) return file;
    const stored = await this.repo.get(name);
    return stored && apiInstance(stored);
  }

  /** The instance, or DestinationNotFoundError suggesting a close name. */
  async get(name: string): Promise<DestinationInstance> {
    const found = await this.find(name);
    if (found) return found;
    throw new DestinationNotFoundError(name, (await this.list()).map((i) => i.name));
  }

  /** The decrypted secret fields of an API instance ({} for files). Throws SecretsUnreadableError. */
  secretsOf(instance: DestinationInstance): Record<string, unknown> {
    if (!instance.encryptedSecrets) return {};
    return this.secretBox.decrypt(instance.encryptedSecrets, `destination "${instance.name}"`, instance.name);
  }

  /** Why an instance cannot be used now (empty when it can): for listings, never throws. */
  problemsOf(instance: DestinationInstance): string[] {
    if (instance.error) return [instance.error];
    const unknown = unknownType(instance, this.types);
    if (unknown) return [unknown];
    let secrets: Record<string, unknown>;
    try {
      secrets = this.secretsOf(instance);
    } catch (e) {
      return [errorMessage(e)];
    }
    const result = resolveSettings(instance, this.types.get(instance.type)!, { projectDir: this.projectDir, env: this.env, secrets });
    return result.ok ? [] : result.problems;
  }

  /**
   * An instance ready to use: its definition, its settings validated (secrets decrypted, `${ENV}`
   * resolved, relative paths absolute), the secret values and the rate-limit account.
   * Throws DestinationNotFoundError, DestinationInvalidError (naming the file or instance and the
   * key) or SecretsUnreadableError.
   */
  async resolve(name: string): Promise<ResolvedDestination> {
    const instance = await this.get(name);
    if (instance.error) throw new DestinationInvalidError(instance.error);
    const unknown = unknownType(instance, this.types);
    if (unknown) throw new DestinationInvalidError(unknown);
    const definition = this.types.get(instance.type)!;
    const result = resolveSettings(instance, definition, { projectDir: this.projectDir, env: this.env, secrets: this.secretsOf(instance) });
    if (!result.ok) throw new DestinationInvalidError(result.problems.join('; '), result.problems);
    const account = definition.accountKey?.(result.settings) ?? instance.name;
    return { instance, definition, settings: result.settings, secrets: result.secrets, accountKey: `${definition.slug}:${account}` };
  }
}

function apiInstance(d: Awaited<ReturnType<DestinationsRepository['list']>>[number]): DestinationInstance {
  return {
    name: d.name,
    type: d.type,
    ...(d.description !== undefined ? { description: d.description } : {}),
    settings: d.settings,
    origin: 'api',
    encryptedSecrets: d.secrets,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

/**
 * The one call the sync engine needs, outside Nest: `resolveDestination(ws, 'klaviyo_main')` with
 * the Workspace (or `{ config, store }`). Throws as DestinationInstances.resolve.
 */
export function resolveDestination(ws: Pick<DestinationDeps, 'config' | 'store'> & Partial<DestinationDeps>, name: string): Promise<ResolvedDestination> {
  return new DestinationInstances(ws).resolve(name);
}
