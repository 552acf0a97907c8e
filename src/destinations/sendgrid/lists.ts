import type { HttpClient } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { asConfiguration, unexpectedAnswer } from './errors';

/** `GET /v3/marketing/lists` pages: at most 1,000 lists each. */
const PAGE_SIZE = 1000;
/** More pages than any account has lists (a guard against a `next` link that never ends). */
const MAX_PAGES = 100;

interface ListPage {
  result?: { id?: unknown; name?: unknown }[];
  _metadata?: { next?: unknown };
}

/** The `page_token` of a `_metadata.next` link (the link itself names SendGrid's host, not base_url). */
function nextToken(next: unknown): string | undefined {
  if (typeof next !== 'string' || !URL.canParse(next)) return undefined;
  return new URL(next).searchParams.get('page_token') ?? undefined;
}

/**
 * The list of this run: `list_id` as given, else the list named `list_name` (paging through
 * `GET /v3/marketing/lists`), created with `POST /v3/marketing/lists` when there is none. Two lists
 * with the name is a configuration error (set list_id).
 */
export async function ensureList(http: HttpClient, o: { list_id?: string; list_name: string }): Promise<{ list_id: string; created: boolean }> {
  if (o.list_id) return { list_id: o.list_id, created: false };
  const found: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await http.request<ListPage>({ method: 'GET', url: 'v3/marketing/lists', params: { page_size: PAGE_SIZE, page_token: token } });
    if (res.status !== 200 || !Array.isArray(res.data?.result)) throw asConfiguration(unexpectedAnswer(`finding the list "${o.list_name}"`, res));
    for (const l of res.data.result) if (l.name === o.list_name && typeof l.id === 'string') found.push(l.id);
    token = nextToken(res.data._metadata?.next);
    if (!token || res.data.result.length === 0) break;
  }
  if (found.length > 1) throw new ConfigurationError(`${found.length} SendGrid lists are named "${o.list_name}" (${found.join(', ')}): set list_id`);
  if (found.length === 1) return { list_id: found[0], created: false };
  const created = await http.request<{ id?: unknown }>({ method: 'POST', url: 'v3/marketing/lists', body: { name: o.list_name } });
  if (created.status !== 201 || typeof created.data?.id !== 'string') throw asConfiguration(unexpectedAnswer(`creating the list "${o.list_name}"`, created));
  return { list_id: created.data.id, created: true };
}

/**
 * After a list removal answered 404 ("the list does not exist or one or more contact ids do not"):
 * a list that is gone stops the run; otherwise contacts vanished since they were looked up, and the
 * batch is retried (it looks them up again).
 */
export async function listExists(http: HttpClient, listId: string): Promise<boolean> {
  const res = await http.request({ method: 'GET', url: `v3/marketing/lists/${encodeURIComponent(listId)}` });
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw asConfiguration(unexpectedAnswer(`reading list ${listId}`, res));
}
