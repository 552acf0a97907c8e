import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';

/**
 * Meta's error answers: `{"error":{"message","type","code","error_subcode","error_user_title",
 * "error_user_msg","is_transient","fbtrace_id"}}`, throttling included (usually HTTP 400, never a
 * Retry-After). See ../shared/reference/destinations.md §0.3 and §1.2.
 */
export interface MetaGraphError {
  code?: number;
  subcode?: number;
  message: string;
  transient: boolean;
  traceId?: string;
}

/** Throttling codes: 4 app limit, 17 user limit (2446079), 32 page limit, 613 ad-account limit (1487742), 80003 custom-audience BUC limit. */
export const META_THROTTLE_CODES: ReadonlySet<number> = new Set([4, 17, 32, 613, 80003]);
/** Codes meaning the token or its permissions are wrong: 190 invalid/expired token, 10 and 200–299 permissions. */
const AUTH_CODES = (code: number) => code === 190 || code === 10 || (code >= 200 && code <= 299);
/** code 100 / subcode 1713230: the audience is flagged (operation_status 471) and cannot be edited. */
const FLAGGED_SUBCODE = 1713230;
/** code 100 / subcode 33: the object does not exist or the token cannot see it. */
const MISSING_OBJECT_SUBCODE = 33;

export function metaError(data: unknown): MetaGraphError | undefined {
  const e = (data as { error?: unknown } | null)?.error;
  if (!e || typeof e !== 'object') return undefined;
  const r = e as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const message = text(r.error_user_msg) ?? text(r.message) ?? 'no message';
  return { code: num(r.code), subcode: num(r.error_subcode), message, transient: r.is_transient === true, traceId: text(r.fbtrace_id) };
}

export function describe(e: MetaGraphError): string {
  const code = e.code === undefined ? '' : ` ${e.code}${e.subcode === undefined ? '' : `/${e.subcode}`}`;
  return `Meta error${code}: ${e.message}${e.traceId ? ` (fbtrace_id ${e.traceId})` : ''}`;
}

/**
 * The definition's `classify`: Meta's own signals, whatever the HTTP status. Throttling codes and
 * transient errors → RetryableError (delay from the usage headers); 190 (token expired or invalid),
 * permission codes and a flagged audience → ConfigurationError. Other errors are left to the adapter.
 */
export function classifyMeta(response: HttpResponse): Error | undefined {
  const e = metaError(response.data);
  if (!e || e.code === undefined) return undefined;
  if (META_THROTTLE_CODES.has(e.code)) return new RetryableError(`Meta throttled the request (${describe(e)})`, throttleDelayMs(response.headers));
  if (e.code === 190) return new ConfigurationError(`the Meta access token is invalid or expired: generate a new one (${describe(e)})`);
  if (AUTH_CODES(e.code)) return new ConfigurationError(`the Meta access token lacks a permission (ads_management, an admin role on the ad account): ${describe(e)}`);
  if (e.code === 100 && e.subcode === FLAGGED_SUBCODE) return new ConfigurationError(`the audience is flagged by Meta (operation_status 471): resolve its restrictions in Audience Manager (${describe(e)})`);
  if (e.transient || e.code === 1 || e.code === 2) return new RetryableError(`Meta had a temporary problem (${describe(e)})`);
  return undefined;
}

/**
 * How long to wait after a throttle, from Meta's usage headers: the largest
 * `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`, else
 * `reset_time_duration` (seconds) in `X-Ad-Account-Usage`. Undefined when neither says (the engine
 * backs off on its own).
 */
export function throttleDelayMs(headers: Record<string, string>): number | undefined {
  let minutes = 0;
  for (const entries of Object.values(parseObject(headers['x-business-use-case-usage']) ?? {})) {
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      const m = (entry as { estimated_time_to_regain_access?: unknown } | null)?.estimated_time_to_regain_access;
      if (typeof m === 'number' && m > minutes) minutes = m;
    }
  }
  if (minutes > 0) return minutes * 60_000;
  const reset = parseObject(headers['x-ad-account-usage'])?.reset_time_duration;
  if (typeof reset === 'number' && reset > 0) return reset * 1000;
  return undefined;
}

/** A Meta answer that is neither success nor one classify handled: an unknown object is a configuration problem, anything else rejects the batch. */
export function unexpectedAnswer(what: string, response: HttpResponse): Error {
  const e = metaError(response.data);
  const reason = e ? describe(e) : `HTTP ${response.status}`;
  if (response.status === 404 || (e?.code === 100 && e.subcode === MISSING_OBJECT_SUBCODE)) {
    return new ConfigurationError(`${what}: the object does not exist or the token cannot see it (${reason})`);
  }
  return new BatchRejectedError(`${what}: ${reason}`);
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
