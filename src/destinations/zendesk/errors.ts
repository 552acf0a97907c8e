import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { retryAfterMs } from '../http/retry-after';
import { vendorMessage } from '../http/vendor-message';

/** How long to wait when Zendesk's job queue is full and the answer names no delay. */
export const JOB_QUEUE_WAIT_MS = 30_000;

/**
 * Zendesk's error bodies: `{"error":"RecordInvalid","description":"…","details":{…}}`, or
 * `{"error":{"title","message"}}`, or `{"errors":[…]}`; the reason as one line.
 */
export function zendeskMessage(data: unknown): string {
  const d = data as { error?: unknown; description?: unknown; details?: unknown } | undefined;
  if (d && typeof d === 'object' && typeof d.error === 'string') {
    const details = d.details === undefined ? '' : detailsText(d.details);
    return [d.error, typeof d.description === 'string' ? d.description : '', details].filter(Boolean).join(': ');
  }
  return vendorMessage(data);
}

/** `details` of a job result or an error: a string, or `{field: [{description}]}` objects. */
export function detailsText(details: unknown): string {
  if (typeof details === 'string') return details;
  if (Array.isArray(details)) return details.map(detailsText).filter(Boolean).join('; ');
  if (details && typeof details === 'object') {
    const d = details as { description?: unknown; message?: unknown };
    if (typeof d.description === 'string') return d.description;
    if (typeof d.message === 'string') return d.message;
    return Object.values(details).map(detailsText).filter(Boolean).join('; ');
  }
  return details === undefined || details === null ? '' : JSON.stringify(details);
}

/**
 * Zendesk's own throttling signal besides the plain 429 (which the HTTP layer maps, reading
 * `Retry-After`, else the `ratelimit-reset` seconds of the Ticketing APIs): the job limit. An account
 * holds at most 30 queued or running background jobs; past it a job request is answered 429 naming
 * the jobs. The wait is the answer's, else 30 s (jobs of 100 users take seconds to drain).
 */
export function classifyZendesk(res: HttpResponse): Error | undefined {
  if (res.status !== 429) return undefined;
  const m = zendeskMessage(res.data);
  if (!/job/i.test(m)) return undefined;
  return new RetryableError(`Zendesk's job queue is full (at most 30 queued or running jobs per account): ${m}`, retryAfterMs(res.headers) ?? JOB_QUEUE_WAIT_MS);
}

const said = (what: string, res: HttpResponse) => {
  const m = zendeskMessage(res.data);
  return `Zendesk answered ${res.status} for ${what}${m ? `: ${m}` : ''}`;
};

/** 404 or a redirect is a wrong subdomain or base_url (configuration); any other 4xx rejects the batch (the engine bisects it). */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  if (res.status === 404 || (res.status >= 300 && res.status < 400)) return new ConfigurationError(`${said(what, res)} (check subdomain and base_url)`);
  return new BatchRejectedError(said(what, res));
}

/** A failing request while checking the settings or reading the user fields: configuration, not a batch to bisect. */
export const configurationAnswer = (what: string, res: HttpResponse) => new ConfigurationError(said(what, res));
