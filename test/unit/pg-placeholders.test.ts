import { toPgPlaceholders } from '../../src/warehouse/postgres/placeholders';

describe('toPgPlaceholders', () => {
  it.each([
    { id: 'plain', input: ['select ? as a, ? as b', 2], expected: 'select $1 as a, $2 as b' },
    { id: 'no params: untouched, jsonb ? operator survives', input: [`select doc ? 'a' from t where x = 'what?'`, 0], expected: `select doc ? 'a' from t where x = 'what?'` },
    { id: 'string literal with escaped quote', input: [`select 'it''s ?', ?`, 1], expected: `select 'it''s ?', $1` },
    { id: 'quoted identifier', input: [`select "a?b" from t where c = ?`, 1], expected: `select "a?b" from t where c = $1` },
    { id: 'line comment', input: ['select ? -- why?\n, 1', 1], expected: 'select $1 -- why?\n, 1' },
    { id: 'block comment', input: ['select /* ? */ ?', 1], expected: 'select /* ? */ $1' },
    { id: 'dollar quote', input: ['select $fn$ ? $fn$, ?', 1], expected: 'select $fn$ ? $fn$, $1' },
  ] as { id: string; input: [string, number]; expected: string }[])('$id', ({ input, expected }) => {
    expect(toPgPlaceholders(...input)).toBe(expected);
  });

  it('rejects a count mismatch', () => {
    expect(() => toPgPlaceholders('select ?', 2)).toThrow('1 ? placeholders but 2 values');
  });
});
