import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { createHttpClient } from '../destinations/http/http-client';
import type { DestinationLogger } from '../destinations/destination-definition';
import { DestinationInstances } from '../destinations/destination-instances';
import { CdpError, errorMessage } from '../errors/cdp-error';
import { parseYamlFile, ProjectError, suggest } from '../models/project';
import type { ControlStore } from '../store/control-store';
import type { Workspace } from '../workspace/workspace';
import type { SyncTarget } from './sync-runner';
import { actionOptions, engineOptions, syncSchema, SyncDefinitionError, type SyncDefinition } from './sync-definition';

export const SYNCS_DIR = 'syncs';

/** A sync as the project and the control store hold it. */
export interface SyncEntry {
  definition: SyncDefinition;
  origin: 'file' | 'api';
  /** the file, relative to the project folder (file syncs) */
  path?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

export const whereOf = (entry: SyncEntry): string => entry.path ?? `sync "${entry.definition.name}"`;

export class SyncNotFoundError extends CdpError {
  constructor(name: string, known: string[]) {
    super('SYNC_NOT_FOUND', `no sync "${name}"${suggest(name, known)}`);
  }
}

/** syncs/*.yaml: the file name is the sync's name (a `name:` key, if written, must match it). */
export function loadSyncFiles(projectDir: string): SyncEntry[] {
  const dir = join(projectDir, SYNCS_DIR);
  if (!existsSync(dir)) return [];
  const entries: SyncEntry[] = [];
  for (const file of readdirSync(dir).filter((f) => ['.yml', '.yaml'].includes(extname(f))).sort()) {
    const stem = basename(file, extname(file));
    const path = `${SYNCS_DIR}/${file}`;
    const withName = z.preprocess((v) => (v && typeof v === 'object' && !Array.isArray(v) && !('name' in v) ? { ...v, name: stem } : v), syncSchema);
    const definition = parseYamlFile(join(dir, file), path, withName);
    if (definition.name !== stem) throw new ProjectError(`${path}: name: "${definition.name}" differs from the file name; name the file ${definition.name}${extname(file)}`);
    entries.push({ definition, origin: 'file', path });
  }
  return entries;
}

interface SyncRow {
  name: string;
  definition: string;
  created_at: Date | string | number;
  updated_at: Date | string | number;
}
const toDate = (v: Date | string | number): Date => (v instanceof Date ? v : new Date(v));
const toEntry = (r: SyncRow): SyncEntry => ({
  definition: JSON.parse(r.definition) as SyncDefinition,
  origin: 'api',
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

/** Syncs created through the API, in the control store's `syncs` table (the definition as JSON). */
export class SyncsRepository {
  constructor(private readonly db: ControlStore) {}

  async list(): Promise<SyncEntry[]> {
    return ((await this.db('syncs').orderBy('name')) as SyncRow[]).map(toEntry);
  }

  async get(name: string): Promise<SyncEntry | undefined> {
    const row = (await this.db('syncs').where({ name }).first()) as SyncRow | undefined;
    return row && toEntry(row);
  }

  /** false when one of that name exists */
  async create(definition: SyncDefinition): Promise<boolean> {
    const now = new Date();
    try {
      await this.db('syncs').insert({ name: definition.name, definition: JSON.stringify(definition), created_at: now, updated_at: now });
      return true;
    } catch (e) {
      if (await this.get(definition.name)) return false;
      throw e;
    }
  }

  async update(definition: SyncDefinition): Promise<boolean> {
    return (await this.db('syncs').where({ name: definition.name }).update({ definition: JSON.stringify(definition), updated_at: new Date() })) === 1;
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db('syncs').where({ name }).delete()) === 1;
  }
}

/**
 * Every sync of the workspace, read fresh on each call: the files, then the API's (a file wins a
 * name clash; the API one stays stored, unused, until deleted).
 */
export async function listSyncs(ws: Pick<Workspace, 'config' | 'store'>): Promise<SyncEntry[]> {
  const files = loadSyncFiles(ws.config.projectDir);
  const taken = new Set(files.map((f) => f.definition.name));
  const api = (await new SyncsRepository(ws.store).list()).filter((s) => !taken.has(s.definition.name));
  return [...files, ...api].sort((a, b) => a.definition.name.localeCompare(b.definition.name));
}

export async function findSync(ws: Pick<Workspace, 'config' | 'store'>, name: string): Promise<SyncEntry> {
  const all = await listSyncs(ws);
  const found = all.find((s) => s.definition.name === name);
  if (!found) throw new SyncNotFoundError(name, all.map((s) => s.definition.name));
  return found;
}

/**
 * A sync made ready to run: its destination resolved (settings checked, secrets decrypted), its
 * action found (or the only one), the mode, options and mapped fields checked against the action.
 * Every problem is a SyncDefinitionError naming the file (or sync) and key.
 */
export async function resolveSync(ws: Pick<Workspace, 'config' | 'store'>, entry: SyncEntry, logger: DestinationLogger): Promise<SyncTarget> {
  const def = entry.definition;
  const where = whereOf(entry);
  const destination = await new DestinationInstances(ws).resolve(def.destination).catch((e: unknown) => {
    if (e instanceof CdpError && e.code === 'DESTINATION_NOT_FOUND') throw new SyncDefinitionError(`${where}: destination: ${e.message}`);
    throw e;
  });
  const actions = destination.definition.actions;
  const names = Object.keys(actions);
  // without `action`: the destination's only action, or the only one that serves the sync's mode
  const serving = names.filter((n) => actions[n].modes.includes(def.mode));
  const actionName = def.action ?? (names.length === 1 ? names[0] : serving.length === 1 ? serving[0] : undefined);
  if (!actionName) {
    const choice = serving.length > 1 ? `${serving.length} of its actions serve mode ${def.mode}` : `none of its actions serves mode ${def.mode}`;
    throw new SyncDefinitionError(`${where}: action: ${destination.definition.name} has several actions and ${choice}; choose one of ${(serving.length ? serving : names).join(', ')}`);
  }
  const action = actions[actionName];
  if (!action) throw new SyncDefinitionError(`${where}: action: ${destination.definition.name} has no action "${actionName}" (actions: ${names.join(', ')})`);
  if (!action.modes.includes(def.mode)) {
    throw new SyncDefinitionError(`${where}: mode: ${destination.definition.name} ${actionName} does not support mode ${def.mode} (modes: ${action.modes.join(', ')})`);
  }
  const engine = engineOptions(def); // throws on a bad engine option
  const parsed = action.options.safeParse(actionOptions(def));
  if (!parsed.success) throw new SyncDefinitionError(`${where}: ${parsed.error.issues.map((i) => `options${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`).join('; ')}`);
  const mapped = new Set(Object.keys(def.mapping));
  for (const [field, spec] of Object.entries(action.fields)) {
    if (spec.required && !mapped.has(field)) throw new SyncDefinitionError(`${where}: mapping: ${destination.definition.name} ${actionName} needs field "${field}" (${spec.description})`);
  }
  if (!action.customFields) {
    for (const field of mapped) {
      const top = field.split('.')[0];
      if (!(field in action.fields) && !(top in action.fields)) {
        throw new SyncDefinitionError(`${where}: mapping.${field}: ${destination.definition.name} ${actionName} has no field "${field}"${suggest(field, Object.keys(action.fields))} (fields: ${Object.keys(action.fields).join(', ')})`);
      }
    }
  }
  let http;
  try {
    http = createHttpClient(destination.definition, destination.settings, { instance: destination.instance.name, logger, secrets: destination.secrets, timeoutMs: engine.timeout_seconds * 1000 });
  } catch (e) {
    throw new SyncDefinitionError(`${where}: destination ${def.destination}: ${errorMessage(e)}`);
  }
  return {
    definition: def,
    where,
    destination: { name: destination.instance.name, definition: destination.definition, settings: destination.settings, secrets: destination.secrets },
    actionName,
    action,
    options: parsed.data as Record<string, unknown>,
    http,
  };
}
