import { randomUUID } from 'node:crypto';
import { hashToken, newToken } from '../auth/admin-token';
import type { ControlStore } from '../store/control-store';

export interface Source {
  id: string;
  name: string;
  writeKeyHint: string;
  origin: 'api' | 'config';
  createdAt: Date;
}

interface SourceRow {
  id: string;
  name: string;
  write_key_hint: string;
  origin: 'api' | 'config';
  created_at: Date | string | number;
}

const toSource = (r: SourceRow): Source => ({
  id: r.id,
  name: r.name,
  writeKeyHint: r.write_key_hint,
  origin: r.origin,
  createdAt: r.created_at instanceof Date ? r.created_at : new Date(r.created_at),
});

/** Sources and their write keys (stored as sha256 hashes) in the control store. */
export class SourcesRepository {
  constructor(private readonly db: ControlStore) {}

  async list(): Promise<Source[]> {
    return ((await this.db('sources').orderBy('name')) as SourceRow[]).map(toSource);
  }

  async get(id: string): Promise<Source | undefined> {
    const row = (await this.db('sources').where({ id }).first()) as SourceRow | undefined;
    return row && toSource(row);
  }

  async byName(name: string): Promise<Source | undefined> {
    const row = (await this.db('sources').where({ name }).first()) as SourceRow | undefined;
    return row && toSource(row);
  }

  async byWriteKey(writeKey: string): Promise<Source | undefined> {
    const row = (await this.db('sources').where({ write_key_hash: hashToken(writeKey) }).first()) as SourceRow | undefined;
    return row && toSource(row);
  }

  /** Creates a source with a new write key; the key is returned here and never again. */
  async create(name: string, origin: 'api' | 'config' = 'api', writeKey = newToken('wk')): Promise<{ source: Source; writeKey: string }> {
    const now = new Date();
    const row = { id: randomUUID(), name, write_key_hash: hashToken(writeKey), write_key_hint: writeKey.slice(0, 7), origin, created_at: now, updated_at: now };
    await this.db('sources').insert(row);
    return { source: toSource(row), writeKey };
  }

  /** Sets a source's write key (config sources: the key comes from the environment). */
  async setWriteKey(id: string, writeKey: string): Promise<void> {
    await this.db('sources').where({ id }).update({ write_key_hash: hashToken(writeKey), write_key_hint: writeKey.slice(0, 7), updated_at: new Date() });
  }

  async rotateWriteKey(id: string): Promise<string> {
    const writeKey = newToken('wk');
    await this.setWriteKey(id, writeKey);
    return writeKey;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db('sources').where({ id }).delete()) > 0;
  }
}
