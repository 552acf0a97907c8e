import { parse } from 'csv-parse/sync';
import type { FieldValue, Scalar } from './records';

/**
 * CSV for Bulk API 2.0 (contentType CSV, columnDelimiter COMMA, lineEnding LF): a header of field
 * API names (a relationship as `Account.Ext__c`), then one line per record. Every value is quoted
 * (`"` doubled inside), so commas, quotes and line breaks in values are safe. A field the record does
 * not have is an empty cell (Salesforce leaves the field as it is); `null` is `#N/A` (Salesforce
 * clears the field).
 */
export interface CsvTable {
  columns: string[];
  /** cell texts as written, per record (undefined: empty cell) */
  cells: (string | undefined)[][];
  text: string;
}

export const NULL_CELL = '#N/A';

const cellText = (v: Scalar): string => (v === null ? NULL_CELL : typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v));
const quote = (text: string): string => (text === NULL_CELL ? text : `"${text.replace(/"/g, '""')}"`);

/** The flat columns of one record: `Name`, `Account.Ext__c`. */
export function flatten(fields: Record<string, FieldValue>): Map<string, Scalar> {
  const out = new Map<string, Scalar>();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.set(`${name}.${k}`, v);
    else out.set(name, value);
  }
  return out;
}

export function toCsv(records: Record<string, FieldValue>[]): CsvTable {
  const flat = records.map(flatten);
  const columns = [...new Set(flat.flatMap((f) => [...f.keys()]))];
  const cells = flat.map((f) => columns.map((c) => (f.has(c) ? cellText(f.get(c) as Scalar) : undefined)));
  const lines = [columns.join(','), ...cells.map((row) => row.map((cell) => (cell === undefined ? '' : quote(cell))).join(','))];
  return { columns, cells, text: `${lines.join('\n')}\n` };
}

/** A result CSV of a Bulk API 2.0 job as records by header name (an empty body is no records). */
export function parseCsv(text: unknown): Record<string, string>[] {
  if (typeof text !== 'string' || text.trim() === '') return [];
  return parse<Record<string, string>>(text, { columns: true, skip_empty_lines: true, relax_column_count: true });
}
