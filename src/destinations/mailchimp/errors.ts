import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { retryAfterMs } from '../http/retry-after';
import { vendorMessage } from '../http/vendor-message';
import { MAILCHIMP_MAX_CONNECTIONS } from './connections';

/**
 * Mailchimp's error answers are `application/problem+json`:
 * `{type, title, status, detail, instance, errors?: [{field, message}]}` (reference §1.7).
 */
export interface MailchimpProblem {
  title?: string;
  detail?: string;
  errors?: { field?: string; message?: string }[];
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The problem document of an answer, or undefined when the body is not one (no title and no detail). */
export function problemOf(data: unknown): MailchimpProblem | undefined {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const d = data as Record<string, unknown>;
  const title = text(d.title);
  const detail = text(d.detail);
  if (!title && !detail) return undefined;
  const errors = Array.isArray(d.errors)
    ? (d.errors as unknown[]).flatMap((e) => (e && typeof e === 'object' ? [{ field: text((e as Record<string, unknown>).field), message: text((e as Record<string, unknown>).message) }] : []))
    : undefined;
  return { title, detail, errors };
}

/** `Invalid Resource: Please provide a valid email address. (email_address: …)` */
export function describeProblem(p: MailchimpProblem): string {
  const fields = (p.errors ?? []).filter((e) => e.message).map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  const head = [p.title, p.detail].filter(Boolean).join(': ');
  return fields.length > 0 ? `${head} (${fields.join('; ')})` : head;
}

const THROTTLE_WORDS = /too many|simultaneous|concurren|throttl|rate limit/i;

/**
 * Mailchimp's throttling signals (reference §0.3, §1.7): no rate-limit headers, a 429 past the 10
 * simultaneous connections, and at high volume a **bare 403**: no problem document, or one that
 * speaks of too many requests. A 403 carrying a real problem document (`Forbidden`, `User Disabled`,
 * `Wrong Datacenter`), like a 401 (`API Key Invalid`), is a ConfigurationError quoting Mailchimp.
 * The wait comes from Retry-After when Mailchimp sends one; otherwise the engine backs off.
 */
export function classifyMailchimp(res: HttpResponse): Error | undefined {
  if (res.status !== 429 && res.status !== 403 && res.status !== 401) return undefined;
  const problem = problemOf(res.data);
  const said = problem ? describeProblem(problem) : '';
  if (res.status === 429) {
    return new RetryableError(`Mailchimp answered 429 (at most ${MAILCHIMP_MAX_CONNECTIONS} simultaneous connections per account)${said ? `: ${said}` : ''}`, retryAfterMs(res.headers));
  }
  if (res.status === 403 && (!problem || THROTTLE_WORDS.test(`${problem.title ?? ''} ${problem.detail ?? ''}`))) {
    return new RetryableError(`Mailchimp answered a bare 403, its throttling signal at high volume${said ? `: ${said}` : ''}`, retryAfterMs(res.headers));
  }
  if (!problem) return undefined; // a bare 401: the HTTP client's ConfigurationError
  const hint = res.status === 401 || /datacenter/i.test(said) ? ' (check api_key: a current key whose -<dc> suffix is the account’s data center)' : ' (check the key’s access to this audience)';
  return new ConfigurationError(`Mailchimp answered ${res.status} ${said}${hint}`);
}

/** What Mailchimp said in an answer, for messages. */
export function said(res: HttpResponse): string {
  const problem = problemOf(res.data);
  return problem ? describeProblem(problem) : vendorMessage(res.data);
}

/** An answer the adapter cannot use: 404 is the audience (or tag) gone, anything else a rejected batch. */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  const reason = said(res);
  const message = `Mailchimp answered ${res.status} for ${what}${reason ? `: ${reason}` : ''}`;
  return res.status === 404 ? new ConfigurationError(message) : new BatchRejectedError(message);
}

/** Setting things up (the audience, merge fields, the tag) is configuration: a rejected request there is not a batch to bisect. */
export function asConfiguration(e: Error): Error {
  return e instanceof BatchRejectedError ? new ConfigurationError(e.message) : e;
}

/**
 * Of several failures from requests sent together, the one that decides what the engine does:
 * a configuration problem stops the run, then a retry, then a rejected batch.
 */
export function mostSevere(errors: unknown[]): Error {
  const found = errors.find((e) => e instanceof ConfigurationError) ?? errors.find((e) => e instanceof RetryableError) ?? errors.find((e) => e instanceof BatchRejectedError) ?? errors[0];
  return found instanceof Error ? found : new BatchRejectedError(String(found));
}
