import type { HttpClient, HttpRequest } from '../destination-definition';
import { BatchRejectedError } from '../destination-errors';
import { attributeErrors, describeError, unexpectedAnswer, type BatchAnswer, type HubSpotError } from './errors';
import { chunks, HUBSPOT_BATCH, idKey, rounds, type Contact } from './payload';

const OBJECTS = 'crm/v3/objects/contacts';

/** What HubSpot says of one contact: written (with its record id when HubSpot returned it), or rejected. */
export type Outcome = { ok: true; recordId?: string } | { ok: false; error: string };

interface RecordResult {
  id?: string;
  objectWriteTraceId?: string;
  properties?: Record<string, string | null>;
}

const batchRequest = (action: 'upsert' | 'read' | 'update' | 'archive', body: unknown): HttpRequest => ({ method: 'POST', url: `${OBJECTS}/batch/${action}`, body });

/** `POST …/batch/upsert` body: each input by its id property, with a trace id HubSpot echoes in its errors. */
export const upsertBody = (contacts: Contact[], idProperty: string) => ({
  inputs: contacts.map((c, i) => ({ idProperty, id: c.id, properties: c.properties, objectWriteTraceId: String(i) })),
});

/** `POST …/batch/read` body: record ids of contacts by their id property. */
export const readBody = (ids: string[], idProperty: string) => ({ idProperty, inputs: ids.map((id) => ({ id })), properties: [idProperty], propertiesWithHistory: [] });

async function send<R>(http: HttpClient, req: HttpRequest, what: string): Promise<BatchAnswer<R>> {
  const res = await http.request<BatchAnswer<R>>(req);
  if ((res.status === 200 || res.status === 201 || res.status === 207) && res.data && typeof res.data === 'object') return res.data;
  throw unexpectedAnswer(what, res);
}

function rejectUnattributed(errors: HubSpotError[], what: string): void {
  if (errors.length === 0) return;
  throw new BatchRejectedError(`HubSpot rejected part of ${what} without naming the contacts: ${errors.map(describeError).join(' | ')}`);
}

const index = <T>(items: T[], keyOf: (item: T, position: number) => string | undefined): Map<string, number[]> => {
  const out = new Map<string, number[]>();
  items.forEach((item, position) => {
    const key = keyOf(item, position);
    if (key !== undefined) out.set(key, [...(out.get(key) ?? []), position]);
  });
  return out;
};

/**
 * Creates or updates contacts by their id property (`POST /crm/v3/objects/contacts/batch/upsert`,
 * 100 inputs a call; a 207 answer fails only the inputs its errors name). An id twice in the batch
 * goes in a later call (HubSpot rejects duplicate ids in one call). Outcomes by contact index.
 */
export async function upsertContacts(http: HttpClient, idProperty: string, contacts: Contact[]): Promise<Map<number, Outcome>> {
  const outcomes = new Map<number, Outcome>();
  for (const round of rounds(contacts, (c) => idKey(idProperty, c.id))) {
    for (const group of chunks(round, HUBSPOT_BATCH)) {
      const answer = await send<RecordResult>(http, batchRequest('upsert', upsertBody(group, idProperty)), `upserting ${group.length} contacts`);
      const byTrace = index(group, (_, i) => String(i));
      const byId = index(group, (c) => idKey(idProperty, c.id));
      const { failed, unattributed } = attributeErrors(answer.errors ?? [], byTrace, byId, (id) => idKey(idProperty, id));
      rejectUnattributed(unattributed, 'an upsert');
      const recordIds = new Map<number, string>();
      for (const r of answer.results ?? []) {
        if (typeof r?.id !== 'string') continue;
        const positions = (r.objectWriteTraceId !== undefined ? byTrace.get(r.objectWriteTraceId) : undefined) ?? byId.get(idKey(idProperty, r.properties?.[idProperty] ?? '')) ?? [];
        for (const p of positions) recordIds.set(p, r.id);
      }
      group.forEach((c, i) => {
        const reason = failed.get(i);
        outcomes.set(c.index, reason !== undefined ? { ok: false, error: `HubSpot rejected this contact: ${reason}` } : { ok: true, recordId: recordIds.get(i) });
      });
    }
  }
  return outcomes;
}

/**
 * The record ids of contacts by id property value (`POST …/batch/read` with `idProperty`, 100 a
 * call). Contacts HubSpot does not have are simply absent from `found` (its 207 OBJECT_NOT_FOUND
 * errors); other errors naming an id fail that id.
 */
export async function lookupContacts(http: HttpClient, idProperty: string, ids: string[]): Promise<{ found: Map<string, string>; failed: Map<string, string> }> {
  const found = new Map<string, string>();
  const failed = new Map<string, string>();
  const unique = [...new Map(ids.map((id) => [idKey(idProperty, id), id])).values()];
  for (const group of chunks(unique, HUBSPOT_BATCH)) {
    const answer = await send<RecordResult>(http, batchRequest('read', readBody(group, idProperty)), `reading ${group.length} contacts by ${idProperty}`);
    for (const r of answer.results ?? []) {
      const value = r?.properties?.[idProperty];
      if (typeof r?.id === 'string' && typeof value === 'string') found.set(idKey(idProperty, value), r.id);
    }
    const errors = (answer.errors ?? []).filter((e) => e.category !== 'OBJECT_NOT_FOUND');
    const byId = index(group, (id) => idKey(idProperty, id));
    const { failed: byPosition, unattributed } = attributeErrors(errors, new Map(), byId, (id) => idKey(idProperty, id));
    rejectUnattributed(unattributed, 'a lookup');
    for (const [position, reason] of byPosition) failed.set(idKey(idProperty, group[position]), reason);
  }
  return { found, failed };
}

/** Updates contacts by record id (`POST …/batch/update`, 100 a call); a 207 fails only the inputs its errors name. */
export async function updateContacts(http: HttpClient, items: { contact: Contact; recordId: string }[]): Promise<Map<number, Outcome>> {
  const outcomes = new Map<number, Outcome>();
  for (const round of rounds(items, (item) => item.recordId)) {
    for (const group of chunks(round, HUBSPOT_BATCH)) {
      const body = { inputs: group.map((item, i) => ({ id: item.recordId, properties: item.contact.properties, objectWriteTraceId: String(i) })) };
      const answer = await send<RecordResult>(http, batchRequest('update', body), `updating ${group.length} contacts`);
      const { failed, unattributed } = attributeErrors(
        answer.errors ?? [],
        index(group, (_, i) => String(i)),
        index(group, (item) => item.recordId),
        (id) => id,
      );
      rejectUnattributed(unattributed, 'an update');
      group.forEach((item, i) => {
        const reason = failed.get(i);
        outcomes.set(item.contact.index, reason !== undefined ? { ok: false, error: `HubSpot rejected this contact: ${reason}` } : { ok: true, recordId: item.recordId });
      });
    }
  }
  return outcomes;
}

/** Archives contacts by record id (`POST …/batch/archive`, 100 a call, 204): HubSpot's delete, restorable for 90 days. */
export async function archiveContacts(http: HttpClient, recordIds: string[]): Promise<void> {
  for (const group of chunks([...new Set(recordIds)], HUBSPOT_BATCH)) {
    const res = await http.request(batchRequest('archive', { inputs: group.map((id) => ({ id })) }));
    if (res.status !== 204 && res.status !== 200) throw unexpectedAnswer(`archiving ${group.length} contacts`, res);
  }
}
