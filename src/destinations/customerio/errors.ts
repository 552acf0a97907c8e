import { rowFailed, ROW_OK, type HttpResponse, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';

/** One entry of a v2 batch's 207 answer: `{batch_index, reason, field, message}`. */
interface BatchError {
  batch_index?: unknown;
  reason?: unknown;
  field?: unknown;
  message?: unknown;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** Customer.io's errors come as `{errors:[{reason, field, message}]}` (v2) or `{meta:{error|errors}}` (v1). */
function said(data: unknown): string {
  const d = data as { errors?: unknown; meta?: { error?: unknown; errors?: unknown } } | undefined;
  const list = Array.isArray(d?.errors) ? (d.errors as BatchError[]) : undefined;
  if (list && list.length > 0) return list.map(describe).join('; ');
  const meta = d?.meta;
  if (meta && Array.isArray(meta.errors) && meta.errors.length > 0) return meta.errors.map(String).join('; ');
  if (meta && typeof meta.error === 'string') return meta.error;
  return vendorMessage(data);
}

const describe = (e: BatchError): string => {
  const what = [text(e.reason), text(e.message)].filter(Boolean).join(': ') || 'rejected';
  return text(e.field) ? `${what} (field ${String(e.field)})` : what;
};

/**
 * Row results for a v2 batch: 200 is all accepted; 207 lists the rejected operations by their
 * 0-based `batch_index` in the request (Customer.io accepts all the others). An error that names
 * no operation of the request leaves nobody to blame: the batch is rejected whole (the engine bisects
 * it; identify and delete are idempotent, and events carry an id Customer.io deduplicates on, so
 * re-sending the accepted ones is safe).
 */
export function batchResults(count: number, res: HttpResponse, what: 'person' | 'event' = 'person'): RowResult[] {
  const sending = what === 'person' ? 'sending a batch of people' : 'sending a batch of events';
  if (res.status === 200 || res.status === 202 || res.status === 204) return Array.from({ length: count }, () => ROW_OK);
  if (res.status !== 207) throw unexpectedAnswer(sending, res);
  const errors = (res.data as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) throw unexpectedAnswer(sending, res);
  const byRow = new Map<number, string>();
  for (const e of errors as BatchError[]) {
    const index = typeof e?.batch_index === 'number' ? e.batch_index : Number.NaN;
    if (!(Number.isInteger(index) && index >= 0 && index < count)) throw unexpectedAnswer(sending, res);
    byRow.set(index, byRow.has(index) ? `${byRow.get(index)}; ${describe(e)}` : describe(e));
  }
  return Array.from({ length: count }, (_, i) => (byRow.has(i) ? rowFailed(`Customer.io rejected this ${what}: ${byRow.get(i)}`) : ROW_OK));
}

/** An answer the adapter cannot use: 404 is a wrong host or a missing segment (configuration), any other a rejected batch. */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  const reason = said(res.data);
  const message = `Customer.io answered ${res.status} for ${what}${reason ? `: ${reason}` : ''}`;
  return res.status === 404 ? new ConfigurationError(message) : new BatchRejectedError(message);
}

/** Finding or creating a segment, or checking the credentials, is configuration: a rejection there stops the run. */
export function asConfiguration(e: Error): Error {
  return e instanceof ConfigurationError ? e : new ConfigurationError(e.message);
}
