import { ROW_OK, rowFailed, type HttpResponse, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';

/**
 * Braze answers `{"message": "success", …}` (201; 202 with `"queued"` during maintenance), with an
 * `errors` array for non-fatal errors: `{type, input_array, index}` per rejected object, the rest of
 * the request being processed. Fatal errors are 4xx with `{"message": "<reason>", "errors": […]}`.
 */
interface BrazeAnswer {
  message?: unknown;
  errors?: unknown;
}
export interface BrazeObjectError {
  type?: unknown;
  input_array?: unknown;
  index?: unknown;
}

/** What Braze says when it took a request (`queued`: accepted for later processing). */
export const OK_MESSAGES = new Set(['success', 'queued']);

/** An error entry's reason: its `type`, or the vendor's message. */
export const reasonOf = (e: unknown): string => {
  if (typeof e === 'string') return e;
  const type = (e as BrazeObjectError | null)?.type;
  return typeof type === 'string' ? type : vendorMessage(e);
};

/** The row an error points at: an `index` into the `attributes` array of the request (or of the only array sent). */
function indexOf(e: unknown, count: number): number | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const { index, input_array } = e as BrazeObjectError;
  if (input_array !== undefined && input_array !== 'attributes') return undefined;
  const n = typeof index === 'number' ? index : typeof index === 'string' && /^\d+$/.test(index) ? Number(index) : NaN;
  return Number.isInteger(n) && n >= 0 && n < count ? n : undefined;
}

/**
 * The result of each of the `count` objects of a successful `/users/track` answer: the objects its
 * `errors` point at fail with Braze's reason, the others are ok. An error that points at no object
 * fails the row when there is one object, and rejects the request otherwise (the engine bisects the
 * batch to find the row; attribute writes are idempotent). A 2xx whose message is not "success"
 * rejects the request too.
 */
export function trackResults(count: number, res: HttpResponse): RowResult[] {
  const body = (res.data && typeof res.data === 'object' ? res.data : {}) as BrazeAnswer;
  const message = typeof body.message === 'string' ? body.message : undefined;
  if (!message || !OK_MESSAGES.has(message)) throw new BatchRejectedError(`Braze answered ${res.status} to /users/track without success${message ? `: ${message}` : ''}`);
  const errors = Array.isArray(body.errors) ? (body.errors as unknown[]) : [];
  const results: RowResult[] = Array.from({ length: count }, () => ROW_OK);
  const unplaced: string[] = [];
  const reasons = new Map<number, string[]>();
  for (const e of errors) {
    const index = indexOf(e, count);
    if (index === undefined) unplaced.push(reasonOf(e));
    else reasons.set(index, [...(reasons.get(index) ?? []), reasonOf(e)]);
  }
  if (unplaced.length > 0) {
    if (count !== 1) throw new BatchRejectedError(`Braze reported errors that point at no object of the request: ${[...new Set(unplaced)].join('; ')}`);
    reasons.set(0, [...(reasons.get(0) ?? []), ...unplaced]);
  }
  for (const [index, said] of reasons) results[index] = rowFailed(`Braze rejected this user: ${[...new Set(said)].join('; ')}`);
  return results;
}

/** A non-2xx answer the shared client let through: a wrong endpoint (404, redirects) or a rejected request. */
export function rejected(what: string, res: HttpResponse): Error {
  const said = vendorMessage(res.data);
  const message = `Braze answered ${res.status} for ${what}${said ? `: ${said}` : ''}`;
  if (res.status === 404 || (res.status >= 300 && res.status < 400)) return new ConfigurationError(`${message} (check rest_endpoint: your instance's REST endpoint, like https://rest.iad-01.braze.com)`);
  return new BatchRejectedError(message);
}

/** A `/users/delete` answer: `{"deleted": n, "message": "success"}`. */
export function checkDeleted(res: HttpResponse): void {
  if (res.status < 200 || res.status >= 300) throw rejected('deleting users', res);
  const message = (res.data as BrazeAnswer | undefined)?.message;
  if (typeof message === 'string' && !OK_MESSAGES.has(message)) throw new BatchRejectedError(`Braze answered ${res.status} to /users/delete without success: ${message}`);
}
