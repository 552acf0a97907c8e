import type { DestinationLogger, HttpClient } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { sfRequest } from './auth';
import { unexpectedAnswer } from './errors';
import { dataPath, type SalesforceSettings } from './settings';

/** What the adapter reads of an sObject's field (`GET /sobjects/{object}/describe`). */
export interface FieldInfo {
  name: string;
  externalId?: boolean;
  relationshipName?: string | null;
}

/** An sObject's fields by lowercase name (API names are case-insensitive), and its relationships. */
export interface ObjectInfo {
  name: string;
  fields: Map<string, FieldInfo>;
  relationships: Map<string, string>;
}

type Ctx = { http: HttpClient; settings: SalesforceSettings; logger?: DestinationLogger };

/** Describes the object: a missing object (or one the user cannot see) is a configuration error. */
export async function describeObject(ctx: Ctx, object: string): Promise<ObjectInfo> {
  const res = await sfRequest<{ name?: string; fields?: FieldInfo[] }>(ctx, { method: 'GET', url: dataPath(ctx.settings, `sobjects/${encodeURIComponent(object)}/describe`) });
  if (res.status === 404) throw new ConfigurationError(`Salesforce has no object ${object} (or the integration user cannot see it)`);
  if (res.status !== 200 || !Array.isArray(res.data?.fields)) {
    const e = unexpectedAnswer(`describing ${object}`, res);
    throw e instanceof ConfigurationError ? e : new ConfigurationError(e.message);
  }
  const fields = res.data.fields.filter((f) => typeof f?.name === 'string');
  return {
    name: typeof res.data.name === 'string' ? res.data.name : object,
    fields: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
    relationships: new Map(fields.filter((f) => typeof f.relationshipName === 'string').map((f) => [(f.relationshipName as string).toLowerCase(), f.relationshipName as string])),
  };
}

/** The external id field's API name: `Id`, or a field marked External ID. */
export function externalIdField(info: ObjectInfo, field: string): string {
  const f = info.fields.get(field.toLowerCase());
  if (!f) throw new ConfigurationError(`${info.name} has no field ${field} (the external_id_field option)`);
  if (f.name !== 'Id' && f.externalId !== true) throw new ConfigurationError(`${info.name}.${f.name} is not an External ID field: mark it External ID in Salesforce, or choose another external_id_field`);
  return f.name;
}

/**
 * The API name of each mapped field (matched case-insensitively); a relationship (`Account` with
 * an external id inside) by its relationship name. Names the object lacks stop the run, named.
 */
export function resolveFields(info: ObjectInfo, names: Iterable<string>): Map<string, string> {
  const resolved = new Map<string, string>();
  const unknown: string[] = [];
  for (const name of names) {
    const canonical = info.fields.get(name.toLowerCase())?.name ?? info.relationships.get(name.toLowerCase());
    if (canonical === undefined) unknown.push(name);
    else resolved.set(name, canonical);
  }
  if (unknown.length > 0) throw new ConfigurationError(`${info.name} has no fields ${unknown.join(', ')}: map to field API names (custom fields end in __c)`);
  return resolved;
}
