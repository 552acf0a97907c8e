import { randomBytes } from 'node:crypto';
import { DuckDbWarehouse } from '../warehouse/duckdb/duckdb.warehouse';
import type { ColumnSpec, Relation, RelationInfo, Warehouse } from '../warehouse/warehouse';
import { FileReader, LoadError, logicalFromWarehouseType } from './file-reader';
import { IDENTIFIER_RE, type FileFormat, type LoadMode } from './loads.schemas';

export { LoadError, formatFromName } from './file-reader';
export { FILE_FORMATS, LOAD_MODES, type FileFormat, type LoadMode } from './loads.schemas';

export interface LoadFileOptions {
  /** the file on this machine */
  path: string;
  /** `name` (in `schema`) or `schema.name` */
  table: string;
  /** the schema for a bare table name: the warehouse schema from cdp.yaml */
  schema?: string;
  /** BigQuery project / Snowflake database, when the warehouse has one */
  database?: string;
  /** from the file name when absent */
  format?: FileFormat;
  mode: LoadMode;
  /** upsert: the key column(s); a list or "a,b" */
  key?: string | string[];
  /** the name errors use for the file (an upload's file name); default: `path` */
  displayName?: string;
}

export interface LoadResult {
  /** rows read from the file and written */
  rows: number;
  /** schema.name */
  table: string;
  /** the table's columns as loaded, in table order */
  columns: ColumnSpec[];
}

/**
 * Loads a data file into a warehouse table. DuckDB (in-process, in memory) reads and types the file;
 * its rows stream into a staging table beside the target (DuckDB appender / PostgreSQL COPY), and one
 * transaction then applies the mode:
 * - replace: the table becomes exactly the file (columns and types from the file);
 * - append: the rows are added; the file's columns must be the table's (by name, any order);
 * - upsert: rows replace the table's rows with the same key, the others are added.
 * A missing table is created (and its schema). A failure anywhere leaves the table as it was and no
 * staging table behind.
 */
export async function loadFile(warehouse: Warehouse, options: LoadFileOptions): Promise<LoadResult> {
  const d = warehouse.dialect;
  const target = parseTable(options.table, options.schema, options.database);
  const keys = parseKeys(options.key);
  if (options.mode === 'upsert' && !keys.length) throw new LoadError('mode upsert needs the key column(s): --key id (or key=id)');
  if (options.mode !== 'upsert' && keys.length) throw new LoadError(`a key applies to mode upsert only (the mode is ${options.mode})`);
  const tableName = `${target.schema}.${target.name}`;

  const reader = await FileReader.open(options.path, { format: options.format, displayName: options.displayName });
  try {
    const fileNames = reader.columns.map((c) => c.name);
    for (const k of keys) {
      if (!fileNames.includes(k)) throw new LoadError(`${reader.displayName}: the key column ${k} is not in the file (columns: ${fileNames.join(', ')})`);
    }
    const existing = await warehouse.describe(target);
    if (existing?.kind === 'view') throw new LoadError(`${tableName} is a view; a load writes tables (choose another --table)`);
    const into = existing && options.mode !== 'replace' ? existing : undefined;
    // into an existing table: its columns, order and types; else the file's
    const columns: ColumnSpec[] = into ? matchColumns(into, fileNames, tableName, reader.displayName) : reader.columns.map(({ name, type }) => ({ name, type }));

    // every value checked against its column's type before anything is created or written
    await reader.validate(columns);
    await warehouse.ensureSchema(target.schema, target.database);
    const staging = d.stagingRelation(target, `load_${randomBytes(4).toString('hex')}`);
    const t = d.relation(target);
    const s = d.relation(staging);
    const cols = columns.map((c) => d.quoteIdentifier(c.name)).join(', ');
    try {
      await warehouse.execute(into ? `create table ${s} as select * from ${t} where 1 = 0` : d.createTableFromColumns(staging, columns));
      const count = await copyRows(warehouse, reader, staging, columns);
      if (options.mode === 'upsert') await checkKeys(warehouse, staging, keys, reader.displayName);

      const fromStaging = `select ${cols} from ${s}`;
      let statements: string[];
      if (!existing) {
        statements = [`create table ${t} as\n${fromStaging}`];
      } else if (options.mode === 'replace') {
        // same columns and types: replace the rows in place, so views on the table stay valid
        const staged = await warehouse.describe(staging);
        const sameShape = !!staged && shape(staged) === shape(existing);
        statements = sameShape ? [d.deleteAll(target), `insert into ${t} (${cols})\n${fromStaging}`] : [d.drop(target, 'table'), `create table ${t} as\n${fromStaging}`];
      } else if (options.mode === 'append') {
        statements = [`insert into ${t} (${cols})\n${fromStaging}`];
      } else {
        statements = d.merge(target, fromStaging, keys, columns.map((c) => c.name)).statements;
      }
      await warehouse.transaction([...statements, d.drop(staging, 'table')]);
      return { rows: count, table: tableName, columns };
    } finally {
      // after a failure (and harmlessly after success): no staging table stays behind
      await warehouse.execute(d.drop(staging, 'table')).catch(() => undefined);
    }
  } finally {
    reader.close();
  }
}

/**
 * The file's rows into the staging table. A DuckDB warehouse runs in this process and reads the file
 * itself (one parallel insert ... select); any other gets the rows streamed from the reader through
 * Warehouse.append (PostgreSQL: COPY).
 */
async function copyRows(warehouse: Warehouse, reader: FileReader, staging: Relation, columns: ColumnSpec[]): Promise<number> {
  const d = warehouse.dialect;
  if (warehouse instanceof DuckDbWarehouse) {
    const cols = columns.map((c) => d.quoteIdentifier(c.name)).join(', ');
    try {
      return (await warehouse.execute(`insert into ${d.relation(staging)} (${cols})\n${reader.select(columns)}`)) ?? 0;
    } catch (e) {
      throw await reader.error(e);
    }
  }
  // a file error surfaces through the warehouse's append: keep the reader's own error, with its line
  let readError: unknown;
  async function* rows() {
    try {
      yield* reader.rows(columns);
    } catch (e) {
      readError = e;
      throw e;
    }
  }
  try {
    return await warehouse.append(staging, columns.map((c) => c.name), rows());
  } catch (e) {
    throw readError ?? e;
  }
}

/** `name` or `schema.name`, each a plain identifier; names are lower-cased so SQL needs no quotes. */
export function parseTable(table: string, schema: string | undefined, database?: string): Relation {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => !IDENTIFIER_RE.test(p))) {
    throw new LoadError(`table "${table}": expected name or schema.name, each letters, digits and _ (not starting with a digit, at most 63)`);
  }
  const name = parts[parts.length - 1].toLowerCase();
  const inSchema = parts.length === 2 ? parts[0].toLowerCase() : schema;
  if (!inSchema) throw new LoadError(`table "${table}": no schema; give schema.name`);
  return { ...(database ? { database } : {}), schema: inSchema, name };
}

function parseKeys(key: string | string[] | undefined): string[] {
  const keys = (Array.isArray(key) ? key : (key ?? '').split(',')).map((k) => k.trim()).filter(Boolean);
  for (const k of keys) if (!IDENTIFIER_RE.test(k)) throw new LoadError(`key "${k}": a column name is letters, digits and _`);
  return keys.map((k) => k.toLowerCase());
}

/** The table's columns, in its order, when the file has exactly those (by name); else a LoadError saying what differs. */
function matchColumns(table: RelationInfo, fileNames: string[], tableName: string, displayName: string): ColumnSpec[] {
  const tableNames = table.columns.map((c) => c.name);
  const missing = tableNames.filter((n) => !fileNames.includes(n));
  const extra = fileNames.filter((n) => !tableNames.includes(n));
  if (missing.length || extra.length) {
    const parts = [missing.length && `missing from the file: ${missing.join(', ')}`, extra.length && `not in the table: ${extra.join(', ')}`].filter(Boolean);
    throw new LoadError(`${displayName}: the columns do not match ${tableName} (${parts.join('; ')}); use --mode replace to redefine the table`);
  }
  return table.columns.map((c) => ({ name: c.name, type: logicalFromWarehouseType(c.type) }));
}

const shape = (info: RelationInfo) => info.columns.map((c) => `${c.name} ${c.type}`).join(',');

/** Upsert keys must identify one row of the file each. */
async function checkKeys(warehouse: Warehouse, staging: Relation, keys: string[], displayName: string): Promise<void> {
  const d = warehouse.dialect;
  const s = d.relation(staging);
  const k = keys.map((c) => d.quoteIdentifier(c));
  for await (const row of warehouse.query(`select count(*) as n from ${s} where ${k.map((c) => `${c} is null`).join(' or ')}`)) {
    if (Number(row.n) > 0) throw new LoadError(`${displayName}: the key ${keys.join(', ')} is empty in ${row.n} rows; every row needs a key to upsert`);
  }
  for await (const row of warehouse.query(`select ${k.join(', ')}, count(*) as n from ${s} group by ${k.join(', ')} having count(*) > 1`)) {
    const value = keys.map((c) => `${c}=${typeof row[c] === 'string' ? JSON.stringify(row[c]) : String(row[c])}`).join(', ');
    throw new LoadError(`${displayName}: the key is not unique in the file: ${value} is on ${row.n} rows`);
  }
}
