import type { Operation, SyncMode } from '../destinations/destination-definition';

/** What the diff found for a row: new to the destination, changed since it was sent, gone from the source. */
export type Change = 'add' | 'change' | 'remove';
export const CHANGES: readonly Change[] = ['add', 'change', 'remove'];

/**
 * The operation each mode sends for each change; `null`: nothing is sent and only the snapshot
 * follows the source (an upsert sync forgets a removed row, so it is sent again if it comes back; an
 * insert sync records a changed row without sending it).
 *
 * | mode     | add    | change | remove |
 * | -------- | ------ | ------ | ------ |
 * | upsert   | upsert | upsert | -      |
 * | update   | update | update | -      |
 * | insert   | insert | -      | -      |
 * | mirror   | upsert | upsert | delete |
 * | audience | add    | add    | remove |
 *
 * An audience's changed row is added again with its new fields (adding is idempotent at every
 * ad platform): a member whose email changed is matched by the new one too.
 */
export const MODE_OPERATIONS: Record<SyncMode, Record<Change, Operation | null>> = {
  upsert: { add: 'upsert', change: 'upsert', remove: null },
  update: { add: 'update', change: 'update', remove: null },
  insert: { add: 'insert', change: null, remove: null },
  mirror: { add: 'upsert', change: 'upsert', remove: 'delete' },
  audience: { add: 'add', change: 'add', remove: 'remove' },
};

/** The changes a mode sends to the destination. */
export function sentChanges(mode: SyncMode): Change[] {
  return CHANGES.filter((c) => MODE_OPERATIONS[mode][c] !== null);
}
