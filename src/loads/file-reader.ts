import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parse } from 'csv-parse';
import { CdpError } from '../errors/cdp-error';
import { columnName } from '../seeds/seed-loader';
import { DuckDbDialect } from '../warehouse/dialects/duckdb.dialect';
import type { ColumnSpec, LogicalType } from '../warehouse/warehouse';
import type { FileFormat } from './loads.schemas';

/**
 * Reading data files (CSV/TSV, JSON/NDJSON, Parquet) with an in-memory DuckDB, whatever the target
 * warehouse: DuckDB parses, types and reports errors. The rows come out either as a DuckDB select
 * (for a DuckDB warehouse, which runs it itself) or as JS values for `Warehouse.append` (numbers,
 * bigints, booleans, strings; dates, timestamps, decimals and JSON as canonical text). A malformed
 * file is a LoadError naming `file:line` and, where DuckDB or the file says, the column.
 *
 * CSV is read strictly, with the dialect fixed (comma or tab, `"` quoting, a header line): DuckDB's
 * sniffer, given a malformed file, guesses another dialect or fails without a line number. Types are
 * then inferred from every value, not a sample, so a late odd value cannot fail the load half-way.
 */

/** The client's fault (a bad file, a bad option): HTTP 400, printed as is by the CLI. */
export class LoadError extends CdpError {
  constructor(message: string) {
    super('VALIDATION_FAILED', message);
  }
}

const EXTENSIONS: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

export function formatFromName(name: string): FileFormat | undefined {
  return EXTENSIONS[extname(name).toLowerCase()];
}

/** A column of the file: its name in the file, its warehouse name (snake_case) and its inferred type. */
export interface FileColumn extends ColumnSpec {
  source: string;
}

interface SourceColumn {
  source: string;
  /** the DuckDB type the reader gives it (VARCHAR for every CSV column) */
  duckType: string;
}

const duck = new DuckDbDialect();
const lit = (s: string) => duck.literal(s);
const q = (s: string) => duck.quoteIdentifier(s);

// What a CSV value must look like to be typed (the whole value; anything else keeps the column text).
// Integers with leading zeros (zip codes, phone numbers) stay text.
const INTEGER_RE = '[+-]?(0|[1-9][0-9]*)';
const FLOAT_RE = '[+-]?((0|[1-9][0-9]*)(\\.[0-9]+)?|\\.[0-9]+)([eE][+-]?[0-9]+)?';
const DATE_RE = '[0-9]{4}-[0-9]{2}-[0-9]{2}';
const TIMESTAMP_RE = `${DATE_RE}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?)?( ?(Z|[+-][0-9]{2}(:?[0-9]{2})?))?`;

const MASK_TYPES = { 1: 'boolean', 2: 'integer', 4: 'bigint', 8: 'float', 16: 'date', 32: 'timestamp' } as const;

/** The types a CSV value fits, as bits: 1 boolean, 2 integer, 4 bigint, 8 float, 16 date, 32 timestamp (0: text only). */
function csvTypeMask(x: string): string {
  return `case when ${x} is null then null
    when regexp_full_match(${x}, '${INTEGER_RE}') then (case when try_cast(${x} as integer) is not null then 14 when try_cast(${x} as bigint) is not null then 12 else 0 end)
    when regexp_full_match(${x}, '${FLOAT_RE}') and try_cast(${x} as double) is not null then 8
    when lower(${x}) in ('true', 'false') then 1
    when regexp_full_match(${x}, '${DATE_RE}') and try_cast(${x} as date) is not null then 48
    when regexp_full_match(${x}, '${TIMESTAMP_RE}') and ${textToTimestamp(x)} is not null then 32
    else 0 end`;
}

/** A timestamp from text, the same in every session: an offset (Z, +02:00) is applied, giving UTC; without one the time is taken as is. */
function textToTimestamp(x: string): string {
  return `(case when regexp_matches(${x}, '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$') then try_cast(${x} as timestamptz) at time zone 'UTC' else try_cast(${x} as timestamp) end)`;
}

/** The logical type of a column DuckDB read from a JSON or Parquet file. */
export function logicalFromDuckType(type: string): LogicalType {
  const t = type.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|UTINYINT|USMALLINT)$/.test(t)) return 'integer';
  if (/^(BIGINT|UINTEGER)$/.test(t)) return 'bigint';
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  // the warehouses' numeric is (18,4): wider decimals go to float rather than lose digits silently
  if (decimal) return Number(decimal[2]) <= 4 && Number(decimal[1]) - Number(decimal[2]) <= 14 ? 'numeric' : 'float';
  if (/^(FLOAT|DOUBLE|REAL)$/.test(t)) return 'float';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  if (t === 'JSON' || /^(STRUCT|MAP|UNION)\(/.test(t) || t.endsWith(']')) return 'json';
  return 'string'; // VARCHAR, UUID, TIME, INTERVAL, HUGEINT, UBIGINT (too wide for bigint), ENUM, ...
}

/** The logical type of an existing warehouse column (DuckDB or PostgreSQL information_schema data_type). */
export function logicalFromWarehouseType(type: string): LogicalType {
  const t = type.toLowerCase();
  if (/^(tinyint|smallint|integer|int|int2|int4|utinyint|usmallint)$/.test(t)) return 'integer';
  if (/^(bigint|int8|uinteger)$/.test(t)) return 'bigint';
  if (/^(numeric|decimal)/.test(t)) return 'numeric';
  if (/^(double|real|float)/.test(t)) return 'float';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (t === 'date') return 'date';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t === 'json' || t === 'jsonb') return 'json';
  return 'string';
}

export class FileReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly path: string,
    /** the name errors use: the path the user gave, or the uploaded file's name */
    readonly displayName: string,
    readonly format: FileFormat,
    /** the table function reading the file, with columns c0..cN */
    private readonly source: string,
    private readonly sourceColumns: SourceColumn[],
    readonly columns: FileColumn[],
  ) {}

  /** Opens the file and works out its columns and their types (a full pass for CSV). */
  static async open(path: string, options: { format?: FileFormat; displayName?: string } = {}): Promise<FileReader> {
    const displayName = options.displayName ?? path;
    const format = options.format ?? formatFromName(displayName) ?? formatFromName(path);
    if (!format) throw new LoadError(`${displayName}: unknown file type; name it .csv, .tsv, .json, .ndjson, .jsonl or .parquet, or give the format (csv, tsv, json, ndjson, parquet)`);
    let size: number;
    try {
      const stat = statSync(path);
      if (!stat.isFile()) throw new LoadError(`${displayName}: not a file`);
      size = stat.size;
    } catch (e) {
      if (e instanceof LoadError) throw e;
      throw new LoadError(`${displayName}: no such file`);
    }
    // DuckDB would expand these as a glob (several files); a load reads exactly one
    if (/[*?[\]{}]/.test(path)) throw new LoadError(`${displayName}: the path contains a glob character (* ? [ ] { }); rename the file`);
    if (size === 0) throw new LoadError(`${displayName}: empty file`);

    const instance = await DuckDBInstance.create(':memory:');
    let connection: DuckDBConnection | undefined;
    try {
      connection = await instance.connect();
      // timestamps with an offset become UTC; nothing is downloaded or loaded behind our back
      await connection.run("set TimeZone = 'UTC'; set autoinstall_known_extensions = false; set autoload_known_extensions = false");
      const ctx: ErrorContext = { path, displayName, format };
      if (format === 'csv' || format === 'tsv') {
        const delimiter = format === 'tsv' ? '\t' : ',';
        const headers = await readCsvHeader(path, displayName, delimiter);
        const source = csvSource(path, delimiter, headers.map(() => 'VARCHAR'));
        const sourceColumns = headers.map((h) => ({ source: h, duckType: 'VARCHAR' }));
        const names = targetNames(headers, displayName);
        const reader = new FileReader(instance, connection, path, displayName, format, source, sourceColumns, []);
        const types = await reader.inferCsvTypes();
        reader.columns.push(...headers.map((h, i) => ({ source: h, name: names[i], type: types[i] })));
        return reader;
      }
      const fn =
        format === 'parquet' ? `read_parquet(${lit(path)})` : `read_json(${lit(path)}, format = ${lit(format === 'ndjson' ? 'newline_delimited' : 'auto')}, sample_size = -1)`;
      const described = await run(connection, `describe select * from ${fn}`, ctx);
      const sourceColumns = described.map((r) => ({ source: String(r[0]), duckType: String(r[1]) }));
      if (!sourceColumns.length) throw new LoadError(`${displayName}: no columns found`);
      const names = targetNames(
        sourceColumns.map((c) => c.source),
        displayName,
      );
      // the second read gets the columns found by the first, so the file is not scanned for types again
      const columnsArg = `{${sourceColumns.map((c) => `${lit(c.source)}: ${lit(c.duckType)}`).join(', ')}}`;
      const reread = format === 'parquet' ? fn : `read_json(${lit(path)}, format = ${lit(format === 'ndjson' ? 'newline_delimited' : 'auto')}, columns = ${columnsArg})`;
      const source = `(select ${sourceColumns.map((c, i) => `${q(c.source)} as c${i}`).join(', ')} from ${reread})`;
      const columns = sourceColumns.map((c, i) => ({ source: c.source, name: names[i], type: logicalFromDuckType(c.duckType) }));
      return new FileReader(instance, connection, path, displayName, format, source, sourceColumns, columns);
    } catch (e) {
      connection?.closeSync();
      instance.closeSync();
      throw e;
    }
  }

  /**
   * Checks that every value fits the type `columns` give its column (the table's, when it differs from
   * the file's): one pass, before anything is written. A value that does not is a LoadError naming the
   * line (CSV, NDJSON) or row, the column and the value.
   */
  async validate(columns: ColumnSpec[]): Promise<void> {
    const checks: string[] = [];
    for (const col of columns) {
      const i = this.indexOf(col.name);
      if (col.type === this.columns[i].type) continue; // the file's own type: every value fits
      const valid = conversion(this.sourceColumns[i].duckType, `c${i}`, col.type).valid;
      if (valid) checks.push(`when not (c${i} is null or ${valid}) then ${lit(`${i}:`)} || cast(c${i} as varchar)`);
    }
    if (!checks.length) return;
    let row = 0;
    try {
      // in file order (DuckDB keeps insertion order): the row number is the record's
      const result = await this.connection.stream(`select case ${checks.join(' ')} end from ${this.source}`);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const [bad] = chunk.getColumns();
        const at = bad.findIndex((v) => v !== null);
        if (at >= 0) throw await this.badValue(String(bad[at]), row + at + 1, columns);
        row += chunk.rowCount;
      }
    } catch (e) {
      throw await this.error(e);
    }
  }

  /**
   * The select (DuckDB SQL, reading the file) giving `columns` in order, each as its type; values that
   * do not fit are NULL (validate() first). With `transport`, dates, timestamps, decimals and JSON come
   * as canonical text, so the rows can go to any warehouse as JS values.
   */
  select(columns: ColumnSpec[], transport = false): string {
    const exprs = columns.map((col) => {
      const i = this.indexOf(col.name);
      const value = conversion(this.sourceColumns[i].duckType, `c${i}`, col.type).value;
      return transport && TEXT_TRANSPORT.has(col.type) ? `cast(${value} as varchar)` : value;
    });
    return `select ${exprs.join(', ')} from ${this.source}`;
  }

  /** The rows of select(columns), as arrays of JS values (numbers, bigints, booleans, strings). */
  async *rows(columns: ColumnSpec[]): AsyncIterable<unknown[]> {
    try {
      const result = await this.connection.stream(this.select(columns, true));
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        // whole columns at once: much faster than DuckDB's row-by-row conversion
        const values = chunk.getColumns();
        const n = chunk.rowCount;
        const width = values.length;
        for (let r = 0; r < n; r++) {
          const row = new Array<unknown>(width);
          for (let c = 0; c < width; c++) row[c] = values[c][r];
          yield row;
        }
      }
    } catch (e) {
      throw await this.error(e);
    }
  }

  /** A DuckDB error from reading this file (here, or in a DuckDB warehouse running select()), as a LoadError. */
  async error(e: unknown): Promise<LoadError> {
    return e instanceof LoadError ? e : fileError(e, this.errorContext());
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private indexOf(name: string): number {
    const i = this.columns.findIndex((c) => c.name === name);
    if (i < 0) throw new LoadError(`${this.displayName}: no column ${name}`);
    return i;
  }

  private errorContext(): ErrorContext {
    return { path: this.path, displayName: this.displayName, format: this.format, names: this.sourceColumns.map((c) => c.source) };
  }

  /**
   * One pass over a CSV read as text: every row is parsed (so a malformed row is an error here), and
   * each column gets the narrowest type all its values fit, from a bit mask per value.
   */
  private async inferCsvTypes(): Promise<LogicalType[]> {
    const n = this.sourceColumns.length;
    const aggregates: string[] = [];
    for (let i = 0; i < n; i++) aggregates.push(`count(c${i})`, `bit_and(${csvTypeMask(`c${i}`)})`);
    const [row] = await run(this.connection, `select ${aggregates.join(', ')} from ${this.source}`, this.errorContext());
    const types: LogicalType[] = [];
    for (let i = 0; i < n; i++) {
      const count = Number(row[i * 2]);
      const mask = Number(row[i * 2 + 1] ?? 0);
      const fit = ([1, 2, 4, 8, 16, 32] as const).find((bit) => mask & bit);
      types.push(count && fit ? MASK_TYPES[fit] : 'string');
    }
    return types;
  }

  /** The error for the first value that does not fit: `bad` is "<column index>:<value>". */
  private async badValue(bad: string, row: number, columns: ColumnSpec[]): Promise<LoadError> {
    const colon = bad.indexOf(':');
    const index = Number(bad.slice(0, colon));
    const column = this.columns[index];
    const type = columns.find((c) => c.name === column.name)?.type ?? 'string';
    // a JSON value shows as JSON ("x", {"a":1}); other values are quoted
    const value = bad.slice(colon + 1);
    const shown = (this.sourceColumns[index].duckType.toUpperCase() === 'JSON' ? value : JSON.stringify(value)).replace(/^(.{80}).+$/s, '$1…');
    const where = await this.locate(row);
    return new LoadError(`${where}: column ${describeColumn(column)}: ${shown} is not ${article(type)} ${type} (the type of the table's column)`);
  }

  /** `file:line` for a CSV record or an NDJSON line; `file: row N` otherwise. */
  private async locate(row: number): Promise<string> {
    if (this.format === 'csv' || this.format === 'tsv') {
      // data row N is record N + 1 after the header (blank lines give no rows)
      const start = await csvRecordStart(this.path, row + 1, { skipBlank: true });
      if (start) return `${this.displayName}:${start.line}`;
    }
    if (this.format === 'ndjson') {
      const line = await jsonLine(this.path, row, false);
      if (line) return `${this.displayName}:${line}`;
    }
    return `${this.displayName}: row ${row}`;
  }
}

/** Snake_case warehouse names for the file's columns; two that become the same name are an error. */
function targetNames(sources: string[], displayName: string): string[] {
  const names = sources.map(columnName);
  names.forEach((name, i) => {
    const j = names.indexOf(name);
    if (j !== i) throw new LoadError(`${displayName}: columns ${JSON.stringify(sources[j])} and ${JSON.stringify(sources[i])} both become "${name}"; rename one`);
  });
  return names;
}

const describeColumn = (c: FileColumn) => (c.source === c.name ? c.name : `${c.name} (${JSON.stringify(c.source)} in the file)`);
const article = (type: string) => (/^[aeiou]/.test(type) ? 'an' : 'a');

/** read_csv, strict: a row with too many or too few values or a broken quote is an error, never skipped or padded. */
function csvSource(path: string, delimiter: string, types: string[]): string {
  const columns = `{${types.map((t, i) => `'c${i}': ${lit(t)}`).join(', ')}}`;
  return `read_csv(${lit(path)}, header = true, auto_detect = false, delim = ${lit(delimiter)}, quote = '"', escape = '"', columns = ${columns}, strict_mode = true, null_padding = false, ignore_errors = false, store_rejects = false)`;
}

/** Types that travel as text to a warehouse: exact (decimals, microseconds) and parsed the same everywhere. */
const TEXT_TRANSPORT = new Set<LogicalType>(['numeric', 'date', 'timestamp', 'json']);

const DECIMAL = 'decimal(38,10)';

/**
 * How a source column `c` (DuckDB type `duckType`) becomes a value of `type`: `value` is the DuckDB
 * expression (never failing: try_cast), `valid` the condition a non-null value must meet to fit.
 */
function conversion(duckType: string, c: string, type: LogicalType): { value: string; valid?: string } {
  const isText = duckType.toUpperCase() === 'VARCHAR';
  const source = isText ? 'string' : logicalFromDuckType(duckType);
  const tried = (t: string) => `try_cast(${c} as ${t})`;
  const checked = (value: string) => ({ value, valid: `${value} is not null` });
  switch (type) {
    case 'string':
      if (isText) return { value: c };
      return { value: source === 'json' ? `cast(to_json(${c}) as varchar)` : `cast(${c} as varchar)` };
    case 'json':
      if (isText) return checked(tried('json'));
      return { value: `to_json(${c})` };
    case 'integer':
    case 'bigint': {
      if (source === type || (type === 'bigint' && source === 'integer')) return { value: c };
      // no silent rounding: 1.5 is not an integer (DuckDB's cast would make it 2)
      const from = isText ? `trim(${c})` : c;
      const value = `try_cast(${from} as ${type})`;
      const whole = isText ? `regexp_full_match(${from}, '[+-]?[0-9]+')` : source === 'float' || source === 'numeric' ? `${c} = trunc(${c})` : 'true';
      return { value, valid: `${whole} and ${value} is not null` };
    }
    case 'float':
      if (source === 'float' || source === 'integer' || source === 'bigint' || source === 'numeric') return { value: `cast(${c} as double)` };
      if (isText) return { value: `try_cast(trim(${c}) as double)`, valid: `regexp_full_match(trim(${c}), '${FLOAT_RE}|[+-]?(inf|infinity|nan)') and try_cast(trim(${c}) as double) is not null` };
      return checked(tried('double'));
    case 'numeric':
      if (source === 'numeric' || source === 'integer' || source === 'bigint') return { value: `cast(${c} as ${DECIMAL})` };
      return checked(isText ? `try_cast(trim(${c}) as ${DECIMAL})` : tried(DECIMAL));
    case 'boolean':
      if (source === 'boolean') return { value: c };
      return checked(isText ? `try_cast(trim(${c}) as boolean)` : tried('boolean'));
    case 'date':
      if (source === 'date') return { value: c };
      if (source === 'timestamp') return { value: `cast(${c} as date)` };
      return checked(tried('date'));
    case 'timestamp':
      if (source === 'timestamp') return { value: /TIME ZONE|TIMESTAMPTZ/i.test(duckType) ? `(${c} at time zone 'UTC')` : `cast(${c} as timestamp)` };
      if (source === 'date') return { value: `cast(${c} as timestamp)` };
      return checked(isText ? textToTimestamp(c) : tried('timestamp'));
  }
}

async function run(connection: DuckDBConnection, sql: string, ctx: ErrorContext): Promise<unknown[][]> {
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowsJS();
  } catch (e) {
    throw await fileError(e, ctx);
  }
}

async function readCsvHeader(path: string, displayName: string, delimiter: string): Promise<string[]> {
  const parser = createReadStream(path).pipe(parse({ bom: true, to: 1, delimiter, relax_column_count: true }));
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (record.every((h) => h.trim() === '')) break;
      return record;
    }
  } catch (e) {
    throw new LoadError(`${displayName}:1: the header line: ${(e as Error).message}`);
  } finally {
    parser.destroy();
  }
  throw new LoadError(`${displayName}:1: no header line; the first line must name the columns`);
}

// ── errors ───────────────────────────────────────────────────────────────────────────────────────

interface ErrorContext {
  path: string;
  displayName: string;
  format: FileFormat;
  /** the file's column names, for the c0..cN DuckDB knows them by */
  names?: string[];
}

/** DuckDB's error as `<file>:<line>: [column <name>: ]<reason>`, without DuckDB's advice on its own options. */
async function fileError(e: unknown, ctx: ErrorContext): Promise<LoadError> {
  const raw = (e instanceof Error ? e.message : String(e)).split(ctx.path).join(ctx.displayName);
  const name = ctx.displayName;
  const csv = /CSV Error on Line: (\d+)/.exec(raw);
  if (csv) {
    const delimiter = ctx.format === 'tsv' ? 0x09 : 0x2c;
    const start = await csvRecordStart(ctx.path, Number(csv[1]));
    const where = `${name}:${start?.line ?? csv[1]}`;
    const count = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(raw);
    if (count) {
      const columns = ctx.names ? ` (${ctx.names.join(', ')})` : '';
      return new LoadError(`${where}: expected ${count[1]} values${columns}, found ${count[2]}`);
    }
    if (/unterminated quote/i.test(raw)) {
      const problem = start && (await quoteProblem(ctx.path, start.offset, delimiter));
      const column = problem && ctx.names?.[problem.field] !== undefined ? `column ${ctx.names[problem.field]}: ` : '';
      return new LoadError(`${where}: ${column}${problem?.reason ?? 'a quoted value is not closed, or has text after its closing quote'}`);
    }
    const conversion = /Error when converting column "c(\d+)"\. (.*)/.exec(raw);
    if (conversion) return new LoadError(`${where}: column ${ctx.names?.[Number(conversion[1])] ?? conversion[1]}: ${conversion[2]}`);
    if (/unicode/i.test(raw)) return new LoadError(`${where}: the text is not valid UTF-8`);
    if (/Maximum line size/i.test(raw)) return new LoadError(`${where}: ${firstLine(raw.slice(raw.indexOf('Maximum line size')))}`);
    return new LoadError(`${where}: ${reasonOf(raw.slice(csv.index + csv[0].length))}`);
  }
  const json = /(Malformed JSON|JSON transform error) in file "[^"]*", (?:at byte (\d+) )?in (line|record\/value) (\d+): ([^\n]*)/.exec(raw);
  if (json) {
    // DuckDB counts the records of a JSON file from 2 (1.5.x); NDJSON lines map back to the file's lines
    const record = Math.max(1, Number(json[4]) - 1);
    const line = json[3] === 'line' ? await jsonLine(ctx.path, record) : undefined;
    const where = line ? `${name}:${line}` : `${name}: record ${record}`;
    const reason = json[5].trim().replace(/\.$/, '');
    return new LoadError(`${where}: ${json[1] === 'Malformed JSON' ? 'malformed JSON' : 'unexpected JSON'}${json[2] ? ` at byte ${json[2]}` : ''}: ${reason}`);
  }
  if (ctx.format === 'parquet') return new LoadError(`${name}: not a readable Parquet file: ${reasonOf(raw)}`);
  return new LoadError(`${name}: ${reasonOf(raw)}`);
}

const firstLine = (s: string) => s.trim().split('\n')[0].trim();

/** The message without DuckDB's error class prefix, SQL position and option dump. */
function reasonOf(raw: string): string {
  const text = raw
    .replace(/^[A-Za-z ]*Error: /, '')
    .replace(/\n\s*LINE \d+:[\s\S]*$/, '')
    .split(/\nPossible (fixes|solutions):/)[0]
    .replace(/\nOriginal Line:[^\n]*/, '')
    .trim();
  return text.split('\n').filter(Boolean).join('; ') || firstLine(raw);
}

/**
 * Where CSV record `record` (1 = the header) starts: its physical line (quoted values may hold
 * newlines, so records and lines differ) and byte offset; undefined past the end. DuckDB's error
 * messages count blank lines as records; its rows do not (`skipBlank`).
 */
export async function csvRecordStart(path: string, record: number, options: { skipBlank?: boolean } = {}): Promise<{ line: number; offset: number } | undefined> {
  if (record <= 1) return { line: 1, offset: 0 };
  let line = 1;
  let current = 1;
  let inQuotes = false;
  let blank = true;
  let offset = 0;
  let found = false; // skipBlank: the record starts at the next line that is not blank
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (found && b !== 0x0a && b !== 0x0d) return { line, offset: offset + i };
      if (b === 0x22) inQuotes = !inQuotes;
      if (b === 0x0a) {
        line++;
        if (!inQuotes) {
          if (!(options.skipBlank && blank)) current++;
          blank = true;
          if (current === record) {
            if (!options.skipBlank) return { line, offset: offset + i + 1 };
            found = true;
          }
        }
      } else if (b !== 0x0d) blank = false;
    }
    offset += chunk.length;
  }
  return undefined;
}

/**
 * The physical line of NDJSON record `record` (blank lines are not records). For a parse error
 * (`orNext`): should DuckDB's count be off by one the other way, the next record's line is taken when
 * it is the one that does not parse.
 */
async function jsonLine(path: string, record: number, orNext = true): Promise<number | undefined> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let line = 0;
  let current = 0;
  let candidate: number | undefined;
  try {
    for await (const text of lines) {
      line++;
      if (!text.trim()) continue;
      current++;
      if (!orNext && current === record) return line;
      if (current === record || current === record + 1) {
        if (!parses(text)) return line;
        if (current === record) candidate = line;
        else break;
      }
    }
  } finally {
    lines.close();
  }
  return candidate;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The first quoting problem in the record at `offset`: which field, and what is wrong. */
async function quoteProblem(path: string, offset: number, delimiter: number): Promise<{ field: number; reason: string } | undefined> {
  const stream = createReadStream(path, { start: offset, end: offset + (8 << 20) });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  const buf = Buffer.concat(chunks);
  let field = 0;
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0x22) {
      // a quoted value: up to a quote that is not doubled
      i++;
      for (;;) {
        if (i >= buf.length) return { field, reason: 'a quoted value is never closed (its closing quote is missing)' };
        if (buf[i] === 0x22) {
          if (buf[i + 1] === 0x22) i += 2;
          else break;
        } else i++;
      }
      i++; // the closing quote
      const next = buf[i];
      if (i < buf.length && next !== delimiter && next !== 0x0a && next !== 0x0d) {
        return { field, reason: 'text after the closing quote of a quoted value (write a quote inside a value as "")' };
      }
    } else {
      while (i < buf.length && buf[i] !== delimiter && buf[i] !== 0x0a) {
        if (buf[i] === 0x22) return { field, reason: 'a quote inside an unquoted value (quote the whole value and double the quote: "a ""b""")' };
        i++;
      }
    }
    if (i >= buf.length || buf[i] === 0x0a || (buf[i] === 0x0d && buf[i + 1] === 0x0a)) return undefined;
    if (buf[i] === delimiter) {
      field++;
      i++;
    } else i++;
  }
  return undefined;
}
