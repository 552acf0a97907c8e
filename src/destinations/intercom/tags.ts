import { ROW_OK, rowFailed, type HttpClient, type HttpRequest, type RowResult } from '../destination-definition';
import { configurationAnswer, rowMessage, unexpectedAnswer } from './errors';

interface Tag {
  id?: unknown;
  name?: unknown;
}

/** `GET /tags`: every tag of the workspace (Intercom does not filter or page this list). */
export const listTagsRequest: HttpRequest = { method: 'GET', url: 'tags' };
/** `POST /tags` with a name only: creates the tag (create_or_update_tag_request). */
export const createTagRequest = (name: string): HttpRequest => ({ method: 'POST', url: 'tags', body: { name } });
/** `POST /contacts/{id}/tags` and `DELETE /contacts/{id}/tags/{tag_id}`. */
export const tagContactRequest = (contactId: string, tagId: string): HttpRequest => ({ method: 'POST', url: `contacts/${encodeURIComponent(contactId)}/tags`, body: { id: tagId } });
export const untagContactRequest = (contactId: string, tagId: string): HttpRequest => ({
  method: 'DELETE',
  url: `contacts/${encodeURIComponent(contactId)}/tags/${encodeURIComponent(tagId)}`,
});

/**
 * The tag of this run: `tag_id` as given, else the tag named `tag_name` (Intercom compares tag
 * names case-insensitively), created when there is none.
 */
export async function ensureTag(http: HttpClient, o: { tag_id?: string; tag_name: string }): Promise<{ tag_id: string; created: boolean }> {
  if (o.tag_id) return { tag_id: o.tag_id, created: false };
  const list = await http.request<{ data?: Tag[] }>(listTagsRequest);
  if (list.status !== 200 || !Array.isArray(list.data?.data)) throw configurationAnswer('listing tags', list);
  const wanted = o.tag_name.toLowerCase();
  const found = list.data.data.find((t) => typeof t.name === 'string' && t.name.toLowerCase() === wanted && (typeof t.id === 'string' || typeof t.id === 'number'));
  if (found) return { tag_id: String(found.id), created: false };
  const created = await http.request<Tag>(createTagRequest(o.tag_name));
  const id = created.data?.id;
  if (created.status !== 200 || (typeof id !== 'string' && typeof id !== 'number')) throw configurationAnswer(`creating the tag "${o.tag_name}"`, created);
  return { tag_id: String(id), created: true };
}

/** Tags one contact; Intercom's refusal (a contact merged or deleted since the search: 404) fails the row. */
export async function tagContact(http: HttpClient, contactId: string, tagId: string): Promise<RowResult> {
  const res = await http.request(tagContactRequest(contactId, tagId));
  if (res.status === 200) return ROW_OK;
  if (res.status === 400 || res.status === 404 || res.status === 422) return rowFailed(rowMessage(`to tag contact ${contactId}`, res));
  throw unexpectedAnswer(`tagging contact ${contactId}`, res);
}

/** Untags one contact; 404 (the contact or its tag is already gone) is what a remove wants. */
export async function untagContact(http: HttpClient, contactId: string, tagId: string): Promise<RowResult> {
  const res = await http.request(untagContactRequest(contactId, tagId));
  if (res.status === 200 || res.status === 404) return ROW_OK;
  if (res.status === 400 || res.status === 422) return rowFailed(rowMessage(`to untag contact ${contactId}`, res));
  throw unexpectedAnswer(`untagging contact ${contactId}`, res);
}
