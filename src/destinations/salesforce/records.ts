import type { OutgoingRow } from '../destination-definition';

/** A field value Salesforce takes: text, number, boolean, or null (clears the field). */
export type Scalar = string | number | boolean | null;
/** A field, or a relationship set through the related record's external id (`Account: {Ext__c: "A1"}`). */
export type FieldValue = Scalar | Record<string, Scalar>;

/** One row as a Salesforce record. */
export interface SfRecord {
  /** the row's position in the batch */
  index: number;
  /** API name → value (no `Id` for upsert and insert; `Id` first for update) */
  fields: Record<string, FieldValue>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

function scalar(v: unknown): Scalar | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  // a multi-select picklist takes `a;b`
  if (Array.isArray(v) && v.every((x) => ['string', 'number', 'boolean'].includes(typeof x))) return v.map(String).join(';');
  return undefined;
}

/**
 * A row's fields as Salesforce values, names resolved to API names (`names`: mapped name → API
 * name). A nested object is a relationship by external id and holds scalars only. `undefined`
 * fields are left out (the field is not touched); `null` clears it.
 */
export function fieldsOf(row: OutgoingRow, names: Map<string, string>): { ok: true; fields: Record<string, FieldValue> } | { ok: false; error: string } {
  const fields: Record<string, FieldValue> = {};
  for (const [key, value] of Object.entries(row.fields)) {
    if (value === undefined) continue;
    const name = names.get(key) ?? key;
    if (isPlainObject(value)) {
      const inner: Record<string, Scalar> = {};
      for (const [k, v] of Object.entries(value)) {
        const s = scalar(v);
        if (s === undefined && v !== undefined) return { ok: false, error: `field ${key}.${k}: a relationship holds the related record’s external id (text or number), not an object` };
        if (s !== undefined) inner[k] = s;
      }
      fields[name] = inner;
      continue;
    }
    const s = scalar(value);
    if (s === undefined) return { ok: false, error: `field ${key}: Salesforce fields take text, numbers, booleans, dates or lists (got ${typeof value})` };
    fields[name] = s;
  }
  return { ok: true, fields };
}

/** A key's value as text (the external id or Id of a record), or undefined when blank. */
export function keyText(value: FieldValue | undefined): string | undefined {
  if (value === null || value === undefined || typeof value === 'object') return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/** The top-level mapped names of the rows (to resolve against the object's fields once per batch). */
export function mappedNames(rows: OutgoingRow[]): Set<string> {
  const names = new Set<string>();
  for (const row of rows) for (const [k, v] of Object.entries(row.fields)) if (v !== undefined) names.add(k);
  return names;
}
