import { createHash } from 'node:crypto';
import type { OutgoingRow } from '../destination-definition';

/** One operation in a `sync.batch` message. */
export interface WebhookOperation {
  op: OutgoingRow['op'];
  key: string;
  fields: Record<string, unknown>;
}

/** The body of every batch (see README.md). */
export interface BatchPayload {
  type: 'sync.batch';
  timestamp: string;
  data: { sync: string; run_id: string; operations: WebhookOperation[] };
}

/** The batch message, as plain data: rows become operations with dotted field names nested. */
export function buildBatchPayload(rows: OutgoingRow[], sync: { name: string; runId: string }, now: Date = new Date()): BatchPayload {
  return {
    type: 'sync.batch',
    timestamp: now.toISOString(),
    data: { sync: sync.name, run_id: sync.runId, operations: rows.map((r) => ({ op: r.op, key: r.key, fields: nestFields(r.fields) })) },
  };
}

/**
 * The webhook-id of a batch: the same run and operations give the same id, so a retried batch
 * carries the id of its first attempt and receivers can de-duplicate on it (the timestamp changes).
 */
export function batchMessageId(payload: BatchPayload): string {
  const hash = createHash('sha256').update(JSON.stringify([payload.data.sync, payload.data.run_id, payload.data.operations])).digest('base64url');
  return `msg_${hash.slice(0, 32)}`;
}

/**
 * `{"properties.greeting": "hi"}` → `{"properties": {"greeting": "hi"}}`. A dotted name that would
 * overwrite a plain value (both `a` and `a.b` mapped) stays as it is.
 */
export function nestFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const path = name.split('.');
    if (path.length === 1 || path.some((p) => p === '')) {
      out[name] = value;
      continue;
    }
    let node = out;
    let ok = true;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (next === undefined) node = node[part] = {};
      else if (next && typeof next === 'object' && !Array.isArray(next)) node = next as Record<string, unknown>;
      else {
        ok = false;
        break;
      }
    }
    if (ok) node[path[path.length - 1]] = value;
    else out[name] = value;
  }
  return out;
}
