import { rowFailed, type OutgoingRow, type RowResult } from '../destination-definition';
import { asText, normalizeEmail } from '../pii';

/**
 * The contact fields Intercom takes at the top level of `POST /contacts` and `PUT /contacts/{id}`
 * (create_contact_request / update_contact_request in the 2.14 spec). Any other mapped field is a
 * custom attribute, sent under `custom_attributes`.
 */
export const STANDARD_FIELDS = ['phone', 'name', 'avatar', 'signed_up_at', 'last_seen_at', 'owner_id', 'unsubscribed_from_emails'] as const;
type StandardField = (typeof STANDARD_FIELDS)[number];
const TIMESTAMPS = new Set<string>(['signed_up_at', 'last_seen_at']);

/** One row as Intercom will hold it: identifiers, standard attributes, custom attributes (raw values). */
export interface ContactInput {
  external_id?: string;
  email?: string;
  standard: Partial<Record<StandardField, unknown>>;
  custom: Record<string, unknown>;
}

export type Prepared<T> = { ok: true; value: T } | { ok: false; result: RowResult };

/**
 * The contact of one row: `email` trimmed, lowercased and checked, `external_id` as text, the
 * timestamps as Unix seconds, `owner_id` an integer, `unsubscribed_from_emails` a boolean. The keys
 * of a `custom_attributes` object and every other field go to the custom attributes. A row needs an
 * external_id or an email: Intercom identifies contacts by one of them.
 */
export function contactOf(row: OutgoingRow): Prepared<ContactInput> {
  const contact: ContactInput = { standard: {}, custom: {} };
  for (const [key, value] of Object.entries(row.fields)) {
    if (value === undefined) continue;
    if (key === 'custom_attributes' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) contact.custom[k] = v;
    } else if (key === 'external_id') {
      const id = asText(value);
      if (id !== null) contact.external_id = id;
    } else if (key === 'email') {
      const text = asText(value);
      if (text === null) continue;
      const email = normalizeEmail(text);
      if (email === null) return failed('email is not an email address');
      contact.email = email;
    } else if ((STANDARD_FIELDS as readonly string[]).includes(key)) {
      const v = standardValue(key as StandardField, value);
      if (!v.ok) return v;
      contact.standard[key as StandardField] = v.value;
    } else {
      contact.custom[key] = value;
    }
  }
  if (contact.external_id === undefined && contact.email === undefined) return failed('the row has no external_id or email');
  return { ok: true, value: contact };
}

function standardValue(key: StandardField, value: unknown): Prepared<unknown> {
  if (value === null) return { ok: true, value: null };
  if (TIMESTAMPS.has(key)) {
    const s = unixSeconds(value);
    return s === undefined ? failed(`${key} is not a date or timestamp`) : { ok: true, value: s };
  }
  if (key === 'owner_id') {
    const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    return typeof n === 'number' && Number.isInteger(n) ? { ok: true, value: n } : failed('owner_id must be the id of an Intercom admin (an integer)');
  }
  if (key === 'unsubscribed_from_emails') {
    const b = booleanOf(value);
    return b === undefined ? failed('unsubscribed_from_emails must be true or false') : { ok: true, value: b };
  }
  const text = asText(value);
  return text === null ? { ok: true, value: null } : { ok: true, value: text };
}

/**
 * Unix seconds from a Date, an ISO date/time text, or a number (seconds; a number above 10^11 is
 * read as milliseconds, which no second-count reaches before the year 5138).
 */
export function unixSeconds(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : Math.floor(value.getTime() / 1000);
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) return undefined;
    return Math.floor(n > 1e11 ? n / 1000 : n);
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return unixSeconds(Number(text));
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.floor(at / 1000);
}

export function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 1 || value === '1') return true;
  if (value === 'false' || value === 0 || value === '0') return false;
  return undefined;
}

/** Intercom's custom attribute types (data_attribute.data_type). */
export type AttributeType = 'string' | 'integer' | 'float' | 'boolean' | 'date' | 'datetime' | 'options';

/** The value to send for a custom attribute of `type`: dates as Unix seconds, the rest as given. */
export function customValue(name: string, value: unknown, type: AttributeType | undefined): Prepared<unknown> {
  if (value === null) return { ok: true, value: null };
  if (typeof value === 'bigint') return { ok: true, value: Number(value) };
  if (type === 'date' || type === 'datetime') {
    const s = unixSeconds(value);
    return s === undefined ? failed(`custom attribute ${name} is a date in Intercom: ${JSON.stringify(value)} is not a date or timestamp`) : { ok: true, value: s };
  }
  if (value instanceof Date) return { ok: true, value: Math.floor(value.getTime() / 1000) };
  if (typeof value === 'object') return failed(`custom attribute ${name}: Intercom takes text, numbers, booleans and dates, not ${Array.isArray(value) ? 'lists' : 'objects'}`);
  return { ok: true, value };
}

/** The type of a new custom attribute, from its first value. */
export function inferType(value: unknown): AttributeType {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float';
  if (typeof value === 'bigint') return 'integer';
  if (value instanceof Date || (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}.*)?$/.test(value.trim()))) return 'date';
  return 'string';
}

const failed = (error: string): { ok: false; result: RowResult } => ({ ok: false, result: rowFailed(error) });
