import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parse } from 'csv-parse';
import { CdpError } from '../errors/cdp-error';
import { columnName } from '../seeds/seed-loader';
import { DuckDbDialect } from '../warehouse/dialects/duckdb.dialect';
import type { ColumnSpec, LogicalType } from '../warehouse/warehouse';

/**
 * Reading data files (CSV/TSV, JSON/NDJSON, Parquet) with an in-memory DuckDB, whatever the target
 * warehouse: DuckDB parses, types and reports errors; rows stream out as JS values (numbers, bigints,
 * booleans, strings: dates, timestamps, decimals and JSON travel as canonical text) for
 * `Warehouse.append`. A malformed file is a LoadError naming `file:line` and, where known, the column.
 */

export const FILE_FORMATS = ['csv', 'tsv', 'json', 'ndjson', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

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

const DUCK_TYPES: Record<Exclude<LogicalType, 'string' | 'json'>, string> = {
  integer: 'INTEGER',
  bigint: 'BIGINT',
  numeric: 'DECIMAL(38,10)',
  float: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
};

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
      const ctx = { path, displayName, format };
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
   * The rows, as arrays in the order of `columns` (names of this file's columns, each with the type to
   * deliver). A value that does not fit its type is a LoadError naming the line (CSV, NDJSON) or row.
   */
  async *rows(columns: ColumnSpec[]): AsyncIterable<unknown[]> {
    const exprs: string[] = [];
    const checks: string[] = [];
    for (const col of columns) {
      const i = this.columns.findIndex((c) => c.name === col.name);
      if (i < 0) throw new LoadError(`${this.displayName}: no column ${col.name}`);
      const conv = conversion(this.sourceColumns[i].duckType, `c${i}`, col.type);
      exprs.push(conv.value);
      // the first column whose value does not fit, and that value, travel with each row that has one
      if (conv.valid) checks.push(`when not (c${i} is null or ${conv.valid}) then ${lit(`${i}:`)} || cast(c${i} as varchar)`);
    }
    if (checks.length) exprs.push(`case ${checks.join(' ')} end`);
    const sql = `select ${exprs.join(', ')} from ${this.source}`;
    const ctx = { path: this.path, displayName: this.displayName, format: this.format, names: this.columns.map((c) => c.source) };
    let row = 0;
    try {
      const result = await this.connection.stream(sql);
      for await (const chunk of result.yieldRowsJs()) {
        for (const values of chunk) {
          row++;
          if (checks.length) {
            const bad = values.pop();
            if (bad !== null) throw await this.badValue(String(bad), row, columns);
          }
          yield values;
        }
      }
    } catch (e) {
      if (e instanceof LoadError) throw e;
      throw await fileError(e, ctx);
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** One pass over a CSV read as text: every row is checked, and each column gets the narrowest type all its values fit. */
  private async inferCsvTypes(): Promise<LogicalType[]> {
    const n = this.sourceColumns.length;
    const aggregates: string[] = [];
    for (let i = 0; i < n; i++) {
      const c = `c${i}`;
      const all = (cond: string) => `bool_and(${c} is null or (${cond}))`;
      aggregates.push(
        `count(${c})`,
        all(`lower(${c}) in ('true', 'false')`),
        all(`regexp_full_match(${c}, '${INTEGER_RE}') and try_cast(${c} as integer) is not null`),
        all(`regexp_full_match(${c}, '${INTEGER_RE}') and try_cast(${c} as bigint) is not null`),
        all(`regexp_full_match(${c}, '${FLOAT_RE}') and try_cast(${c} as double) is not null`),
        all(`regexp_full_match(${c}, '${DATE_RE}') and try_cast(${c} as date) is not null`),
        all(`regexp_full_match(${c}, '${TIMESTAMP_RE}') and try_cast(${c} as timestamptz) is not null`),
      );
    }
    const ctx = { path: this.path, displayName: this.displayName, format: this.format, names: this.sourceColumns.map((c) => c.source) };
    const [row] = await run(this.connection, `select ${aggregates.join(', ')} from ${this.source}`, ctx);
    const types: LogicalType[] = [];
    for (let i = 0; i < n; i++) {
      const [count, bool, int, big, float, date, ts] = row.slice(i * 7, i * 7 + 7);
      if (!Number(count)) types.push('string');
      else if (bool) types.push('boolean');
      else if (int) types.push('integer');
      else if (big) types.push('bigint');
      else if (float) types.push('float');
      else if (date) types.push('date');
      else if (ts) types.push('timestamp');
      else types.push('string');
    }
    return types;
  }

  private async badValue(bad: string, row: number, columns: ColumnSpec[]): Promise<LoadError> {
    const colon = bad.indexOf(':');
    const column = this.columns[Number(bad.slice(0, colon))];
    const value = bad.slice(colon + 1);
    const type = columns.find((c) => c.name === column.name)?.type ?? 'string';
    const where = await this.locate(row);
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    return new LoadError(`${where}: column ${describeColumn(column)}: ${JSON.stringify(shown)} is not ${article(type)} ${type} (the type of the table's column)`);
  }

  /** `file:line` for a CSV record or an NDJSON line; `file: row N` otherwise. */
  private async locate(row: number): Promise<string> {
    if (this.format === 'csv' || this.format === 'tsv') {
      // DuckDB numbers CSV records from 1, the header being the first
      const start = await csvRecordStart(this.path, row + 1);
      if (start) return `${this.displayName}:${start.line}`;
    }
    if (this.format === 'ndjson') return `${this.displayName}:${row}`;
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

/**
 * How a source column becomes a value of `type`: `value` is the expression delivered (never failing:
 * try_cast), `valid` the condition a non-null value must meet (absent when every value fits).
 */
function conversion(duckType: string, c: string, type: LogicalType): { value: string; valid?: string } {
  const isText = duckType.toUpperCase() === 'VARCHAR';
  const source = isText ? 'string' : logicalFromDuckType(duckType);
  const tried = (t: string) => `try_cast(${c} as ${t})`;
  switch (type) {
    case 'string':
      if (isText) return { value: c };
      return { value: source === 'json' ? `cast(to_json(${c}) as varchar)` : `cast(${c} as varchar)` };
    case 'json':
      if (isText) return { value: `cast(${tried('json')} as varchar)`, valid: `${tried('json')} is not null` };
      return { value: `cast(to_json(${c}) as varchar)` };
    case 'integer':
    case 'bigint': {
      const t = DUCK_TYPES[type];
      if (source === type || (type === 'bigint' && source === 'integer')) return { value: c };
      // no silent rounding: 1.5 is not an integer (DuckDB's cast would make it 2)
      const whole = isText ? `regexp_full_match(trim(${c}), '[+-]?[0-9]+')` : source === 'float' || source === 'numeric' ? `${c} = trunc(${c})` : 'true';
      const from = isText ? `trim(${c})` : c;
      return { value: `try_cast(${from} as ${t})`, valid: `${whole} and try_cast(${from} as ${t}) is not null` };
    }
    case 'float':
      if (source === 'float') return { value: c };
      if (isText) return { value: tried('double'), valid: `regexp_full_match(trim(${c}), '${FLOAT_RE}|[+-]?(inf|infinity|nan)') and ${tried('double')} is not null` };
      return { value: tried('double'), valid: `${tried('double')} is not null` };
    case 'numeric':
      return { value: `cast(${tried(DUCK_TYPES.numeric)} as varchar)`, valid: source === 'numeric' ? undefined : `${tried(DUCK_TYPES.numeric)} is not null` };
    case 'boolean':
      if (source === 'boolean') return { value: c };
      return { value: tried('boolean'), valid: `${tried('boolean')} is not null` };
    case 'date': {
      const value = `cast(${tried('date')} as varchar)`;
      if (source === 'date') return { value };
      return { value, valid: `${tried('date')} is not null` };
    }
    case 'timestamp': {
      // an offset (Z, +02:00) is applied: the warehouse gets the UTC time
      const value = `cast(cast(${tried('timestamptz')} as timestamp) as varchar)`;
      if (source === 'timestamp' || source === 'date') return { value };
      return { value, valid: `${tried('timestamptz')} is not null` };
    }
  }
}

async function run(connection: DuckDBConnection, sql: string, ctx: ErrorContext): Promise<unknown[][]> {
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowsJS() as unknown[][];
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
    const where = json[3] === 'line' ? `${name}:${json[4]}` : `${name}: record ${json[4]}`;
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
 * Where CSV record `record` (1 = the header, as DuckDB counts) starts: its physical line (quoted
 * values may hold newlines, so records and lines differ) and byte offset. Undefined past the end.
 */
export async function csvRecordStart(path: string, record: number): Promise<{ line: number; offset: number } | undefined> {
  if (record <= 1) return { line: 1, offset: 0 };
  let line = 1;
  let current = 1;
  let inQuotes = false;
  let offset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0x22) inQuotes = !inQuotes;
      else if (b === 0x0a) {
        line++;
        if (!inQuotes) {
          current++;
          if (current === record) return { line, offset: offset + i + 1 };
        }
      }
    }
    offset += chunk.length;
  }
  return undefined;
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
