import type { HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { unexpectedAnswer } from './errors';
import { jsonApi, JSON_API } from './payload';

interface ListResource {
  type?: string;
  id?: string;
  attributes?: { name?: string | null };
}

/** `GET /api/lists?filter=equals(name,"…")`: the lists with that exact name. */
export const findListRequest = (name: string): HttpRequest => ({
  method: 'GET',
  url: 'api/lists',
  headers: { accept: JSON_API },
  params: { filter: `equals(name,${JSON.stringify(name)})`, 'fields[list]': 'name' },
});

/** `POST /api/lists`: a new list. */
export const createListRequest = (name: string): HttpRequest => jsonApi('POST', 'api/lists', { data: { type: 'list', attributes: { name } } });

/**
 * The list of this run: `list_id` as given, else the list named `list_name`, created when there is
 * none. Two lists with the name is a configuration error (set `list_id`).
 */
export async function ensureList(http: HttpClient, o: { list_id?: string; list_name: string }): Promise<{ list_id: string; created: boolean }> {
  if (o.list_id) return { list_id: o.list_id, created: false };
  const found = await http.request<{ data?: ListResource[] }>(findListRequest(o.list_name));
  if (found.status !== 200 || !Array.isArray(found.data?.data)) throw asConfiguration(unexpectedAnswer(`finding the list "${o.list_name}"`, found));
  const lists = found.data.data.filter((l) => l.attributes?.name === o.list_name && typeof l.id === 'string');
  if (lists.length > 1) throw new ConfigurationError(`${lists.length} Klaviyo lists are named "${o.list_name}" (${lists.map((l) => l.id).join(', ')}): set list_id`);
  if (lists.length === 1) return { list_id: lists[0].id as string, created: false };
  const created = await http.request<{ data?: ListResource }>(createListRequest(o.list_name));
  if (created.status !== 201 || typeof created.data?.data?.id !== 'string') throw asConfiguration(unexpectedAnswer(`creating the list "${o.list_name}"`, created));
  return { list_id: created.data.data.id, created: true };
}

/** Finding or creating the list is configuration: a rejected request there is not a batch to bisect. */
function asConfiguration(e: Error): Error {
  return e instanceof ConfigurationError ? e : new ConfigurationError(e.message);
}
