import { ROW_OK, rowFailed, type ActionContext, type HttpRequest, type RowResult } from '../destination-definition';
import { BatchRejectedError } from '../destination-errors';
import { sfRequest } from './auth';
import { describeError, errorsOf, unexpectedAnswer, type SalesforceError } from './errors';
import type { SfRecord } from './records';
import { dataPath, type SalesforceSettings } from './settings';

/** sObject Collections take at most 200 records a request, all of one type. */
export const COLLECTION_LIMIT = 200;

export type WriteOperation = 'upsert' | 'update' | 'insert';

interface SaveResult {
  id?: string;
  success?: boolean;
  created?: boolean;
  errors?: SalesforceError[];
}

type Ctx = Pick<ActionContext<SalesforceSettings>, 'http' | 'settings' | 'logger'>;

/**
 * The request for up to 200 records, `allOrNone: false` (each record succeeds or fails alone):
 * - upsert: `PATCH /composite/sobjects/{object}/{externalIdField}` (records carry the external id, no Id);
 * - update: `PATCH /composite/sobjects` (records carry their Id);
 * - insert: `POST /composite/sobjects`.
 */
export function collectionRequest(s: SalesforceSettings, operation: WriteOperation, object: string, records: SfRecord[], externalIdField?: string): HttpRequest {
  const body = { allOrNone: false, records: records.map((r) => ({ attributes: { type: object }, ...r.fields })) };
  if (operation === 'upsert') return { method: 'PATCH', url: dataPath(s, `composite/sobjects/${encodeURIComponent(object)}/${encodeURIComponent(externalIdField ?? '')}`), body };
  return { method: operation === 'update' ? 'PATCH' : 'POST', url: dataPath(s, 'composite/sobjects'), body };
}

/**
 * Sends the records 200 at a time. Salesforce answers 200 with one result per record, in request
 * order: a failed one carries `errors[]` (statusCode, message, fields), which becomes that row's
 * error. A whole-request rejection is a batch rejection, or configuration (no such object or field).
 */
export async function sendCollections(ctx: Ctx, operation: WriteOperation, object: string, records: SfRecord[], externalIdField?: string): Promise<Map<number, RowResult>> {
  const out = new Map<number, RowResult>();
  for (let start = 0; start < records.length; start += COLLECTION_LIMIT) {
    const group = records.slice(start, start + COLLECTION_LIMIT);
    const what = `${operation === 'insert' ? 'inserting' : operation === 'update' ? 'updating' : 'upserting'} ${group.length} ${object} records`;
    const res = await sfRequest<SaveResult[]>(ctx, collectionRequest(ctx.settings, operation, object, group, externalIdField));
    if (res.status !== 200 || !Array.isArray(res.data)) throw unexpectedAnswer(what, res);
    if (res.data.length !== group.length) throw new BatchRejectedError(`Salesforce answered ${res.data.length} results for ${group.length} records when ${what}`);
    res.data.forEach((r, i) => {
      out.set(group[i].index, r?.success === true ? ROW_OK : rowFailed(`Salesforce rejected this record: ${errorsOf(r?.errors).map(describeError).join('; ') || 'no reason given'}`));
    });
  }
  return out;
}
