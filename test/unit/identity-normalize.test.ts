/**
 * Identifier normalization and ignore rules, as tables: {id, description, input, expected}.
 * Pure functions; no I/O.
 */
import {
  compileIgnoreRules,
  DEFAULT_IGNORE_RULES,
  IDENTIFIER_TYPES,
  IdentifierNormalizationError,
  IgnoreRuleError,
  isIgnored,
  normalizeIdentifier,
  type IdentifierType,
  type IgnoreRule,
  type NormalizeOptions,
} from '../../src/identity/normalize';

interface Case<I, E> {
  id: string;
  description: string;
  input: I;
  expected: E;
}

type NormalizeInput = { type: IdentifierType; value: string | null | undefined; options?: NormalizeOptions };
const GB: NormalizeOptions = { defaultCountry: 'GB' };
const US: NormalizeOptions = { defaultCountry: 'US' };

const run = (rows: Case<NormalizeInput, string | null>[]) =>
  it.each(rows)('$id: $description', ({ input, expected }) => {
    expect(normalizeIdentifier(input.type, input.value, input.options)).toBe(expected);
  });

describe('email', () => {
  const email = (value: string | null | undefined) => ({ type: 'email' as const, value });
  run([
    { id: 'email-plain', description: 'an already normal address is unchanged', input: email('jane@example.com'), expected: 'jane@example.com' },
    { id: 'email-mixed-case', description: 'local part and domain are lowercased', input: email('Jane.Doe@Example.COM'), expected: 'jane.doe@example.com' },
    { id: 'email-spaces', description: 'surrounding spaces are trimmed', input: email('  jane@example.com  '), expected: 'jane@example.com' },
    { id: 'email-tabs-newlines', description: 'surrounding tabs and newlines are trimmed', input: email('\tjane@example.com\r\n'), expected: 'jane@example.com' },
    { id: 'email-case-and-spaces', description: 'trim and lowercase together', input: email(' JANE@EXAMPLE.COM '), expected: 'jane@example.com' },
    { id: 'email-plus-kept', description: 'plus-addressing is kept (provider-specific, not stripped)', input: email('Jane+News@example.com'), expected: 'jane+news@example.com' },
    { id: 'email-dots-kept', description: 'dots in the local part are kept', input: email('j.a.n.e@gmail.com'), expected: 'j.a.n.e@gmail.com' },
    { id: 'email-subdomain', description: 'a multi-label domain', input: email('a@mail.example.co.uk'), expected: 'a@mail.example.co.uk' },
    { id: 'email-no-at', description: 'no @ is not an address', input: email('jane.example.com'), expected: null },
    { id: 'email-two-at', description: 'two @ is not an address', input: email('jane@doe@example.com'), expected: null },
    { id: 'email-no-dot-in-domain', description: 'a domain without a dot', input: email('jane@localhost'), expected: null },
    { id: 'email-dot-only-in-local', description: 'a dot in the local part does not count for the domain', input: email('jane.doe@example'), expected: null },
    { id: 'email-domain-leading-dot', description: 'a domain starting with its dot', input: email('jane@.com'), expected: null },
    { id: 'email-domain-trailing-dot', description: 'a domain ending with its dot', input: email('jane@example.'), expected: null },
    { id: 'email-empty-local', description: 'nothing before the @', input: email('@example.com'), expected: null },
    { id: 'email-inner-space', description: 'whitespace inside the address', input: email('jane doe@example.com'), expected: null },
    { id: 'email-placeholder', description: 'a placeholder word is not an address', input: email('unknown'), expected: null },
    { id: 'email-empty', description: 'empty string', input: email(''), expected: null },
    { id: 'email-blank', description: 'only spaces', input: email('   '), expected: null },
    { id: 'email-null', description: 'null', input: email(null), expected: null },
    { id: 'email-undefined', description: 'undefined', input: email(undefined), expected: null },
    { id: 'email-splink-typo', description: 'a corrupted address as found in the splink test data', input: email('t.r@parsons.@com'), expected: null },
  ]);
});

describe('phone (E.164)', () => {
  const phone = (value: string | null | undefined, options?: NormalizeOptions) => ({ type: 'phone' as const, value, options });
  run([
    { id: 'uk-national', description: 'UK national mobile with GB default', input: phone('07700 900123', GB), expected: '+447700900123' },
    { id: 'uk-national-no-spaces', description: 'UK national, digits only', input: phone('07700900123', GB), expected: '+447700900123' },
    { id: 'uk-national-dots', description: 'UK national with dots', input: phone('07700.900.123', GB), expected: '+447700900123' },
    { id: 'uk-national-surrounding-spaces', description: 'surrounding whitespace is trimmed', input: phone('  07700 900123 \n', GB), expected: '+447700900123' },
    { id: 'uk-intl-spaces', description: '+44 with spaces, no default country needed', input: phone('+44 7700 900123'), expected: '+447700900123' },
    { id: 'uk-intl-compact', description: 'already E.164', input: phone('+447700900123'), expected: '+447700900123' },
    { id: 'uk-intl-dashes', description: '+44 with dashes', input: phone('+44-7700-900-123'), expected: '+447700900123' },
    { id: 'uk-intl-parens-zero', description: '+44 (0) trunk prefix in parentheses', input: phone('+44 (0)7700 900123'), expected: '+447700900123' },
    { id: 'uk-intl-parens-code', description: 'country code in parentheses', input: phone('(+44) 7700-900-123'), expected: '+447700900123' },
    { id: 'uk-intl-parens-code-spaces', description: 'country code in spaced parentheses', input: phone('( +44 ) 7700 900123'), expected: '+447700900123' },
    { id: 'us-intl-parens-code', description: '(+1) before a US number', input: phone('(+1) 415 555 2671'), expected: '+14155552671' },
    { id: 'uk-intl-under-us-default', description: 'an international number ignores the default country', input: phone('+44 7700 900123', US), expected: '+447700900123' },
    { id: 'uk-idd-00', description: '0044 international dialling prefix from the UK', input: phone('0044 7700 900123', GB), expected: '+447700900123' },
    { id: 'uk-landline', description: 'UK London landline', input: phone('020 7946 0958', GB), expected: '+442079460958' },
    { id: 'us-national-parens', description: 'US national (415) 555-2671 with US default', input: phone('(415) 555-2671', US), expected: '+14155552671' },
    { id: 'us-national-dashes', description: 'US national with dashes', input: phone('212-555-0100', US), expected: '+12125550100' },
    { id: 'us-national-leading-1', description: 'US national with the leading 1', input: phone('1-415-555-2671', US), expected: '+14155552671' },
    { id: 'us-intl', description: '+1 with parentheses and dashes, no default country', input: phone('+1 (212) 555-0100'), expected: '+12125550100' },
    { id: 'us-idd-from-gb', description: '00 1 from the UK', input: phone('001 415 555 2671', GB), expected: '+14155552671' },
    { id: 'us-digits-under-gb', description: 'a US number without +1 is read in the default country (GB), not as US', input: phone('2125550100', GB), expected: '+442125550100' },
    { id: 'ext-x', description: 'an extension (x12) is dropped: E.164 has none', input: phone('020 7946 0958 x12', GB), expected: '+442079460958' },
    { id: 'ext-word', description: 'an extension (ext. 123) is dropped', input: phone('+1 415 555 2671 ext. 123'), expected: '+14155552671' },
    { id: 'national-without-country', description: 'a national number with no default country cannot be read', input: phone('07700 900123'), expected: null },
    { id: 'too-short', description: 'too few digits for the country', input: phone('12345', GB), expected: null },
    { id: 'intl-too-short', description: '+44 with too few digits', input: phone('+44 7700'), expected: null },
    { id: 'too-long', description: 'too many digits for the country', input: phone('+447700900123000'), expected: null },
    { id: 'letters', description: 'not a number', input: phone('abc', GB), expected: null },
    { id: 'letter-o-for-zero', description: 'a letter O typed for a zero', input: phone('0770O 900123', GB), expected: null },
    { id: 'free-text', description: 'a number inside free text is not extracted', input: phone('call 07700 900123', GB), expected: null },
    { id: 'two-numbers', description: 'two numbers in one field give null, not the first one', input: phone('07700 900123 / 07911 123456', GB), expected: null },
    { id: 'placeholder', description: 'a placeholder word', input: phone('unknown', GB), expected: null },
    { id: 'empty', description: 'empty string', input: phone('', GB), expected: null },
    { id: 'null', description: 'null', input: phone(null, GB), expected: null },
  ]);

  it('an unsupported defaultCountry is a configuration error naming it', () => {
    expect(() => normalizeIdentifier('phone', '07700 900123', { defaultCountry: 'UK' })).toThrow(IdentifierNormalizationError);
    expect(() => normalizeIdentifier('phone', '07700 900123', { defaultCountry: 'UK' })).toThrow(/unsupported phone defaultCountry "UK"/);
  });
});

describe('opaque ids (user_id, anonymous_id, custom)', () => {
  const rows: Case<NormalizeInput, string | null>[] = (['user_id', 'anonymous_id', 'custom'] as const).flatMap((type) => [
    { id: `${type}-plain`, description: 'unchanged', input: { type, value: 'u-123' }, expected: 'u-123' },
    { id: `${type}-trim`, description: 'trimmed', input: { type, value: '  u-123\t' }, expected: 'u-123' },
    { id: `${type}-case-kept`, description: 'case is kept (ids may be case-sensitive)', input: { type, value: 'AbC-123' }, expected: 'AbC-123' },
    { id: `${type}-inner-space-kept`, description: 'inner spaces are kept', input: { type, value: ' a b ' }, expected: 'a b' },
    { id: `${type}-empty`, description: 'empty string', input: { type, value: '' }, expected: null },
    { id: `${type}-blank`, description: 'only whitespace', input: { type, value: ' \t ' }, expected: null },
    { id: `${type}-null`, description: 'null', input: { type, value: null }, expected: null },
  ]);
  run(rows);

  it('an unknown type is a configuration error listing the known ones', () => {
    expect(() => normalizeIdentifier('phone_number' as IdentifierType, 'x')).toThrow(IdentifierNormalizationError);
    expect(() => normalizeIdentifier('phone_number' as IdentifierType, 'x')).toThrow(
      `unknown identifier type "phone_number"; expected one of ${IDENTIFIER_TYPES.join(', ')}`,
    );
  });
});

describe('ignore rules', () => {
  type IgnoreInput = { value: string | null | undefined; rules?: IgnoreRule[]; defaults?: boolean };
  const cases: Case<IgnoreInput, boolean>[] = [
    // built-in defaults
    ...DEFAULT_IGNORE_RULES.map((rule) => ({
      id: `default-${(rule as string) || 'empty'}`,
      description: `the built-in placeholder ${JSON.stringify(rule)} is ignored with no rules configured`,
      input: { value: rule as string },
      expected: true,
    })),
    { id: 'default-upper', description: 'defaults are case-insensitive (NULL)', input: { value: 'NULL' }, expected: true },
    { id: 'default-mixed', description: 'defaults are case-insensitive (N/A)', input: { value: 'N/A' }, expected: true },
    { id: 'default-null-value', description: 'a null value is ignored', input: { value: null }, expected: true },
    { id: 'default-undefined-value', description: 'an undefined value is ignored', input: { value: undefined }, expected: true },
    { id: 'default-real-value', description: 'a real value is kept', input: { value: 'jane@example.com' }, expected: false },
    { id: 'default-exact-only', description: 'defaults match the whole value, not a substring', input: { value: 'unknown-user-7' }, expected: false },
    { id: 'default-not-trimmed', description: 'matching is on the value as given (normalize first)', input: { value: ' unknown ' }, expected: false },
    { id: 'defaults-off', description: 'defaults can be turned off', input: { value: 'unknown', defaults: false }, expected: false },
    { id: 'defaults-off-rules-kept', description: 'turning defaults off keeps configured rules', input: { value: 'x', rules: ['x'], defaults: false }, expected: true },
    // strings
    { id: 'string-exact', description: 'a configured string', input: { value: 'test@example.com', rules: ['test@example.com'] }, expected: true },
    { id: 'string-case', description: 'a configured string matches case-insensitively', input: { value: 'test@example.com', rules: ['TEST@Example.com'] }, expected: true },
    { id: 'string-other', description: 'a different value is kept', input: { value: 'jane@example.com', rules: ['test@example.com'] }, expected: false },
    { id: 'string-defaults-too', description: 'configured rules add to the defaults', input: { value: 'none', rules: ['test@example.com'] }, expected: true },
    // patterns
    { id: 'pattern-zeros', description: '^0+$ matches all-zero ids', input: { value: '0000', rules: [{ pattern: '^0+$' }] }, expected: true },
    { id: 'pattern-zeros-single', description: '^0+$ matches a single zero', input: { value: '0', rules: [{ pattern: '^0+$' }] }, expected: true },
    { id: 'pattern-zeros-other', description: '^0+$ does not match 100', input: { value: '100', rules: [{ pattern: '^0+$' }] }, expected: false },
    { id: 'pattern-unanchored', description: 'an unanchored pattern matches anywhere', input: { value: 'qa+test@corp.com', rules: [{ pattern: 'test@' }] }, expected: true },
    { id: 'pattern-case', description: 'patterns are case-insensitive too', input: { value: 'TEST@EXAMPLE.COM', rules: [{ pattern: '^test@example\\.com$' }] }, expected: true },
    { id: 'pattern-domain', description: 'every address at a domain', input: { value: 'a.b@mailinator.com', rules: [{ pattern: '@mailinator\\.com$' }] }, expected: true },
    { id: 'pattern-phone', description: 'a fake phone range in E.164', input: { value: '+447700900123', rules: [{ pattern: '^\\+447700900\\d{3}$' }] }, expected: true },
    { id: 'pattern-repeat', description: 'patterns keep no state between values (same value twice)', input: { value: '000', rules: [{ pattern: '0' }, { pattern: '0' }] }, expected: true },
    { id: 'mixed-rules', description: 'strings and patterns together', input: { value: '999', rules: ['test@example.com', { pattern: '^9+$' }] }, expected: true },
  ];

  it.each(cases)('$id: $description', ({ input, expected }) => {
    expect(isIgnored(input.value, input.rules, { defaults: input.defaults })).toBe(expected);
  });

  it('a compiled matcher gives the same answers on repeated calls', () => {
    const ignored = compileIgnoreRules([{ pattern: '^0+$' }, 'test@example.com']);
    const values = ['0', '00', 'TEST@example.com', 'jane@example.com', 'null', '10'];
    const first = values.map(ignored);
    expect(values.map(ignored)).toEqual(first);
    expect(first).toEqual([true, true, true, false, true, false]);
  });

  it('normalize, then ignore: a placeholder email in odd spacing and case is dropped', () => {
    const ignored = compileIgnoreRules(['test@example.com']);
    const normalized = normalizeIdentifier('email', '  Test@Example.COM ');
    expect(normalized).toBe('test@example.com');
    expect(ignored(normalized)).toBe(true);
  });

  const bad: Case<IgnoreRule[], string | RegExp>[] = [
    { id: 'bad-regex-bracket', description: 'an unclosed group names the rule and the pattern', input: ['ok', { pattern: '^(abc$' }], expected: /^ignore rule 1: invalid pattern "\^\(abc\$": / },
    { id: 'bad-regex-class', description: 'an unclosed character class', input: [{ pattern: '[0-9' }], expected: /^ignore rule 0: invalid pattern "\[0-9": / },
    { id: 'bad-regex-quantifier', description: 'a quantifier with nothing to repeat', input: [{ pattern: '*abc' }], expected: /^ignore rule 0: invalid pattern "\*abc": / },
    { id: 'empty-pattern', description: 'an empty pattern would ignore everything', input: [{ pattern: '' }], expected: 'ignore rule 0: empty pattern would ignore every value' },
    { id: 'wrong-shape-number', description: 'a number is not a rule', input: [42 as unknown as IgnoreRule], expected: 'ignore rule 0 must be a string or { pattern: string }, got 42' },
    { id: 'wrong-shape-object', description: 'an object without a string pattern', input: [{ regex: 'x' } as unknown as IgnoreRule], expected: 'ignore rule 0 must be a string or { pattern: string }, got {"regex":"x"}' },
  ];

  it.each(bad)('$id: $description', ({ input, expected }) => {
    expect(() => compileIgnoreRules(input)).toThrow(IgnoreRuleError);
    expect(() => compileIgnoreRules(input)).toThrow(expected);
    expect(() => isIgnored('anything', input)).toThrow(expected);
  });

  it('rule positions are counted without the defaults when the defaults are off', () => {
    expect(() => compileIgnoreRules(['a', { pattern: '(' }], { defaults: false })).toThrow(/^ignore rule 1: invalid pattern "\(": /);
  });
});
