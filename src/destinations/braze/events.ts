import { ROW_OK, rowFailed, type DestinationLogger, type HttpRequest, type HttpResponse, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError } from '../destination-errors';
import { BRAZE_IDENTIFIERS, prepareUser, type BrazeAttributes } from './attributes';
import { BRAZE_MAX_OBJECTS } from './requests';
import { OK_MESSAGES, reasonOf, type BrazeObjectError } from './errors';
import { eventTime, isObject, objectField } from '../events/event-fields';

/**
 * The `events` action: one row is one event (the row's key is its message id), sent as a Braze event
 * object in `/users/track`. The row's `traits` become an attributes object for the same user in the
 * same request. Braze keeps every event it is sent (it has no event id to deduplicate on).
 */

/** Fields the events action reads itself; any other field is an event property. */
export const BRAZE_EVENT_FIELDS = new Set<string>(['event', 'timestamp', 'app_id', 'properties', 'traits', ...BRAZE_IDENTIFIERS]);

/** One event ready to send: its Braze event object, and the attributes object of its user when the row has traits. */
export interface PreparedEvent {
  index: number;
  /** the user's identifying part (`external_id`, `user_alias`, `braze_id`, `email` or `phone`), as a map key */
  user: string;
  event: BrazeAttributes;
  attributes?: BrazeAttributes;
}

export type PreparedEventResult = { ok: true; event: Omit<PreparedEvent, 'index'> } | { ok: false; error: string };




/** A property value Braze takes: dates as ISO 8601 (Braze reads them as times), big integers as numbers when exact. */
function propertyValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (Array.isArray(value)) return value.map(propertyValue);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, propertyValue(v)]));
  return value;
}

/**
 * The Braze event of one row: the user's identifier (as the users action picks it: external_id,
 * user_alias, braze_id, then email, then phone), `name` (the `event` field), `time` (ISO 8601,
 * required by Braze), `app_id` when mapped, and `properties` (the `properties` object and any other
 * field). With a `traits` object, an attributes object for the same user carries them (standard
 * fields normalized as in the users action; identifier keys in traits are ignored: map them at the
 * top level).
 */
export function prepareEvent(row: OutgoingRow): PreparedEventResult {
  const f = row.fields;
  const name = typeof f.event === 'string' ? f.event.trim() : typeof f.event === 'number' ? String(f.event) : '';
  if (name === '') return { ok: false, error: 'the row has no event name (map the event field)' };
  const identifiers = Object.fromEntries(BRAZE_IDENTIFIERS.filter((k) => f[k] !== undefined).map((k) => [k, f[k]]));
  const who = prepareUser({ ...row, fields: identifiers });
  if (!who.ok) return who;
  const time = eventTime(f.timestamp);
  if (time === undefined) return { ok: false, error: 'the row has no timestamp (Braze records each event at its time: map the timestamp field)' };
  if (time === null) return { ok: false, error: 'timestamp is not a date (ISO 8601 or epoch seconds)' };

  const properties: Record<string, unknown> = {};
  const mapped = objectField(f.properties);
  if (mapped === false) return { ok: false, error: 'properties must be an object' };
  for (const [key, value] of Object.entries(mapped ?? {})) if (value !== undefined) properties[key] = propertyValue(value);
  for (const [key, value] of Object.entries(f)) if (!BRAZE_EVENT_FIELDS.has(key) && value !== undefined) properties[key] = propertyValue(value);
  const reserved = Object.keys(properties).find((k) => k.startsWith('$') || k === '');
  if (reserved !== undefined) return { ok: false, error: `event property "${reserved}": Braze property names cannot be empty or start with $` };

  const { identity } = who.user;
  const event: BrazeAttributes = { ...identity, name, time: time.toISOString(), properties };
  const appId = typeof f.app_id === 'string' ? f.app_id.trim() : undefined;
  if (appId) event.app_id = appId;

  const traits = objectField(f.traits);
  if (traits === false) return { ok: false, error: 'traits must be an object' };
  let attributes: BrazeAttributes | undefined;
  if (traits && Object.keys(traits).length > 0) {
    const plain = Object.fromEntries(Object.entries(traits).filter(([k]) => !(BRAZE_IDENTIFIERS as readonly string[]).includes(k)));
    const p = prepareUser({ ...row, fields: { ...plain, ...identifiers } });
    if (!p.ok) return { ok: false, error: `traits: ${p.error}` };
    attributes = { ...p.user.attributes, _update_existing_only: false };
  }
  return { ok: true, event: { user: JSON.stringify(identity), event, ...(attributes ? { attributes } : {}) } };
}

/** One `/users/track` request of events (and their users' attributes objects), with the rows of its events in order. */
export interface EventRequest {
  /** the batch index of each event, in the order of `events` */
  rows: number[];
  events: BrazeAttributes[];
  attributes: BrazeAttributes[];
}

/**
 * Requests of at most 75 objects in all (Braze counts attributes, events and purchases together),
 * events in row order. A user's attributes object goes once per request (later traits of the same
 * user override earlier ones), before its events' request fills up.
 */
export function packEvents(items: PreparedEvent[], maxObjects = BRAZE_MAX_OBJECTS): EventRequest[] {
  const out: EventRequest[] = [];
  let current: EventRequest = { rows: [], events: [], attributes: [] };
  let users = new Map<string, BrazeAttributes>();
  for (const item of items) {
    const needed = 1 + (item.attributes && !users.has(item.user) ? 1 : 0);
    if (current.events.length > 0 && current.events.length + current.attributes.length + needed > maxObjects) {
      out.push(current);
      current = { rows: [], events: [], attributes: [] };
      users = new Map();
    }
    if (item.attributes) {
      const existing = users.get(item.user);
      if (existing) Object.assign(existing, item.attributes);
      else {
        const copy = { ...item.attributes };
        users.set(item.user, copy);
        current.attributes.push(copy);
      }
    }
    current.rows.push(item.index);
    current.events.push(item.event);
  }
  if (current.events.length > 0) out.push(current);
  return out;
}

/** `POST /users/track` with events (and attributes objects when the events carry traits). */
export const trackEventsRequest = (r: EventRequest): HttpRequest => ({
  method: 'POST',
  url: 'users/track',
  body: { ...(r.attributes.length > 0 ? { attributes: r.attributes } : {}), events: r.events },
});

const indexIn = (e: BrazeObjectError, count: number): number | undefined => {
  const n = typeof e.index === 'number' ? e.index : typeof e.index === 'string' && /^\d+$/.test(e.index) ? Number(e.index) : NaN;
  return Number.isInteger(n) && n >= 0 && n < count ? n : undefined;
};

/**
 * The result of each event of a successful `/users/track` answer. An error on `events[i]` fails that
 * row (Braze did not record the event). An error on an attributes object, or one that points at no
 * object, fails no row: Braze recorded the request's events, and sending them again would record
 * them twice (Braze has no event id). Those are logged (Braze's reason, no values). A request of
 * one event and no attributes is the exception: an error there can only be that event's.
 */
export function trackEventsResults(r: EventRequest, res: HttpResponse, logger: DestinationLogger): RowResult[] {
  const body = (res.data && typeof res.data === 'object' ? res.data : {}) as { message?: unknown; errors?: unknown };
  const message = typeof body.message === 'string' ? body.message : undefined;
  if (!message || !OK_MESSAGES.has(message)) throw new BatchRejectedError(`Braze answered ${res.status} to /users/track without success${message ? `: ${message}` : ''}`);
  const results: RowResult[] = r.events.map(() => ROW_OK);
  const reasons = new Map<number, string[]>();
  const notApplied: string[] = [];
  for (const raw of Array.isArray(body.errors) ? (body.errors as unknown[]) : []) {
    const e = (raw && typeof raw === 'object' ? raw : {}) as BrazeObjectError;
    const array = e.input_array ?? (r.attributes.length === 0 ? 'events' : undefined);
    const index = array === 'events' ? indexIn(e, r.events.length) : undefined;
    if (index !== undefined) reasons.set(index, [...(reasons.get(index) ?? []), reasonOf(raw)]);
    else if (r.events.length === 1 && r.attributes.length === 0) reasons.set(0, [...(reasons.get(0) ?? []), reasonOf(raw)]);
    else notApplied.push(`${typeof e.input_array === 'string' ? `${e.input_array}: ` : ''}${reasonOf(raw)}`);
  }
  for (const [index, said] of reasons) results[index] = rowFailed(`Braze rejected this event: ${[...new Set(said)].join('; ')}`);
  if (notApplied.length > 0) {
    logger.warn({ destination: 'braze', errors: [...new Set(notApplied)] }, 'Braze rejected user attributes (or an object it did not name) sent with events; the events were recorded');
  }
  return results;
}
