import { ROW_OK, rowFailed, type HttpClient, type HttpRequest, type HttpResponse, type RowResult } from '../destination-definition';
import type { AttributeCatalog } from './attributes';
import { conflictContactId, rowMessage, unexpectedAnswer } from './errors';
import { customValue, type ContactInput, type Prepared } from './payload';

/** Contacts search: `pagination.per_page` is at most 150; this many identifiers go in one `IN` filter. */
export const SEARCH_PAGE = 150;
export const LOOKUP_CHUNK = 50;

/** A contact as the search returns it (only what matching needs). */
export interface FoundContact {
  id: string;
  external_id?: string | null;
  email?: string | null;
  role?: string;
}

/** Where a row's contact is: its id, nobody, or several candidates (an email shared by contacts of the role). */
export interface Location {
  id?: string;
  ambiguous?: string;
}

/** `POST /contacts/search`: the contacts whose `field` is one of `values` (a single `IN` filter), one page. */
export const searchRequest = (field: 'external_id' | 'email', values: string[], startingAfter?: string): HttpRequest => ({
  method: 'POST',
  url: 'contacts/search',
  body: { query: { field, operator: 'IN', value: values }, pagination: { per_page: SEARCH_PAGE, ...(startingAfter ? { starting_after: startingAfter } : {}) } },
});

/** `POST /contacts` (create) and `PUT /contacts/{id}` (update). */
export const createRequest = (body: Record<string, unknown>): HttpRequest => ({ method: 'POST', url: 'contacts', body });
export const updateRequest = (id: string, body: Record<string, unknown>): HttpRequest => ({ method: 'PUT', url: `contacts/${encodeURIComponent(id)}`, body });
/** `GET /contacts/{id}`: one contact, searchable or not. */
export const getRequest = (id: string): HttpRequest => ({ method: 'GET', url: `contacts/${encodeURIComponent(id)}` });

/** Every contact whose `field` is one of `values`, following the search's `pages.next.starting_after` cursor. */
export async function searchContacts(http: HttpClient, field: 'external_id' | 'email', values: string[]): Promise<FoundContact[]> {
  const found: FoundContact[] = [];
  for (let i = 0; i < values.length; i += LOOKUP_CHUNK) {
    const chunk = values.slice(i, i + LOOKUP_CHUNK);
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const res = await http.request<{ data?: unknown; pages?: { next?: { starting_after?: unknown } | null } | null }>(searchRequest(field, chunk, cursor));
      if (res.status !== 200 || !Array.isArray(res.data?.data)) throw unexpectedAnswer(`searching contacts by ${field}`, res);
      for (const c of res.data.data as FoundContact[]) if (c && typeof c.id === 'string') found.push(c);
      const next = res.data.pages?.next?.starting_after;
      if (typeof next !== 'string' || next === '') break;
      cursor = next;
    }
  }
  return found;
}

/**
 * The Intercom contact of each input. A row with an external_id matches the contact with that
 * external_id (Intercom keeps it unique). Otherwise a row with an email matches the contact of
 * `role` with that email, unless both have external_ids and they differ (then it is another
 * person). Two candidates make the row ambiguous (it fails: add an
 * external_id). Searches go 50 identifiers at a time; emails are compared lowercased.
 */
export async function locateContacts(http: HttpClient, inputs: Pick<ContactInput, 'external_id' | 'email'>[], role: string): Promise<Location[]> {
  const out: Location[] = inputs.map(() => ({}));
  const externalIds = [...new Set(inputs.flatMap((c) => (c.external_id !== undefined ? [c.external_id] : [])))];
  const byExternalId = new Map<string, string>();
  if (externalIds.length > 0) {
    for (const c of await searchContacts(http, 'external_id', externalIds)) if (typeof c.external_id === 'string') byExternalId.set(c.external_id, c.id);
  }
  const pending: number[] = [];
  inputs.forEach((c, i) => {
    const id = c.external_id !== undefined ? byExternalId.get(c.external_id) : undefined;
    if (id) out[i] = { id };
    else if (c.email !== undefined) pending.push(i);
  });
  if (pending.length === 0) return out;
  const byEmail = new Map<string, FoundContact[]>();
  for (const c of await searchContacts(http, 'email', [...new Set(pending.map((i) => inputs[i].email as string))])) {
    if (typeof c.email !== 'string') continue;
    const key = c.email.toLowerCase();
    byEmail.set(key, [...(byEmail.get(key) ?? []), c]);
  }
  for (const i of pending) {
    const row = inputs[i];
    const candidates = (byEmail.get(row.email as string) ?? []).filter((c) => c.role === role && (!c.external_id || row.external_id === undefined || c.external_id === row.external_id));
    if (candidates.length === 1) out[i] = { id: candidates[0].id };
    else if (candidates.length > 1) out[i] = { ambiguous: `${candidates.length} Intercom ${role}s have the email ${row.email} (${candidates.map((c) => c.id).join(', ')}): map an external_id to tell them apart` };
  }
  return out;
}

/** The body of a create or update: identifiers, standard attributes, custom attributes typed by the catalog. */
export function contactBody(c: ContactInput, catalog: AttributeCatalog): Prepared<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  if (c.external_id !== undefined) body.external_id = c.external_id;
  if (c.email !== undefined) body.email = c.email;
  Object.assign(body, c.standard);
  const custom: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(c.custom)) {
    const v = customValue(name, value, catalog[name]?.type);
    if (!v.ok) return v;
    custom[name] = v.value;
  }
  if (Object.keys(custom).length > 0) body.custom_attributes = custom;
  return { ok: true, value: body };
}

/** Per-contact answers that concern that contact only: the row fails with Intercom's reason. */
const ROW_STATUSES = new Set([400, 404, 409, 422]);

/** What a write did: the row's result, and the contact's id when there is one. */
export interface Written {
  result: RowResult;
  id?: string;
}

/**
 * Writes one contact: `PUT /contacts/{id}` when it was found, else `POST /contacts` with `role` (or
 * a row error for an `update`). A create that meets a 409 ("already exists with id=…") names the
 * contact that holds the identifier: a contact created in the last minutes is not searchable yet.
 * That contact is read (`GET /contacts/{id}`) and updated, unless it holds another external_id (it
 * is another person with the same email: the row fails).
 */
export async function writeContact(http: HttpClient, body: Record<string, unknown>, at: Location, how: { create: boolean; role: string }): Promise<Written> {
  if (at.ambiguous) return { result: rowFailed(at.ambiguous) };
  if (at.id) return updated(await http.request(updateRequest(at.id, body)), at.id);
  if (!how.create) return { result: rowFailed('no Intercom contact has this external_id or email (an update does not create contacts)') };
  const res = await http.request<{ id?: unknown }>(createRequest({ role: how.role, ...body }));
  if (res.status === 200 || res.status === 201) return { result: ROW_OK, id: typeof res.data?.id === 'string' ? res.data.id : undefined };
  const existing = res.status === 409 ? conflictContactId(res) : undefined;
  if (existing) {
    const held = await http.request<{ external_id?: unknown }>(getRequest(existing));
    if (held.status !== 200) return updated(held, existing);
    const other = held.data?.external_id;
    if (typeof other === 'string' && other !== '' && typeof body.external_id === 'string' && other !== body.external_id) {
      return { result: rowFailed(`Intercom contact ${existing} already has this email, with another external_id (${other})`) };
    }
    return updated(await http.request(updateRequest(existing, body)), existing);
  }
  if (ROW_STATUSES.has(res.status)) return { result: rowFailed(rowMessage('to create the contact', res)) };
  throw unexpectedAnswer('creating a contact', res);
}

function updated(res: HttpResponse, id: string): Written {
  if (res.status === 200) return { result: ROW_OK, id };
  if (ROW_STATUSES.has(res.status)) return { result: rowFailed(rowMessage(`to update contact ${id}`, res)) };
  throw unexpectedAnswer(`updating contact ${id}`, res);
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight (Intercom has no bulk contact write, so
 * a batch's rows go out several at a time). On the first thrown error no new call starts; the ones
 * in flight finish, then the error is thrown (a RetryableError retries the whole batch, which is
 * safe: every write is an idempotent create-or-update).
 */
export async function inFlight<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
