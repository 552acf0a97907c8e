import { z } from 'zod';
import type { ActionDefinition, DestinationDefinition, HttpClient, OutgoingRow, RowResult } from '../../src/destinations/destination-definition';
import { SYNC_MODES } from '../../src/destinations/destination-definition';
import type { SyncTarget } from '../../src/syncs/sync-runner';
import { syncSchema, type SyncDefinitionInput } from '../../src/syncs/sync-definition';

/**
 * An in-process destination for engine tests: it applies each operation to a Map (what a real
 * destination would hold) and records every call; `fault` scripts failures per call.
 */
export class RecordingDestination {
  /** key → fields, as the destination holds them */
  readonly held = new Map<string, Record<string, unknown>>();
  /** every performBatch call, in order (with the rows as sent) */
  readonly calls: OutgoingRow[][] = [];
  /** throw, or return results, for a call; undefined → accept every row */
  fault?: (rows: OutgoingRow[], call: number) => RowResult[] | undefined;
  /** how long each call takes */
  delayMs = 0;

  definition(batchSize = 3): DestinationDefinition {
    const action: ActionDefinition = {
      title: 'Write',
      description: 'records what it is sent',
      modes: SYNC_MODES,
      options: z.object({}).strict(),
      fields: {},
      customFields: true,
      batchSize,
      performBatch: async (rows) => {
        if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
        return this.perform(rows);
      },
    };
    return { slug: 'recording', name: 'Recording', category: 'generic', description: 'test', settings: z.object({}), actions: { write: action } };
  }

  private perform(rows: OutgoingRow[]): RowResult[] {
    this.calls.push(rows.map((r) => structuredClone(r)));
    const scripted = this.fault?.(rows, this.calls.length);
    const results = scripted ?? rows.map(() => ({ ok: true as const }));
    rows.forEach((r, i) => {
      if (!results[i].ok) return;
      if (r.op === 'delete' || r.op === 'remove') this.held.delete(r.key);
      else if (r.op === 'update' && !this.held.has(r.key)) return;
      else if (r.op === 'insert' && this.held.has(r.key)) return;
      else this.held.set(r.key, r.fields);
    });
    return results;
  }

  /** the operations of the calls since `from`, as `op:key` sorted */
  opsSince(from: number): string[] {
    return this.calls.slice(from).flat().map((r) => `${r.op}:${r.key}`).sort();
  }

  target(sync: SyncDefinitionInput, batchSize = 3): SyncTarget {
    const definition = this.definition(batchSize);
    const http: HttpClient = { request: () => Promise.reject(new Error('no HTTP in this test')) };
    return {
      definition: syncSchema.parse(sync),
      where: `syncs/${sync.name}.yaml`,
      destination: { name: 'recorder', definition, settings: {}, secrets: [] },
      actionName: 'write',
      action: definition.actions.write,
      options: {},
      http,
    };
  }
}

/** A logger that keeps its lines (tests check that secrets never reach them). */
export function memoryLogger(): { lines: string[]; debug: (o: object, m?: string) => void; info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void } {
  const lines: string[] = [];
  const log = (o: object, m?: string) => void lines.push(`${m ?? ''} ${JSON.stringify(o)}`);
  return { lines, debug: log, info: log, warn: log };
}
