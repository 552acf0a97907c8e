import type { ControlStore } from '../store/control-store';

/**
 * A destination instance created through the API, as the control store keeps it: the plain
 * settings as JSON, the secret ones encrypted (store/secrets.ts) as one value.
 */
export interface StoredDestination {
  name: string;
  type: string;
  description?: string;
  /** the settings without the secret fields */
  settings: Record<string, unknown>;
  /** the secret fields, encrypted (`v1:...`) */
  secrets: string;
  createdAt: Date;
  updatedAt: Date;
}

interface DestinationRow {
  name: string;
  type: string;
  settings: string;
  secrets: string;
  created_at: Date | string | number;
  updated_at: Date | string | number;
}

/**
 * The table has no description column: the description travels in the settings JSON under this
 * key (a settings schema never has a `$` key). A later migration may move it to a column.
 */
const DESCRIPTION_KEY = '$description';

const toDate = (v: Date | string | number): Date => (v instanceof Date ? v : new Date(v));

function toDestination(r: DestinationRow): StoredDestination {
  const { [DESCRIPTION_KEY]: description, ...settings } = JSON.parse(r.settings) as Record<string, unknown>;
  return {
    name: r.name,
    type: r.type,
    ...(typeof description === 'string' ? { description } : {}),
    settings,
    secrets: r.secrets,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

const settingsJson = (d: Pick<StoredDestination, 'settings' | 'description'>): string =>
  JSON.stringify(d.description === undefined ? d.settings : { ...d.settings, [DESCRIPTION_KEY]: d.description });

export type NewDestination = Omit<StoredDestination, 'createdAt' | 'updatedAt'>;

/** Destination instances created through the API, in the control store's `destinations` table. */
export class DestinationsRepository {
  constructor(private readonly db: ControlStore) {}

  async list(): Promise<StoredDestination[]> {
    return ((await this.db('destinations').orderBy('name')) as DestinationRow[]).map(toDestination);
  }

  async get(name: string): Promise<StoredDestination | undefined> {
    const row = (await this.db('destinations').where({ name }).first()) as DestinationRow | undefined;
    return row && toDestination(row);
  }

  /** Saves a new instance; false when one of that name exists (the primary key decides, so two replicas cannot both create it). */
  async create(d: NewDestination): Promise<boolean> {
    const now = new Date();
    try {
      await this.db('destinations').insert({ name: d.name, type: d.type, settings: settingsJson(d), secrets: d.secrets, created_at: now, updated_at: now });
      return true;
    } catch (e) {
      if (await this.get(d.name)) return false;
      throw e;
    }
  }

  /** Replaces an instance's type, settings and secrets; false when there is none of that name. */
  async update(d: NewDestination): Promise<boolean> {
    const changed = await this.db('destinations')
      .where({ name: d.name })
      .update({ type: d.type, settings: settingsJson(d), secrets: d.secrets, updated_at: new Date() });
    return changed > 0;
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db('destinations').where({ name }).delete()) > 0;
  }
}
