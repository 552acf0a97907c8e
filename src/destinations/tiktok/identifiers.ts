import { asText, hashed, normalizeEmail, normalizePhoneE164 } from '../pii';

/**
 * TikTok's id types, in the column order of the customer files we upload (calculate_type
 * MULTIPLE_TYPES: the first line names the columns).
 * - EMAIL_SHA256: trim, lowercase, `+tag` removed on every domain (TikTok customer-file help), SHA-256 hex.
 * - PHONE_SHA256: E.164 (`+`, country code, digits), SHA-256 hex.
 * - IDFA_SHA256 / GAID_SHA256: the mobile advertising id trimmed and lowercased (TikTok asks for one
 *   consistent case), SHA-256 hex.
 * A value that already is a SHA-256 hex passes through (lowercased).
 */
export const ID_TYPES = ['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'GAID_SHA256'] as const;
export type IdType = (typeof ID_TYPES)[number];
export type TikTokIds = Partial<Record<IdType, string>>;

export const normalizeTikTokEmail = (value: string): string | null => normalizeEmail(value, { stripPlusTag: true });
const normalizeMaid = (value: string): string | null => (/^[0-9a-zA-Z-]{8,64}$/.test(value.trim()) ? value.trim().toLowerCase() : null);

const FIELDS: { field: string; type: IdType; normalize: (v: string, country?: string) => string | null; invalid: string }[] = [
  { field: 'email', type: 'EMAIL_SHA256', normalize: normalizeTikTokEmail, invalid: 'email is not an email address' },
  { field: 'phone', type: 'PHONE_SHA256', normalize: normalizePhoneE164, invalid: 'phone is not a phone number (E.164, or national with country_code)' },
  { field: 'idfa', type: 'IDFA_SHA256', normalize: normalizeMaid, invalid: 'idfa is not a mobile advertising id' },
  { field: 'gaid', type: 'GAID_SHA256', normalize: normalizeMaid, invalid: 'gaid is not a mobile advertising id' },
];

/** The hashed ids of one row (`email`, `phone`, `idfa`, `gaid`; `country_code` reads national phones), or why it cannot be sent. */
export function prepareIds(fields: Record<string, unknown>, defaultCountry?: string): { ok: true; ids: TikTokIds } | { ok: false; error: string } {
  const ids: TikTokIds = {};
  const problems: string[] = [];
  const country = asText(fields.country_code) ?? defaultCountry;
  for (const f of FIELDS) {
    const hash = hashed(fields[f.field], (v) => f.normalize(v, country));
    if (hash) ids[f.type] = hash;
    else if (asText(fields[f.field]) !== null) problems.push(f.invalid);
  }
  if (Object.keys(ids).length === 0) return { ok: false, error: problems.length ? problems.join('; ') : 'no identifier: map email, phone, idfa or gaid' };
  return { ok: true, ids };
}
