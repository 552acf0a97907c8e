import type { ControlStore } from '../store/control-store';
import type { SegmentDefinition } from './segment-tree';

/** A segment created through the API, as the control store keeps it. */
export interface StoredSegment {
  name: string;
  definition: SegmentDefinition;
  createdAt: Date;
  updatedAt: Date;
}

interface SegmentRow {
  name: string;
  definition: string;
  created_at: Date | string | number;
  updated_at: Date | string | number;
}

const toDate = (v: Date | string | number): Date => (v instanceof Date ? v : new Date(v));

/**
 * The stored definition is the one the API validated when it was saved, read back as is: a
 * definition a later version would reject fails when the segment is built (naming it), rather than
 * keeping the workspace, and so the API that could fix it, from opening.
 */
const toSegment = (r: SegmentRow): StoredSegment => ({
  name: r.name,
  definition: JSON.parse(r.definition) as SegmentDefinition,
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

/** Segments created through the API (condition trees, as JSON) in the control store's `segments` table. */
export class SegmentsRepository {
  constructor(private readonly db: ControlStore) {}

  async list(): Promise<StoredSegment[]> {
    return ((await this.db('segments').orderBy('name')) as SegmentRow[]).map(toSegment);
  }

  async get(name: string): Promise<StoredSegment | undefined> {
    const row = (await this.db('segments').where({ name }).first()) as SegmentRow | undefined;
    return row && toSegment(row);
  }

  /** Saves a new segment; false when one of that name exists (the primary key decides, so two replicas cannot both create it). */
  async create(definition: SegmentDefinition): Promise<boolean> {
    const now = new Date();
    try {
      await this.db('segments').insert({ name: definition.name, definition: JSON.stringify(definition), created_at: now, updated_at: now });
      return true;
    } catch (e) {
      if (await this.get(definition.name)) return false;
      throw e;
    }
  }

  /** Replaces a segment's definition; false when there is none of that name. */
  async update(definition: SegmentDefinition): Promise<boolean> {
    const changed = await this.db('segments').where({ name: definition.name }).update({ definition: JSON.stringify(definition), updated_at: new Date() });
    return changed > 0;
  }

  async delete(name: string): Promise<boolean> {
    return (await this.db('segments').where({ name }).delete()) > 0;
  }
}
