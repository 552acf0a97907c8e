import { dialectFor } from '../../src/warehouse/dialects';

describe('dialects', () => {
  it.each([
    ['duckdb', '"analytics"."orders"'],
    ['postgres', '"analytics"."orders"'],
    ['snowflake', '"ANALYTICS"."ORDERS"'],
    ['bigquery', '`analytics`.`orders`'],
  ] as const)('%s quotes a relation', (name, expected) => {
    expect(dialectFor(name).relation({ schema: 'analytics', name: 'orders' })).toBe(expected);
  });
});
