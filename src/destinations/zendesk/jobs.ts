import { ROW_OK, rowFailed, type ActionContext, type HttpClient, type RowResult } from '../destination-definition';
import { BatchRejectedError, RetryableError } from '../destination-errors';
import { pollJob } from '../http/poll-job';
import { detailsText, unexpectedAnswer } from './errors';
import { createOrUpdateManyRequest, jobStatusRequest, type ZendeskUser } from './payload';

/** A Zendesk background job (`job_status`): `queued`, `working`, then `completed`, `failed` or `killed`. */
export interface JobStatus {
  id: string;
  status: string;
  message?: string | null;
  results?: JobResult[] | null;
}

/** One result of a users job: `{index?, id, status: Created|Updated|Failed, error?, details?}`. */
export interface JobResult {
  index?: unknown;
  id?: unknown;
  status?: unknown;
  success?: unknown;
  error?: unknown;
  details?: unknown;
}

const RUNNING = new Set(['queued', 'working']);

function jobOf(data: unknown): JobStatus | undefined {
  const job = (data as { job_status?: unknown } | undefined)?.job_status as Partial<JobStatus> | undefined;
  return job && typeof job === 'object' && typeof job.id === 'string' && typeof job.status === 'string' ? (job as JobStatus) : undefined;
}

/** Starts one `create_or_update_many` job for the users; its id. */
export async function startJob(http: HttpClient, users: ZendeskUser[]): Promise<string> {
  const res = await http.request(createOrUpdateManyRequest(users));
  const job = jobOf(res.data);
  if (res.status >= 200 && res.status < 300 && job) return job.id;
  throw unexpectedAnswer(`creating or updating ${users.length} users`, res);
}

/**
 * Polls the job (pollJob: growing waits, a RetryableError past the time limit) until it completes
 * or fails. A killed job, or one Zendesk no longer knows (jobs expire after about an hour and only
 * the last 100 are kept), is retried: the batch is sent again, which is safe for create-or-update.
 */
export async function awaitJob(ctx: Pick<ActionContext, 'http' | 'polling' | 'logger'>, http: HttpClient, id: string): Promise<JobStatus> {
  return pollJob(ctx, `Zendesk job ${id}`, async () => {
    const res = await http.request(jobStatusRequest(id));
    if (res.status === 404) throw new RetryableError(`Zendesk no longer knows job ${id} (jobs expire): the batch is sent again`);
    const job = jobOf(res.data);
    if (res.status !== 200 || !job) throw unexpectedAnswer(`reading job ${id}`, res);
    if (RUNNING.has(job.status)) return { done: false, status: job.status };
    if (job.status === 'killed') throw new RetryableError(`Zendesk killed job ${id}${job.message ? `: ${job.message}` : ''}: the batch is sent again`);
    return { done: true, value: job };
  });
}

const failure = (r: JobResult): string | undefined => {
  if (r.status !== 'Failed' && r.success !== false && r.error === undefined) return undefined;
  const why = [typeof r.error === 'string' ? r.error : '', detailsText(r.details)].filter(Boolean).join(': ');
  return `Zendesk rejected this user${why ? `: ${why}` : ''}`;
};

/**
 * A result per user of the job. Each result goes to the user at its `index`, else at its position
 * (Zendesk keeps the results in the order of the users sent). A `Failed` result fails its row with
 * Zendesk's error and details. A user without a result fails too (it is sent again next run), with
 * the job's message when the job failed. A failed job without any result rejects the batch (the
 * engine bisects it). A completed job that lists no results at all counts every user done.
 */
export function jobResults(count: number, job: JobStatus): RowResult[] {
  const results: (RowResult | undefined)[] = new Array<RowResult | undefined>(count).fill(undefined);
  const list = Array.isArray(job.results) ? job.results : undefined;
  if (!list || list.length === 0) {
    if (job.status === 'failed') throw new BatchRejectedError(`Zendesk job ${job.id} failed${job.message ? `: ${job.message}` : ''}`);
    return results.map(() => ROW_OK);
  }
  list.forEach((r, position) => {
    const index = typeof r.index === 'number' && Number.isInteger(r.index) && r.index >= 0 && r.index < count ? r.index : position;
    if (index >= count) return;
    const why = failure(r);
    results[index] = why ? rowFailed(why) : ROW_OK;
  });
  const missing = job.status === 'failed' ? `Zendesk job ${job.id} failed${job.message ? `: ${job.message}` : ''}` : 'Zendesk reported no result for this user';
  return results.map((r) => r ?? rowFailed(missing));
}
