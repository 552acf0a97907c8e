import type { Column } from 'snowflake-sdk';
import { WarehouseError } from '../warehouse-error';
import type { BindValue, Row } from '../warehouse';

/**
 * A timestamp as the engine stores time (TIMESTAMP_NTZ holding UTC): `2024-01-31 23:59:59.123`,
 * the form the dialect's timestampLiteral writes.
 */
export function utcTimestamp(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * A `?` value for the driver, which binds strings, numbers and booleans (and sends each with a
 * type: TEXT, FIXED, REAL, BOOLEAN). A bigint goes as text (JSON cannot carry it), a Date as UTC
 * text without a zone, and a non-finite float as Snowflake spells it.
 */
export function toBind(value: BindValue | undefined): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return utcTimestamp(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'inf' : '-inf';
  return value;
}

/**
 * A value to load, as text (Snowflake casts it to the column's type on INSERT and COPY):
 * objects become JSON, Dates UTC text; null stays null.
 */
export function loadText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return utcTimestamp(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'NaN' : value > 0 ? 'inf' : '-inf';
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * One CSV record for COPY INTO with FIELD_OPTIONALLY_ENCLOSED_BY = '"': every value quoted (a
 * quote doubled), NULL an empty unquoted field, so '' and NULL stay apart; newlines inside quotes.
 */
export function csvRecord(values: unknown[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    const text = loadText(values[i]);
    if (text !== null) line += `"${text.replace(/"/g, '""')}"`;
  }
  return line + '\n';
}

/**
 * The inverse of the dialect's folding: the dialect writes `stg_orders` as "STG_ORDERS" (what an
 * unquoted name becomes on Snowflake), so an all-upper-case name the engine returns reads as the
 * lower-case name the code wrote. A name with lower-case letters was quoted that way and stays.
 */
export function unfoldName(name: string): string {
  return /^[A-Z_][A-Z0-9_$]*$/.test(name) ? name.toLowerCase() : name;
}

/**
 * Builds row objects from the driver's arrays (fetched with NUMBER as strings): integers as JS
 * numbers when they are safe and as strings beyond (as the PostgreSQL adapter does), decimals and
 * floats as numbers, timestamps and dates as plain Dates, VARIANT/OBJECT/ARRAY as parsed JSON,
 * column names unfolded.
 */
export function rowReader(columns: Column[]): (values: unknown[]) => Row {
  const names = columns.map((c) => unfoldName(c.getName()));
  const convert = columns.map(converter);
  return (values) => {
    const row: Row = {};
    for (let i = 0; i < names.length; i++) row[names[i]] = convert[i](values[i]);
    return row;
  };
}

function converter(column: Column): (v: unknown) => unknown {
  const type = column.getType();
  if (type === 'fixed' && !column.getScale()) {
    return (v) => {
      if (v === null || v === undefined) return null;
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v;
    };
  }
  if (type === 'fixed' || type === 'real') return (v) => (v === null || v === undefined ? null : Number(v));
  if (column.isDate() || column.isTimestamp()) return (v) => (v instanceof Date ? new Date(v.getTime()) : (v ?? null));
  return (v) => (v === undefined ? null : v);
}

/** Checks a row's width before it is loaded (the DuckDB appender's rule). */
export function checkWidth(row: unknown[], width: number, index: number, target: string): void {
  if (row.length !== width) throw new WarehouseError(`append to ${target}: row ${index} has ${row.length} values, ${width} columns were given`);
}
