import type { HttpRequest } from '../destination-definition';
import type { Contact } from './fields';

/** `PUT /v3/marketing/contacts`: at most 30,000 contacts or 6 MB, whichever is lower (reference §1.10, the spec). */
export const SENDGRID_MAX_CONTACTS = 30_000;
export const SENDGRID_MAX_BYTES = 6_000_000;
/** `POST /v3/marketing/contacts/search/emails`: up to 100 emails a call. */
export const SENDGRID_LOOKUP = 100;
/** Contact ids per delete or list removal: comma-separated in the query string, so kept to a safe URL length. */
export const SENDGRID_IDS_PER_CALL = 100;

/** `PUT /v3/marketing/contacts`: upserts the contacts (202 and a job id); with `list_ids` they are added to the lists too. */
export const upsertRequest = (contacts: Contact[], listIds?: string[]): HttpRequest => ({
  method: 'PUT',
  url: 'v3/marketing/contacts',
  body: { ...(listIds ? { list_ids: listIds } : {}), contacts },
});

/** `POST /v3/marketing/contacts/search/emails`: the contacts (and their ids) of up to 100 emails. */
export const searchRequest = (emails: string[]): HttpRequest => ({ method: 'POST', url: 'v3/marketing/contacts/search/emails', body: { emails } });

/** `DELETE /v3/marketing/contacts?ids=…`: deletes contacts (202 and a job id). */
export const deleteRequest = (ids: string[]): HttpRequest => ({ method: 'DELETE', url: 'v3/marketing/contacts', params: { ids: ids.join(',') } });

/** `DELETE /v3/marketing/lists/{id}/contacts?contact_ids=…`: removes contacts from a list; they stay in the account. */
export const removeFromListRequest = (listId: string, ids: string[]): HttpRequest => ({
  method: 'DELETE',
  url: `v3/marketing/lists/${encodeURIComponent(listId)}/contacts`,
  params: { contact_ids: ids.join(',') },
});

/** The bytes one contact adds to a request body. */
export const contactBytes = (c: Contact): number => Buffer.byteLength(JSON.stringify(c), 'utf8') + 1;

/** Items in order, cut so that no chunk has more than `maxCount` items or `maxBytes` bytes. */
export function sizedChunks<T>(items: T[], bytes: (item: T) => number, maxCount: number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const b = bytes(item);
    if (current.length > 0 && (current.length >= maxCount || size + b > maxBytes)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += b;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export function chunks<T>(items: T[], size: number): T[][] {
  return sizedChunks(items, () => 0, size, Infinity);
}
