/**
 * The identity section of cdp.yaml that the real-time tests share: web events resolved by user id,
 * email (from the traits) and anonymous id, with the email as a trait; `traits` adds more trait
 * lines (`{ name: first_name, from: [events.traits.first_name] }`).
 */
export function webIdentityYaml(traits: string[] = []): string[] {
  return [
    'identity:',
    '  identifiers:',
    '    - { type: user_id, from: [events.user_id], limit: 1 }',
    '    - { type: email, from: [events.traits.email], limit: 5 }',
    '    - { type: anonymous_id, from: [events.anonymous_id], limit: 100 }',
    '  traits:',
    '    - { name: email, from: [events.traits.email] }',
    ...traits.map((t) => `    - ${t}`),
  ];
}
