/**
 * What a profile is looked up by (the API's :idType/:idValue, `cdp profile type:value`), as tables:
 * {id, description, input, expected}. Pure; no I/O.
 */
import { identityConfigSchema } from '../../src/identity/identity.config';
import { ProfileRefs, type ProfileRef } from '../../src/profiles/profile-ref';

interface Case<E> {
  id: string;
  description: string;
  input: string;
  expected: E;
}

const configured = new ProfileRefs({
  identity: identityConfigSchema.parse({
    identifiers: [
      { type: 'user_id', from: 'events.user_id' },
      { type: 'email', from: 'events.traits.email' },
      { type: 'phone', from: 'events.traits.phone', default_country: 'GB' },
      { type: 'work_email', from: 'stg_contacts.work_email', normalize: 'email' },
      { type: 'customer_id', from: 'stg_customers.customer_id' },
    ],
  }),
});

describe('parse: `type:value` or a profile id, normalized as resolution does', () => {
  const rows: Case<ProfileRef>[] = [
    { id: 'email', description: 'trimmed and lowercased', input: 'email: Jane@Example.COM ', expected: { type: 'email', value: 'jane@example.com' } },
    { id: 'phone-national', description: "a national number in the phone identifier's default_country", input: 'phone:07700 900123', expected: { type: 'phone', value: '+447700900123' } },
    { id: 'phone-international', description: 'an international number', input: 'phone:+1 (212) 555-0100', expected: { type: 'phone', value: '+12125550100' } },
    { id: 'custom-normalizer', description: 'a custom type with normalize: email', input: 'work_email:Jane@Work.example', expected: { type: 'work_email', value: 'jane@work.example' } },
    { id: 'custom-trim', description: 'a custom type is trimmed, its case kept', input: 'customer_id: C-17 ', expected: { type: 'customer_id', value: 'C-17' } },
    { id: 'value-with-colon', description: 'the first colon splits: the value may hold more', input: 'user_id:tenant:42', expected: { type: 'user_id', value: 'tenant:42' } },
    { id: 'profile-id', description: 'no colon: a profile id, as is', input: 'p_5f2c', expected: { profileId: 'p_5f2c' } },
    { id: 'profile-id-colon', description: 'a colon after something that cannot be a type name: a profile id', input: '2024-01:x', expected: { profileId: '2024-01:x' } },
  ];
  it.each(rows)('$id: $description', ({ input, expected }) => {
    expect(configured.parse(input)).toEqual(expected);
  });
});

describe('bad lookups are 400s naming the parameter', () => {
  const rows: Case<string>[] = [
    { id: 'unknown-type', description: 'a type the project does not declare', input: 'twitter:jane', expected: 'idType: unknown identifier type "twitter"; this project\'s identifier types are user_id, email, phone, work_email, customer_id' },
    { id: 'not-an-email', description: 'a value that is not an address', input: 'email:jane', expected: 'idValue: "jane" is not a usable email (it normalizes to nothing)' },
    { id: 'not-a-phone', description: 'too short for a phone number', input: 'phone:12', expected: 'idValue: "12" is not a usable phone (it normalizes to nothing)' },
    { id: 'empty', description: 'an empty value', input: 'user_id: ', expected: 'idValue: " " is not a usable user_id (it normalizes to nothing)' },
  ];
  it.each(rows)('$id: $description', ({ input, expected }) => {
    expect(() => configured.parse(input)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expected }));
  });
});

it('without identity: in cdp.yaml, the built-in types with their default normalization', () => {
  const builtIn = new ProfileRefs({});
  expect(builtIn.types).toEqual(['user_id', 'email', 'phone', 'anonymous_id']);
  expect(builtIn.parse('anonymous_id: a-1 ')).toEqual({ type: 'anonymous_id', value: 'a-1' });
  expect(builtIn.parse('phone:+44 7700 900123')).toEqual({ type: 'phone', value: '+447700900123' });
});
