import { rowFailed, ROW_OK, type HttpRequest, type HttpResponse, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError } from '../destination-errors';
import { asText, normalizeEmail } from '../pii';
import { unexpectedAnswer } from './errors';
import { emailKey, iterableDate, ITERABLE_MAX_BODY_BYTES, packByJson, userIdKey, type IterableIdentifier, type Prepared } from './payload';
import { eventTime, isObject, objectField } from '../events/event-fields';

/**
 * The `events` action: one row is one event (the row's key is its message id), sent in
 * `POST /api/events/trackBulk` with `id` = the message id (Iterable updates the event it already has
 * with that id instead of adding one).
 */

/** trackBulk: events per call (the spec gives no count: the users calls' 1,000, and the 4 MB body cap). */
export const ITERABLE_MAX_EVENTS = 1_000;
/** trackBulk: "this ID cannot be longer than 512 bytes" (spec, TrackRequest.id). */
export const ITERABLE_MAX_EVENT_ID_BYTES = 512;

/** An event as trackBulk takes it (the spec's TrackRequest). */
export interface IterableEvent {
  email?: string;
  userId?: string;
  eventName: string;
  id: string;
  createdAt?: number;
  dataFields?: Record<string, unknown>;
  createNewFields?: boolean;
}

/** One prepared row: the event, and the identifier Iterable may name it by in a failure list. */
export interface PreparedEvent {
  index: number;
  event: IterableEvent;
  /** `email:<lowercased>` or `userId:<value>` (the identifier sent) */
  key: string;
}

/** Fields the events action reads itself; any other field is a data field of the event. */
const EVENT_FIELDS = new Set(['event', 'timestamp', 'email', 'userId', 'properties', 'traits']);




function dataValue(value: unknown): unknown {
  if (value instanceof Date) return iterableDate(value);
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(dataValue);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dataValue(v)]));
  return value;
}

/**
 * The trackBulk event of one row: one identifier (`identifier`, or the other when the row lacks it;
 * Iterable takes "an email or a userId, not both"), `eventName` (the `event` field), `id` (the
 * message id), `createdAt` (Unix seconds; Iterable uses the time it receives the event when there is
 * none), and `dataFields`: the `properties` object and any other field, with the row's `traits`
 * under `traits` (an event does not change the user's profile).
 */
export function eventOf(row: OutgoingRow, index: number, o: { identifier: IterableIdentifier; createNewFields?: boolean }): Prepared<PreparedEvent> {
  const f = row.fields;
  const eventName = typeof f.event === 'string' ? f.event.trim() : typeof f.event === 'number' ? String(f.event) : '';
  if (eventName === '') return { ok: false, result: rowFailed('the row has no event name (map the event field)') };
  const rawEmail = asText(f.email);
  const email = rawEmail === null ? undefined : normalizeEmail(rawEmail);
  if (email === null) return { ok: false, result: rowFailed('email is not an email address') };
  const userId = asText(f.userId) ?? undefined;
  const primary: IterableIdentifier | undefined =
    o.identifier === 'userId' ? (userId !== undefined ? 'userId' : email !== undefined ? 'email' : undefined) : email !== undefined ? 'email' : userId !== undefined ? 'userId' : undefined;
  if (!primary) return { ok: false, result: rowFailed('the row has no email or userId') };
  if (Buffer.byteLength(row.key, 'utf8') > ITERABLE_MAX_EVENT_ID_BYTES) return { ok: false, result: rowFailed(`the message id is longer than ${ITERABLE_MAX_EVENT_ID_BYTES} bytes (Iterable's limit for an event id)`) };
  const at = eventTime(f.timestamp);
  if (at === null) return { ok: false, result: rowFailed('timestamp is not a date (ISO 8601 or epoch seconds)') };

  const dataFields: Record<string, unknown> = {};
  const properties = objectField(f.properties);
  if (properties === false) return { ok: false, result: rowFailed('properties must be an object') };
  for (const [k, v] of Object.entries(properties ?? {})) if (v !== undefined) dataFields[k] = dataValue(v);
  for (const [k, v] of Object.entries(f)) if (!EVENT_FIELDS.has(k) && v !== undefined) dataFields[k] = dataValue(v);
  const traits = objectField(f.traits);
  if (traits === false) return { ok: false, result: rowFailed('traits must be an object') };
  if (traits && Object.keys(traits).length > 0) dataFields.traits = dataValue(traits);

  const event: IterableEvent = { ...(primary === 'email' ? { email } : { userId }), eventName, id: row.key };
  if (at) event.createdAt = Math.floor(at.getTime() / 1000);
  if (Object.keys(dataFields).length > 0) event.dataFields = dataFields;
  if (o.createNewFields !== undefined) event.createNewFields = o.createNewFields;
  return { ok: true, value: { index, event, key: primary === 'email' ? emailKey(email as string) : userIdKey(userId as string) } };
}

/** Groups of at most 1,000 events whose JSON stays under 4 MB (`{"events":[]}` around them), in order. */
export const packEvents = (items: PreparedEvent[], maxCount = ITERABLE_MAX_EVENTS, maxBytes = ITERABLE_MAX_BODY_BYTES): PreparedEvent[][] => packByJson(items, (i) => i.event, maxCount, maxBytes, 20);

/** `POST /api/events/trackBulk`. */
export const trackBulkRequest = (events: IterableEvent[]): HttpRequest => ({ method: 'POST', url: 'api/events/trackBulk', body: { events } });

/** The spec's BulkTrackResponse. */
export interface TrackBulkAnswer {
  successCount?: unknown;
  failCount?: unknown;
  failedUpdates?: Record<string, unknown>;
  disallowedEventNames?: unknown;
  invalidEmails?: unknown;
  invalidUserIds?: unknown;
  filteredOutFields?: unknown;
}

/** What each failure list of trackBulk's `failedUpdates` (FailedEventUpdates) means for an event. */
const EVENT_FAILURES: Record<string, string> = {
  invalidEmails: 'invalid email',
  invalidUserIds: 'invalid userId',
  notFoundEmails: 'no user with this email',
  notFoundUserIds: 'no user with this userId',
  forgottenEmails: 'the user was forgotten (GDPR)',
  forgottenUserIds: 'the user was forgotten (GDPR)',
};

/**
 * Row results for a trackBulk answer (200 `{successCount, failCount, failedUpdates, disallowedEventNames}`):
 * an event whose user (the email or userId sent) is named in a failure list fails with that list's
 * meaning; an event whose name is in `disallowedEventNames` fails too. If Iterable counts more
 * failures than that accounts for, nobody can tell which events failed: the batch is rejected
 * whole (the engine bisects it; re-sent events carry the same ids, which Iterable updates in place).
 */
export function trackBulkResults(events: PreparedEvent[], res: HttpResponse<TrackBulkAnswer>): RowResult[] {
  const data = res.data;
  if (res.status !== 200 || !data || typeof data !== 'object' || typeof data.failCount !== 'number') throw unexpectedAnswer('tracking events', res);
  const reasons = new Map<string, string[]>();
  const lists: [string, unknown][] = [...Object.entries(data.failedUpdates ?? {}), ['invalidEmails', data.invalidEmails], ['invalidUserIds', data.invalidUserIds]];
  for (const [list, values] of lists) {
    const reason = EVENT_FAILURES[list];
    if (!reason || !Array.isArray(values)) continue;
    for (const v of values) {
      if (typeof v !== 'string') continue;
      const key = list.endsWith('Emails') ? emailKey(v) : userIdKey(v);
      reasons.set(key, [...new Set([...(reasons.get(key) ?? []), reason])]);
    }
  }
  const disallowed = new Set(Array.isArray(data.disallowedEventNames) ? data.disallowedEventNames.filter((n): n is string => typeof n === 'string') : []);
  let failed = 0;
  const results = events.map((e): RowResult => {
    const said = [...(reasons.get(e.key) ?? []), ...(disallowed.has(e.event.eventName) ? ['the event name is not allowed in this project'] : [])];
    if (said.length === 0) return ROW_OK;
    failed += 1;
    return rowFailed(`Iterable rejected this event: ${said.join('; ')}`);
  });
  if (data.failCount > failed) throw new BatchRejectedError(`Iterable reported ${data.failCount} failures for tracking events but named only ${failed} of the events`);
  return results;
}
