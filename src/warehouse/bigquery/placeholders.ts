/**
 * Where the positional `?` parameters of a GoogleSQL statement are: every `?` outside string and
 * bytes literals ('...', "...", '''...''', """...""", with r/b prefixes), quoted identifiers (`...`)
 * and comments (--, #, /* *\/). Offsets into `sql`, in order.
 */
export function placeholderOffsets(sql: string): number[] {
  const offsets: number[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const triple = sql.startsWith(ch.repeat(3), i);
      i = endOfQuoted(sql, i + (triple ? 3 : 1), triple ? ch.repeat(3) : ch);
    } else if (ch === '`') {
      i = endOfQuoted(sql, i + 1, '`');
    } else if (ch === '#' || (ch === '-' && sql[i + 1] === '-')) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else {
      if (ch === '?') offsets.push(i);
      i++;
    }
  }
  return offsets;
}

/**
 * The index just past the closing `quote`. A backslash keeps the next character inside the literal,
 * in raw strings too (GoogleSQL: a raw string cannot end with an odd number of backslashes).
 */
function endOfQuoted(sql: string, from: number, quote: string): number {
  let i = from;
  while (i < sql.length) {
    if (sql[i] === '\\') i += 2;
    else if (sql.startsWith(quote, i)) return i + quote.length;
    else i++;
  }
  return sql.length;
}

/**
 * BigQuery wants a type for every parameter, and a NULL parameter has none that fits every place
 * (a STRING null cannot go into an INT64 column, an INT64 null not into a STRING one). An untyped
 * NULL literal can, so each `?` bound to null becomes the keyword NULL; every other value stays a
 * bound parameter. Nothing a caller passes is ever written into the SQL text.
 */
export function bindNulls<T>(sql: string, params: readonly (T | null | undefined)[]): { sql: string; params: T[] } {
  if (params.length === 0) return { sql, params: [] };
  const offsets = placeholderOffsets(sql);
  if (offsets.length !== params.length) throw new Error(`the SQL has ${offsets.length} ? placeholders but ${params.length} values were given`);
  if (!params.some((p) => p === null || p === undefined)) return { sql, params: params as T[] };
  let out = '';
  let last = 0;
  const kept: T[] = [];
  offsets.forEach((offset, n) => {
    const value = params[n];
    if (value === null || value === undefined) {
      out += sql.slice(last, offset) + 'NULL';
      last = offset + 1;
    } else kept.push(value);
  });
  return { sql: out + sql.slice(last), params: kept };
}
