import { rowFailed, type HttpRequest, type OutgoingRow, type RowResult } from '../destination-definition';
import { asText, normalizeEmail, normalizePhoneE164 } from '../pii';

/** Users (or subscribers) per bulkUpdate, subscribe and unsubscribe call. */
export const ITERABLE_MAX_USERS = 1_000;
/** bulkUpdate: the request body is at most 4 MB (spec); the same cap is kept for the list calls. */
export const ITERABLE_MAX_BODY_BYTES = 4_000_000;

export type IterableIdentifier = 'email' | 'userId';

/** A user as bulkUpdate and lists/subscribe take it (the spec's OptionalApiUser). */
export interface IterableUser {
  email?: string;
  userId?: string;
  dataFields?: Record<string, unknown>;
  preferUserId?: boolean;
  mergeNestedObjects?: boolean;
}

/** One prepared row: the user to send, and every identifier value Iterable may name it by in a failure list. */
export interface PreparedUser {
  index: number;
  user: IterableUser;
  /** `email:<lowercased>` / `userId:<value>` */
  keys: string[];
}

export type Prepared<T> = { ok: true; value: T } | { ok: false; result: RowResult };

const pad = (n: number) => String(n).padStart(2, '0');
/** Iterable's date format for data fields: `yyyy-MM-dd HH:mm:ss ZZ`. */
export const iterableDate = (d: Date) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +00:00`;

function dataValue(value: unknown): unknown {
  if (value instanceof Date) return iterableDate(value);
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(dataValue);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dataValue(v)]));
  return value;
}

export const emailKey = (email: string) => `email:${email.toLowerCase()}`;
export const userIdKey = (userId: string) => `userId:${userId}`;

/**
 * The user of one row. Iterable takes one identifier per user (the spec: "an email or a userId, not
 * both"): `identifier`, or the other one when the row lacks it. The other identifier, when mapped,
 * goes into `dataFields`, where Iterable reads it as the profile's email or userId. `phoneNumber` is
 * sent in E.164; every other field and the keys of a `dataFields` object are data fields.
 * `withData: false` (removing from a list) sends the identifier only.
 */
export function userOf(row: OutgoingRow, index: number, o: { identifier: IterableIdentifier; withData: boolean }): Prepared<PreparedUser> {
  const rawEmail = asText(row.fields.email);
  const email = rawEmail === null ? undefined : normalizeEmail(rawEmail);
  if (email === null) return { ok: false, result: rowFailed('email is not an email address') };
  const userId = asText(row.fields.userId) ?? undefined;
  const primary: IterableIdentifier | undefined = o.identifier === 'userId' ? (userId !== undefined ? 'userId' : email !== undefined ? 'email' : undefined) : email !== undefined ? 'email' : userId !== undefined ? 'userId' : undefined;
  if (!primary) return { ok: false, result: rowFailed('the row has no email or userId') };
  const user: IterableUser = primary === 'email' ? { email } : { userId };
  const keys = [...(email !== undefined ? [emailKey(email)] : []), ...(userId !== undefined ? [userIdKey(userId)] : [])];
  if (!o.withData) return { ok: true, value: { index, user, keys } };

  const dataFields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row.fields)) {
    if (value === undefined || name === 'email' || name === 'userId') continue;
    if (name === 'dataFields' && value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      for (const [k, v] of Object.entries(value)) if (v !== undefined) dataFields[k] = dataValue(v);
    } else if (name === 'phoneNumber' && value !== null) {
      const text = asText(value);
      const phone = text === null ? null : normalizePhoneE164(text);
      if (phone === null) return { ok: false, result: rowFailed('phoneNumber must be E.164 (+ and country code)') };
      dataFields.phoneNumber = phone;
    } else dataFields[name] = dataValue(value);
  }
  if (primary === 'email' && userId !== undefined) dataFields.userId = userId;
  if (primary === 'userId' && email !== undefined) dataFields.email = email;
  if (Object.keys(dataFields).length > 0) user.dataFields = dataFields;
  // a userId-only user is created (with a placeholder email) in email-based projects only with preferUserId
  if (primary === 'userId') user.preferUserId = true;
  return { ok: true, value: { index, user, keys } };
}

/**
 * Groups of at most `maxCount` items whose JSON (`json(item)`) stays under `maxBytes` with the
 * request's envelope, in order: the users of bulkUpdate and list calls, the events of trackBulk.
 */
export function packByJson<T>(items: T[], json: (item: T) => unknown, maxCount: number, maxBytes = ITERABLE_MAX_BODY_BYTES, envelope = 200): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = envelope;
  for (const item of items) {
    const itemBytes = Buffer.byteLength(JSON.stringify(json(item)), 'utf8') + 1;
    if (current.length > 0 && (current.length >= maxCount || size + itemBytes > maxBytes)) {
      out.push(current);
      current = [];
      size = envelope;
    }
    current.push(item);
    size += itemBytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Groups of at most `maxCount` users whose JSON stays under `maxBytes` (`{"listId":…,"subscribers":[]}` or `{"users":[],…}` around them). */
export const packUsers = (items: PreparedUser[], maxCount = ITERABLE_MAX_USERS, maxBytes = ITERABLE_MAX_BODY_BYTES): PreparedUser[][] => packByJson(items, (i) => i.user, maxCount, maxBytes);

/** `POST /api/users/bulkUpdate`. */
export const bulkUpdateRequest = (users: IterableUser[], createNewFields: boolean | undefined): HttpRequest => ({
  method: 'POST',
  url: 'api/users/bulkUpdate',
  body: { users, ...(createNewFields === undefined ? {} : { createNewFields }) },
});

/** `POST /api/lists/subscribe` (users created or updated, then added) or `/api/lists/unsubscribe` (consent untouched: no channelUnsubscribe). */
export const listRequest = (change: 'subscribe' | 'unsubscribe', listId: number, subscribers: IterableUser[]): HttpRequest => ({
  method: 'POST',
  url: `api/lists/${change}`,
  body: { listId, subscribers },
});

/** `DELETE /api/users/{email}` or `DELETE /api/users/byUserId/{userId}` (asynchronous at Iterable). */
export const deleteRequest = (user: IterableUser): HttpRequest => ({
  method: 'DELETE',
  url: user.email !== undefined ? `api/users/${encodeURIComponent(user.email)}` : `api/users/byUserId/${encodeURIComponent(user.userId ?? '')}`,
});
