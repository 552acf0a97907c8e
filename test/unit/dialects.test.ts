/**
 * Every dialect method and macro, for every warehouse, as a table: {id, description, input, expected}.
 * Pure string tests; the SQL is executed against real engines by the integration tests.
 */
import { AnsiDialect, DialectError } from '../../src/warehouse/dialects/dialect';
import { dialectFor, DIALECT_NAMES, type Dialect, type DialectName } from '../../src/warehouse/dialects';
import type { LogicalType, Relation } from '../../src/warehouse/warehouse';

/** The dialect methods under test, with their argument lists type-checked. */
type Method =
  | 'quoteIdentifier'
  | 'relation'
  | 'literal'
  | 'type'
  | 'cast'
  | 'dateTrunc'
  | 'toDate'
  | 'dateAdd'
  | 'dateDiff'
  | 'currentTimestamp'
  | 'sha256'
  | 'md5'
  | 'surrogateKey'
  | 'concat'
  | 'jsonValue'
  | 'boolOr'
  | 'firstBy'
  | 'regexpContains'
  | 'createSchema'
  | 'createView'
  | 'createTable'
  | 'createTableFromColumns'
  | 'drop'
  | 'stagingRelation'
  | 'merge'
  | 'describe';
type Input = { [M in Method]: { fn: M; args: Parameters<Dialect[M]> } }[Method];

/** What a call returns, or the error it throws. */
type Outcome = unknown;
const throws = (message: RegExp) => ({ throws: message });
const isThrows = (o: Outcome): o is { throws: RegExp } => typeof o === 'object' && o !== null && 'throws' in o;

interface Case {
  id: string;
  description: string;
  input: Input;
  /** per dialect; a dialect left out is not checked for this case (see the note on the case) */
  expected: Partial<Record<DialectName, Outcome>>;
}

const all = (o: Outcome): Record<DialectName, Outcome> => ({ duckdb: o, postgres: o, bigquery: o, snowflake: o });
/** duckdb, postgres and snowflake share the ANSI form; bigquery differs */
const ansiAnd = (ansi: Outcome, bigquery: Outcome, overrides: Partial<Record<DialectName, Outcome>> = {}) => ({ duckdb: ansi, postgres: ansi, snowflake: ansi, bigquery, ...overrides });

const orders: Relation = { schema: 'analytics', name: 'orders' };
const ordersInDb: Relation = { database: 'demo-project', schema: 'analytics', name: 'orders' };
const daily: Relation = { schema: 'analytics', name: 'daily_revenue' };

const cases: Case[] = [
  // ── quoteIdentifier ───────────────────────────────────────────────────────
  {
    id: 'quote-plain',
    description: 'a lower-case name (Snowflake upper-cases it, as it folds unquoted names)',
    input: { fn: 'quoteIdentifier', args: ['orders'] },
    expected: { duckdb: '"orders"', postgres: '"orders"', bigquery: '`orders`', snowflake: '"ORDERS"' },
  },
  {
    id: 'quote-mixed-case',
    description: 'a mixed-case name keeps its case everywhere',
    input: { fn: 'quoteIdentifier', args: ['OrderId'] },
    expected: { duckdb: '"OrderId"', postgres: '"OrderId"', bigquery: '`OrderId`', snowflake: '"OrderId"' },
  },
  {
    id: 'quote-double-quote',
    description: 'a name containing a double quote: doubled where " is the quote character',
    input: { fn: 'quoteIdentifier', args: ['say "hi"'] },
    expected: { duckdb: '"say ""hi"""', postgres: '"say ""hi"""', bigquery: '`say "hi"`', snowflake: '"say ""hi"""' },
  },
  {
    id: 'quote-backtick',
    description: 'a name containing a backtick: escaped with a backslash in BigQuery',
    input: { fn: 'quoteIdentifier', args: ['a`b'] },
    expected: { duckdb: '"a`b"', postgres: '"a`b"', bigquery: '`a\\`b`', snowflake: '"a`b"' },
  },
  {
    id: 'quote-backslash',
    description: 'a backslash is literal in "..." identifiers, escaped in BigQuery',
    input: { fn: 'quoteIdentifier', args: ['a\\b'] },
    expected: { duckdb: '"a\\b"', postgres: '"a\\b"', bigquery: '`a\\\\b`', snowflake: '"a\\b"' },
  },
  {
    id: 'quote-space',
    description: 'a name with a space is quoted as is (Snowflake does not upper-case it)',
    input: { fn: 'quoteIdentifier', args: ['first name'] },
    expected: { duckdb: '"first name"', postgres: '"first name"', bigquery: '`first name`', snowflake: '"first name"' },
  },
  {
    id: 'quote-dollar',
    description: 'Snowflake upper-cases a name with $ (valid unquoted there)',
    input: { fn: 'quoteIdentifier', args: ['col$1'] },
    expected: { duckdb: '"col$1"', postgres: '"col$1"', bigquery: '`col$1`', snowflake: '"COL$1"' },
  },

  // ── relation ──────────────────────────────────────────────────────────────
  {
    id: 'relation-schema',
    description: 'schema.name',
    input: { fn: 'relation', args: [orders] },
    expected: { duckdb: '"analytics"."orders"', postgres: '"analytics"."orders"', bigquery: '`analytics`.`orders`', snowflake: '"ANALYTICS"."ORDERS"' },
  },
  {
    id: 'relation-database',
    description: 'database.schema.name, each part quoted (a BigQuery project id may hold a -)',
    input: { fn: 'relation', args: [ordersInDb] },
    expected: {
      duckdb: '"demo-project"."analytics"."orders"',
      postgres: '"demo-project"."analytics"."orders"',
      bigquery: '`demo-project`.`analytics`.`orders`',
      snowflake: '"demo-project"."ANALYTICS"."ORDERS"',
    },
  },
  {
    id: 'relation-empty-database',
    description: 'an empty database is left out',
    input: { fn: 'relation', args: [{ database: '', schema: 'analytics', name: 'orders' }] },
    expected: { duckdb: '"analytics"."orders"', postgres: '"analytics"."orders"', bigquery: '`analytics`.`orders`', snowflake: '"ANALYTICS"."ORDERS"' },
  },

  // ── literal ───────────────────────────────────────────────────────────────
  {
    id: 'literal-string',
    description: 'a plain string',
    input: { fn: 'literal', args: ['United Kingdom'] },
    expected: all("'United Kingdom'"),
  },
  {
    id: 'literal-quote',
    description: "a single quote is doubled (BigQuery: backslash-escaped)",
    input: { fn: 'literal', args: ["it's"] },
    expected: ansiAnd("'it''s'", "'it\\'s'"),
  },
  {
    id: 'literal-backslash',
    description: 'a backslash is literal in DuckDB/Postgres strings, an escape in BigQuery/Snowflake',
    input: { fn: 'literal', args: ['C:\\temp\\'] },
    expected: { duckdb: "'C:\\temp\\'", postgres: "'C:\\temp\\'", bigquery: "'C:\\\\temp\\\\'", snowflake: "'C:\\\\temp\\\\'" },
  },
  {
    id: 'literal-quote-and-backslash',
    description: "a backslash before a quote cannot end the literal early",
    input: { fn: 'literal', args: ["a\\'b"] },
    expected: { duckdb: "'a\\''b'", postgres: "'a\\''b'", bigquery: "'a\\\\\\'b'", snowflake: "'a\\\\''b'" },
  },
  {
    id: 'literal-newline',
    description: 'a newline stays raw, except in BigQuery where a quoted string cannot span lines',
    input: { fn: 'literal', args: ['a\nb'] },
    expected: ansiAnd("'a\nb'", "'a\\nb'"),
  },
  { id: 'literal-integer', description: 'an integer', input: { fn: 'literal', args: [42] }, expected: all('42') },
  { id: 'literal-negative-float', description: 'a negative decimal', input: { fn: 'literal', args: [-1.5] }, expected: all('-1.5') },
  { id: 'literal-zero', description: 'zero is a number, not null', input: { fn: 'literal', args: [0] }, expected: all('0') },
  { id: 'literal-bigint', description: 'a bigint', input: { fn: 'literal', args: [9007199254740993n] }, expected: all('9007199254740993') },
  { id: 'literal-true', description: 'true', input: { fn: 'literal', args: [true] }, expected: all('true') },
  { id: 'literal-false', description: 'false', input: { fn: 'literal', args: [false] }, expected: all('false') },
  { id: 'literal-null', description: 'null', input: { fn: 'literal', args: [null] }, expected: all('null') },
  { id: 'literal-undefined', description: 'undefined is null', input: { fn: 'literal', args: [undefined] }, expected: all('null') },
  {
    id: 'literal-date',
    description: 'a Date is its ISO string',
    input: { fn: 'literal', args: [new Date('2010-12-01T08:26:00Z')] },
    expected: all("'2010-12-01T08:26:00.000Z'"),
  },
  {
    id: 'literal-object',
    description: 'an object is its JSON, escaped as a string',
    input: { fn: 'literal', args: [{ name: "O'Brien", tags: ['a'] }] },
    expected: ansiAnd(`'{"name":"O''Brien","tags":["a"]}'`, `'{"name":"O\\'Brien","tags":["a"]}'`),
  },
  { id: 'literal-empty-string', description: 'an empty string is not null', input: { fn: 'literal', args: [''] }, expected: all("''") },
  { id: 'literal-nan', description: 'NaN throws', input: { fn: 'literal', args: [NaN] }, expected: all(throws(/cannot write NaN as a SQL literal/)) },
  { id: 'literal-infinity', description: 'Infinity throws', input: { fn: 'literal', args: [Infinity] }, expected: all(throws(/cannot write Infinity as a SQL literal/)) },
  { id: 'literal-minus-infinity', description: '-Infinity throws', input: { fn: 'literal', args: [-Infinity] }, expected: all(throws(/cannot write -Infinity/)) },

  // ── type and cast ─────────────────────────────────────────────────────────
  ...(
    [
      ['string', 'varchar', 'text', 'STRING', 'varchar'],
      ['integer', 'integer', 'integer', 'INT64', 'integer'],
      ['bigint', 'bigint', 'bigint', 'INT64', 'bigint'],
      ['numeric', 'decimal(18,4)', 'numeric(18,4)', 'NUMERIC', 'number(18,4)'],
      ['float', 'double', 'double precision', 'FLOAT64', 'float'],
      ['boolean', 'boolean', 'boolean', 'BOOL', 'boolean'],
      ['date', 'date', 'date', 'DATE', 'date'],
      ['timestamp', 'timestamp', 'timestamp', 'TIMESTAMP', 'timestamp_ntz'],
      ['json', 'json', 'jsonb', 'JSON', 'variant'],
    ] as const
  ).map(
    ([logical, duckdb, postgres, bigquery, snowflake]): Case => ({
      id: `type-${logical}`,
      description: `the ${logical} type`,
      input: { fn: 'type', args: [logical] },
      expected: { duckdb, postgres, bigquery, snowflake },
    }),
  ),
  {
    id: 'type-unknown',
    description: 'an unknown type names itself and the known ones',
    input: { fn: 'type', args: ['text' as LogicalType] },
    expected: all(throws(/unknown type "text"; use one of string, integer, bigint, numeric, float, boolean, date, timestamp, json/)),
  },
  {
    id: 'cast-timestamp',
    description: 'cast to timestamp',
    input: { fn: 'cast', args: ['invoice_date', 'timestamp'] },
    expected: {
      duckdb: 'cast(invoice_date as timestamp)',
      postgres: 'cast(invoice_date as timestamp)',
      bigquery: 'cast(invoice_date as TIMESTAMP)',
      snowflake: 'cast(invoice_date as timestamp_ntz)',
    },
  },
  {
    id: 'cast-numeric',
    description: 'cast to numeric',
    input: { fn: 'cast', args: ['unit_price', 'numeric'] },
    expected: { duckdb: 'cast(unit_price as decimal(18,4))', postgres: 'cast(unit_price as numeric(18,4))', bigquery: 'cast(unit_price as NUMERIC)', snowflake: 'cast(unit_price as number(18,4))' },
  },
  { id: 'cast-unknown', description: 'cast to an unknown type throws', input: { fn: 'cast', args: ['x', 'uuid' as LogicalType] }, expected: all(throws(/unknown type "uuid"/)) },

  // ── dateTrunc, toDate ─────────────────────────────────────────────────────
  ...(['second', 'minute', 'hour', 'day', 'month', 'quarter', 'year'] as const).map(
    (part): Case => ({
      id: `date-trunc-${part}`,
      description: `truncate to the ${part}`,
      input: { fn: 'dateTrunc', args: [part, 'ordered_at'] },
      expected: ansiAnd(`date_trunc('${part}', ordered_at)`, `timestamp_trunc(ordered_at, ${part.toUpperCase()})`),
    }),
  ),
  {
    id: 'date-trunc-week',
    description: 'weeks start on Monday: BigQuery uses ISOWEEK (its WEEK starts on Sunday)',
    input: { fn: 'dateTrunc', args: ['week', 'ordered_at'] },
    expected: ansiAnd("date_trunc('week', ordered_at)", 'timestamp_trunc(ordered_at, ISOWEEK)'),
  },
  {
    id: 'date-trunc-unknown-part',
    description: 'an unknown date part names itself and the known ones',
    input: { fn: 'dateTrunc', args: ['fortnight', 'ordered_at'] },
    expected: all(throws(/unknown date part "fortnight"; use one of second, minute, hour, day, week, month, quarter, year/)),
  },
  {
    id: 'date-trunc-injection',
    description: 'the part is checked, so it cannot smuggle SQL',
    input: { fn: 'dateTrunc', args: ["day', x) --", 'ordered_at'] },
    expected: all(throws(/unknown date part/)),
  },
  {
    id: 'to-date',
    description: 'to a date',
    input: { fn: 'toDate', args: ['ordered_at'] },
    expected: ansiAnd('cast(ordered_at as date)', 'date(ordered_at)'),
  },

  // ── dateAdd ───────────────────────────────────────────────────────────────
  {
    id: 'date-add-day',
    description: 'add days',
    input: { fn: 'dateAdd', args: ['day', 3, 'ordered_at'] },
    expected: {
      duckdb: "(ordered_at + interval '3 day')",
      postgres: "(ordered_at + interval '3 day')",
      bigquery: 'timestamp_add(ordered_at, interval 3 DAY)',
      snowflake: 'dateadd(day, 3, ordered_at)',
    },
  },
  {
    id: 'date-add-negative',
    description: 'subtract hours with a negative amount',
    input: { fn: 'dateAdd', args: ['hour', -7, 'ordered_at'] },
    expected: {
      duckdb: "(ordered_at + interval '-7 hour')",
      postgres: "(ordered_at + interval '-7 hour')",
      bigquery: 'timestamp_add(ordered_at, interval -7 HOUR)',
      snowflake: 'dateadd(hour, -7, ordered_at)',
    },
  },
  {
    id: 'date-add-month',
    description: 'months: BigQuery goes through datetime_add (timestamp_add stops at DAY)',
    input: { fn: 'dateAdd', args: ['month', 1, 'ordered_at'] },
    expected: {
      duckdb: "(ordered_at + interval '1 month')",
      postgres: "(ordered_at + interval '1 month')",
      bigquery: 'timestamp(datetime_add(datetime(ordered_at), interval 1 MONTH))',
      snowflake: 'dateadd(month, 1, ordered_at)',
    },
  },
  {
    id: 'date-add-quarter',
    description: 'quarters: Postgres intervals have no quarter unit, so three months each',
    input: { fn: 'dateAdd', args: ['quarter', 2, 'ordered_at'] },
    expected: {
      duckdb: "(ordered_at + interval '2 quarter')",
      postgres: "(ordered_at + interval '6 month')",
      bigquery: 'timestamp(datetime_add(datetime(ordered_at), interval 2 QUARTER))',
      snowflake: 'dateadd(quarter, 2, ordered_at)',
    },
  },
  {
    id: 'date-add-week',
    description: 'weeks',
    input: { fn: 'dateAdd', args: ['week', 2, 'ordered_at'] },
    expected: {
      duckdb: "(ordered_at + interval '2 week')",
      postgres: "(ordered_at + interval '2 week')",
      bigquery: 'timestamp(datetime_add(datetime(ordered_at), interval 2 WEEK))',
      snowflake: 'dateadd(week, 2, ordered_at)',
    },
  },
  {
    id: 'date-add-fraction',
    description: 'a fractional amount throws rather than writing SQL some warehouses reject',
    input: { fn: 'dateAdd', args: ['day', 1.5, 'ordered_at'] },
    expected: all(throws(/dateadd amount must be a whole number, got "1.5"/)),
  },
  {
    id: 'date-add-nan',
    description: 'a non-number amount throws rather than writing interval \'NaN day\'',
    input: { fn: 'dateAdd', args: ['day', NaN, 'ordered_at'] },
    expected: all(throws(/dateadd amount must be a whole number, got "NaN"/)),
  },
  {
    id: 'date-add-unknown-part',
    description: 'an unknown part throws',
    input: { fn: 'dateAdd', args: ['days', 1, 'ordered_at'] },
    expected: all(throws(/unknown date part "days"/)),
  },

  // ── dateDiff: boundaries crossed from start to end, every part ────────────
  ...(
    [
      [
        'second',
        "date_diff('second', s, e)",
        "extract(epoch from (date_trunc('second', e) - date_trunc('second', s)))::bigint",
        'timestamp_diff(timestamp_trunc(e, SECOND), timestamp_trunc(s, SECOND), SECOND)',
      ],
      [
        'minute',
        "date_diff('minute', s, e)",
        "(extract(epoch from (date_trunc('minute', e) - date_trunc('minute', s))) / 60)::bigint",
        'timestamp_diff(timestamp_trunc(e, MINUTE), timestamp_trunc(s, MINUTE), MINUTE)',
      ],
      [
        'hour',
        "date_diff('hour', s, e)",
        "(extract(epoch from (date_trunc('hour', e) - date_trunc('hour', s))) / 3600)::bigint",
        'timestamp_diff(timestamp_trunc(e, HOUR), timestamp_trunc(s, HOUR), HOUR)',
      ],
      ['day', "date_diff('day', s, e)", '(cast(e as date) - cast(s as date))', 'timestamp_diff(timestamp_trunc(e, DAY), timestamp_trunc(s, DAY), DAY)'],
      [
        'week',
        "date_diff('week', date_trunc('week', s), date_trunc('week', e))",
        "((cast(date_trunc('week', e) as date) - cast(date_trunc('week', s) as date)) / 7)",
        'date_diff(date(e), date(s), ISOWEEK)',
      ],
      ['month', "date_diff('month', s, e)", '((extract(year from e) - extract(year from s)) * 12 + extract(month from e) - extract(month from s))::int', 'date_diff(date(e), date(s), MONTH)'],
      [
        'quarter',
        "date_diff('quarter', s, e)",
        '((extract(year from e) - extract(year from s)) * 4 + extract(quarter from e) - extract(quarter from s))::int',
        'date_diff(date(e), date(s), QUARTER)',
      ],
      ['year', "date_diff('year', s, e)", '(extract(year from e) - extract(year from s))::int', 'date_diff(date(e), date(s), YEAR)'],
    ] as const
  ).map(
    ([part, duckdb, postgres, bigquery]): Case => ({
      id: `date-diff-${part}`,
      description: `${part}s between s and e`,
      input: { fn: 'dateDiff', args: [part, 's', 'e'] },
      expected: { duckdb, postgres, bigquery, snowflake: `datediff(${part}, s, e)` },
    }),
  ),
  {
    id: 'date-diff-expressions',
    description: 'argument order: start, then end (end - start)',
    input: { fn: 'dateDiff', args: ['day', 'order_totals.last_order_at', 'last_day.last_ordered_at'] },
    expected: {
      duckdb: "date_diff('day', order_totals.last_order_at, last_day.last_ordered_at)",
      postgres: '(cast(last_day.last_ordered_at as date) - cast(order_totals.last_order_at as date))',
      bigquery: 'timestamp_diff(timestamp_trunc(last_day.last_ordered_at, DAY), timestamp_trunc(order_totals.last_order_at, DAY), DAY)',
      snowflake: 'datediff(day, order_totals.last_order_at, last_day.last_ordered_at)',
    },
  },
  { id: 'date-diff-unknown-part', description: 'an unknown part throws', input: { fn: 'dateDiff', args: ['decade', 's', 'e'] }, expected: all(throws(/unknown date part "decade"/)) },

  // ── current timestamp, hashing, concat, surrogate keys ────────────────────
  { id: 'current-timestamp', description: 'now', input: { fn: 'currentTimestamp', args: [] }, expected: all('current_timestamp') },
  {
    id: 'sha256',
    description: 'lower-case hex SHA-256',
    input: { fn: 'sha256', args: ['email'] },
    expected: { duckdb: 'sha256(email)', postgres: "encode(sha256(convert_to(email, 'UTF8')), 'hex')", bigquery: 'to_hex(sha256(email))', snowflake: 'sha2(email, 256)' },
  },
  {
    id: 'md5',
    description: 'lower-case hex MD5',
    input: { fn: 'md5', args: ['email'] },
    expected: ansiAnd('md5(email)', 'to_hex(md5(email))'),
  },
  { id: 'concat', description: 'concat of expressions', input: { fn: 'concat', args: [['a', "'-'", 'b']] }, expected: all("concat(a, '-', b)") },
  {
    id: 'surrogate-key-two',
    description: 'two columns, nulls kept apart from each other by a marker, joined by -',
    input: { fn: 'surrogateKey', args: [['_file', '_line']] },
    expected: {
      duckdb: "md5(concat(coalesce(cast(_file as varchar), '_null_'), '-', coalesce(cast(_line as varchar), '_null_')))",
      postgres: "md5(concat(coalesce(cast(_file as text), '_null_'), '-', coalesce(cast(_line as text), '_null_')))",
      bigquery: "to_hex(md5(concat(coalesce(cast(_file as STRING), '_null_'), '-', coalesce(cast(_line as STRING), '_null_'))))",
      snowflake: "md5(concat(coalesce(cast(_file as varchar), '_null_'), '-', coalesce(cast(_line as varchar), '_null_')))",
    },
  },
  {
    id: 'surrogate-key-one',
    description: 'one column: no separator',
    input: { fn: 'surrogateKey', args: [['id']] },
    expected: ansiAnd("md5(concat(coalesce(cast(id as varchar), '_null_')))", "to_hex(md5(concat(coalesce(cast(id as STRING), '_null_'))))", {
      postgres: "md5(concat(coalesce(cast(id as text), '_null_')))",
    }),
  },

  // ── JSON and aggregates ───────────────────────────────────────────────────
  {
    id: 'json-value-path',
    description: 'the string at a nested path',
    input: { fn: 'jsonValue', args: ['properties', ['address', 'city']] },
    expected: {
      duckdb: "json_extract_string(properties, '$.address.city')",
      postgres: `((properties)::jsonb #>> '{"address","city"}')`,
      bigquery: "json_value(properties, '$.address.city')",
      snowflake: "get_path(properties, 'address.city')::varchar",
    },
  },
  {
    id: 'json-value-special-key',
    description: 'a key that is not a plain name is quoted in the path',
    input: { fn: 'jsonValue', args: ['properties', ['first name']] },
    expected: {
      duckdb: `json_extract_string(properties, '$."first name"')`,
      postgres: `((properties)::jsonb #>> '{"first name"}')`,
      bigquery: `json_value(properties, '$."first name"')`,
      snowflake: `get_path(properties, '"first name"')::varchar`,
    },
  },
  {
    id: 'json-value-quote-in-key',
    description: "quotes inside a key are escaped for the path and for the literal (Snowflake: not checked, see the report)",
    input: { fn: 'jsonValue', args: ['properties', [`it's "x"`]] },
    expected: {
      duckdb: `json_extract_string(properties, '$."it''s \\"x\\""')`,
      postgres: `((properties)::jsonb #>> '{"it''s \\"x\\""}')`,
      bigquery: `json_value(properties, '$."it\\'s \\\\"x\\\\""')`,
    },
  },
  {
    id: 'bool-or',
    description: 'true if any row is true',
    input: { fn: 'boolOr', args: ['is_cancellation'] },
    expected: { duckdb: 'bool_or(is_cancellation)', postgres: 'bool_or(is_cancellation)', bigquery: 'logical_or(is_cancellation)', snowflake: 'boolor_agg(is_cancellation)' },
  },

  // ── statements ────────────────────────────────────────────────────────────
  {
    id: 'create-schema',
    description: 'create a schema',
    input: { fn: 'createSchema', args: ['analytics'] },
    expected: {
      duckdb: 'create schema if not exists "analytics"',
      postgres: 'create schema if not exists "analytics"',
      bigquery: 'create schema if not exists `analytics`',
      snowflake: 'create schema if not exists "ANALYTICS"',
    },
  },
  {
    id: 'create-schema-database',
    description: 'create a schema in a database (BigQuery: a dataset in a project)',
    input: { fn: 'createSchema', args: ['analytics', 'demo-project'] },
    expected: {
      duckdb: 'create schema if not exists "demo-project"."analytics"',
      postgres: 'create schema if not exists "demo-project"."analytics"',
      bigquery: 'create schema if not exists `demo-project`.`analytics`',
      snowflake: 'create schema if not exists "demo-project"."ANALYTICS"',
    },
  },
  {
    id: 'create-view',
    description: 'a view: replaced in place; Postgres drops it first (it cannot replace a view whose columns changed)',
    input: { fn: 'createView', args: [orders, 'select 1 as x'] },
    expected: {
      duckdb: ['create or replace view "analytics"."orders" as\nselect 1 as x'],
      postgres: ['drop view if exists "analytics"."orders" cascade', 'create view "analytics"."orders" as\nselect 1 as x'],
      bigquery: ['create or replace view `analytics`.`orders` as\nselect 1 as x'],
      snowflake: ['create or replace view "ANALYTICS"."ORDERS" as\nselect 1 as x'],
    },
  },
  {
    id: 'create-table',
    description: 'a table: replaced in place; Postgres builds beside and swaps',
    input: { fn: 'createTable', args: [orders, 'select 1 as x'] },
    expected: {
      duckdb: ['create or replace table "analytics"."orders" as\nselect 1 as x'],
      postgres: [
        'drop table if exists "analytics"."orders__tmp"',
        'create table "analytics"."orders__tmp" as\nselect 1 as x',
        'drop table if exists "analytics"."orders" cascade',
        'alter table "analytics"."orders__tmp" rename to "orders"',
      ],
      bigquery: ['create or replace table `analytics`.`orders` as\nselect 1 as x'],
      snowflake: ['create or replace table "ANALYTICS"."ORDERS" as\nselect 1 as x'],
    },
  },
  {
    id: 'create-table-from-columns',
    description: 'an empty table from logical column types',
    input: {
      fn: 'createTableFromColumns',
      args: [
        orders,
        [
          { name: 'invoice_no', type: 'string' },
          { name: 'quantity', type: 'integer' },
          { name: 'ordered_at', type: 'timestamp' },
        ],
      ],
    },
    expected: {
      duckdb: 'create table "analytics"."orders" ("invoice_no" varchar, "quantity" integer, "ordered_at" timestamp)',
      postgres: 'create table "analytics"."orders" ("invoice_no" text, "quantity" integer, "ordered_at" timestamp)',
      bigquery: 'create table `analytics`.`orders` (`invoice_no` STRING, `quantity` INT64, `ordered_at` TIMESTAMP)',
      snowflake: 'create table "ANALYTICS"."ORDERS" ("INVOICE_NO" varchar, "QUANTITY" integer, "ORDERED_AT" timestamp_ntz)',
    },
  },
  {
    id: 'drop-view',
    description: 'drop a view (Postgres cascades to dependent views)',
    input: { fn: 'drop', args: [orders, 'view'] },
    expected: {
      duckdb: 'drop view if exists "analytics"."orders"',
      postgres: 'drop view if exists "analytics"."orders" cascade',
      bigquery: 'drop view if exists `analytics`.`orders`',
      snowflake: 'drop view if exists "ANALYTICS"."ORDERS"',
    },
  },
  {
    id: 'staging-relation',
    description: 'a relation beside the target, for merges and swaps',
    input: { fn: 'stagingRelation', args: [ordersInDb, 'merge'] },
    expected: all({ database: 'demo-project', schema: 'analytics', name: 'orders__merge' }),
  },
  {
    id: 'merge-one-key',
    description: 'upsert by key: delete+insert through a staging table (DuckDB, Postgres), one MERGE (BigQuery, Snowflake)',
    input: { fn: 'merge', args: [daily, 'select 1 as x', ['order_date'], ['order_date', 'orders', 'revenue']] },
    expected: {
      duckdb: {
        statements: [
          'drop table if exists "analytics"."daily_revenue__merge"',
          'create table "analytics"."daily_revenue__merge" as\nselect 1 as x',
          'delete from "analytics"."daily_revenue" using "analytics"."daily_revenue__merge" where "analytics"."daily_revenue"."order_date" = "analytics"."daily_revenue__merge"."order_date"',
          'insert into "analytics"."daily_revenue" ("order_date", "orders", "revenue")\nselect "order_date", "orders", "revenue" from "analytics"."daily_revenue__merge"',
          'drop table if exists "analytics"."daily_revenue__merge"',
        ],
        countIndex: 3,
      },
      postgres: {
        statements: [
          'drop table if exists "analytics"."daily_revenue__merge"',
          'create table "analytics"."daily_revenue__merge" as\nselect 1 as x',
          'delete from "analytics"."daily_revenue" using "analytics"."daily_revenue__merge" where "analytics"."daily_revenue"."order_date" = "analytics"."daily_revenue__merge"."order_date"',
          'insert into "analytics"."daily_revenue" ("order_date", "orders", "revenue")\nselect "order_date", "orders", "revenue" from "analytics"."daily_revenue__merge"',
          'drop table if exists "analytics"."daily_revenue__merge"',
        ],
        countIndex: 3,
      },
      bigquery: {
        statements: [
          [
            'merge into `analytics`.`daily_revenue` t',
            'using (\nselect 1 as x\n) s',
            'on t.`order_date` = s.`order_date`',
            'when matched then update set `orders` = s.`orders`, `revenue` = s.`revenue`',
            'when not matched then insert (`order_date`, `orders`, `revenue`) values (s.`order_date`, s.`orders`, s.`revenue`)',
          ].join('\n'),
        ],
        countIndex: 0,
      },
      snowflake: {
        statements: [
          [
            'merge into "ANALYTICS"."DAILY_REVENUE" t',
            'using (\nselect 1 as x\n) s',
            'on t."ORDER_DATE" = s."ORDER_DATE"',
            'when matched then update set "ORDERS" = s."ORDERS", "REVENUE" = s."REVENUE"',
            'when not matched then insert ("ORDER_DATE", "ORDERS", "REVENUE") values (s."ORDER_DATE", s."ORDERS", s."REVENUE")',
          ].join('\n'),
        ],
        countIndex: 0,
      },
    },
  },
  {
    id: 'merge-composite-key-only',
    description: 'a composite key and no other column: the MERGE has no update clause',
    input: { fn: 'merge', args: [daily, 'select 1', ['a', 'b'], ['a', 'b']] },
    expected: {
      duckdb: {
        statements: [
          'drop table if exists "analytics"."daily_revenue__merge"',
          'create table "analytics"."daily_revenue__merge" as\nselect 1',
          'delete from "analytics"."daily_revenue" using "analytics"."daily_revenue__merge" where "analytics"."daily_revenue"."a" = "analytics"."daily_revenue__merge"."a" and "analytics"."daily_revenue"."b" = "analytics"."daily_revenue__merge"."b"',
          'insert into "analytics"."daily_revenue" ("a", "b")\nselect "a", "b" from "analytics"."daily_revenue__merge"',
          'drop table if exists "analytics"."daily_revenue__merge"',
        ],
        countIndex: 3,
      },
      bigquery: {
        statements: [
          'merge into `analytics`.`daily_revenue` t\nusing (\nselect 1\n) s\non t.`a` = s.`a` and t.`b` = s.`b`\nwhen not matched then insert (`a`, `b`) values (s.`a`, s.`b`)',
        ],
        countIndex: 0,
      },
      snowflake: {
        statements: [
          'merge into "ANALYTICS"."DAILY_REVENUE" t\nusing (\nselect 1\n) s\non t."A" = s."A" and t."B" = s."B"\nwhen not matched then insert ("A", "B") values (s."A", s."B")',
        ],
        countIndex: 0,
      },
    },
  },
  {
    id: 'firstBy',
    description: 'the value of the row that sorts first (identity: the source an identifier was first seen in)',
    input: { fn: 'firstBy', args: ['source', ['first_seen', 'source']] },
    expected: {
      duckdb: 'arg_min(source, row(first_seen, source))',
      postgres: '(array_agg(source order by first_seen, source))[1]',
      bigquery: 'array_agg(source ignore nulls order by first_seen, source limit 1)[safe_offset(0)]',
      snowflake: 'get(array_agg(source) within group (order by first_seen, source), 0)',
    },
  },
  {
    id: 'regexpContains',
    description: 'a case-insensitive, unanchored match (ignore rules); the pattern is a literal',
    input: { fn: 'regexpContains', args: ['v', "^0+$|o'k"] },
    expected: {
      duckdb: "regexp_matches(v, '^0+$|o''k', 'i')",
      postgres: "(v ~* '^0+$|o''k')",
      bigquery: "regexp_contains(v, '(?i)^0+$|o\\'k')",
      snowflake: "(regexp_instr(v, '^0+$|o''k', 1, 1, 0, 'i') > 0)",
    },
  },
  {
    id: 'describe',
    description: 'the catalog query for a relation (DuckDB: its catalog functions, others: information_schema), with bound parameters (Snowflake: upper-case names)',
    input: { fn: 'describe', args: [{ database: 'demo-project', schema: 'analytics', name: 'orders' }] },
    expected: {
      duckdb: { sql: expect.stringContaining('from duckdb_columns() c left join duckdb_views() v'), params: ['analytics', 'orders'] },
      postgres: { sql: expect.stringContaining('where t.table_schema = ? and t.table_name = ?'), params: ['analytics', 'orders'] },
      bigquery: { sql: expect.stringContaining('from `demo-project.analytics.INFORMATION_SCHEMA`.TABLES t'), params: ['analytics', 'orders'] },
      snowflake: { sql: expect.stringContaining('from information_schema.tables t'), params: ['ANALYTICS', 'ORDERS'] },
    },
  },
];

const rows = cases.flatMap((c) =>
  DIALECT_NAMES.filter((d) => d in c.expected).map((dialect) => ({ ...c, dialect, want: c.expected[dialect] })),
);

describe('dialect methods', () => {
  it('case ids are unique', () => {
    const ids = cases.map((c) => c.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it.each(rows)('$id [$dialect]: $description', ({ dialect, input, want }) => {
    const d = dialectFor(dialect);
    const call = () => (d[input.fn] as (...args: unknown[]) => unknown).apply(d, input.args);
    if (isThrows(want)) {
      expect(call).toThrow(DialectError);
      expect(call).toThrow(want.throws);
    } else {
      expect(call()).toEqual(want);
    }
  });
});

// ── the macros table: what model templates see as Handlebars helpers (arguments arrive as strings) ──

interface MacroCase {
  id: string;
  description: string;
  input: { macro: string; args: string[] };
  expected: Partial<Record<DialectName, Outcome>>;
}

const macroCases: MacroCase[] = [
  { id: 'm-quote', description: 'quote', input: { macro: 'quote', args: ['order id'] }, expected: ansiAnd('"order id"', '`order id`') },
  { id: 'm-literal', description: 'literal of a string argument', input: { macro: 'literal', args: ["O'Brien"] }, expected: ansiAnd("'O''Brien'", "'O\\'Brien'") },
  { id: 'm-type', description: 'type', input: { macro: 'type', args: ['bigint'] }, expected: { duckdb: 'bigint', postgres: 'bigint', bigquery: 'INT64', snowflake: 'bigint' } },
  { id: 'm-type-unknown', description: 'unknown type', input: { macro: 'type', args: ['money'] }, expected: all(throws(/unknown type "money"/)) },
  {
    id: 'm-cast',
    description: 'cast',
    input: { macro: 'cast', args: ['quantity', 'integer'] },
    expected: { duckdb: 'cast(quantity as integer)', postgres: 'cast(quantity as integer)', bigquery: 'cast(quantity as INT64)', snowflake: 'cast(quantity as integer)' },
  },
  { id: 'm-date-trunc', description: 'date_trunc', input: { macro: 'date_trunc', args: ['month', 'ordered_at'] }, expected: ansiAnd("date_trunc('month', ordered_at)", 'timestamp_trunc(ordered_at, MONTH)') },
  { id: 'm-date-trunc-unknown', description: 'date_trunc with an unknown part', input: { macro: 'date_trunc', args: ['days', 'x'] }, expected: all(throws(/unknown date part "days"/)) },
  { id: 'm-to-date', description: 'to_date', input: { macro: 'to_date', args: ['ordered_at'] }, expected: ansiAnd('cast(ordered_at as date)', 'date(ordered_at)') },
  {
    id: 'm-dateadd',
    description: 'dateadd: the amount arrives as a string',
    input: { macro: 'dateadd', args: ['day', '-14', 'ordered_at'] },
    expected: {
      duckdb: "(ordered_at + interval '-14 day')",
      postgres: "(ordered_at + interval '-14 day')",
      bigquery: 'timestamp_add(ordered_at, interval -14 DAY)',
      snowflake: 'dateadd(day, -14, ordered_at)',
    },
  },
  { id: 'm-dateadd-not-a-number', description: 'dateadd with an amount that is not a number', input: { macro: 'dateadd', args: ['day', 'abc', 'x'] }, expected: all(throws(/whole number, got "NaN"/)) },
  {
    id: 'm-datediff',
    description: 'datediff',
    input: { macro: 'datediff', args: ['day', 'a', 'b'] },
    expected: { duckdb: "date_diff('day', a, b)", postgres: '(cast(b as date) - cast(a as date))', bigquery: 'timestamp_diff(timestamp_trunc(b, DAY), timestamp_trunc(a, DAY), DAY)', snowflake: 'datediff(day, a, b)' },
  },
  { id: 'm-current-timestamp', description: 'current_timestamp takes no argument', input: { macro: 'current_timestamp', args: [] }, expected: all('current_timestamp') },
  { id: 'm-sha256', description: 'sha256', input: { macro: 'sha256', args: ['email'] }, expected: { duckdb: 'sha256(email)', postgres: "encode(sha256(convert_to(email, 'UTF8')), 'hex')", bigquery: 'to_hex(sha256(email))', snowflake: 'sha2(email, 256)' } },
  { id: 'm-md5', description: 'md5', input: { macro: 'md5', args: ['email'] }, expected: ansiAnd('md5(email)', 'to_hex(md5(email))') },
  {
    id: 'm-surrogate-key',
    description: 'surrogate_key takes any number of columns',
    input: { macro: 'surrogate_key', args: ['a', 'b', 'c'] },
    expected: {
      duckdb: "md5(concat(coalesce(cast(a as varchar), '_null_'), '-', coalesce(cast(b as varchar), '_null_'), '-', coalesce(cast(c as varchar), '_null_')))",
      snowflake: "md5(concat(coalesce(cast(a as varchar), '_null_'), '-', coalesce(cast(b as varchar), '_null_'), '-', coalesce(cast(c as varchar), '_null_')))",
    },
  },
  { id: 'm-concat', description: 'concat takes any number of expressions', input: { macro: 'concat', args: ['a', 'b', 'c'] }, expected: all('concat(a, b, c)') },
  {
    id: 'm-json-value',
    description: 'json_value: every argument after the column is a path step',
    input: { macro: 'json_value', args: ['props', 'a', 'b'] },
    expected: {
      duckdb: "json_extract_string(props, '$.a.b')",
      postgres: `((props)::jsonb #>> '{"a","b"}')`,
      bigquery: "json_value(props, '$.a.b')",
      snowflake: "get_path(props, 'a.b')::varchar",
    },
  },
  { id: 'm-bool-or', description: 'bool_or', input: { macro: 'bool_or', args: ['x'] }, expected: { duckdb: 'bool_or(x)', postgres: 'bool_or(x)', bigquery: 'logical_or(x)', snowflake: 'boolor_agg(x)' } },
];

const macroRows = macroCases.flatMap((c) =>
  DIALECT_NAMES.filter((d) => d in c.expected).map((dialect) => ({ ...c, dialect, want: c.expected[dialect] })),
);

describe('dialect macros (Handlebars helpers)', () => {
  it.each(DIALECT_NAMES)('%s offers the same documented helpers', (name) => {
    expect(Object.keys(dialectFor(name).macros).sort()).toEqual(
      ['bool_or', 'cast', 'concat', 'current_timestamp', 'date_trunc', 'dateadd', 'datediff', 'json_value', 'literal', 'md5', 'quote', 'sha256', 'surrogate_key', 'to_date', 'type'].sort(),
    );
  });

  it('every macro case names a real helper', () => {
    const names = Object.keys(dialectFor('duckdb').macros);
    expect(macroCases.map((c) => c.input.macro).filter((m) => !names.includes(m))).toEqual([]);
  });

  it.each(macroRows)('$id [$dialect]: $description', ({ dialect, input, want }) => {
    const macro = dialectFor(dialect).macros[input.macro];
    const call = () => macro(...input.args);
    if (isThrows(want)) expect(call).toThrow(want.throws);
    else expect(call()).toEqual(want);
  });
});

describe('dialectFor', () => {
  it.each(DIALECT_NAMES)('%s: a fresh dialect of that name, built on the ANSI base', (name) => {
    const d = dialectFor(name);
    expect(d.name).toBe(name);
    expect(d).toBeInstanceOf(AnsiDialect);
    expect(dialectFor(name)).not.toBe(d);
  });
});
