import type { OutgoingRow } from '../destination-definition';

/** RFC 4180 line break. */
export const CSV_EOL = '\r\n';

/** One CSV field: quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(value: unknown): string {
  const text = cellText(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV record (with its line break) from the cells in column order. */
export function csvRecord(cells: unknown[]): string {
  return cells.map(csvField).join(',') + CSV_EOL;
}

/** The cells of a row for the given field columns (after `op,key`); missing fields are empty. */
export function csvRow(row: OutgoingRow, fieldColumns: string[]): string {
  return csvRecord([row.op, row.key, ...fieldColumns.map((c) => row.fields[c])]);
}

/** `{"op":…,"key":…,"fields":{…}}` and a newline. */
export function ndjsonRow(row: OutgoingRow): string {
  return JSON.stringify({ op: row.op, key: row.key, fields: row.fields }, jsonSafe) + '\n';
}

/** The field names of some rows, in order of first appearance. */
export function fieldNames(rows: OutgoingRow[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row.fields)) names.add(name);
  return [...names];
}

/** Empty for null/undefined, ISO for dates, JSON text for objects and arrays. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  return JSON.stringify(value, jsonSafe) ?? '';
}

/** JSON.stringify replacer: bigints as text (JSON has no 64-bit integers). */
export function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
