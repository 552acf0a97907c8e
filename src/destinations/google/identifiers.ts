import { asText, hashed, normalizeEmail, normalizePhoneE164 } from '../pii';

/**
 * Customer Match identifiers of one row, normalized and hashed per Google's rules (README.md):
 * - email: every whitespace removed (Data Manager formatting guide: "leading, trailing and
 *   intermediate"), lowercase, and for gmail.com/googlemail.com the dots and `+suffix` of the local
 *   part dropped; then SHA-256 hex.
 * - phone: E.164 (`+` and digits), read in the row's `country_code` (or the sync's `default_country`)
 *   when it has no `+`; then SHA-256 hex.
 * - address: first and last name lowercase, punctuation removed, trimmed, SHA-256 hex; country code
 *   (ISO 3166-1 alpha-2, upper case) and postal code sent as they are, never hashed. Google matches
 *   the four together, so the address is sent only when all four are present.
 * A value that already is a SHA-256 hex passes through (lowercased).
 */
export type Identifier =
  | { kind: 'email'; hash: string }
  | { kind: 'phone'; hash: string }
  | { kind: 'address'; firstName: string; lastName: string; countryCode: string; postalCode: string };

export type PreparedMember = { ok: true; identifiers: Identifier[] } | { ok: false; error: string };

export const normalizeGoogleEmail = (value: string): string | null => normalizeEmail(value.replace(/\s+/g, ''), { gmailDots: true });

/** Lowercase, no punctuation (Unicode letters and digits kept), inner runs of spaces kept as one, trimmed. */
export const normalizeGoogleName = (value: string): string | null => {
  const name = value.toLowerCase().replace(/\p{P}/gu, '').replace(/\s+/g, ' ').trim();
  return name === '' ? null : name;
};

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);

/**
 * The identifiers of one row (`fields` as mapped: `email`, `phone` (a value or a list), `first_name`,
 * `last_name`, `country_code`, `postal_code`), or why the row cannot be sent.
 */
export function prepareMember(fields: Record<string, unknown>, maxIdentifiers: number, defaultCountry?: string): PreparedMember {
  const identifiers: Identifier[] = [];
  const problems: string[] = [];
  const country = asText(fields.country_code)?.toUpperCase();

  for (const value of list(fields.email)) {
    const hash = hashed(value, normalizeGoogleEmail);
    if (hash) identifiers.push({ kind: 'email', hash });
    else if (asText(value) !== null) problems.push('email is not an email address');
  }
  for (const value of list(fields.phone)) {
    const hash = hashed(value, (v) => normalizePhoneE164(v, country ?? defaultCountry));
    if (hash) identifiers.push({ kind: 'phone', hash });
    else if (asText(value) !== null) problems.push('phone is not a phone number (E.164, or national with country_code)');
  }

  const first = hashed(fields.first_name, normalizeGoogleName);
  const last = hashed(fields.last_name, normalizeGoogleName);
  const postal = asText(fields.postal_code);
  const anyAddress = [fields.first_name, fields.last_name, fields.postal_code].some((v) => asText(v) !== null);
  if (first && last && postal && country && /^[A-Z]{2}$/.test(country)) {
    identifiers.push({ kind: 'address', firstName: first, lastName: last, countryCode: country, postalCode: postal });
  } else if (anyAddress && identifiers.length === 0) {
    problems.push('an address needs first_name, last_name, country_code (2 letters) and postal_code');
  }

  if (identifiers.length === 0) return { ok: false, error: problems.length ? problems.join('; ') : 'no identifier: map email, phone or a full address' };
  if (identifiers.length > maxIdentifiers) return { ok: false, error: `${identifiers.length} identifiers; Google takes at most ${maxIdentifiers} per member` };
  return { ok: true, identifiers };
}

/** Data Manager API `UserIdentifier`s. */
export function dataManagerIdentifiers(identifiers: Identifier[]): Record<string, unknown>[] {
  return identifiers.map((id) => {
    if (id.kind === 'email') return { emailAddress: id.hash };
    if (id.kind === 'phone') return { phoneNumber: id.hash };
    return { address: { givenName: id.firstName, familyName: id.lastName, regionCode: id.countryCode, postalCode: id.postalCode } };
  });
}

/** Google Ads API `UserIdentifier`s. */
export function googleAdsIdentifiers(identifiers: Identifier[]): Record<string, unknown>[] {
  return identifiers.map((id) => {
    if (id.kind === 'email') return { hashedEmail: id.hash };
    if (id.kind === 'phone') return { hashedPhoneNumber: id.hash };
    return { addressInfo: { hashedFirstName: id.firstName, hashedLastName: id.lastName, countryCode: id.countryCode, postalCode: id.postalCode } };
  });
}
