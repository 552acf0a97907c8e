import type { ActionContext, JobPolling } from '../destination-definition';
import { RetryableError } from '../destination-errors';

/** 1 s, growing by half up to 15 s; a job not done in 10 minutes is given up (RetryableError). */
export const DEFAULT_JOB_POLLING: JobPolling = { firstDelayMs: 1_000, maxDelayMs: 15_000, timeoutMs: 600_000 };

export type JobCheck<T> = { done: true; value: T } | { done: false; status?: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls a vendor's asynchronous job until `check` says it is done (Klaviyo bulk imports, SendGrid
 * contact jobs, Zendesk job statuses, Salesforce Bulk API 2.0 ingest jobs). The wait grows by half
 * from `firstDelayMs` to `maxDelayMs`; past `timeoutMs` the batch is retried (RetryableError), which
 * re-sends it: every adapter that polls sends idempotent upserts. `check` throws the adapter's own
 * errors for failed jobs; each poll request goes through the shared rate limiter like any other.
 */
export async function pollJob<T>(ctx: Pick<ActionContext, 'polling' | 'logger'>, what: string, check: () => Promise<JobCheck<T>>): Promise<T> {
  const { firstDelayMs, maxDelayMs, timeoutMs } = ctx.polling ?? DEFAULT_JOB_POLLING;
  const started = Date.now();
  let delay = firstDelayMs;
  let polls = 0;
  for (;;) {
    const result = await check();
    polls += 1;
    if (result.done) return result.value;
    const waited = Date.now() - started;
    if (waited + delay > timeoutMs) {
      throw new RetryableError(`${what} did not finish within ${Math.round(timeoutMs / 1000)} s (last status: ${result.status ?? 'unknown'}, ${polls} polls)`);
    }
    ctx.logger.debug({ job: what, status: result.status, polls }, 'waiting for the vendor job');
    await sleep(delay);
    delay = Math.min(maxDelayMs, Math.ceil(delay * 1.5));
  }
}
