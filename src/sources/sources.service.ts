import { ConflictException, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CDP_CONFIG } from '../config/config.module';
import { ConfigError } from '../config/config.loader';
import type { CdpConfig } from '../config/config.schema';
import { CdpError } from '../errors/cdp-error';
import { Workspace } from '../workspace/workspace';
import { SourcesRepository, type Source } from './sources.repository';

export class SourceNotFoundError extends CdpError {
  constructor(id: string) {
    super('SOURCE_NOT_FOUND', `no source with id "${id}"`);
  }
}

/**
 * Event sources and their write keys. Keys are stored hashed; the service keeps a small map from
 * keys it has already seen to their source, so checking a key costs no query on the hot path.
 */
@Injectable()
export class SourcesService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SourcesService.name);
  private readonly repo: SourcesRepository;
  private readonly byKey = new Map<string, Source | null>();

  constructor(
    @Inject(CDP_CONFIG) private readonly config: CdpConfig,
    ws: Workspace,
  ) {
    this.repo = new SourcesRepository(ws.store);
  }

  /** Sources declared in cdp.yaml: created or given the key from their environment variable. */
  async onApplicationBootstrap(): Promise<void> {
    for (const [i, declared] of this.config.sources.entries()) {
      const key = process.env[declared.write_key_env];
      if (!key) {
        throw new ConfigError(`${this.config.configFile}: sources[${i}].write_key_env: environment variable ${declared.write_key_env} is not set (source "${declared.name}")`);
      }
      const existing = await this.repo.byName(declared.name);
      if (!existing) await this.repo.create(declared.name, 'config', key);
      else await this.repo.setWriteKey(existing.id, key);
    }
    if (this.config.sources.length) this.logger.log(`${this.config.sources.length} source(s) from cdp.yaml`);
    this.byKey.clear();
  }

  list(): Promise<Source[]> {
    return this.repo.list();
  }

  async get(id: string): Promise<Source> {
    const source = await this.repo.get(id);
    if (!source) throw new SourceNotFoundError(id);
    return source;
  }

  async create(name: string): Promise<Source & { writeKey: string }> {
    if (await this.repo.byName(name)) throw new ConflictException(`a source named "${name}" exists`);
    const { source, writeKey } = await this.repo.create(name);
    return { ...source, writeKey };
  }

  async rotateWriteKey(id: string): Promise<Source & { writeKey: string }> {
    const source = await this.get(id);
    const writeKey = await this.repo.rotateWriteKey(id);
    this.byKey.clear();
    return { ...source, writeKey };
  }

  async delete(id: string): Promise<void> {
    if (!(await this.repo.delete(id))) throw new SourceNotFoundError(id);
    this.byKey.clear();
  }

  /** The source a write key belongs to, or undefined. Unknown keys are remembered too (bounded). */
  async byWriteKey(writeKey: string): Promise<Source | undefined> {
    const cached = this.byKey.get(writeKey);
    if (cached !== undefined) return cached ?? undefined;
    const source = (await this.repo.byWriteKey(writeKey)) ?? null;
    if (this.byKey.size >= 10_000) this.byKey.clear();
    this.byKey.set(writeKey, source);
    return source ?? undefined;
  }
}
