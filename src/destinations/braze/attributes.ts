import type { OutgoingRow } from '../destination-definition';
import { asText, normalizeEmail, normalizePhoneE164 } from '../pii';
import { isObject } from '../events/event-fields';

/**
 * A row as a Braze user attributes object (Braze's "User attributes object"): one identifier
 * (`external_id`, else `user_alias`, else `braze_id`; `email` and `phone` identify the user when
 * none of those is there), Braze's standard profile fields normalized, and custom attributes.
 */
export type BrazeAttributes = Record<string, unknown>;

export interface UserAlias {
  alias_name: string;
  alias_label: string;
}

/** How a user is found for a delete (`/users/delete` takes one kind per request). */
export type DeleteKey = { kind: 'external_ids'; value: string } | { kind: 'user_aliases'; value: UserAlias } | { kind: 'braze_ids'; value: string } | { kind: 'email_addresses'; value: string };

export interface PreparedUser {
  /** the identifying part: external_id / user_alias / braze_id, or email / phone */
  identity: BrazeAttributes;
  /** the mapped attributes (standard and custom), identity included */
  attributes: BrazeAttributes;
  /** how the user is deleted, when Braze can delete by this row's identifiers */
  deleteKey?: DeleteKey;
}

export type Prepared = { ok: true; user: PreparedUser } | { ok: false; error: string };

/** Braze's profile fields the adapter maps and checks; any other field is a custom attribute. */
export const BRAZE_IDENTIFIERS = ['external_id', 'user_alias', 'braze_id', 'email', 'phone'] as const;
export const BRAZE_STANDARD = ['first_name', 'last_name', 'country', 'home_city', 'language', 'gender', 'dob', 'time_zone', 'email_subscribe', 'push_subscribe', 'image_url'] as const;
/** Names a custom attribute (or the audience attribute) may not take: they are Braze's own. */
export const BRAZE_RESERVED = new Set<string>([...BRAZE_IDENTIFIERS, ...BRAZE_STANDARD, 'custom_attributes', '_update_existing_only', 'push_token_import', 'push_tokens', 'subscription_groups', 'current_location']);

const SUBSCRIPTION = new Set(['opted_in', 'subscribed', 'unsubscribed']);
const GENDER: Record<string, string> = { m: 'M', male: 'M', f: 'F', female: 'F', o: 'O', other: 'O', n: 'N', 'not applicable': 'N', p: 'P', 'prefer not to say': 'P' };
const failed = (error: string): Prepared => ({ ok: false, error });

/**
 * The attributes object of one row. Null clears a field at Braze (its documented way to remove an
 * attribute), so a value that became null in the warehouse is cleared there too; identifiers are
 * never sent as null. A bad email, phone, country, gender, birth date or subscription state fails the row.
 */
export function prepareUser(row: OutgoingRow): Prepared {
  const f = row.fields;
  const identity: BrazeAttributes = {};
  const attributes: BrazeAttributes = {};

  const externalId = asText(f.external_id) ?? undefined;
  const brazeId = asText(f.braze_id) ?? undefined;
  let alias: UserAlias | undefined;
  if (isObject(f.user_alias)) {
    const name = asText(f.user_alias.alias_name);
    const label = asText(f.user_alias.alias_label);
    if (name === null || label === null) return failed('user_alias needs alias_name and alias_label');
    alias = { alias_name: name, alias_label: label };
  } else if (f.user_alias !== undefined && f.user_alias !== null) return failed('user_alias must be an object with alias_name and alias_label (map user_alias.alias_name and user_alias.alias_label)');

  const email = contact(f.email, (v) => normalizeEmail(v));
  if (email === false) return failed('email is not an email address');
  const country = countryOf(f.country);
  if (country === false) return failed('country must be an ISO 3166-1 alpha-2 code (US, FR, …)');
  const phone = contact(f.phone, (v) => normalizePhoneE164(v, country ?? undefined));
  if (phone === false) return failed('phone is not a phone number (E.164, or national with country)');

  if (externalId !== undefined) identity.external_id = externalId;
  else if (alias) identity.user_alias = alias;
  else if (brazeId !== undefined) identity.braze_id = brazeId;
  else if (typeof email === 'string') identity.email = email;
  else if (typeof phone === 'string') identity.phone = phone;
  else return failed('the row has no external_id, user_alias, braze_id, email or phone');

  Object.assign(attributes, identity);
  if (email !== undefined) attributes.email = email;
  if (phone !== undefined) attributes.phone = phone;
  if (country !== undefined) attributes.country = country;

  for (const [key, value] of Object.entries(f)) {
    if (value === undefined || (BRAZE_IDENTIFIERS as readonly string[]).includes(key) || key === 'country') continue;
    if (key === 'custom_attributes' && isObject(value)) {
      for (const [name, v] of Object.entries(value)) if (v !== undefined) attributes[name] = customValue(v);
      continue;
    }
    const standard = standardValue(key, value);
    if (standard === false) return failed(STANDARD_ERRORS[key] ?? `${key} is not valid`);
    attributes[key] = standard === undefined ? customValue(value) : standard;
  }
  return { ok: true, user: { identity, attributes, deleteKey: deleteKeyOf(identity) } };
}

/** An email or phone: undefined when absent, null to clear it, the normalized value, or false when it does not normalize. */
function contact(value: unknown, normalize: (v: string) => string | null): string | null | undefined | false {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const text = asText(value);
  if (text === null) return null;
  return normalize(text) ?? false;
}

function countryOf(value: unknown): string | null | undefined | false {
  if (value === undefined) return undefined;
  const text = asText(value);
  if (text === null) return null;
  return /^[a-z]{2}$/i.test(text) ? text.toUpperCase() : false;
}

const STANDARD_ERRORS: Record<string, string> = {
  gender: 'gender must be M, F, O, N or P (male, female, other, not applicable, prefer not to say)',
  dob: 'dob must be a date (YYYY-MM-DD)',
  email_subscribe: 'email_subscribe must be opted_in, subscribed or unsubscribed',
  push_subscribe: 'push_subscribe must be opted_in, subscribed or unsubscribed',
};

/** A standard field's value: null, the normalized value, false when invalid; undefined when the key is not a standard field. */
function standardValue(key: string, value: unknown): unknown {
  if (!(BRAZE_STANDARD as readonly string[]).includes(key)) return undefined;
  if (value === null) return null;
  const text = value instanceof Date ? value.toISOString() : asText(value);
  if (text === null) return null;
  switch (key) {
    case 'gender':
      return GENDER[text.toLowerCase()] ?? false;
    case 'dob': {
      const m = /^(\d{4}-\d{2}-\d{2})([T ].*)?$/.exec(text);
      return m && !Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`)) ? m[1] : false;
    }
    case 'email_subscribe':
    case 'push_subscribe':
      return SUBSCRIPTION.has(text.toLowerCase()) ? text.toLowerCase() : false;
    default:
      return text;
  }
}

/** A custom attribute: dates as ISO 8601 (Braze reads them as times), big integers as numbers when exact. */
function customValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  return value;
}

function deleteKeyOf(identity: BrazeAttributes): DeleteKey | undefined {
  if (typeof identity.external_id === 'string') return { kind: 'external_ids', value: identity.external_id };
  if (identity.user_alias) return { kind: 'user_aliases', value: identity.user_alias as UserAlias };
  if (typeof identity.braze_id === 'string') return { kind: 'braze_ids', value: identity.braze_id };
  if (typeof identity.email === 'string') return { kind: 'email_addresses', value: identity.email };
  return undefined;
}
