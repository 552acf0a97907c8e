import type { HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { configurationAnswer } from './errors';
import { PROPERTY_NAME, type Contact } from './payload';

/** What the adapter reads of a contact property definition (`GET /crm/v3/properties/contacts`). */
export interface PropertyInfo {
  name: string;
  type?: string;
  hasUniqueValue?: boolean;
  modificationMetadata?: { readOnlyValue?: boolean };
}

export type Properties = Map<string, PropertyInfo>;

export const PROPERTIES_PATH = 'crm/v3/properties/contacts';
/** The group HubSpot puts contact details in; created properties go there. */
export const PROPERTY_GROUP = 'contactinformation';

export const listPropertiesRequest = (): HttpRequest => ({ method: 'GET', url: PROPERTIES_PATH, params: { archived: false } });

/** Every (unarchived) contact property of the portal, by name. */
export async function loadProperties(http: HttpClient): Promise<Properties> {
  const res = await http.request<{ results?: PropertyInfo[] }>(listPropertiesRequest());
  if (res.status !== 200 || !Array.isArray(res.data?.results)) throw configurationAnswer('reading the contact properties', res);
  return new Map(res.data.results.filter((p) => typeof p?.name === 'string').map((p) => [p.name, p]));
}

/** The id property must exist and hold unique values (email is unique by HubSpot's own rule). */
export function checkIdProperty(properties: Properties, idProperty: string): void {
  const p = properties.get(idProperty);
  if (!p) throw new ConfigurationError(`HubSpot has no contact property "${idProperty}" (the id_property option)`);
  if (idProperty !== 'email' && p.hasUniqueValue !== true) {
    throw new ConfigurationError(`the HubSpot contact property "${idProperty}" does not require unique values: id_property must be email or a property with "Require unique values" set`);
  }
}

/**
 * Checks that every property the batch writes exists and is writable. Missing ones are created when
 * `create` is set (typed from the batch's first value: number, bool, date, datetime, else text), or
 * stop the run with a ConfigurationError naming them. Created properties join `properties`, so each
 * is checked once per run.
 */
export async function ensureProperties(http: HttpClient, properties: Properties, contacts: Contact[], create: boolean): Promise<string[]> {
  const samples = new Map<string, unknown>();
  for (const c of contacts) {
    for (const [name, value] of Object.entries(c.raw)) if (value !== null && value !== undefined && !samples.has(name)) samples.set(name, value);
    for (const name of Object.keys(c.properties)) if (!samples.has(name)) samples.set(name, null);
  }
  const names = [...samples.keys()];
  const badNames = names.filter((n) => !PROPERTY_NAME.test(n));
  if (badNames.length > 0) {
    throw new ConfigurationError(`HubSpot property names are lowercase letters, digits and underscores: ${badNames.map((n) => `"${n}"`).join(', ')} (map to internal names, e.g. ${badNames[0].toLowerCase().replace(/[^a-z0-9_]/g, '_')})`);
  }
  const readOnly = names.filter((n) => properties.get(n)?.modificationMetadata?.readOnlyValue === true);
  if (readOnly.length > 0) throw new ConfigurationError(`these HubSpot contact properties are read-only: ${readOnly.join(', ')}`);
  const missing = names.filter((n) => !properties.has(n));
  if (missing.length === 0) return [];
  if (!create) {
    throw new ConfigurationError(`HubSpot has no contact properties ${missing.join(', ')}: create them in HubSpot (Settings → Properties), or set the option create_properties: true`);
  }
  for (const name of missing) {
    const res = await http.request<PropertyInfo>(createPropertyRequest(name, samples.get(name)));
    // 409: created meanwhile (another sync of the same portal)
    if (res.status !== 201 && res.status !== 200 && res.status !== 409) throw configurationAnswer(`creating the contact property "${name}"`, res);
    properties.set(name, res.status === 409 ? { name } : { ...res.data, name });
  }
  return missing;
}

/** `POST /crm/v3/properties/contacts`: a property typed after a sample value. */
export function createPropertyRequest(name: string, sample: unknown): HttpRequest {
  return { method: 'POST', url: PROPERTIES_PATH, body: { name, label: labelOf(name), groupName: PROPERTY_GROUP, ...typeOf(sample) } };
}

const labelOf = (name: string): string => {
  const words = name.replace(/_+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
};

function typeOf(sample: unknown): Record<string, unknown> {
  if (typeof sample === 'number' || typeof sample === 'bigint') return { type: 'number', fieldType: 'number' };
  if (typeof sample === 'boolean') {
    return {
      type: 'bool',
      fieldType: 'booleancheckbox',
      options: [
        { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
        { label: 'No', value: 'false', displayOrder: 1, hidden: false },
      ],
    };
  }
  if (typeof sample === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(sample)) return { type: 'date', fieldType: 'date' };
  if (typeof sample === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(sample)) return { type: 'datetime', fieldType: 'date' };
  return { type: 'string', fieldType: 'text' };
}
