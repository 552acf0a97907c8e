import { BadRequestException, ConflictException, Inject, Injectable, Logger } from '@nestjs/common';
import { CDP_CONFIG } from '../config/config.module';
import type { CdpConfig } from '../config/config.schema';
import { errorMessage } from '../errors/cdp-error';
import { SECRET_KEY_ENV } from '../store/secrets';
import { listSyncs } from '../syncs/sync-catalog';
import { Workspace } from '../workspace/workspace';
import type { DestinationDefinition, DestinationLogger } from './destination-definition';
import { ConfigurationError, RetryableError } from './destination-errors';
import {
  DestinationInstances,
  DestinationInvalidError,
  DestinationNotFoundError,
  unknownTypeProblem,
  type DestinationInstance,
  type ResolvedDestination,
} from './destination-instances';
import type {
  CreateDestination,
  DestinationDetail,
  DestinationListItem,
  DestinationType,
  TestResult,
  UpdateDestination,
} from './destinations.schemas';
import { createHttpClient } from './http/http-client';
import { Redactor } from './http/redact';
import { maskSecrets, secretFields, SECRET_MASK, settingsShape, splitSecrets, toJsonSchema, validateSettings } from './settings-schema';

/** How long the test endpoint waits for each request of a connection test. */
const TEST_TIMEOUT_MS = 10_000;

/** Names that are routes of this API (`GET /api/destinations/types`). */
const RESERVED_NAMES = ['types'];

/**
 * The destination API: the types the engine knows, instances from files and the control store
 * (secret fields encrypted, never answered), and connection tests. Loading and resolving live in
 * DestinationInstances, which the sync engine uses outside Nest too.
 */
@Injectable()
export class DestinationsService {
  private readonly logger = new Logger(DestinationsService.name);
  readonly instances: DestinationInstances;

  constructor(
    @Inject(CDP_CONFIG) config: CdpConfig,
    private readonly ws: Workspace,
  ) {
    this.instances = new DestinationInstances({ config, store: ws.store, onKeyGenerated: (message) => this.logger.log(message) });
    // a wrong CDP_SECRET_KEY stops the service at start, naming the variable; without one the
    // project's key file is read (or generated) when a secret is first encrypted or decrypted
    if (process.env[SECRET_KEY_ENV]) void this.instances.secretBox;
  }

  // ── types ──────────────────────────────────────────────────────────────────
  types(): DestinationType[] {
    return [...this.instances.types.values()]
      .sort((a, b) => a.slug.localeCompare(b.slug))
      .map((d) => ({
        slug: d.slug,
        name: d.name,
        category: d.category,
        description: d.description,
        settings: toJsonSchema(d.settings),
        actions: Object.entries(d.actions).map(([name, a]) => ({
          name,
          title: a.title,
          description: a.description,
          modes: [...a.modes],
          batchSize: a.batchSize,
          maxBatchSize: a.maxBatchSize ?? a.batchSize,
          fields: a.fields,
          customFields: a.customFields ?? false,
          options: toJsonSchema(a.options),
        })),
      }));
  }

  // ── instances ──────────────────────────────────────────────────────────────
  async list(): Promise<DestinationListItem[]> {
    return (await this.instances.list()).map((i) => this.item(i));
  }

  async get(name: string): Promise<DestinationDetail> {
    return this.detail(await this.instances.get(name));
  }

  /** Saves an API instance: settings checked against its type, secret fields encrypted. */
  async create(body: CreateDestination): Promise<DestinationDetail> {
    if (RESERVED_NAMES.includes(body.name)) throw new BadRequestException(`name: "${body.name}" is a route of this API (GET /api/destinations/${body.name}); choose another name`);
    const existing = await this.instances.find(body.name);
    if (existing?.origin === 'file') throw new ConflictException(`a destination named "${body.name}" is defined by ${existing.path}`);
    if (existing) throw new ConflictException(`a destination named "${body.name}" exists (created through the API)`);
    const definition = this.definitionFor(body.type);
    const { plain, secrets } = this.checked(definition, body.settings);
    const saved = await this.instances.repo.create({
      name: body.name,
      type: body.type,
      ...(body.description !== undefined ? { description: body.description } : {}),
      settings: plain,
      secrets: this.instances.secretBox.encrypt(secrets, body.name),
    });
    if (!saved) throw new ConflictException(`a destination named "${body.name}" exists (created through the API)`);
    this.logger.log(`destination "${body.name}" (${body.type}) created`);
    return this.get(body.name);
  }

  /**
   * Replaces an API instance's settings (and description). A secret field left out or sent as the
   * mask keeps its stored value; null clears it. The type cannot change.
   */
  async replace(name: string, body: UpdateDestination): Promise<DestinationDetail> {
    const instance = await this.editable(name);
    if (body.name !== undefined && body.name !== name) {
      throw new BadRequestException(`name: "${body.name}" is not the destination in the URL ("${name}"); a destination cannot be renamed: create the new one, then delete this one`);
    }
    if (body.type !== undefined && body.type !== instance.type) {
      throw new BadRequestException(`type: a destination's type cannot change ("${instance.type}"); create a new destination of type "${body.type}"`);
    }
    const definition = this.definitionFor(instance.type);
    const stored = this.instances.secretsOf(instance);
    const settings: Record<string, unknown> = { ...body.settings };
    for (const key of secretFields(definition.settings)) {
      if (!(key in settings) || settings[key] === SECRET_MASK) {
        if (stored[key] !== undefined) settings[key] = stored[key];
        else delete settings[key];
      } else if (settings[key] === null) delete settings[key];
    }
    const { plain, secrets } = this.checked(definition, settings);
    const description = body.description ?? instance.description;
    const saved = await this.instances.repo.update({
      name,
      type: instance.type,
      ...(description !== undefined ? { description } : {}),
      settings: plain,
      secrets: this.instances.secretBox.encrypt(secrets, name),
    });
    if (!saved) throw new DestinationNotFoundError(name, (await this.instances.list()).map((i) => i.name));
    this.logger.log(`destination "${name}" updated`);
    return this.get(name);
  }

  /** Deletes an API instance (files are deleted as files). */
  async delete(name: string): Promise<void> {
    await this.editable(name);
    // a sync left pointing at nothing would fail at its next run: the user removes or repoints it first
    const using = (await listSyncs(this.ws)).filter((s) => s.definition.destination === name);
    if (using.length) {
      throw new ConflictException(`destination "${name}" is used by ${using.map((s) => (s.path ? `${s.definition.name} (${s.path})` : s.definition.name)).join(', ')}; delete those syncs or point them at another destination first`);
    }
    if (!(await this.instances.repo.delete(name))) throw new DestinationNotFoundError(name, (await this.instances.list()).map((i) => i.name));
    this.logger.log(`destination "${name}" deleted`);
  }

  /** The instance ready to use (see DestinationInstances.resolve): what the sync engine calls. */
  resolve(name: string): Promise<ResolvedDestination> {
    return this.instances.resolve(name);
  }

  /**
   * Runs the type's connection test with the instance's settings. A destination that is broken
   * (settings, credentials, unreachable) is a successful test that says so: `{ ok: false }`.
   */
  async test(name: string): Promise<TestResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let resolved: ResolvedDestination;
    try {
      resolved = await this.instances.resolve(name);
    } catch (e) {
      if (e instanceof DestinationInvalidError) return { ok: false, durationMs: elapsed(), kind: 'settings', error: e.message };
      throw e;
    }
    const { definition, settings, secrets, instance } = resolved;
    if (!definition.testConnection) {
      return { ok: true, durationMs: elapsed(), message: `the ${definition.name} destination has no connection test; its settings are valid` };
    }
    const redactor = new Redactor(secrets);
    const logger = destinationLogger(this.logger, redactor);
    const http = createHttpClient(definition, settings, { instance: instance.name, logger, secrets, timeoutMs: TEST_TIMEOUT_MS });
    try {
      await definition.testConnection({ settings, http, logger });
    } catch (e) {
      const kind = e instanceof ConfigurationError ? 'configuration' : e instanceof RetryableError ? 'retryable' : undefined;
      if (!kind) throw e;
      const error = redactor.redact(errorMessage(e));
      this.logger.log(`destination "${name}" test failed (${kind}): ${error}`);
      return { ok: false, durationMs: elapsed(), kind, error };
    }
    return { ok: true, durationMs: elapsed() };
  }

  // ── helpers ────────────────────────────────────────────────────────────────
  private definitionFor(type: string): DestinationDefinition {
    const definition = this.instances.types.get(type);
    if (definition) return definition;
    throw new DestinationInvalidError(unknownTypeProblem(type, this.instances.types)!);
  }

  /** Settings validated by the type (400 naming each `settings.<key>`), split into plain and secret fields; only the schema's keys are kept. */
  private checked(definition: DestinationDefinition, settings: Record<string, unknown>): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
    const result = validateSettings(definition.settings, settings);
    if (!result.ok) throw new DestinationInvalidError(result.problems.join('; '), result.problems);
    const keys = Object.keys(settingsShape(definition.settings));
    const kept = keys.length ? Object.fromEntries(Object.entries(settings).filter(([k]) => keys.includes(k))) : settings;
    return splitSecrets(kept, secretFields(definition.settings));
  }

  /** An API instance (404 for none; 409 for a file, which is edited as a file). */
  private async editable(name: string): Promise<DestinationInstance> {
    const instance = await this.instances.get(name);
    if (instance.origin === 'file') throw new ConflictException(`destination "${name}" is defined by ${instance.path}; edit or delete the file`);
    return instance;
  }

  private item(i: DestinationInstance): DestinationListItem {
    return {
      name: i.name,
      type: i.type,
      origin: i.origin,
      path: i.path ?? null,
      description: i.description ?? null,
      problems: this.instances.problemsOf(i),
    };
  }

  private detail(i: DestinationInstance): DestinationDetail {
    const definition = this.instances.types.get(i.type);
    const secretKeys = definition ? secretFields(definition.settings) : [];
    // an API instance's stored secret fields show as the mask
    const storedSecrets = i.origin === 'api' ? this.storedSecretKeys(i) : {};
    return {
      ...this.item(i),
      settings: maskSecrets({ ...i.settings, ...storedSecrets }, secretKeys),
      secretFields: secretKeys,
      createdAt: i.createdAt ?? null,
      updatedAt: i.updatedAt ?? null,
    };
  }

  /** The secret fields an API instance has set, each as the mask (the values never leave this method). */
  private storedSecretKeys(i: DestinationInstance): Record<string, string> {
    try {
      return Object.fromEntries(Object.keys(this.instances.secretsOf(i)).map((k) => [k, SECRET_MASK]));
    } catch {
      return {}; // the listing's problems say the secrets cannot be decrypted
    }
  }
}

/** A DestinationLogger on the Nest logger, every secret value redacted. */
function destinationLogger(logger: Logger, redactor: Redactor): DestinationLogger {
  const line = (obj: Record<string, unknown>, msg?: string) => redactor.redact(`${msg ?? ''} ${JSON.stringify(obj)}`.trim());
  return {
    debug: (obj, msg) => logger.debug(line(obj, msg)),
    info: (obj, msg) => logger.log(line(obj, msg)),
    warn: (obj, msg) => logger.warn(line(obj, msg)),
  };
}
