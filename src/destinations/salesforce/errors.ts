import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { retryAfterMs } from '../http/retry-after';
import { vendorMessage } from '../http/vendor-message';

/** Salesforce's error body: `[{"message": "...", "errorCode": "...", "fields": [...]}]`. */
export interface SalesforceError {
  message?: string;
  errorCode?: string;
  /** in per-record results (`errors[]` of a collection answer) */
  statusCode?: string;
  fields?: string[];
}

/**
 * A 401 INVALID_SESSION_ID: the access token expired or was revoked. It is a ConfigurationError (the
 * run stops if nobody handles it); the adapter's request wrapper (auth.ts) catches it, refreshes the
 * token once when it has a refresh token, and sends the request again.
 */
export class SalesforceSessionExpired extends ConfigurationError {
  constructor(message: string) {
    super(message);
    this.name = 'SalesforceSessionExpired';
  }
}

/** The daily API request allocation is counted over a rolling 24 h: wait an hour (the engine stops the run; the next run goes on). */
export const DAILY_LIMIT_WAIT_MS = 3_600_000;

export function errorsOf(data: unknown): SalesforceError[] {
  const list = Array.isArray(data) ? data : data && typeof data === 'object' ? [data] : [];
  return list.filter((e): e is SalesforceError => !!e && typeof e === 'object' && (typeof (e as SalesforceError).errorCode === 'string' || typeof (e as SalesforceError).statusCode === 'string'));
}

const codeOf = (e: SalesforceError) => e.errorCode ?? e.statusCode ?? '';
export const describeError = (e: SalesforceError): string =>
  [codeOf(e), e.message].filter(Boolean).join(': ') + (e.fields && e.fields.length > 0 ? ` (${e.fields.join(', ')})` : '');

/**
 * Salesforce's own signals, read before the shared client's defaults:
 * - 403 REQUEST_LIMIT_EXCEEDED is throttling, not a permission problem: RetryableError. "TotalRequests
 *   Limit exceeded" (the org's daily allocation) waits an hour; the concurrent long-running request
 *   limit (`ConcurrentPerOrgLongTxn`) uses the engine's backoff. `Retry-After` wins when sent.
 * - 401 INVALID_SESSION_ID: SalesforceSessionExpired (refreshed once by auth.ts when possible).
 */
export function classifySalesforce(res: HttpResponse): Error | undefined {
  const errors = errorsOf(res.data);
  if (res.status === 403) {
    const limit = errors.find((e) => codeOf(e) === 'REQUEST_LIMIT_EXCEEDED');
    if (limit) {
      const daily = /TotalRequests/i.test(limit.message ?? '');
      return new RetryableError(`Salesforce API limit: ${describeError(limit)}`, retryAfterMs(res.headers) ?? (daily ? DAILY_LIMIT_WAIT_MS : undefined));
    }
  }
  if (res.status === 401) {
    const session = errors.find((e) => codeOf(e) === 'INVALID_SESSION_ID');
    if (session) return new SalesforceSessionExpired(`Salesforce rejected the session: ${describeError(session)}`);
  }
  return undefined;
}

/** Whole-request errors that are about the setup (object, field, API access), not about the rows. */
const CONFIGURATION_CODES = new Set(['NOT_FOUND', 'INVALID_TYPE', 'INVALID_FIELD', 'INVALID_FIELD_FOR_INSERT_UPDATE', 'API_DISABLED_FOR_ORG', 'API_CURRENTLY_DISABLED', 'FUNCTIONALITY_NOT_ENABLED', 'INSUFFICIENT_ACCESS', 'INVALID_OPERATION']);

/**
 * An answer the adapter cannot use: 404 or a setup error code (no such object or field, API
 * disabled) → ConfigurationError; any other rejection of the whole request → BatchRejectedError (the
 * engine bisects the batch to find the bad rows).
 */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  const errors = errorsOf(res.data);
  const said = errors.length > 0 ? errors.map(describeError).join('; ') : vendorMessage(res.data);
  const message = `Salesforce answered ${res.status} for ${what}${said ? `: ${said}` : ''}`;
  if (res.status === 404 || (res.status >= 300 && res.status < 400) || errors.some((e) => CONFIGURATION_CODES.has(codeOf(e)))) return new ConfigurationError(message);
  return new BatchRejectedError(message);
}
