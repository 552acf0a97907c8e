import type { TableField } from '@google-cloud/bigquery';
import type { BindValue, Row } from '../warehouse';

/** A bound value and the BigQuery type it is sent as; scalars as text, the API's own form of a parameter value. */
export interface TypedParam {
  value: string | Date;
  type: 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'TIMESTAMP';
}

/**
 * The BigQuery type of each (non-null) bound value: whole numbers that a double holds exactly are
 * INT64, other numbers FLOAT64 (NaN and the infinities included), bigints INT64, Dates TIMESTAMP.
 */
export function typedParam(value: Exclude<BindValue, null>): TypedParam {
  switch (typeof value) {
    case 'string':
      return { value, type: 'STRING' };
    case 'boolean':
      return { value: String(value), type: 'BOOL' };
    case 'bigint':
      return { value: value.toString(), type: 'INT64' };
    case 'number':
      return { value: String(value), type: Number.isSafeInteger(value) ? 'INT64' : 'FLOAT64' };
    default:
      if (value instanceof Date) return { value, type: 'TIMESTAMP' };
      throw new TypeError(`cannot bind a value of type ${typeof value}`);
  }
}

/** INT64 as a number when it is exact, else its decimal text (as the PostgreSQL adapter answers int8). */
export const integerTypeCastFunction = (value: string): number | string => {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
};

interface Wrapped {
  value: string;
}
const wrappedValue = (v: unknown): string => (typeof v === 'object' && v !== null && 'value' in v ? String((v as Wrapped).value) : String(v));

/**
 * Turns the SDK's values into the plain values every adapter answers (DuckDB, PostgreSQL):
 * TIMESTAMP, DATETIME and DATE as Dates (a DATETIME or DATE read as UTC), NUMERIC and BIGNUMERIC as
 * numbers, TIME and GEOGRAPHY as text; records and arrays recursively. INT64 is already a number or
 * text (integerTypeCastFunction) and JSON already parsed (parseJSON).
 */
export function rowNormalizer(fields: TableField[] = []): (row: Row) => Row {
  const converters = fields.map((f) => [f.name ?? '', fieldConverter(f)] as const);
  return (row) => {
    for (const [name, convert] of converters) {
      const v = row[name];
      if (v !== null && v !== undefined) row[name] = convert(v);
    }
    return row;
  };
}

function fieldConverter(field: TableField): (v: unknown) => unknown {
  const one = scalarConverter(field);
  if (field.mode === 'REPEATED') return (v) => (Array.isArray(v) ? v.map((x) => (x === null || x === undefined ? x : one(x))) : v);
  return one;
}

function scalarConverter(field: TableField): (v: unknown) => unknown {
  switch (field.type) {
    case 'TIMESTAMP':
      return (v) => new Date(wrappedValue(v));
    case 'DATETIME':
      return (v) => new Date(`${wrappedValue(v).replace(' ', 'T')}Z`);
    case 'DATE':
      return (v) => new Date(`${wrappedValue(v)}T00:00:00Z`);
    case 'NUMERIC':
    case 'BIGNUMERIC': {
      return (v) => {
        const text = String(v);
        const n = Number(text);
        return Number.isFinite(n) ? n : text;
      };
    }
    case 'TIME':
    case 'GEOGRAPHY':
      return wrappedValue;
    case 'RECORD':
    case 'STRUCT': {
      const inner = rowNormalizer(field.fields);
      return (v) => (typeof v === 'object' && v !== null ? inner(v as Row) : v);
    }
    default:
      return (v) => v;
  }
}

/** Standard SQL names for the legacy type names tables.get reports (as INFORMATION_SCHEMA.COLUMNS does). */
const STANDARD_TYPE: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', RECORD: 'STRUCT' };

export function standardType(field: TableField): string {
  const base = STANDARD_TYPE[field.type ?? ''] ?? field.type ?? 'STRING';
  return field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
}

/**
 * A row value as the streaming API (insertAll) or a newline-delimited JSON load job takes it for a
 * column of `type` (a standard type name). Both read JSON text; they differ only for JSON columns:
 * insertAll wants the JSON document as a string, a load job the document itself.
 */
export function encodeValue(value: unknown, type: string, target: 'insertAll' | 'load'): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'JSON') {
    if (target === 'insertAll') return typeof value === 'string' ? value : JSON.stringify(value);
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value; // not a document: a JSON string, as BigQuery would read it
    }
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (type === 'STRING' && typeof value === 'object') return JSON.stringify(value);
  return value;
}
