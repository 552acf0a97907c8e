import type { LogicalType, Relation, RelationKind, TableWriteOptions } from '../warehouse';

export type DialectName = 'duckdb' | 'postgres' | 'bigquery' | 'snowflake';
export type DatePart = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';
const DATE_PARTS: readonly DatePart[] = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];

export class DialectError extends Error {}

/**
 * Every SQL difference between warehouses lives here, as a named method. Features never test
 * which warehouse they run on; they call these. `AnsiDialect` holds the common form and each
 * warehouse overrides only what differs (duckdb.dialect.ts, postgres..., bigquery..., snowflake...).
 *
 * The `macros` table is what model templates see as Handlebars helpers: `{{date_trunc "day" "ordered_at"}}`.
 */
export abstract class AnsiDialect {
  abstract readonly name: DialectName;
  protected abstract readonly types: Record<LogicalType, string>;
  /** the quote character for identifiers */
  protected readonly quoteChar: string = '"';

  // ── identifiers and literals ────────────────────────────────────────────────
  quoteIdentifier(name: string): string {
    const q = this.quoteChar;
    return `${q}${name.split(q).join(q + q)}${q}`;
  }

  relation(rel: Relation): string {
    return [rel.database, rel.schema, rel.name].filter((p): p is string => !!p).map((p) => this.quoteIdentifier(p)).join('.');
  }

  /** Escapes a value as a SQL literal, for compiled SQL that must stay readable (data tests). */
  literal(value: unknown): string {
    if (value === null || value === undefined) return 'null';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'number' || typeof value === 'bigint') {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new DialectError(`cannot write ${value} as a SQL literal`);
      return String(value);
    }
    if (value instanceof Date) return this.stringLiteral(value.toISOString());
    return this.stringLiteral(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** A typed timestamp literal in UTC without a zone (how raw_events and the identity tables store time). */
  timestampLiteral(value: Date): string {
    return this.cast(this.stringLiteral(value.toISOString().replace('T', ' ').replace('Z', '')), 'timestamp');
  }

  protected stringLiteral(s: string): string {
    return `'${s.split("'").join("''")}'`;
  }

  // ── types ───────────────────────────────────────────────────────────────────
  type(logical: LogicalType): string {
    const t = this.types[logical];
    if (!t) throw new DialectError(`unknown type "${logical}"; use one of ${Object.keys(this.types).join(', ')}`);
    return t;
  }

  cast(expr: string, logical: LogicalType): string {
    return `cast(${expr} as ${this.type(logical)})`;
  }

  /**
   * The logical type of a column type as `describe` reports it (information_schema's data_type):
   * `BIGINT`, `character varying`, `TIMESTAMP WITH TIME ZONE`, `NUMBER(38,0)`, `FLOAT64`, ...
   * Anything unknown (lists, structs, blobs) reads as text.
   */
  logicalType(native: string): LogicalType {
    const t = native.toLowerCase();
    if (/^(json|jsonb|variant|object)/.test(t)) return 'json';
    if (/^(bool)/.test(t)) return 'boolean';
    if (/^timestamp|^datetime/.test(t)) return 'timestamp';
    if (t === 'date') return 'date';
    if (/^(tinyint|smallint|integer|int|int2|int4|utinyint|usmallint)$/.test(t)) return 'integer';
    if (/^(bigint|int8|int64|hugeint|uinteger|ubigint|uhugeint)$/.test(t) || /^number\(\d+,\s*0\)$/.test(t)) return 'bigint';
    if (/^(decimal|numeric|number|bignumeric)/.test(t)) return 'numeric';
    if (/^(double|float|real|float4|float8|float64)/.test(t)) return 'float';
    return 'string';
  }

  // ── macros: dates, hashing, json, aggregates ────────────────────────────────
  protected checkPart(part: string): DatePart {
    if (!DATE_PARTS.includes(part as DatePart)) throw new DialectError(`unknown date part "${part}"; use one of ${DATE_PARTS.join(', ')}`);
    return part as DatePart;
  }

  /** A whole number of parts for dateAdd: anything else would render as invalid SQL (interval 'NaN day'). */
  protected checkAmount(amount: number): number {
    if (!Number.isInteger(amount)) throw new DialectError(`dateadd amount must be a whole number, got "${amount}"`);
    return amount;
  }

  /** The start of the `part` holding `expr`; weeks start on Monday (ISO). */
  dateTrunc(part: string, expr: string): string {
    return `date_trunc('${this.checkPart(part)}', ${expr})`;
  }

  toDate(expr: string): string {
    return `cast(${expr} as date)`;
  }

  dateAdd(part: string, amount: number, expr: string): string {
    return `(${expr} + interval '${this.checkAmount(Number(amount))} ${this.checkPart(part)}')`;
  }

  /**
   * Whole `part`s from `start` to `end` (end - start), counted as boundaries crossed, so the
   * day difference of 23:00 and 01:00 the next day is 1. Weeks are ISO weeks (they start on Monday).
   */
  dateDiff(part: string, start: string, end: string): string {
    return `datediff('${this.checkPart(part)}', ${start}, ${end})`;
  }

  currentTimestamp(): string {
    return 'current_timestamp';
  }

  /** Lower-case hex SHA-256 of a string expression. */
  sha256(expr: string): string {
    return `sha256(${expr})`;
  }

  /** Lower-case hex MD5 of a string expression. */
  md5(expr: string): string {
    return `md5(${expr})`;
  }

  /**
   * A hash of a row's values that tells any two rows apart (the sync diff's change detection): each
   * value as text with its length in front (`a|b` + `c` and `a` + `b|c` differ), `~` for null, md5.
   * Stored in sync snapshots: an engine whose hash changes between versions re-sends rows once.
   */
  rowHash(exprs: string[]): string {
    if (exprs.length === 0) return this.md5("''");
    const parts = exprs.map((e) => {
      const text = this.cast(e, 'string');
      return `coalesce(${this.concat([this.cast(`length(${text})`, 'string'), "':'", text])}, '~')`;
    });
    return this.md5(this.concat(parts.flatMap((p, i) => (i === 0 ? [p] : ["'|'", p]))));
  }

  /** A stable key from several columns, nulls included (as dbt_utils.generate_surrogate_key). */
  surrogateKey(exprs: string[]): string {
    const parts = exprs.map((e) => `coalesce(${this.cast(e, 'string')}, '_null_')`);
    return this.md5(this.concat(parts.flatMap((p, i) => (i === 0 ? [p] : ["'-'", p]))));
  }

  concat(exprs: string[]): string {
    return `concat(${exprs.join(', ')})`;
  }

  /** 1-based position of the first `needle` in `haystack`, 0 when absent: a plain substring search, no wildcards. */
  strpos(haystack: string, needle: string): string {
    return `strpos(${haystack}, ${needle})`;
  }

  /** A bigint from a string expression of 1 to 15 hex digits (such as the head of an md5). */
  hexToInt(expr: string): string {
    return this.cast(`concat('0x', ${expr})`, 'bigint');
  }

  /**
   * A 56-bit hash of a string expression, a bigint in [0, 2^56): a compact key for the joins and
   * group-bys of one job, never stored (engines may change their hash between versions). Distinct
   * strings can collide, so callers check and fall back.
   */
  hash56(expr: string): string {
    return this.hexToInt(`substr(${this.md5(expr)}, 1, 14)`);
  }

  /** The string value at a path inside a JSON column, e.g. jsonValue('properties', ['address', 'city']). */
  jsonValue(expr: string, path: string[]): string {
    return `json_extract_string(${expr}, ${this.stringLiteral(this.jsonPath(path))})`;
  }

  protected jsonPath(path: string[]): string {
    return '$' + path.map((p) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `."${p.replace(/"/g, '\\"')}"`)).join('');
  }

  boolOr(expr: string): string {
    return `bool_or(${expr})`;
  }

  /** The set union of two selects (BigQuery has no bare `union`). */
  readonly unionDistinct: string = 'union';

  /** Aggregate: `value` of the row that sorts first by `order` (ascending, nulls last). */
  firstBy(value: string, order: string[]): string {
    return `arg_min(${value}, row(${order.join(', ')}))`;
  }

  /** Whether a regular expression matches anywhere in `expr`, ignoring case. */
  regexpContains(expr: string, pattern: string): string {
    return `regexp_matches(${expr}, ${this.stringLiteral(pattern)}, 'i')`;
  }

  // ── statements the engine runs ──────────────────────────────────────────────
  createSchema(schema: string, database?: string): string {
    return `create schema if not exists ${[database, schema].filter((p): p is string => !!p).map((p) => this.quoteIdentifier(p)).join('.')}`;
  }

  createView(rel: Relation, selectSql: string): string[] {
    return [`create or replace view ${this.relation(rel)} as\n${selectSql}`];
  }

  /** Statements that create or replace `rel` from a select, atomically (run in one transaction); `options` are hints. */
  createTable(rel: Relation, selectSql: string, _options?: TableWriteOptions): string[] {
    return [`create or replace table ${this.relation(rel)} as\n${selectSql}`];
  }

  createTableFromColumns(rel: Relation, columns: { name: string; type: LogicalType }[], options: { ifNotExists?: boolean } = {}): string {
    const cols = columns.map((c) => `${this.quoteIdentifier(c.name)} ${this.type(c.type)}`).join(', ');
    return `create table ${options.ifNotExists ? 'if not exists ' : ''}${this.relation(rel)} (${cols})`;
  }

  /** Empties a table, keeping it (BigQuery wants a WHERE clause on every DELETE). */
  deleteAll(rel: Relation): string {
    return `delete from ${this.relation(rel)}`;
  }

  drop(rel: Relation, kind: RelationKind): string {
    return `drop ${kind} if exists ${this.relation(rel)}`;
  }

  /** A relation next to `rel` for staging data during a merge or a swap. */
  stagingRelation(rel: Relation, suffix: string): Relation {
    return { ...rel, name: `${rel.name}__${suffix}` };
  }

  /**
   * Upsert by key from a select: the rows of `selectSql` replace the rows of `target` that share their key.
   * The statement whose affected-row count is the number of merged rows is marked by `countIndex`.
   */
  merge(target: Relation, selectSql: string, keys: string[], columns: string[]): { statements: string[]; countIndex: number } {
    const tmp = this.stagingRelation(target, 'merge');
    const t = this.relation(target);
    const s = this.relation(tmp);
    const on = keys.map((k) => `${t}.${this.quoteIdentifier(k)} = ${s}.${this.quoteIdentifier(k)}`).join(' and ');
    const cols = columns.map((c) => this.quoteIdentifier(c)).join(', ');
    return {
      statements: [
        `drop table if exists ${s}`,
        `create table ${s} as\n${selectSql}`,
        `delete from ${t} using ${s} where ${on}`,
        `insert into ${t} (${cols})\nselect ${cols} from ${s}`,
        `drop table if exists ${s}`,
      ],
      countIndex: 3,
    };
  }

  /** One query whose rows are (column_name, data_type, is_nullable, table_type) for a relation, in column order. */
  describe(rel: Relation): { sql: string; params: string[] } {
    return {
      sql: `select c.column_name, c.data_type, c.is_nullable, t.table_type
from information_schema.tables t
join information_schema.columns c on c.table_schema = t.table_schema and c.table_name = t.table_name
where t.table_schema = ? and t.table_name = ?
order by c.ordinal_position`,
      params: [rel.schema, rel.name],
    };
  }

  /**
   * A statement answering a select's columns (column_name, column_type, with the type names
   * describe() gives) without running it, where the engine has one; undefined elsewhere.
   */
  describeSelect(_selectSql: string): string | undefined {
    return undefined;
  }

  /** The macros model templates can call, by helper name. Arguments arrive as strings. */
  get macros(): Record<string, (...args: string[]) => string> {
    return {
      quote: (name) => this.quoteIdentifier(name),
      literal: (value) => this.literal(value),
      type: (t) => this.type(t as LogicalType),
      cast: (expr, t) => this.cast(expr, t as LogicalType),
      date_trunc: (part, expr) => this.dateTrunc(part, expr),
      to_date: (expr) => this.toDate(expr),
      dateadd: (part, amount, expr) => this.dateAdd(part, Number(amount), expr),
      datediff: (part, start, end) => this.dateDiff(part, start, end),
      current_timestamp: () => this.currentTimestamp(),
      sha256: (expr) => this.sha256(expr),
      md5: (expr) => this.md5(expr),
      surrogate_key: (...exprs) => this.surrogateKey(exprs),
      concat: (...exprs) => this.concat(exprs),
      json_value: (expr, ...path) => this.jsonValue(expr, path),
      bool_or: (expr) => this.boolOr(expr),
    };
  }
}

export type Dialect = AnsiDialect;
