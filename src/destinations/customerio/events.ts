import { createHash } from 'node:crypto';
import { rowFailed, type OutgoingRow } from '../destination-definition';
import { CIO_IDENTIFIERS, CIO_MAX_OPERATION_BYTES, identifiersOf, type CioIdentifier, type Prepared } from './payload';
import { eventTime, isObject, objectField } from '../events/event-fields';

/**
 * The `events` action: one row is one event (the row's key is its message id), sent as a v2 batch
 * `event` operation on the person. Customer.io drops an event whose `id` it has already received.
 */

/** One v2 `event` operation: `{type: "person", identifiers, action: "event", name, id, timestamp, attributes}`. */
export interface EventOperation {
  type: 'person';
  identifiers: Partial<Record<CioIdentifier, string>>;
  action: 'event';
  name: string;
  /** a ULID: Customer.io deduplicates events on it */
  id: string;
  /** Unix seconds */
  timestamp?: number;
  attributes?: Record<string, unknown>;
}

/** Fields the events action reads itself; any other field is event data. */
const EVENT_FIELDS = new Set<string>(['event', 'timestamp', 'properties', 'traits', ...CIO_IDENTIFIERS]);




/** Event data as Customer.io compares it: dates as Unix seconds (like the people action), big integers as numbers. */
function dataValue(value: unknown): unknown {
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(dataValue);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dataValue(v)]));
  return value;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

/**
 * The event's `id`: Customer.io deduplicates on it and takes a ULID. A message id that is a ULID is
 * sent as it is (uppercased); any other is turned into one deterministically: the event's time in
 * milliseconds (48 bits; 0 without a time) and the first 80 bits of the SHA-256 of the message id,
 * so the same message always gets the same id and a re-sent event is dropped.
 */
export function eventId(messageId: string, at: Date | undefined): string {
  if (ULID.test(messageId)) return messageId.toUpperCase();
  const time = BigInt(Math.min(Math.max(at ? at.getTime() : 0, 0), 2 ** 48 - 1));
  const random = BigInt(`0x${createHash('sha256').update(messageId, 'utf8').digest('hex').slice(0, 20)}`);
  let n = (time << 80n) | random;
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/**
 * The v2 `event` operation of one row: the person named by one identifier (`identifyBy`, or the
 * first of cio_id, id, email the row has), `name` (the `event` field), `id` (from the message id),
 * `timestamp` (Unix seconds; Customer.io uses the time it receives the event when there is none),
 * and `attributes`: the `properties` object and any other field, with the row's `traits` under
 * `traits` (event data: a v2 event does not change the person's attributes).
 */
export function eventOperation(row: OutgoingRow, o: { identifyBy?: CioIdentifier }): Prepared<EventOperation> {
  const f = row.fields;
  const name = typeof f.event === 'string' ? f.event.trim() : typeof f.event === 'number' ? String(f.event) : '';
  if (name === '') return { ok: false, result: rowFailed('the row has no event name (map the event field)') };
  const ids = identifiersOf(row);
  if (!ids.ok) return ids;
  const key = o.identifyBy && ids.value[o.identifyBy] !== undefined ? o.identifyBy : CIO_IDENTIFIERS.find((k) => ids.value[k] !== undefined);
  if (!key) return { ok: false, result: rowFailed('the row has no cio_id, id or email') };
  const at = eventTime(f.timestamp);
  if (at === null) return { ok: false, result: rowFailed('timestamp is not a date (ISO 8601 or epoch seconds)') };

  const attributes: Record<string, unknown> = {};
  const properties = objectField(f.properties);
  if (properties === false) return { ok: false, result: rowFailed('properties must be an object') };
  for (const [k, v] of Object.entries(properties ?? {})) if (v !== undefined) attributes[k] = dataValue(v);
  for (const [k, v] of Object.entries(f)) if (!EVENT_FIELDS.has(k) && v !== undefined) attributes[k] = dataValue(v);
  const traits = objectField(f.traits);
  if (traits === false) return { ok: false, result: rowFailed('traits must be an object') };
  if (traits && Object.keys(traits).length > 0) attributes.traits = dataValue(traits);

  const op: EventOperation = { type: 'person', identifiers: { [key]: ids.value[key] }, action: 'event', name, id: eventId(row.key, at) };
  if (at) op.timestamp = Math.floor(at.getTime() / 1000);
  if (Object.keys(attributes).length > 0) op.attributes = attributes;
  const size = Buffer.byteLength(JSON.stringify(op), 'utf8');
  if (size > CIO_MAX_OPERATION_BYTES) return { ok: false, result: rowFailed(`the event is ${size} bytes; Customer.io takes at most ${CIO_MAX_OPERATION_BYTES} per operation`) };
  return { ok: true, value: op };
}
