import type { FieldSpec, OutgoingRow } from '../destination-definition';
import { normalizeEmail } from '../pii';

/** Every CRM batch endpoint (upsert, read, update, archive) takes at most 100 inputs. */
export const HUBSPOT_BATCH = 100;

/** A contact property's internal name: lowercase letters, digits and underscores, starting with a letter. */
export const PROPERTY_NAME = /^[a-z][a-z0-9_]*$/;

/** HubSpot's default contact properties a mapping usually fills (every portal has them). */
export const STANDARD_FIELDS: Record<string, FieldSpec> = {
  email: { description: 'email address (trimmed, lowercased); the default id property', type: 'string', identifier: true },
  firstname: { description: 'first name', type: 'string' },
  lastname: { description: 'last name', type: 'string' },
  phone: { description: 'phone number', type: 'string' },
  mobilephone: { description: 'mobile phone number', type: 'string' },
  company: { description: 'company name', type: 'string' },
  jobtitle: { description: 'job title', type: 'string' },
  website: { description: 'website URL', type: 'string' },
  address: { description: 'street address', type: 'string' },
  city: { description: 'city', type: 'string' },
  state: { description: 'state or region', type: 'string' },
  zip: { description: 'postal code', type: 'string' },
  country: { description: 'country', type: 'string' },
  lifecyclestage: { description: 'lifecycle stage (subscriber, lead, marketingqualifiedlead, ..., customer)', type: 'string' },
  hs_lead_status: { description: 'lead status', type: 'string' },
};

/** One row as a HubSpot contact: its id property value and the properties to write. */
export interface Contact {
  /** the row's position in the batch */
  index: number;
  /** the value of the id property (the email, or the custom unique property) */
  id: string;
  /** property name → value as HubSpot stores it (text) */
  properties: Record<string, string>;
  /** property name → the mapped value before conversion (to pick the type of a property to create) */
  raw: Record<string, unknown>;
}

export type ContactOrError = { ok: true; contact: Contact } | { ok: false; error: string };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The contact of one row. Every mapped field is a contact property (a `properties` object is
 * flattened into them); the id property's value goes to `id` (an email is trimmed, lowercased and
 * checked). Values become text: numbers as digits, booleans `true`/`false`, a list as
 * `a;b` (multiple checkboxes), `null` as `""` (which clears the property in HubSpot).
 */
export function contactOf(row: OutgoingRow, index: number, idProperty: string): ContactOrError {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row.fields)) {
    if (key === 'properties' && isPlainObject(value)) Object.assign(raw, value);
    else raw[key] = value;
  }
  const properties: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const text = propertyValue(value);
    if (text === undefined) return { ok: false, error: `field ${name} is an object: HubSpot properties take text, numbers, booleans, dates or lists` };
    properties[name] = text;
  }
  const id = idValue(properties[idProperty], idProperty);
  if (!id.ok) return id;
  delete properties[idProperty];
  delete raw[idProperty];
  return { ok: true, contact: { index, id: id.value, properties, raw } };
}

/** Only the id property of a row (deletes and list removals need nothing else). */
export function idOf(row: OutgoingRow, idProperty: string): { ok: true; value: string } | { ok: false; error: string } {
  const nested = isPlainObject(row.fields.properties) ? row.fields.properties[idProperty] : undefined;
  const value = row.fields[idProperty] ?? nested;
  return idValue(value === undefined || value === null ? undefined : propertyValue(value), idProperty);
}

function idValue(text: string | undefined, idProperty: string): { ok: true; value: string } | { ok: false; error: string } {
  const trimmed = text?.trim();
  if (!trimmed) return { ok: false, error: `the row has no ${idProperty} (the id property)` };
  if (idProperty !== 'email') return { ok: true, value: trimmed };
  const email = normalizeEmail(trimmed);
  return email === null ? { ok: false, error: 'email is not an email address' } : { ok: true, value: email };
}

function propertyValue(value: unknown): string | undefined {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) && value.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) return value.map(String).join(';');
  return undefined;
}

/** Compares id values the way HubSpot does for emails (case-insensitively); other ids as they are. */
export const idKey = (idProperty: string, value: string): string => (idProperty === 'email' ? value.toLowerCase() : value);

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Splits items so no id appears twice in one group (HubSpot rejects a batch with a duplicate id):
 * the first occurrence of each id goes to group 0, the second to group 1, ... Groups are sent in
 * order, so the last row with an id is the one HubSpot keeps, as if they were sent one by one.
 */
export function rounds<T>(items: T[], idOfItem: (item: T) => string): T[][] {
  const seen = new Map<string, number>();
  const out: T[][] = [];
  for (const item of items) {
    const id = idOfItem(item);
    const round = seen.get(id) ?? 0;
    seen.set(id, round + 1);
    (out[round] ??= []).push(item);
  }
  return out;
}
