import { WarehouseError } from '../warehouse-error';

/** One entry of an error's `errors` array (BigQuery's ErrorProto). */
interface ErrorProto {
  reason?: string;
  message?: string;
  location?: string;
}

/** What the SDK throws: an ApiError (code, errors) or a PartialFailureError (insertAll: errors per row). */
interface SdkError {
  code?: number | string;
  message?: string;
  errors?: unknown[];
  name?: string;
}

/** Rate limits and quotas: retrying later can succeed, so the service answers 503. */
const BUSY_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'jobRateLimitExceeded', 'quotaExceeded', 'backendError', 'internalError']);

/**
 * Any error from the SDK as a WarehouseError with BigQuery's own message and reason: the query's
 * syntax error as BigQuery words it (`Syntax error: ... at [1:8]`), credentials BigQuery refused,
 * a quota or rate limit (WAREHOUSE_BUSY), the rows an insert rejected and why.
 */
export function bigQueryError(e: unknown, context?: string, insertedRows?: readonly unknown[]): WarehouseError {
  if (e instanceof WarehouseError) return e;
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as SdkError;
  const where = context ? `${context}: ` : '';
  if (err.name === 'PartialFailureError') return insertFailure(err, where, insertedRows ?? []);

  const protos = (Array.isArray(err.errors) ? err.errors : []).filter((p): p is ErrorProto => typeof p === 'object' && p !== null);
  const reason = protos.find((p) => p.reason && p.reason !== 'stopped')?.reason;
  const code = Number(err.code);
  const messages = [...new Set(protos.map((p) => p.message).filter((m): m is string => !!m))];
  const message = messages.length ? messages.join('; ') : (err.message ?? String(e));

  if (code === 401 || reason === 'authError' || /invalid_grant|Could not load the default credentials|private key/i.test(message)) {
    return new WarehouseError(
      `${where}BigQuery did not accept the credentials: ${message}. Check warehouse.key_file (a service account key) or the application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login).`,
    );
  }
  if ((reason && BUSY_REASONS.has(reason)) || code === 429 || code >= 500) {
    const what = reason === 'quotaExceeded' ? 'quota exceeded' : reason?.endsWith('RateLimitExceeded') || reason === 'rateLimitExceeded' || code === 429 ? 'rate limit' : 'unavailable';
    return new WarehouseError(`${where}BigQuery ${what} (${reason ?? code}): ${message}`, 'WAREHOUSE_BUSY');
  }
  if (code === 403 || reason === 'accessDenied') {
    return new WarehouseError(`${where}BigQuery denied access${reason ? ` (${reason})` : ''}: ${message}`);
  }
  return new WarehouseError(`${where}BigQuery: ${message}${reason ? ` (${reason})` : ''}`);
}

/**
 * insertAll answered errors for some rows and `stopped` for the others: with skipInvalidRows off the
 * request writes all its rows or none. Names the first few bad rows (1-based, in the input's order).
 */
function insertFailure(err: SdkError, where: string, rows: readonly unknown[]): WarehouseError {
  const failures = (err.errors ?? []) as { errors?: ErrorProto[]; row?: unknown }[];
  const details = failures
    .map((f) => ({ n: rows.indexOf(f.row) + 1, protos: (f.errors ?? []).filter((p) => p.reason !== 'stopped') }))
    .filter((f) => f.protos.length)
    .slice(0, 5)
    .map((f) => `${f.n > 0 ? `row ${f.n}: ` : ''}${f.protos.map((p) => `${p.message ?? p.reason} (${p.reason})`).join(', ')}`);
  return new WarehouseError(`${where}BigQuery rejected the insert, no row was written: ${details.join('; ') || err.message}`);
}
