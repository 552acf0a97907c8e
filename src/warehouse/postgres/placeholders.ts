/**
 * The warehouse API binds `?` placeholders; pg wants `$1, $2, ...`. Rewrites only the `?` that stand
 * outside string literals, quoted identifiers, dollar quotes and comments, and only when there are
 * values to bind, so SQL without parameters (every model) reaches PostgreSQL exactly as written,
 * jsonb `?` operators included.
 */
export function toPgPlaceholders(sql: string, paramCount: number): string {
  if (paramCount === 0) return sql;
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    const rest = sql.slice(i);
    let skip = 0;
    if (ch === "'" || ch === '"') {
      skip = 1;
      while (i + skip < sql.length) {
        if (sql[i + skip] === ch) {
          if (sql[i + skip + 1] === ch) skip += 2;
          else {
            skip++;
            break;
          }
        } else skip++;
      }
    } else if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      skip = (end === -1 ? sql.length : end) - i;
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      skip = (end === -1 ? sql.length : end + 2) - i;
    } else if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(rest)?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        skip = (end === -1 ? sql.length : end + tag.length) - i;
      }
    } else if (ch === '?') {
      out += `$${++n}`;
      i++;
      continue;
    }
    if (skip > 0) {
      out += sql.slice(i, i + skip);
      i += skip;
    } else {
      out += ch;
      i++;
    }
  }
  if (n !== paramCount) throw new Error(`the SQL has ${n} ? placeholders but ${paramCount} values were given`);
  return out;
}
