import { ROW_OK, rowFailed, type HttpRequest, type HttpResponse, type OutgoingRow, type RowResult } from '../destination-definition';
import { describeError, unexpectedAnswer, type KlaviyoError } from './errors';
import { jsonApi, KLAVIYO_IDENTIFIERS, profileOf, type ProfileAttributes } from './payload';
import { eventTime, isObject, objectField } from '../events/event-fields';

/**
 * The `events` action: one row is one event (the row's key is its message id), sent in a Bulk Create
 * Events job (`POST /api/event-bulk-create-jobs`) with `unique_id` = the message id, so Klaviyo keeps
 * one event per profile, metric and id.
 */

/** Bulk Create Events: "Accepts up to 1,000 events per request. The maximum allowed payload size is 5MB. A single string cannot exceed 100KB." */
export const KLAVIYO_MAX_EVENTS = 1_000;
export const KLAVIYO_MAX_EVENTS_BYTES = 5_000_000;
export const KLAVIYO_MAX_STRING_BYTES = 100_000;
/** Event properties "must not exceed 400 properties"; a metric name "must be less than 128 characters". */
export const KLAVIYO_MAX_EVENT_PROPERTIES = 400;
export const KLAVIYO_MAX_METRIC_NAME = 127;
/** "The time must be after the year 1990 and can only be up to 1 year in the future." */
const EARLIEST = Date.UTC(1990, 0, 1);
const YEAR_MS = 366 * 24 * 3600 * 1000;

/** The attributes of one event of a bulk create job (the spec's BaseEventCreateQueryBulkEntryResourceObject). */
export interface KlaviyoEvent {
  properties: Record<string, unknown>;
  time?: string;
  value?: number;
  value_currency?: string;
  unique_id: string;
  metric: { data: { type: 'metric'; attributes: { name: string } } };
}

/** One prepared row: its profile (identifiers and traits) and its event. */
export interface PreparedEvent {
  index: number;
  profile: ProfileAttributes;
  event: KlaviyoEvent;
}

/** Fields the events action reads itself; any other field is an event property. */
const EVENT_FIELDS = new Set<string>(['event', 'timestamp', 'value', 'value_currency', 'properties', 'traits', ...KLAVIYO_IDENTIFIERS]);




function propertyValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (Array.isArray(value)) return value.map(propertyValue);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, propertyValue(v)]));
  return value;
}

/** The longest string in a value, in bytes. */
function longestString(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (Array.isArray(value)) return value.reduce((m: number, v) => Math.max(m, longestString(v)), 0);
  if (isObject(value)) return Object.values(value).reduce((m: number, v) => Math.max(m, longestString(v)), 0);
  return 0;
}

const failed = (error: string) => ({ ok: false as const, result: rowFailed(error) });

/**
 * The profile and event of one row. The profile: the row's identifiers (email, phone_number,
 * external_id: one at least) and its `traits` (standard profile attributes, `location.*`, any other
 * trait a custom property), checked as in the profiles action; identifier keys inside traits are
 * ignored (map them at the top level). The event: the metric `name` (the `event` field), `time`
 * (ISO 8601), `value` and `value_currency` when mapped, `unique_id` (the message id) and
 * `properties` (the `properties` object and any other field).
 */
export function eventOf(row: OutgoingRow, index: number): { ok: true; value: PreparedEvent } | { ok: false; result: RowResult } {
  const f = row.fields;
  const name = typeof f.event === 'string' ? f.event.trim() : typeof f.event === 'number' ? String(f.event) : '';
  if (name === '') return failed('the row has no event name (map the event field)');
  if (name.length > KLAVIYO_MAX_METRIC_NAME) return failed(`the event name is ${name.length} characters; Klaviyo metric names are less than 128`);
  const traits = objectField(f.traits);
  if (traits === false) return failed('traits must be an object');
  const identifiers = Object.fromEntries(KLAVIYO_IDENTIFIERS.filter((k) => f[k] !== undefined).map((k) => [k, f[k]]));
  const plainTraits = Object.fromEntries(Object.entries(traits ?? {}).filter(([k]) => !(KLAVIYO_IDENTIFIERS as readonly string[]).includes(k)));
  const p = profileOf({ ...row, fields: { ...plainTraits, ...identifiers } });
  if (!p.ok) return p;

  const at = eventTime(f.timestamp);
  if (at === null) return failed('timestamp is not a date (ISO 8601 or epoch seconds)');
  if (at && (at.getTime() < EARLIEST || at.getTime() > Date.now() + YEAR_MS)) return failed('timestamp must be after 1990 and at most a year ahead (Klaviyo’s limits)');
  let value: number | undefined;
  if (f.value !== undefined && f.value !== null && f.value !== '') {
    value = typeof f.value === 'number' ? f.value : Number(f.value);
    if (!Number.isFinite(value)) return failed('value must be a number');
  }
  const currency = typeof f.value_currency === 'string' && f.value_currency.trim() !== '' ? f.value_currency.trim().toUpperCase() : undefined;
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) return failed('value_currency must be an ISO 4217 code (USD, EUR, …)');

  const properties: Record<string, unknown> = {};
  const mapped = objectField(f.properties);
  if (mapped === false) return failed('properties must be an object');
  for (const [k, v] of Object.entries(mapped ?? {})) if (v !== undefined) properties[k] = propertyValue(v);
  for (const [k, v] of Object.entries(f)) if (!EVENT_FIELDS.has(k) && v !== undefined) properties[k] = propertyValue(v);
  if (Object.keys(properties).length > KLAVIYO_MAX_EVENT_PROPERTIES) return failed(`the event has ${Object.keys(properties).length} properties; Klaviyo takes at most ${KLAVIYO_MAX_EVENT_PROPERTIES}`);

  const event: KlaviyoEvent = {
    properties,
    ...(at ? { time: at.toISOString() } : {}),
    ...(value !== undefined ? { value } : {}),
    ...(currency !== undefined ? { value_currency: currency } : {}),
    unique_id: row.key,
    metric: { data: { type: 'metric', attributes: { name } } },
  };
  const longest = Math.max(longestString(event), longestString(p.profile));
  if (longest > KLAVIYO_MAX_STRING_BYTES) return failed(`a value of the event is ${longest} bytes; Klaviyo takes strings of at most ${KLAVIYO_MAX_STRING_BYTES}`);
  return { ok: true, value: { index, profile: p.profile, event } };
}

/** One entry of a job: a profile and its events, with the batch index of each event. */
export interface JobEntry {
  profile: ProfileAttributes;
  events: KlaviyoEvent[];
  rows: number[];
}

/**
 * The events of a batch grouped into jobs of at most 1,000 events and 5 MB: one entry per profile
 * (the same identifiers and traits), its events in row order, entries in the order their first event
 * came.
 */
export function packJobs(items: PreparedEvent[], maxEvents = KLAVIYO_MAX_EVENTS, maxBytes = KLAVIYO_MAX_EVENTS_BYTES - 2_000): JobEntry[][] {
  const jobs: JobEntry[][] = [];
  let entries = new Map<string, JobEntry>();
  let count = 0;
  let bytes = 0;
  const flush = () => {
    if (entries.size > 0) jobs.push([...entries.values()]);
    entries = new Map();
    count = 0;
    bytes = 0;
  };
  for (const item of items) {
    const key = JSON.stringify(item.profile);
    const size = Buffer.byteLength(JSON.stringify(item.event), 'utf8') + 40 + (entries.has(key) ? 0 : Buffer.byteLength(key, 'utf8') + 160);
    if (count > 0 && (count >= maxEvents || bytes + size > maxBytes)) flush();
    let entry = entries.get(key);
    if (!entry) {
      entry = { profile: item.profile, events: [], rows: [] };
      entries.set(key, entry);
    }
    entry.events.push(item.event);
    entry.rows.push(item.index);
    count += 1;
    bytes += size;
  }
  flush();
  return jobs;
}

/** `POST /api/event-bulk-create-jobs`: one entry per profile with its events. */
export const eventJobRequest = (entries: JobEntry[]): HttpRequest =>
  jsonApi('POST', 'api/event-bulk-create-jobs', {
    data: {
      type: 'event-bulk-create-job',
      attributes: {
        'events-bulk-create': {
          data: entries.map((e) => ({
            type: 'event-bulk-create',
            attributes: {
              profile: { data: { type: 'profile', attributes: e.profile } },
              events: { data: e.events.map((attributes) => ({ type: 'event', attributes })) },
            },
          })),
        },
      },
    },
  });

/** `/data/attributes/events-bulk-create/data/<entry>[/attributes/events/data/<event>]…` */
const EVENT_POINTER = /^\/data\/attributes\/events-bulk-create\/data\/(\d+)(?:\/attributes\/(profile|events)(?:\/data\/(\d+))?)?(?:\/|$)/;

/**
 * The rows a rejected job's errors point at, with Klaviyo's reason: a pointer into an entry's
 * events names that event's row; a pointer into an entry's profile (or the entry itself) names the
 * rows of all its events. Undefined when an error points at no entry: nobody can tell which rows are
 * at fault.
 */
export function rejectedRows(entries: JobEntry[], res: HttpResponse): Map<number, string> | undefined {
  const errors = (res.data as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const reasons = new Map<number, string[]>();
  for (const e of errors as KlaviyoError[]) {
    const m = EVENT_POINTER.exec(e?.source?.pointer ?? '');
    const entry = m ? entries[Number(m[1])] : undefined;
    if (!m || !entry) return undefined;
    const eventIndex = m[2] === 'events' && m[3] !== undefined ? Number(m[3]) : undefined;
    if (eventIndex !== undefined && eventIndex >= entry.rows.length) return undefined;
    const rows = eventIndex !== undefined ? [entry.rows[eventIndex]] : entry.rows;
    for (const row of rows) reasons.set(row, [...(reasons.get(row) ?? []), describeError(e)]);
  }
  return new Map([...reasons].map(([row, said]) => [row, [...new Set(said)].join('; ')]));
}

/** At most this many attempts per job: each 400 that points at rows removes them and sends the rest again. */
const MAX_ATTEMPTS = 5;

/**
 * Sends one job. 202: Klaviyo validated and queued every event (the job is asynchronous, but the API
 * offers nothing to poll: processing errors after acceptance are not reported back). A 400 rejects
 * the whole job ("no events will be processed"): the rows its errors point at fail with Klaviyo's
 * reason and the others are sent again in a smaller job; an error pointing at no row, or any other
 * 4xx, rejects the batch (the engine bisects it; re-sent events keep their unique_id).
 */
export async function sendJob(entries: JobEntry[], send: (req: HttpRequest) => Promise<HttpResponse>, results: RowResult[]): Promise<void> {
  let pending = entries;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const res = await send(eventJobRequest(pending));
    if (res.status === 202 || res.status === 200 || res.status === 201 || res.status === 204) {
      for (const entry of pending) for (const row of entry.rows) results[row] = ROW_OK;
      return;
    }
    const bad = res.status === 400 && attempt < MAX_ATTEMPTS ? rejectedRows(pending, res) : undefined;
    if (!bad || bad.size === 0) throw unexpectedAnswer('creating events', res);
    for (const [row, said] of bad) results[row] = rowFailed(`Klaviyo rejected this event: ${said}`);
    pending = pending
      .map((entry) => {
        const keep = entry.rows.map((row, i) => [row, i] as const).filter(([row]) => !bad.has(row));
        return { profile: entry.profile, events: keep.map(([, i]) => entry.events[i]), rows: keep.map(([row]) => row) };
      })
      .filter((entry) => entry.rows.length > 0);
  }
}
