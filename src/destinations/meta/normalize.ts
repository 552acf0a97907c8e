import { asText, hashed, normalizeEmail, normalizePhoneE164 } from '../pii';

/**
 * Meta's customer-file normalization, one function per multi-key schema key (Marketing API,
 * "Custom Audiences from CRM data: hashing and normalization"; ../shared/reference/destinations.md
 * §1.2). Each takes the mapped text and returns the normalized value to hash, or `null` when the
 * value cannot be one (it is then left out of the row, not sent half-cleaned).
 */

/** The multi-key schema keys this adapter sends, in the order they appear in `schema`. */
export const META_SCHEMA_KEYS = ['EMAIL', 'PHONE', 'FN', 'LN', 'FI', 'CT', 'ST', 'ZIP', 'COUNTRY', 'DOBY', 'DOBM', 'DOBD', 'GEN', 'MADID', 'EXTERN_ID'] as const;
export type MetaSchemaKey = (typeof META_SCHEMA_KEYS)[number];

/** Keys that identify a person on their own; a row needs one of these (or FN with LN) to be sent. */
const MATCH_KEYS: readonly MetaSchemaKey[] = ['EMAIL', 'PHONE', 'MADID', 'EXTERN_ID'];

/** Letters (any script, UTF-8) and combining marks only: Meta's "lowercase, no punctuation, no spaces". */
const lettersOnly = (v: string): string | null => {
  const out = v.toLowerCase().normalize('NFC').replace(/[^\p{L}\p{M}]/gu, '');
  return out === '' ? null : out;
};

/** EMAIL: trim, lowercase (no gmail or `+tag` rule: those are Google's and TikTok's). */
export const metaEmail = (v: string): string | null => normalizeEmail(v);

/**
 * PHONE: digits only, with the country code, no `+`, symbols or leading zeros. A national number is
 * read in `defaultCountry` (the row's country, else the sync's `phone_country`).
 */
export const metaPhone = (v: string, defaultCountry?: string): string | null => normalizePhoneE164(v, defaultCountry)?.slice(1) ?? null;

/** FN, LN: lowercase, no punctuation or spaces; letters of any script kept (UTF-8). */
export const metaName = lettersOnly;

/** FI: the first letter of the normalized first name. */
export const metaFirstInitial = (v: string): string | null => [...(lettersOnly(v) ?? '')][0] ?? null;

/** CT: lowercase, letters only, no spaces (`Menlo Park` → `menlopark`). */
export const metaCity = lettersOnly;

/** ST: the 2-letter code lowercased (`CA` → `ca`); outside the US, lowercase without punctuation or spaces. */
export const metaState = (v: string): string | null => {
  const out = v.toLowerCase().replace(/[^\p{L}\p{M}\p{N}]/gu, '');
  return out === '' ? null : out;
};

/**
 * ZIP: lowercase, no spaces or dashes; US codes keep the first 5 digits (`94025-1234` → `94025`).
 * A code is read as US when the row's country is `us`, or when there is no country and it has the
 * ZIP+4 shape (5 digits, a dash, space or nothing, 4 digits).
 */
export const metaZip = (v: string, country?: string | null): string | null => {
  const compact = v.toLowerCase().replace(/[\s-]/g, '');
  if (compact === '') return null;
  const us = country === 'us' || (!country && /^\d{5}[\s-]?\d{4}$/.test(v.trim()));
  if (us) return /^\d{5}/.test(compact) ? compact.slice(0, 5) : null;
  return compact;
};

/** COUNTRY: ISO 3166-1 alpha-2, lowercase (`US` → `us`); anything else is not a country code. */
export const metaCountry = (v: string): string | null => {
  const c = v.trim().toLowerCase();
  return /^[a-z]{2}$/.test(c) ? c : null;
};

/** GEN: `m` or `f` (`Male`, `F`, `female` accepted). */
export const metaGender = (v: string): string | null => {
  const g = v.trim().toLowerCase();
  if (g === 'm' || g === 'male') return 'm';
  if (g === 'f' || g === 'female') return 'f';
  return null;
};

/** DOBY `YYYY`, DOBM `MM`, DOBD `DD` from a date (`1990-07-04`, an ISO timestamp or a Date). */
export function metaDateOfBirth(value: unknown): { DOBY: string; DOBM: string; DOBD: string } | null {
  const text = value instanceof Date ? (Number.isNaN(value.getTime()) ? null : value.toISOString()) : asText(value);
  if (text === null) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m) return null;
  const [, y, mo, d] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31) return null;
  return { DOBY: y, DOBM: mo, DOBD: d };
}

/** MADID (mobile advertiser id, IDFA/AAID): **not hashed**; lowercase, hyphens kept. */
export const metaMobileAdvertiserId = (v: string): string | null => {
  const id = v.trim().toLowerCase();
  return id === '' ? null : id;
};

/** The mapped fields an action reads, and the schema key each one fills. */
export const META_FIELD_KEYS: Record<string, string> = {
  email: 'EMAIL',
  phone: 'PHONE',
  first_name: 'FN',
  last_name: 'LN',
  first_initial: 'FI',
  city: 'CT',
  state: 'ST',
  zip: 'ZIP',
  country: 'COUNTRY',
  date_of_birth: 'DOBY, DOBM, DOBD',
  gender: 'GEN',
  mobile_advertiser_id: 'MADID',
  external_id: 'EXTERN_ID',
};

/**
 * One row's values by schema key: hashed (SHA-256 hex) except MADID and EXTERN_ID, which Meta
 * takes as they are. A value that is already a SHA-256 hex passes through lowercased. Keys whose
 * value is missing or does not normalize are absent.
 */
export function metaRowValues(fields: Record<string, unknown>, phoneCountry?: string): Partial<Record<MetaSchemaKey, string>> {
  const out: Partial<Record<MetaSchemaKey, string>> = {};
  const set = (key: MetaSchemaKey, v: string | null) => {
    if (v !== null) out[key] = v;
  };
  const countryText = asText(fields.country);
  const country = countryText === null ? null : metaCountry(countryText);
  set('EMAIL', hashed(fields.email, metaEmail));
  set('PHONE', hashed(fields.phone, (v) => metaPhone(v, country ?? phoneCountry)));
  set('FN', hashed(fields.first_name, metaName));
  set('LN', hashed(fields.last_name, metaName));
  set('FI', hashed(fields.first_initial, metaFirstInitial));
  set('CT', hashed(fields.city, metaCity));
  set('ST', hashed(fields.state, metaState));
  set('ZIP', hashed(fields.zip, (v) => metaZip(v, country)));
  set('COUNTRY', hashed(fields.country, metaCountry));
  const dob = metaDateOfBirth(fields.date_of_birth);
  if (dob) for (const k of ['DOBY', 'DOBM', 'DOBD'] as const) set(k, hashed(dob[k], (v) => v));
  set('GEN', hashed(fields.gender, metaGender));
  const madid = asText(fields.mobile_advertiser_id);
  set('MADID', madid === null ? null : metaMobileAdvertiserId(madid));
  set('EXTERN_ID', asText(fields.external_id));
  return out;
}

/** Whether a row's values can match anyone: an email, phone, mobile id or external id, or first and last name. */
export function hasMatchKey(values: Partial<Record<MetaSchemaKey, string>>): boolean {
  return MATCH_KEYS.some((k) => values[k] !== undefined) || (values.FN !== undefined && values.LN !== undefined);
}
