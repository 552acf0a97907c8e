import type { HttpClient, OutgoingRow } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { normalizeEmail } from '../pii';
import { asConfiguration, unexpectedAnswer } from './errors';

/** The identifiers a contact may carry; rows are matched (and looked up for removal) by `email`. */
export const SENDGRID_IDENTIFIERS = ['email', 'phone_number_id', 'external_id', 'anonymous_id'] as const;

/**
 * Reserved fields, set on the contact directly (not through custom_fields): the writable ones of
 * `GET /v3/marketing/field_definitions`'s `reserved_fields` (the read-only ones, such as
 * created_at or last_emailed, are SendGrid's own).
 */
export const SENDGRID_RESERVED_FIELDS = [
  ...SENDGRID_IDENTIFIERS,
  'first_name',
  'last_name',
  'alternate_emails',
  'address_line_1',
  'address_line_2',
  'city',
  'state_province_region',
  'postal_code',
  'country',
  'phone_number',
  'whatsapp',
  'line',
  'facebook',
  'unique_name',
] as const;
const RESERVED: ReadonlySet<string> = new Set(SENDGRID_RESERVED_FIELDS);

export type CustomFieldType = 'Text' | 'Number' | 'Date';
export interface CustomField {
  id: string;
  name: string;
  type: CustomFieldType;
}
/** The account's custom fields by lower-cased name (SendGrid names are unique case-insensitively). */
export type CustomFields = Record<string, CustomField>;

/** One contact of `PUT /v3/marketing/contacts`. */
export interface Contact {
  email: string;
  [field: string]: unknown;
  custom_fields?: Record<string, string | number>;
}

/** `GET /v3/marketing/field_definitions`: the custom fields, by lower-cased name. */
export async function readCustomFields(http: HttpClient): Promise<CustomFields> {
  const res = await http.request<{ custom_fields?: { id?: unknown; name?: unknown; field_type?: unknown }[] }>({ method: 'GET', url: 'v3/marketing/field_definitions' });
  if (res.status !== 200 || !Array.isArray(res.data?.custom_fields)) throw asConfiguration(unexpectedAnswer('reading the custom field definitions', res));
  const fields: CustomFields = {};
  for (const f of res.data.custom_fields) {
    if (typeof f.id !== 'string' || typeof f.name !== 'string') continue;
    const type = f.field_type === 'Number' || f.field_type === 'Date' ? f.field_type : 'Text';
    fields[f.name.toLowerCase()] = { id: f.id, name: f.name, type };
  }
  return fields;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : undefined);

/** A custom field's value as SendGrid takes it: numbers for Number fields, ISO-8601 for dates, text otherwise. */
function customValue(field: CustomField, value: unknown): { ok: true; value: string | number } | { ok: false; error: string } {
  if (field.type === 'Number') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, error: `custom field ${field.name} is a Number field (got ${JSON.stringify(value)})` };
  }
  if (field.type === 'Date') {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? { ok: false, error: `custom field ${field.name} is not a valid date` } : { ok: true, value: value.toISOString() };
    const t = text(value);
    return t !== undefined && !Number.isNaN(Date.parse(t)) ? { ok: true, value: t } : { ok: false, error: `custom field ${field.name} is a Date field (got ${JSON.stringify(value)})` };
  }
  const t = text(value);
  return t !== undefined ? { ok: true, value: t } : { ok: false, error: `custom field ${field.name} takes text (got ${typeof value})` };
}

/** The custom field of a mapping field: by name (any case), or by id; ConfigurationError when SendGrid has none. */
function customField(name: string, fields: CustomFields): CustomField {
  const found = fields[name.toLowerCase()] ?? Object.values(fields).find((f) => f.id === name);
  if (found) return found;
  const known = Object.values(fields).map((f) => f.name);
  throw new ConfigurationError(
    `SendGrid has no custom field named "${name}" (${known.length > 0 ? `custom fields: ${known.sort().join(', ')}` : 'the account has no custom fields'}): create it under Marketing > Custom Fields, or rename the mapping field`,
  );
}

/**
 * The contact of one row: `email` checked and lowercased (a row needs one), the other reserved
 * fields as they are (`alternate_emails` a list of emails), and every other field (or key of a
 * `custom_fields` object) to `custom_fields` by the id of the custom field with that name. Null
 * values are left out: SendGrid keeps what it has.
 */
export function contactOf(row: OutgoingRow, fields: CustomFields): { ok: true; contact: Contact } | { ok: false; error: string } {
  const contact: Record<string, unknown> = {};
  const custom: Record<string, string | number> = {};
  const setCustom = (name: string, value: unknown): string | undefined => {
    if (value === null || value === undefined) return undefined;
    const field = customField(name, fields);
    const v = customValue(field, value);
    if (!v.ok) return v.error;
    custom[field.id] = v.value;
    return undefined;
  };
  for (const [key, value] of Object.entries(row.fields)) {
    if (value === null || value === undefined) continue;
    let error: string | undefined;
    if (key === 'email') {
      const email = typeof value === 'string' ? normalizeEmail(value) : null;
      if (email === null) return { ok: false, error: 'email is not an email address' };
      contact.email = email;
    } else if (key === 'alternate_emails') {
      const list = (Array.isArray(value) ? value : [value]).map((v) => (typeof v === 'string' ? normalizeEmail(v) : null));
      if (list.some((v) => v === null)) return { ok: false, error: 'alternate_emails must be email addresses' };
      if (list.length > 5) return { ok: false, error: 'alternate_emails takes at most 5 addresses' };
      contact.alternate_emails = list;
    } else if (RESERVED.has(key)) {
      const t = text(value);
      if (t === undefined) return { ok: false, error: `${key} must be text` };
      contact[key] = t;
    } else if (key === 'custom_fields' && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) error ??= setCustom(name, v);
    } else {
      error = setCustom(key, value);
    }
    if (error) return { ok: false, error };
  }
  if (typeof contact.email !== 'string') return { ok: false, error: 'the row has no email' };
  if (Object.keys(custom).length > 0) contact.custom_fields = custom;
  return { ok: true, contact: contact as Contact };
}
