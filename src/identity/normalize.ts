import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { Dialect } from '../warehouse/dialects';

/**
 * Identifier normalization for identity resolution.
 *
 * Two records are stitched when they share an identifier value, so the value must be spelled the
 * same way wherever it comes from: `" Jane@Example.com"` from a form and `"jane@example.com"` from
 * the CRM are one person, as are `07700 900123` and `+44 7700 900123`. A value that normalizes to
 * `null` is not an identifier at all and must not join anything; junk that survives normalization
 * (`unknown`, a shared `test@example.com`) would glue unrelated people into one giant profile, so
 * callers also drop values matched by the ignore rules below (`isIgnored`), applied to the
 * *normalized* value.
 */

export const IDENTIFIER_TYPES = ['email', 'phone', 'user_id', 'anonymous_id', 'custom'] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

export interface NormalizeOptions {
  /**
   * ISO 3166-1 alpha-2 country (`'GB'`, `'US'`) used to read phone numbers written in national
   * form (`07700 900123`). Without it only international numbers (`+44 …`) can be normalized,
   * because a national number means different things in different countries.
   */
  defaultCountry?: string;
}

export class IdentifierNormalizationError extends Error {}

/**
 * The canonical form of an identifier value, or `null` when the value cannot identify anyone
 * (missing, empty, or malformed for its type). Never throws for bad *data*; it throws only for a
 * bad *call* (an unknown type or an unsupported `defaultCountry`), which is a configuration error.
 *
 * - `email`: trimmed and lowercased (see `normalizeEmail`).
 * - `phone`: E.164, e.g. `+447700900123` (see `normalizePhone`).
 * - `user_id`, `anonymous_id`, `custom`: trimmed only. These are opaque ids minted by some system,
 *   where case can be significant (`abc` and `ABC` may be two users), so nothing else is changed.
 */
export function normalizeIdentifier(
  type: IdentifierType,
  value: string | null | undefined,
  options: NormalizeOptions = {},
): string | null {
  switch (type) {
    case 'email':
      return normalizeEmail(value);
    case 'phone':
      return normalizePhone(value, options.defaultCountry);
    case 'user_id':
    case 'anonymous_id':
    case 'custom':
      return normalizeOpaque(value);
    default:
      // reachable from untyped callers (config, JavaScript): a wrong type is a configuration error
      throw new IdentifierNormalizationError(
        `unknown identifier type ${JSON.stringify(type)}; expected one of ${IDENTIFIER_TYPES.join(', ')}`,
      );
  }
}

function normalizeOpaque(value: string | null | undefined): string | null {
  if (value == null) return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/**
 * Trim and lowercase, then a deliberately loose shape check: exactly one `@`, a non-empty local
 * part, a domain with a dot that is neither its first nor its last character, no whitespace.
 *
 * - Lowercasing the local part is technically lossy (RFC 5321 lets it be case-sensitive), but no
 *   mainstream provider treats it so and real data mixes cases for the same mailbox; not folding
 *   case would split people far more often than folding it merges two.
 * - Plus-addressing (`jane+news@…`) and dots are kept: whether `+tag` or `.` is ignored is a
 *   per-provider rule (Gmail yes, many others no), so stripping them could merge distinct mailboxes.
 * - The check is not RFC validation; it only rejects values that are plainly not an address
 *   (`unknown`, `n/a`, `jane.example.com`, `a@b@c.com`), which would otherwise become identifiers.
 *
 * The warehouse-side counterpart is `emailNormalizeSql`.
 */
function normalizeEmail(value: string | null | undefined): string | null {
  if (value == null) return null;
  const email = value.trim().toLowerCase();
  if (/\s/.test(email)) return null;
  const parts = email.split('@');
  if (parts.length !== 2) return null;
  const [local, domain] = parts as [string, string];
  if (local === '') return null;
  const dot = domain.indexOf('.');
  if (dot <= 0 || domain.endsWith('.')) return null;
  return email;
}

/**
 * E.164 (`+` country code and number, no spaces), via libphonenumber-js, the JavaScript port of
 * Google's libphonenumber metadata, so `07700 900123` (with `defaultCountry: 'GB'`),
 * `+44 (0)7700 900-123`, `(+44) 7700 900123` and `0044 7700 900123` all become `+447700900123`.
 *
 * - Parsing is strict (`extract: false`): the whole value must be a phone number. Free text such as
 *   `call 07700 900123` or two numbers in one field gives `null` rather than a guess.
 * - A number is accepted when it is *possible* (right length for its country), not only when it is
 *   *valid* (inside a range the bundled metadata knows to be allocated). Validity depends on the
 *   metadata version and rejects numbers from newly allocated or reserved ranges (the Ofcom drama
 *   range `07700 900xxx` is not "valid"), which would make the same person's number an identifier
 *   on one release and not on the next. A possible-but-unallocated number simply matches nobody.
 * - Extensions (`x12`, `ext. 123`) are dropped: E.164 has no extension, and the main number is what
 *   other systems store. (A switchboard number shared by many people is a fan-out problem for the
 *   identity graph, with or without the extension.)
 * - A national number is read in `defaultCountry`: under `'GB'`, `2125550100` is a UK number, not
 *   New York. Data from several countries needs international format or a per-source country.
 */
function normalizePhone(value: string | null | undefined, defaultCountry: string | undefined): string | null {
  const country = checkCountry(defaultCountry);
  if (value == null) return null;
  // `(+44) 7700 900123` is a common way of writing an international number that strict parsing
  // rejects; the parenthesized country code means the same as `+44`.
  const trimmed = value.trim().replace(/^\(\s*(\+\d{1,3})\s*\)/, '$1');
  if (trimmed === '') return null;
  const parsed = parsePhoneNumberFromString(trimmed, { defaultCountry: country, extract: false });
  if (parsed === undefined || !parsed.isPossible()) return null;
  return parsed.number;
}

function checkCountry(country: string | undefined): CountryCode | undefined {
  if (country === undefined) return undefined;
  if (!isSupportedCountry(country)) {
    throw new IdentifierNormalizationError(
      `unsupported phone defaultCountry ${JSON.stringify(country)}; expected an ISO 3166-1 alpha-2 code such as "GB" or "US"`,
    );
  }
  return country;
}

// ── ignore rules ────────────────────────────────────────────────────────────────

/**
 * A value to ignore: a string (exact match, case-insensitive) or `{ pattern }` (a JavaScript
 * regular expression, case-insensitive, unanchored: write `^…$` to match the whole value).
 */
export type IgnoreRule = string | { pattern: string };

/**
 * Placeholders that systems write instead of leaving a field empty. Always applied (on top of any
 * configured rules) unless turned off, because one of them used as an identifier would merge every
 * record that carries it into a single profile.
 */
export const DEFAULT_IGNORE_RULES: readonly IgnoreRule[] = ['unknown', 'null', 'undefined', 'none', 'n/a', ''];

export class IgnoreRuleError extends Error {}

export interface IgnoreOptions {
  /** include `DEFAULT_IGNORE_RULES` (default true) */
  defaults?: boolean;
}

/**
 * Validates and compiles ignore rules once, returning a predicate for many values. Throws
 * `IgnoreRuleError` naming the offending rule (its position and text) for a pattern that is not
 * a valid regular expression, an empty pattern (it would match, and so drop, every value) or a
 * rule of the wrong shape, so a typo in configuration fails loudly instead of silently matching
 * nothing or everything.
 *
 * Rules are compared with the value as given; apply them to normalized values (trimmed, emails
 * lowercased, phones in E.164), so `'test@example.com'` also catches `' Test@Example.com '`.
 * Case-insensitive throughout, for strings and patterns alike, so one rule covers `NULL` and `null`.
 */
export function compileIgnoreRules(
  rules: readonly IgnoreRule[],
  options: IgnoreOptions = {},
): (value: string | null | undefined) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  const all = options.defaults === false ? rules : [...DEFAULT_IGNORE_RULES, ...rules];
  const offset = all.length - rules.length;
  all.forEach((rule: unknown, i) => {
    const where = i < offset ? `default ignore rule ${i}` : `ignore rule ${i - offset}`;
    if (typeof rule === 'string') {
      exact.add(rule.toLowerCase());
    } else if (typeof rule === 'object' && rule !== null && typeof (rule as { pattern?: unknown }).pattern === 'string') {
      patterns.push(compilePattern((rule as { pattern: string }).pattern, where));
    } else {
      throw new IgnoreRuleError(`${where} must be a string or { pattern: string }, got ${JSON.stringify(rule)}`);
    }
  });
  return (value) => {
    if (value == null) return true;
    if (exact.has(value.toLowerCase())) return true;
    return patterns.some((p) => p.test(value));
  };
}

function compilePattern(pattern: string, where: string): RegExp {
  if (pattern === '') {
    throw new IgnoreRuleError(`${where}: empty pattern would ignore every value`);
  }
  try {
    // no 'g' or 'y' flag: those make test() stateful (lastIndex) across values
    return new RegExp(pattern, 'i');
  } catch (e) {
    throw new IgnoreRuleError(
      `${where}: invalid pattern ${JSON.stringify(pattern)}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * Whether a value should be dropped instead of used as an identifier: `null`/`undefined`, a
 * built-in placeholder (`DEFAULT_IGNORE_RULES`) or a match of `rules`. Compiles the rules on every
 * call; for many values use `compileIgnoreRules` once.
 */
export function isIgnored(
  value: string | null | undefined,
  rules: readonly IgnoreRule[] = [],
  options: IgnoreOptions = {},
): boolean {
  return compileIgnoreRules(rules, options)(value);
}

// ── warehouse side ─────────────────────────────────────────────────────────────

/**
 * SQL for the normalized form of a value the warehouse already trimmed (`trimmed`), the counterpart
 * of `normalizeIdentifier` for values that never leave the warehouse:
 * - `trim`: the value, or null when empty;
 * - `email`: lowercased, and null unless it has the shape `normalizeEmail` checks (one `@`, a
 *   non-empty local part, a dot inside the domain, no space). `lower`, `trim` and `like` are spelled
 *   the same on DuckDB, PostgreSQL, BigQuery and Snowflake. SQL `trim` strips spaces only where
 *   JavaScript's strips all whitespace, so a value with a tab or newline inside is kept by neither
 *   but one ending in a tab is rejected here and accepted there;
 * - `phone`: `phoneValue`, the E.164 form Node computed once per distinct raw value (libphonenumber
 *   has no SQL counterpart), joined from the number table by the caller.
 */
export function normalizedSql(normalizer: 'trim' | 'email' | 'phone', trimmed: string, phoneValue: string): string {
  switch (normalizer) {
    case 'trim':
      return `nullif(${trimmed}, '')`;
    case 'email': {
      const n = `lower(${trimmed})`;
      return `case when ${n} like '_%@_%.%' and ${n} not like '%@%@%' and ${n} not like '%.' and ${n} not like '% %' then ${n} end`;
    }
    case 'phone':
      return phoneValue;
  }
}

/**
 * SQL that is true when `expr` matches an ignore rule (the built-ins plus `rules`), the warehouse
 * counterpart of `compileIgnoreRules`: strings compare case-insensitively (`lower(expr) in (...)`),
 * patterns through the dialect's case-insensitive regular expression. Values are escaped as literals
 * by the dialect. Throws IgnoreRuleError for a bad rule, as compileIgnoreRules does.
 */
export function ignoredSql(dialect: Dialect, rules: readonly IgnoreRule[], expr: string): string {
  compileIgnoreRules(rules);
  const all = [...DEFAULT_IGNORE_RULES, ...rules];
  const exact = [...new Set(all.filter((r): r is string => typeof r === 'string').map((r) => r.toLowerCase()))];
  const patterns = all.filter((r): r is { pattern: string } => typeof r !== 'string').map((r) => dialect.regexpContains(expr, r.pattern));
  return `(${[`lower(${expr}) in (${exact.map((v) => dialect.literal(v)).join(', ')})`, ...patterns].join(' or ')})`;
}
