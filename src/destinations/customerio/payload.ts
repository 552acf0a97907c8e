import { rowFailed, type HttpRequest, type OutgoingRow, type RowResult } from '../destination-definition';
import { asText, normalizeEmail } from '../pii';
import type { EventOperation } from './events';

/** `POST /api/v2/batch`: the whole request must be smaller than 500 KB (Track API reference). */
export const CIO_MAX_BATCH_BYTES = 500_000;
/** ... and each operation in it 32 KB or smaller. */
export const CIO_MAX_OPERATION_BYTES = 32_000;
/** add_customers / remove_customers: at most 1,000 ids per request. */
export const CIO_MAX_SEGMENT_IDS = 1_000;
/** Person ids are at most 150 bytes (Track API limits). */
export const CIO_MAX_ID_BYTES = 150;

export const CIO_IDENTIFIERS = ['cio_id', 'id', 'email'] as const;
export type CioIdentifier = (typeof CIO_IDENTIFIERS)[number];

/** One v2 operation on a person: identify (add or update) or delete. */
export interface PersonOperation {
  type: 'person';
  identifiers: Partial<Record<CioIdentifier, string>>;
  action: 'identify' | 'delete';
  attributes?: Record<string, unknown>;
}

/** Any operation of a v2 batch this adapter sends. */
export type TrackOperation = PersonOperation | EventOperation;

export type Prepared<T> = { ok: true; value: T } | { ok: false; result: RowResult };

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The row's identifiers, checked: email trimmed and lowercased, `cio_` prefix dropped from cio_id, ids ≤ 150 bytes. */
export function identifiersOf(row: OutgoingRow): Prepared<Partial<Record<CioIdentifier, string>>> {
  const out: Partial<Record<CioIdentifier, string>> = {};
  for (const key of CIO_IDENTIFIERS) {
    const text = asText(row.fields[key]);
    if (text === null) continue;
    if (key === 'email') {
      const email = normalizeEmail(text);
      if (email === null) return { ok: false, result: rowFailed('email is not an email address') };
      out.email = email;
    } else if (key === 'cio_id') out.cio_id = text.replace(/^cio_/, '');
    else out.id = text;
    if (Buffer.byteLength(out[key] as string, 'utf8') > CIO_MAX_ID_BYTES) return { ok: false, result: rowFailed(`${key} is longer than ${CIO_MAX_ID_BYTES} bytes`) };
  }
  return { ok: true, value: out };
}

/**
 * Customer.io compares dates as Unix timestamps (seconds): dates become seconds, and so does
 * `created_at` given as ISO text or milliseconds. Nested objects and arrays are converted the same way.
 */
function attributeValue(key: string, value: unknown): unknown {
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (typeof value === 'bigint') return Number(value);
  if (key === 'created_at' && (typeof value === 'string' || typeof value === 'number') && String(value).trim() !== '') {
    const n = Number(value);
    if (Number.isFinite(n)) return n > 1e11 ? Math.floor(n / 1000) : n;
    const at = Date.parse(String(value));
    return Number.isNaN(at) ? value : Math.floor(at / 1000);
  }
  if (Array.isArray(value)) return value.map((v) => attributeValue('', v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, attributeValue('', v)]));
  return value;
}

/**
 * The v2 operation for one row. The person is named by one identifier (Customer.io takes exactly
 * one): `identifyBy`, or the first of cio_id, id, email the row has; the other identifiers, every
 * other field and the keys of an `attributes` object become attributes. `update` adds
 * `_update: true` (Customer.io then changes existing people only). A delete carries the identifier only.
 */
export function personOperation(row: OutgoingRow, action: 'identify' | 'delete', o: { identifyBy?: CioIdentifier; updateOnly?: boolean }): Prepared<PersonOperation> {
  const ids = identifiersOf(row);
  if (!ids.ok) return ids;
  const key = o.identifyBy && ids.value[o.identifyBy] !== undefined ? o.identifyBy : CIO_IDENTIFIERS.find((k) => ids.value[k] !== undefined);
  if (!key) return { ok: false, result: rowFailed(o.identifyBy ? `the row has no ${o.identifyBy} (nor another of cio_id, id, email)` : 'the row has no cio_id, id or email') };
  const op: PersonOperation = { type: 'person', identifiers: { [key]: ids.value[key] }, action };
  if (action === 'identify') {
    const attributes: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(row.fields)) {
      if (value === undefined || name === key) continue;
      if (name === 'attributes' && value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
        for (const [k, v] of Object.entries(value)) if (v !== undefined) attributes[k] = attributeValue(k, v);
      } else if ((CIO_IDENTIFIERS as readonly string[]).includes(name)) {
        const v = ids.value[name as CioIdentifier];
        if (v !== undefined) attributes[name] = v;
      } else attributes[name] = attributeValue(name, value);
    }
    if (o.updateOnly) attributes._update = true;
    if (Object.keys(attributes).length > 0) op.attributes = attributes;
  }
  const size = bytes(op);
  if (size > CIO_MAX_OPERATION_BYTES) return { ok: false, result: rowFailed(`the person's data is ${size} bytes; Customer.io takes at most ${CIO_MAX_OPERATION_BYTES} per operation`) };
  return { ok: true, value: op };
}

/** `POST /api/v2/batch`. */
export const batchRequest = (operations: TrackOperation[]): HttpRequest => ({ method: 'POST', url: 'api/v2/batch', body: { batch: operations } });

/** Splits operations into requests under 500 KB (`{"batch":[…]}` with commas), keeping their order. */
export function packBatches<T extends { operation: TrackOperation }>(items: T[], maxBytes = CIO_MAX_BATCH_BYTES): T[][] {
  const envelope = bytes({ batch: [] });
  const out: T[][] = [];
  let current: T[] = [];
  let size = envelope;
  for (const item of items) {
    const itemBytes = bytes(item.operation) + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && size + itemBytes > maxBytes) {
      out.push(current);
      current = [];
      size = envelope;
    }
    size += bytes(item.operation) + (current.length > 0 ? 1 : 0);
    current.push(item);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** `POST /api/v1/segments/{id}/add_customers` or `remove_customers` with `?id_type=`: up to 1,000 ids. */
export const segmentRequest = (segmentId: number, change: 'add' | 'remove', idType: CioIdentifier, ids: string[]): HttpRequest => ({
  method: 'POST',
  url: `api/v1/segments/${segmentId}/${change === 'add' ? 'add_customers' : 'remove_customers'}`,
  params: { id_type: idType },
  body: { ids },
});

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
