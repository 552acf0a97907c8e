import type { HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { configurationAnswer } from './errors';
import { chunks } from './payload';

/** Contacts' object type id in the lists API. */
export const CONTACT_OBJECT_TYPE = '0-1';
/** Record ids per membership call: the adapter's batches hold at most 100 contacts anyway. */
const MEMBERSHIP_CHUNK = 100;

export interface ListDefinition {
  listId?: string;
  name?: string;
  objectTypeId?: string;
  processingType?: string;
}

export const listByIdRequest = (listId: string): HttpRequest => ({ method: 'GET', url: `crm/v3/lists/${encodeURIComponent(listId)}` });
export const listByNameRequest = (name: string): HttpRequest => ({ method: 'GET', url: `crm/v3/lists/object-type-id/${CONTACT_OBJECT_TYPE}/name/${encodeURIComponent(name)}` });
/** `POST /crm/v3/lists`: a MANUAL contact list (its members change only through the API or by hand). */
export const createListRequest = (name: string): HttpRequest => ({ method: 'POST', url: 'crm/v3/lists', body: { name, objectTypeId: CONTACT_OBJECT_TYPE, processingType: 'MANUAL' } });
export const membershipRequest = (listId: string, change: 'add' | 'remove', recordIds: string[]): HttpRequest => ({
  method: 'PUT',
  url: `crm/v3/lists/${encodeURIComponent(listId)}/memberships/${change}`,
  body: recordIds,
});

/**
 * The list of this run: `list_id` as given (checked), else the contact list named `list_name` (the
 * name lookup is case-insensitive in HubSpot), created as a MANUAL list when there is none. A list
 * HubSpot fills from filters (DYNAMIC) cannot take API memberships: configuration error.
 */
export async function ensureList(http: HttpClient, o: { list_id?: string; list_name: string }): Promise<{ list_id: string; created: boolean }> {
  if (o.list_id) {
    const res = await http.request<{ list?: ListDefinition }>(listByIdRequest(o.list_id));
    if (res.status !== 200 || !res.data?.list) throw configurationAnswer(`reading the list ${o.list_id}`, res);
    checkList(res.data.list, `list ${o.list_id}`);
    return { list_id: o.list_id, created: false };
  }
  const found = await http.request<{ list?: ListDefinition }>(listByNameRequest(o.list_name));
  if (found.status === 200 && found.data?.list?.listId !== undefined) {
    checkList(found.data.list, `list "${o.list_name}"`);
    return { list_id: String(found.data.list.listId), created: false };
  }
  if (found.status !== 404) throw configurationAnswer(`finding the list "${o.list_name}"`, found);
  const created = await http.request<{ list?: ListDefinition }>(createListRequest(o.list_name));
  const id = created.data?.list?.listId;
  if ((created.status !== 200 && created.status !== 201) || id === undefined) throw configurationAnswer(`creating the list "${o.list_name}"`, created);
  return { list_id: String(id), created: true };
}

function checkList(list: ListDefinition, what: string): void {
  if (list.objectTypeId !== undefined && list.objectTypeId !== CONTACT_OBJECT_TYPE) throw new ConfigurationError(`HubSpot ${what} holds objects of type ${list.objectTypeId}, not contacts (${CONTACT_OBJECT_TYPE})`);
  if (list.processingType !== undefined && list.processingType !== 'MANUAL' && list.processingType !== 'SNAPSHOT') {
    throw new ConfigurationError(`HubSpot ${what} is a ${list.processingType} list: its members come from its filters; use a MANUAL list (a new list_name is created as one)`);
  }
}

/**
 * Adds or removes record ids (`PUT /crm/v3/lists/{id}/memberships/add|remove`). Returns the ids
 * HubSpot reports missing (`recordIdsMissing`: no such record). A 4xx here is about the list (gone,
 * not MANUAL), not about rows: configuration error.
 */
export async function changeMembership(http: HttpClient, listId: string, change: 'add' | 'remove', recordIds: string[]): Promise<Set<string>> {
  const missing = new Set<string>();
  for (const group of chunks([...new Set(recordIds)], MEMBERSHIP_CHUNK)) {
    const res = await http.request<{ recordIdsMissing?: unknown }>(membershipRequest(listId, change, group));
    if (res.status !== 200) throw configurationAnswer(`${change === 'add' ? 'adding contacts to' : 'removing contacts from'} list ${listId}`, res);
    const m = res.data?.recordIdsMissing;
    if (Array.isArray(m)) for (const id of m) missing.add(String(id));
  }
  return missing;
}
