import { rowFailed, ROW_OK, type HttpResponse, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { retryAfterMs } from '../http/retry-after';
import { vendorMessage } from '../http/vendor-message';
import { emailKey, userIdKey, type PreparedUser } from './payload';

/** Iterable's error envelope (`IterableApiResponse`): `{code, msg, params}`. */
export function iterableCode(data: unknown): { code?: string; msg?: string } {
  if (!data || typeof data !== 'object') return {};
  const d = data as { code?: unknown; msg?: unknown };
  return { code: typeof d.code === 'string' ? d.code : undefined, msg: typeof d.msg === 'string' ? d.msg : undefined };
}

const said = (res: HttpResponse): string => {
  const { code, msg } = iterableCode(res.data);
  if (code || msg) return [code, msg].filter(Boolean).join(': ');
  return vendorMessage(res.data);
};

const CONFIG_CODES = new Set(['BadApiKey', 'BadAuthorizationHeader', 'Forbidden', 'Unauthorized']);

/**
 * Iterable's own signals, whatever the HTTP status: `code: RateLimitExceeded` is throttling
 * (RetryableError, with Retry-After when sent), a bad or wrong-type API key is configuration.
 */
export function classifyIterable(res: HttpResponse): Error | undefined {
  const { code } = iterableCode(res.data);
  if (code === 'RateLimitExceeded') return new RetryableError(`Iterable answered ${res.status} ${said(res)}: rate limited`, retryAfterMs(res.headers));
  if (code && CONFIG_CODES.has(code)) return new ConfigurationError(`Iterable answered ${res.status} ${said(res)}: check api_key (a server-side key of the project)`);
  return undefined;
}

/** What each failure list of `failedUpdates` means for a row. */
const FAILURE_LISTS: Record<string, string> = {
  invalidEmails: 'invalid email',
  invalidUserIds: 'invalid userId',
  notFoundEmails: 'no user with this email',
  notFoundUserIds: 'no user with this userId',
  conflictEmails: 'the email belongs to another user',
  conflictUserIds: 'the userId belongs to another user',
  forgottenEmails: 'the user was forgotten (GDPR)',
  forgottenUserIds: 'the user was forgotten (GDPR)',
  invalidDataEmails: 'invalid data fields (a field’s type cannot change)',
  invalidDataUserIds: 'invalid data fields (a field’s type cannot change)',
};
const NOT_FOUND = new Set(['notFoundEmails', 'notFoundUserIds']);

export interface BulkAnswer {
  successCount?: unknown;
  failCount?: unknown;
  failedUpdates?: Record<string, unknown>;
  invalidEmails?: unknown;
  invalidUserIds?: unknown;
  filteredOutFields?: unknown;
}

/**
 * Row results for a bulk answer (bulkUpdate, lists/subscribe, lists/unsubscribe: 200 with
 * `{successCount, failCount, failedUpdates:{invalidEmails, notFoundUserIds, …}}`). Iterable names the
 * failed users by email or userId; each row whose email or userId is named fails with the reason.
 * `notFoundOk` (unsubscribe): a user Iterable does not know is not on the list, so the row is done.
 * If Iterable counts more failures than it names, nobody can tell which rows failed: the batch is
 * rejected whole (the engine bisects it; these calls are idempotent).
 */
export function bulkResults(users: PreparedUser[], res: HttpResponse<BulkAnswer>, what: string, o: { notFoundOk?: boolean } = {}): RowResult[] {
  const data = res.data;
  if (res.status !== 200 || !data || typeof data !== 'object' || typeof data.failCount !== 'number') throw unexpectedAnswer(what, res);
  const reasons = new Map<string, string[]>();
  const note = (key: string, reason: string) => reasons.set(key, [...(reasons.get(key) ?? []), reason]);
  const lists: [string, unknown][] = [...Object.entries(data.failedUpdates ?? {}), ['invalidEmails', data.invalidEmails], ['invalidUserIds', data.invalidUserIds]];
  for (const [list, values] of lists) {
    const reason = FAILURE_LISTS[list];
    if (!reason || !Array.isArray(values)) continue;
    for (const v of values) {
      if (typeof v !== 'string') continue;
      const key = list.endsWith('Emails') ? emailKey(v) : userIdKey(v);
      note(key, NOT_FOUND.has(list) && o.notFoundOk ? '' : reason);
    }
  }
  let named = 0;
  const results = users.map((u): RowResult => {
    const found = [...new Set(u.keys.flatMap((k) => reasons.get(k) ?? []))];
    if (found.length === 0) return ROW_OK;
    named += 1;
    const real = found.filter(Boolean);
    return real.length === 0 ? ROW_OK : rowFailed(`Iterable rejected this user: ${real.join('; ')}`);
  });
  if (data.failCount > named) throw new BatchRejectedError(`Iterable reported ${data.failCount} failures for ${what} but named only ${named} of the users`);
  return results;
}

/** An answer the adapter cannot use: 404 is a wrong host or list (configuration); any other a rejected batch (bisected). */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  const reason = said(res);
  const message = `Iterable answered ${res.status} for ${what}${reason ? `: ${reason}` : ''}`;
  return res.status === 404 ? new ConfigurationError(message) : new BatchRejectedError(message);
}

/** Finding or creating the list, or checking the key, is configuration: a rejection there stops the run. */
export function asConfiguration(e: Error): Error {
  return e instanceof ConfigurationError ? e : new ConfigurationError(e.message);
}
