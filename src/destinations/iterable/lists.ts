import type { HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { asConfiguration, unexpectedAnswer } from './errors';

interface ListDetails {
  id?: unknown;
  name?: unknown;
  listType?: unknown;
}

/** `GET /api/lists`: every list of the project (100 requests/s). */
export const getListsRequest: HttpRequest = { method: 'GET', url: 'api/lists' };

/** `POST /api/lists`: a new static list. */
export const createListRequest = (name: string): HttpRequest => ({ method: 'POST', url: 'api/lists', body: { name, description: 'Kept in step by composable-cdp' } });

/**
 * The list of this run: `list_id` as given; else the static (`Standard`) list named `list_name`,
 * created when there is none. Two static lists with the name, or only a dynamic or suppression
 * list with it (Iterable does not subscribe people to those), stop the run.
 */
export async function ensureList(http: HttpClient, o: { list_id?: number; list_name: string }): Promise<{ list_id: number; created: boolean }> {
  if (o.list_id !== undefined) return { list_id: o.list_id, created: false };
  const found = await http.request<{ lists?: ListDetails[] }>(getListsRequest);
  if (found.status !== 200 || !Array.isArray(found.data?.lists)) throw asConfiguration(unexpectedAnswer('listing lists', found));
  const named = found.data.lists.filter((l) => l.name === o.list_name && typeof l.id === 'number');
  const standard = named.filter((l) => l.listType === 'Standard');
  if (standard.length > 1) throw new ConfigurationError(`${standard.length} Iterable lists are named "${o.list_name}" (${standard.map((l) => String(l.id)).join(', ')}): set list_id`);
  if (standard.length === 1) return { list_id: standard[0].id as number, created: false };
  if (named.length > 0) throw new ConfigurationError(`the Iterable list "${o.list_name}" is a ${String(named[0].listType)} list; only static (Standard) lists take subscribers (set list_id or another list_name)`);
  const created = await http.request<{ listId?: unknown }>(createListRequest(o.list_name));
  if (created.status !== 200 || typeof created.data?.listId !== 'number') throw asConfiguration(unexpectedAnswer(`creating the list "${o.list_name}"`, created));
  return { list_id: created.data.listId, created: true };
}
