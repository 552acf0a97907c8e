import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { retryAfterMs } from '../http/retry-after';
import { vendorMessage } from '../http/vendor-message';

/** HubSpot's StandardError (`errors[]` of a batch answer, or a whole error body). */
export interface HubSpotError {
  status?: string;
  category?: string;
  subCategory?: unknown;
  message?: string;
  /** `{ids: [...]}`, `{objectWriteTraceId: [...]}`, ... (values are lists of strings) */
  context?: Record<string, unknown>;
  errors?: { message?: string; code?: string; in?: string }[];
}

/** A batch answer: `results` and, on 207 (multi-status), `errors`. */
export interface BatchAnswer<R> {
  status?: string;
  results?: R[];
  errors?: HubSpotError[];
  numErrors?: number;
}

/** The daily limit resets at midnight in the account's time zone, which the adapter does not know: wait an hour. */
export const DAILY_LIMIT_WAIT_MS = 3_600_000;
/** HubSpot asks to wait at least 2 s after a 423 (records locked by a concurrent write). */
export const LOCKED_WAIT_MS = 2_000;

/**
 * HubSpot's throttling answers, read before the shared client's defaults:
 * - 429: the body's `policyName` says which limit (`TEN_SECONDLY_ROLLING`, `SECONDLY`, `DAILY`).
 *   The wait is `Retry-After` when HubSpot sends it, else the window
 *   (`X-HubSpot-RateLimit-Interval-Milliseconds`, 10 s for the rolling limit, 1 s for the secondly
 *   one), else an hour for the daily limit (the engine then stops the run; the next run goes on).
 * - 423 Locked: a concurrent write holds the records → retried after 2 s.
 */
export function classifyHubSpot(res: HttpResponse): Error | undefined {
  if (res.status === 429) {
    const policy = typeof (res.data as { policyName?: unknown })?.policyName === 'string' ? (res.data as { policyName: string }).policyName : undefined;
    const interval = Number(res.headers['x-hubspot-ratelimit-interval-milliseconds']);
    const wait =
      retryAfterMs(res.headers) ??
      (policy === 'DAILY' ? DAILY_LIMIT_WAIT_MS : Number.isFinite(interval) && interval > 0 ? interval : policy === 'SECONDLY' ? 1_000 : policy === 'TEN_SECONDLY_ROLLING' ? 10_000 : undefined);
    const said = vendorMessage(res.data);
    return new RetryableError(`HubSpot rate limit${policy ? ` (${policy})` : ''}${said ? `: ${said}` : ''}`, wait);
  }
  if (res.status === 423) return new RetryableError(`HubSpot answered 423 Locked: ${vendorMessage(res.data) || 'records are being written by another request'}`, LOCKED_WAIT_MS);
  return undefined;
}

/** One line for an error: its category, message and detail messages. */
export function describeError(e: HubSpotError): string {
  const details = (e.errors ?? []).map((d) => d.message).filter((m): m is string => typeof m === 'string' && m !== '' && m !== e.message);
  return [e.category, [e.message, ...details].filter(Boolean).join('; ')].filter(Boolean).join(': ');
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/**
 * Which inputs each error of a batch answer is about. HubSpot names them in the error's `context`:
 * `objectWriteTraceId` (the trace id the adapter puts on each input) or `ids` (the id values sent).
 * Returns input position → reasons; an error that names no input we sent makes the answer
 * unattributable: `unattributed` holds it, and the caller rejects the batch (the engine bisects it).
 */
export function attributeErrors(
  errors: HubSpotError[],
  byTrace: Map<string, number[]>,
  byId: Map<string, number[]>,
  idKey: (id: string) => string,
): { failed: Map<number, string>; unattributed: HubSpotError[] } {
  const failed = new Map<number, string>();
  const unattributed: HubSpotError[] = [];
  for (const e of errors) {
    const ctx = e.context ?? {};
    const targets = new Set<number>();
    for (const trace of strings(ctx.objectWriteTraceId)) for (const i of byTrace.get(trace) ?? []) targets.add(i);
    for (const id of [...strings(ctx.ids), ...strings(ctx.id)]) for (const i of byId.get(idKey(id)) ?? []) targets.add(i);
    if (targets.size === 0) {
      unattributed.push(e);
      continue;
    }
    for (const i of targets) failed.set(i, failed.has(i) ? `${failed.get(i)}; ${describeError(e)}` : describeError(e));
  }
  return { failed, unattributed };
}

export const errorsOf = (data: unknown): HubSpotError[] => {
  const errors = (data as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? (errors.filter((e) => e && typeof e === 'object') as HubSpotError[]) : [];
};

/** An answer the adapter cannot use: 404 is configuration (no such list or object), other 4xx reject the batch. */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  const said = vendorMessage(res.data);
  const message = `HubSpot answered ${res.status} for ${what}${said ? `: ${said}` : ''}`;
  return res.status === 404 || (res.status >= 300 && res.status < 400) ? new ConfigurationError(message) : new BatchRejectedError(message);
}

/** For setup requests (properties, lists): any rejection is configuration, not a batch to bisect. */
export function configurationAnswer(what: string, res: HttpResponse): ConfigurationError {
  const said = vendorMessage(res.data);
  return new ConfigurationError(`HubSpot answered ${res.status} for ${what}${said ? `: ${said}` : ''}`);
}
