import type { HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { asConfiguration, unexpectedAnswer } from './errors';

const list = (listId: string) => `lists/${encodeURIComponent(listId)}`;
/** Mailchimp's `count` is at most 1,000 per page. */
const PAGE = 1000;

/** `GET /lists/{id}`: the audience exists and the key can read it. */
export const readListRequest = (listId: string): HttpRequest => ({ method: 'GET', url: list(listId), params: { fields: 'id,name' } });

/** The audience's name; ConfigurationError when there is no such audience. */
export async function checkList(http: HttpClient, listId: string): Promise<string> {
  const res = await http.request<{ id?: string; name?: string }>(readListRequest(listId));
  if (res.status === 404) throw new ConfigurationError(`Mailchimp has no audience ${listId}: check list_id (Audience > Settings > Audience name and defaults)`);
  if (res.status !== 200 || typeof res.data?.id !== 'string') throw asConfiguration(unexpectedAnswer(`reading audience ${listId}`, res));
  return res.data.name ?? listId;
}

/** `GET /lists/{id}/merge-fields`: the audience's merge tags and their types, page by page. */
export async function readMergeFields(http: HttpClient, listId: string): Promise<Record<string, string>> {
  const tags: Record<string, string> = {};
  for (let offset = 0; ; offset += PAGE) {
    const res = await http.request<{ merge_fields?: { tag?: string; type?: string }[]; total_items?: number }>({
      method: 'GET',
      url: `${list(listId)}/merge-fields`,
      params: { count: PAGE, offset },
    });
    if (res.status !== 200 || !Array.isArray(res.data?.merge_fields)) throw asConfiguration(unexpectedAnswer(`reading the merge fields of audience ${listId}`, res));
    for (const f of res.data.merge_fields) if (typeof f.tag === 'string') tags[f.tag] = f.type ?? 'text';
    const total = res.data.total_items ?? 0;
    if (res.data.merge_fields.length < PAGE || offset + PAGE >= total) return tags;
  }
}

/** `POST /lists/{id}/merge-fields`: a text merge field named after its tag. */
export const createMergeFieldRequest = (listId: string, tag: string): HttpRequest => ({
  method: 'POST',
  url: `${list(listId)}/merge-fields`,
  body: { tag, name: tag, type: 'text' },
});

export async function createMergeField(http: HttpClient, listId: string, tag: string): Promise<void> {
  const res = await http.request(createMergeFieldRequest(listId, tag));
  if (res.status !== 200) throw asConfiguration(unexpectedAnswer(`creating the merge field ${tag} in audience ${listId}`, res));
}

interface Segment {
  id?: number;
  name?: string;
}

/**
 * The tag of this sync: Mailchimp tags are static segments, so the tag named `name` is found among
 * the audience's static segments (paged) and created (`POST /lists/{id}/segments` with an empty
 * `static_segment`) when there is none. Two tags with the name is a configuration error.
 */
export async function ensureTag(http: HttpClient, listId: string, name: string): Promise<{ id: number; created: boolean }> {
  const found: number[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const res = await http.request<{ segments?: Segment[]; total_items?: number }>({
      method: 'GET',
      url: `${list(listId)}/segments`,
      params: { type: 'static', count: PAGE, offset, fields: 'segments.id,segments.name,total_items' },
    });
    if (res.status !== 200 || !Array.isArray(res.data?.segments)) throw asConfiguration(unexpectedAnswer(`finding the tag "${name}" in audience ${listId}`, res));
    for (const s of res.data.segments) if (s.name === name && typeof s.id === 'number') found.push(s.id);
    const total = res.data.total_items ?? 0;
    if (res.data.segments.length < PAGE || offset + PAGE >= total) break;
  }
  if (found.length > 1) throw new ConfigurationError(`${found.length} Mailchimp tags are named "${name}" in audience ${listId} (${found.join(', ')}): rename one or set the tag option`);
  if (found.length === 1) return { id: found[0], created: false };
  const res = await http.request<Segment>({ method: 'POST', url: `${list(listId)}/segments`, body: { name, static_segment: [] } });
  if (res.status !== 200 || typeof res.data?.id !== 'number') throw asConfiguration(unexpectedAnswer(`creating the tag "${name}" in audience ${listId}`, res));
  return { id: res.data.id, created: true };
}
