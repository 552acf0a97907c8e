import { createHash } from 'node:crypto';
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js';

/**
 * Building blocks for the hashed identifiers ad platforms match on (Google Customer Match, Meta
 * Custom Audiences, LinkedIn DMP segments, TikTok audiences). Each vendor normalizes differently
 * (the gmail dot rule is Google's, the `+tag` strip is TikTok's, Meta wants phones without `+`), so
 * these are parts to compose per destination, not one shared hasher: see
 * ../shared/reference/destinations.md §0.2.
 */

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** SHA-256 of the UTF-8 bytes, lowercase hex (what every ad platform expects). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** 64 hex characters, any case: a value the warehouse already hashed, to pass through (lowercased). */
export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

export interface EmailRules {
  /**
   * Google's gmail rule (Data Manager API formatting guide): for `gmail.com` and `googlemail.com`
   * only, remove every `.` in the local part and drop a `+suffix`. Other domains are untouched.
   */
  gmailDots?: boolean;
  /** TikTok's rule (customer-file help): drop `+` and everything after it up to the `@`, on every domain. */
  stripPlusTag?: boolean;
}

const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

/**
 * Trim and lowercase (every vendor's base rule), then the optional vendor rules. `null` when the value
 * is not shaped like an email: whitespace inside, not exactly one `@`, empty local part, or a domain
 * without a dot.
 */
export function normalizeEmail(value: string, rules: EmailRules = {}): string | null {
  const email = value.trim().toLowerCase();
  if (/\s/.test(email)) return null;
  const parts = email.split('@');
  if (parts.length !== 2) return null;
  const domain = parts[1];
  let local = parts[0];
  const dot = domain.indexOf('.');
  if (dot <= 0 || domain.endsWith('.')) return null;
  if (rules.stripPlusTag || (rules.gmailDots && GMAIL_DOMAINS.has(domain))) {
    const plus = local.indexOf('+');
    if (plus >= 0) local = local.slice(0, plus);
  }
  if (rules.gmailDots && GMAIL_DOMAINS.has(domain)) local = local.replace(/\./g, '');
  if (local === '') return null;
  return `${local}@${domain}`;
}

/**
 * E.164 (`+` country code and number) via libphonenumber-js. A national number is read in
 * `defaultCountry` (ISO 3166-1 alpha-2, any case; an unknown code is ignored). `null` when the value
 * is not a phone number of a possible length for its country. Like the identity normalizer
 * (src/identity/normalize.ts), this checks *possible*, not *valid*: validity depends on the
 * metadata release, and a possible-but-unallocated number simply matches nobody.
 */
export function normalizePhoneE164(value: string, defaultCountry?: string): string | null {
  const country = defaultCountry?.trim().toUpperCase();
  // `(+44) 7700 900123`: a parenthesized country code means the same as `+44`
  const trimmed = value.trim().replace(/^\(\s*(\+\d{1,3})\s*\)/, '$1');
  if (trimmed === '') return null;
  const parsed = parsePhoneNumberFromString(trimmed, {
    defaultCountry: country !== undefined && isSupportedCountry(country) ? country : undefined,
    extract: false,
  });
  if (parsed === undefined || !parsed.isPossible()) return null;
  return parsed.number;
}

/**
 * The hash to send for one mapped value: `null` for null, undefined, empty or blank values and for
 * values `normalize` rejects; a value that already is a SHA-256 hex passes through lowercased (the
 * warehouse hashed it); otherwise `sha256Hex(normalize(value))`. Numbers are read as text (a zip
 * code typed as a number); other types are not identifiers and give `null`.
 */
export function hashed(value: unknown, normalize: (v: string) => string | null): string | null {
  const text = asText(value);
  if (text === null) return null;
  if (isSha256Hex(text)) return text.toLowerCase();
  const normalized = normalize(text);
  if (normalized === null || normalized === '') return null;
  return sha256Hex(normalized);
}

/** The value as trimmed text, or `null` when it is missing, blank or not a string/number. */
export function asText(value: unknown): string | null {
  if (typeof value === 'string') {
    const t = value.trim();
    return t === '' ? null : t;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return String(value);
  return null;
}
