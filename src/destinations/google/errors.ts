import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { retryAfterMs } from '../http/retry-after';

/**
 * Google's error answers (both APIs): `{"error": {code, message, status, details[]}}`, a
 * google.rpc.Status. The Data Manager API puts a `google.rpc.BadRequest` with `fieldViolations` (the
 * field path names the member: `audience_members.audience_members[3]...`) and a `RetryInfo` in
 * `details`; the Google Ads API a `GoogleAdsFailure` whose `errors[]` carry `errorCode`, `message`,
 * `location.fieldPathElements` and, for quota errors, `details.quotaErrorDetails.retryDelay`.
 */
export interface GoogleStatus {
  code?: number;
  status?: string;
  message?: string;
  details: Record<string, unknown>[];
}

export function googleStatus(data: unknown): GoogleStatus | undefined {
  const error = (data as { error?: unknown } | undefined)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const e = error as Record<string, unknown>;
  return {
    code: typeof e.code === 'number' ? e.code : undefined,
    status: typeof e.status === 'string' ? e.status : undefined,
    message: typeof e.message === 'string' ? e.message : undefined,
    details: Array.isArray(e.details) ? (e.details.filter((d) => d && typeof d === 'object') as Record<string, unknown>[]) : [],
  };
}

/** `"30s"`, `"1.500s"` or `{seconds, nanos}` (a protobuf Duration) in ms. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
    return m ? Math.ceil(Number(m[1]) * 1000) : undefined;
  }
  if (value && typeof value === 'object') {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    const s = Number(seconds ?? 0);
    const n = Number(nanos ?? 0);
    if (Number.isFinite(s) && Number.isFinite(n)) return Math.ceil(s * 1000 + n / 1e6);
  }
  return undefined;
}

/** The first `retryDelay` anywhere in the details (RetryInfo, or a Google Ads QuotaErrorDetails). */
export function retryDelayMs(status: GoogleStatus): number | undefined {
  const visit = (v: unknown, depth: number): number | undefined => {
    if (!v || typeof v !== 'object' || depth > 6) return undefined;
    if (Array.isArray(v)) {
      for (const item of v) {
        const found = visit(item, depth + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    const o = v as Record<string, unknown>;
    if ('retryDelay' in o) {
      const ms = durationMs(o.retryDelay);
      if (ms !== undefined) return ms;
    }
    for (const child of Object.values(o)) {
      const found = visit(child, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(status.details, 0);
}

/** The Google Ads error codes in a GoogleAdsFailure (`{quotaError: 'RESOURCE_EXHAUSTED'}` → `quotaError.RESOURCE_EXHAUSTED`). */
export function googleAdsErrors(details: unknown[]): { code: string; message: string; index?: number }[] {
  const out: { code: string; message: string; index?: number }[] = [];
  for (const detail of details) {
    const errors = (detail as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) continue;
    for (const e of errors as Record<string, unknown>[]) {
      const errorCode = (e.errorCode ?? {}) as Record<string, unknown>;
      const code = Object.entries(errorCode).map(([k, v]) => `${k}.${String(v)}`)[0] ?? 'UNKNOWN';
      const path = ((e.location as { fieldPathElements?: unknown } | undefined)?.fieldPathElements ?? []) as { fieldName?: unknown; index?: unknown }[];
      const op = Array.isArray(path) ? path.find((p) => p.fieldName === 'operations' && typeof p.index === 'number') : undefined;
      out.push({ code, message: typeof e.message === 'string' ? e.message : code, index: op?.index as number | undefined });
    }
  }
  return out;
}

const describe = (res: HttpResponse, s: GoogleStatus | undefined): string => {
  const ads = s ? googleAdsErrors(s.details)[0] : undefined;
  const what = [s?.status, ads ? `${ads.code}: ${ads.message}` : s?.message].filter(Boolean).join(' ');
  return `Google answered ${res.status}${what ? ` ${what}` : ''}`;
};

const CONFIG_STATUSES = new Set(['UNAUTHENTICATED', 'PERMISSION_DENIED']);
const RETRY_STATUSES = new Set(['RESOURCE_EXHAUSTED', 'UNAVAILABLE', 'ABORTED', 'DEADLINE_EXCEEDED', 'INTERNAL']);
const ADS_CONFIG = /^(authenticationError|authorizationError|customerError|userListError\.(USER_LIST_NOT_FOUND|INVALID_USER_LIST_TYPE))|^offlineUserDataJobError\.(CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS|NOT_ON_ALLOWLIST_FOR_CUSTOMER_MATCH)/;
const ADS_RETRY = /^(quotaError|databaseError\.CONCURRENT_MODIFICATION|internalError)/;

/**
 * Throttling and credentials, whatever the HTTP status (the definition's `classify`):
 * RESOURCE_EXHAUSTED / 429 → RetryableError with the `retryDelay` Google gave (else Retry-After);
 * UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED, INTERNAL, Google Ads CONCURRENT_MODIFICATION → RetryableError;
 * UNAUTHENTICATED / PERMISSION_DENIED / 401 / 403, and the Google Ads authorization and terms errors
 * → ConfigurationError. Anything else is left to the action (`failure`).
 */
export function classifyGoogle(res: HttpResponse): Error | undefined {
  if (res.status >= 200 && res.status < 300) return undefined;
  const s = googleStatus(res.data);
  const adsCodes = s ? googleAdsErrors(s.details).map((e) => e.code) : [];
  if (res.status === 429 || s?.status === 'RESOURCE_EXHAUSTED' || adsCodes.some((c) => ADS_RETRY.test(c))) {
    return new RetryableError(describe(res, s), (s && retryDelayMs(s)) ?? retryAfterMs(res.headers));
  }
  if (res.status === 401 || res.status === 403 || (s?.status && CONFIG_STATUSES.has(s.status)) || adsCodes.some((c) => ADS_CONFIG.test(c))) {
    return new ConfigurationError(`${describe(res, s)}: check access_token, developer_token, customer_id and login_customer_id`);
  }
  if (s?.status && RETRY_STATUSES.has(s.status)) return new RetryableError(describe(res, s), retryDelayMs(s) ?? retryAfterMs(res.headers));
  return undefined;
}

/** A failed answer the action did not handle row by row: NOT_FOUND is the list or account; the rest rejects the batch. */
export function failure(res: HttpResponse, what: string): Error {
  const s = googleStatus(res.data);
  if (res.status === 404 || s?.status === 'NOT_FOUND') return new ConfigurationError(`${describe(res, s)} for ${what}: check customer_id and the user list`);
  if (res.status >= 300 && res.status < 400) return new ConfigurationError(`${describe(res, s)} (a redirect) for ${what}: check the base URL`);
  return new BatchRejectedError(`${describe(res, s)} for ${what}`);
}

/** Data Manager field violations that name a member: index in the request → reason. */
export function memberViolations(status: GoogleStatus | undefined): Map<number, string> {
  const out = new Map<number, string>();
  for (const detail of status?.details ?? []) {
    const violations = (detail as { fieldViolations?: unknown }).fieldViolations;
    if (!Array.isArray(violations)) continue;
    for (const v of violations as Record<string, unknown>[]) {
      const m = /(?:audience_members|audienceMembers)\[(\d+)\]/.exec(typeof v.field === 'string' ? v.field : '');
      if (!m) continue;
      const reason = [v.reason, v.description].filter((x) => typeof x === 'string' && x).join(': ') || 'rejected';
      const index = Number(m[1]);
      out.set(index, out.has(index) ? `${out.get(index)}; ${reason}` : reason);
    }
  }
  return out;
}
