import { createHash } from 'node:crypto';
import { hashed, isSha256Hex, normalizeEmail, normalizePhoneE164, sha256Hex } from '../../src/destinations/pii';

/** An independent SHA-256 (node:crypto directly), so the expectations do not reuse the code under test. */
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('sha256Hex', () => {
  // ../shared/reference/destinations.md §4.3: the known vector for test@example.com
  it.each([
    { id: 'known vector', input: 'test@example.com', expected: '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b' },
    { id: 'empty string', input: '', expected: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    { id: 'UTF-8 bytes, not UTF-16', input: 'jöns', expected: sha('jöns') },
  ])('$id', ({ input, expected }) => expect(sha256Hex(input)).toBe(expected));
});

describe('isSha256Hex', () => {
  it.each([
    { id: 'lowercase hex', input: '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b', expected: true },
    { id: 'uppercase hex', input: '973DFE463EC85785F5F95AF5BA3906EEDB2D931C24E69824A89EA65DBA4E813B', expected: true },
    { id: '63 characters', input: '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813', expected: false },
    { id: 'not hex', input: 'z'.repeat(64), expected: false },
    { id: 'SHA-512 length', input: 'a'.repeat(128), expected: false },
    { id: 'an email', input: 'test@example.com', expected: false },
  ])('$id', ({ input, expected }) => expect(isSha256Hex(input)).toBe(expected));
});

describe('normalizeEmail', () => {
  it.each<{ id: string; input: string; rules?: { gmailDots?: boolean; stripPlusTag?: boolean }; expected: string | null }>([
    // Meta, LinkedIn, Google Ads API UserIdentifier: trim and lowercase only (reference §0.2)
    { id: 'trim and lowercase', input: '  John_Smith@Example.COM ', expected: 'john_smith@example.com' },
    { id: 'dots and +tag kept by default', input: 'jane.doe+news@gmail.com', expected: 'jane.doe+news@gmail.com' },
    { id: 'no @', input: 'john.example.com', expected: null },
    { id: 'two @', input: 'a@b@example.com', expected: null },
    { id: 'empty local part', input: '@example.com', expected: null },
    { id: 'domain without a dot', input: 'john@localhost', expected: null },
    { id: 'domain ends with a dot', input: 'john@example.', expected: null },
    { id: 'whitespace inside', input: 'john smith@example.com', expected: null },
    { id: 'blank', input: '   ', expected: null },
    // Google Data Manager API formatting guide (reference §0.2): gmail.com and googlemail.com drop dots and +suffix
    { id: 'Google doc example', input: 'cloudy.sanfrancisco+shopping@gmail.com', rules: { gmailDots: true }, expected: 'cloudysanfrancisco@gmail.com' },
    { id: 'googlemail.com too', input: 'Cloudy.SanFrancisco@GoogleMail.com', rules: { gmailDots: true }, expected: 'cloudysanfrancisco@googlemail.com' },
    { id: 'other domains untouched by the gmail rule', input: 'cloudy.sanfrancisco+shopping@example.com', rules: { gmailDots: true }, expected: 'cloudy.sanfrancisco+shopping@example.com' },
    // TikTok customer-file help (reference §0.2, §1.4): remove + and everything after it up to the @, on every domain
    { id: 'TikTok +tag strip', input: 'John+promo@Example.com', rules: { stripPlusTag: true }, expected: 'john@example.com' },
    { id: 'TikTok keeps dots', input: 'john.smith+promo@gmail.com', rules: { stripPlusTag: true }, expected: 'john.smith@gmail.com' },
    { id: 'nothing left before the +', input: '+promo@example.com', rules: { stripPlusTag: true }, expected: null },
    { id: 'both rules', input: 'j.s+x@gmail.com', rules: { gmailDots: true, stripPlusTag: true }, expected: 'js@gmail.com' },
  ])('$id', ({ input, rules, expected }) => expect(normalizeEmail(input, rules)).toBe(expected));
});

describe('normalizePhoneE164', () => {
  it.each<{ id: string; input: string; country?: string; expected: string | null }>([
    // Google Ads API UserIdentifier docs: E.164, e.g. +16502531234 (reference §1.1)
    { id: 'Google doc example', input: '+1 650-253-1234', expected: '+16502531234' },
    { id: 'national US number with a default country', input: '(650) 253-1234', country: 'US', expected: '+16502531234' },
    { id: 'country code any case', input: '650 253 1234', country: 'us', expected: '+16502531234' },
    { id: 'UK national with a trunk 0', input: '07700 900123', country: 'GB', expected: '+447700900123' },
    { id: 'parenthesized country code', input: '(+44) 7700 900123', expected: '+447700900123' },
    { id: '00 international prefix', input: '0044 7700 900123', country: 'GB', expected: '+447700900123' },
    { id: 'national number without a country', input: '650 253 1234', expected: null },
    { id: 'unknown default country is ignored', input: '650 253 1234', country: 'ZZ', expected: null },
    { id: 'too short', input: '+1 650', expected: null },
    { id: 'free text', input: 'call me maybe', expected: null },
    { id: 'blank', input: '  ', expected: null },
  ])('$id', ({ input, country, expected }) => expect(normalizePhoneE164(input, country)).toBe(expected));
});

describe('hashed', () => {
  const email = (v: string) => normalizeEmail(v);
  const upper = '973DFE463EC85785F5F95AF5BA3906EEDB2D931C24E69824A89EA65DBA4E813B';
  it.each<{ id: string; input: unknown; expected: string | null }>([
    { id: 'normalized then hashed', input: '  Test@Example.com ', expected: '973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b' },
    { id: 'already hashed: passed through lowercased', input: upper, expected: upper.toLowerCase() },
    { id: 'already hashed with spaces around', input: ` ${upper} `, expected: upper.toLowerCase() },
    { id: 'null', input: null, expected: null },
    { id: 'undefined', input: undefined, expected: null },
    { id: 'empty', input: '', expected: null },
    { id: 'blank', input: '   ', expected: null },
    { id: 'rejected by normalize', input: 'not an email', expected: null },
    { id: 'an object is not an identifier', input: { email: 'test@example.com' }, expected: null },
    { id: 'a boolean is not an identifier', input: true, expected: null },
  ])('$id', ({ input, expected }) => expect(hashed(input, email)).toBe(expected));

  it('reads numbers as text (a zip typed as a number)', () => {
    expect(hashed(94025, (v) => v)).toBe(sha('94025'));
  });

  it('hashes what normalize returns, and gives null for an empty normalized value', () => {
    expect(hashed('Ab', (v) => v.toLowerCase())).toBe(sha('ab'));
    expect(hashed('!!', () => '')).toBeNull();
  });
});
