import { ROW_OK, rowFailed, type ActionContext, type HttpRequest, type HttpResponse, type RowResult } from '../destination-definition';
import { RetryableError } from '../destination-errors';
import { pollJob } from '../http/poll-job';
import { vendorMessage } from '../http/vendor-message';
import { describeError, importErrorResults, profileIndex, unexpectedAnswer, type KlaviyoError } from './errors';
import { importErrorsRequest, importJobRequest, jobRequest, KLAVIYO_IDENTIFIERS, nextPageRequest, type ImportProfile } from './payload';

/** `attributes` of a profile-bulk-import-job (spec: status is queued, processing, complete or cancelled). */
export interface ImportJob {
  status?: string;
  total_count?: number;
  completed_count?: number | null;
  failed_count?: number | null;
}
interface JobDocument {
  data?: { id?: unknown; attributes?: ImportJob };
}
/** One import-error resource: Klaviyo's reason, a pointer into the request, and the profile as it was sent. */
interface ImportErrorResource {
  id?: string;
  attributes?: KlaviyoError & { original_payload?: unknown };
}
interface ImportErrorsPage {
  data?: ImportErrorResource[];
  links?: { next?: string | null };
}

/** A job in one of these states is over. `failed` is not in the spec's enum; it is read as over too. */
const OVER = new Set(['complete', 'cancelled', 'failed']);
/** More pages than a 10,000-profile job can have errors for (100 a page): a cursor that loops. */
const MAX_ERROR_PAGES = 101;

/**
 * One bulk import job for the profiles, polled to completion, with a result per profile:
 * 1. `POST /api/profile-bulk-import-jobs` (202 and the job id; a 400 that points at profiles fails those);
 * 2. `GET /api/profile-bulk-import-jobs/{id}` with pollJob until the job is over;
 * 3. when Klaviyo counted failures, `GET …/{id}/import-errors` page by page (`links.next`), each error
 *    mapped to its profile (errors.ts: its pointer, else the identifiers of its `original_payload`).
 * A cancelled job fails every profile of it (the engine sends them again next run).
 */
export async function runImport(profiles: ImportProfile[], listId: string | undefined, ctx: ActionContext): Promise<RowResult[]> {
  const where = listId ? ` into list ${listId}` : '';
  const created = await ctx.http.request<JobDocument>(importJobRequest(profiles, listId));
  if (created.status === 400) return importErrorResults(profiles.length, created);
  const jobId = created.data?.data?.id;
  if (created.status !== 202 || typeof jobId !== 'string' || jobId === '') throw unexpectedAnswer(`importing profiles${where}`, created);
  ctx.logger.info({ destination: 'klaviyo', job_id: jobId, ...(listId ? { list_id: listId } : {}), profiles: profiles.length }, 'Klaviyo bulk import job created');

  const job = await pollJob(ctx, `Klaviyo import job ${jobId}`, async () => {
    const res = await ctx.http.request<JobDocument>(jobRequest(jobId));
    const attributes = res.data?.data?.attributes;
    if (res.status !== 200 || typeof attributes?.status !== 'string') throw unreadable(`reading import job ${jobId}`, res);
    return OVER.has(attributes.status) ? { done: true, value: attributes } : { done: false, status: attributes.status };
  });
  const counts = { job_id: jobId, status: job.status, total: job.total_count, completed: job.completed_count, failed: job.failed_count };
  ctx.logger.info({ destination: 'klaviyo', ...counts }, 'Klaviyo bulk import job over');
  if (job.status !== 'complete') return profiles.map(() => rowFailed(`Klaviyo ended import job ${jobId} as ${job.status} before importing this profile`));
  if (job.failed_count === 0) return profiles.map(() => ROW_OK);

  const errors = await readImportErrors(jobId, ctx);
  const { results, unmatched } = resultsFromImportErrors(profiles, errors);
  if (unmatched.length > 0) {
    // codes only: Klaviyo's details quote the rejected values (emails, phones)
    ctx.logger.warn({ destination: 'klaviyo', job_id: jobId, unmatched: unmatched.length, codes: [...new Set(unmatched.map((e) => e.code ?? 'unknown'))] }, 'Klaviyo import errors that point at no profile of the batch');
  }
  return results;
}

/** Every import error of a job, following `links.next`. */
async function readImportErrors(jobId: string, ctx: ActionContext): Promise<ImportErrorResource[]> {
  const out: ImportErrorResource[] = [];
  let req: HttpRequest | undefined = importErrorsRequest(jobId);
  for (let page = 0; req && page < MAX_ERROR_PAGES; page++) {
    const res: HttpResponse<ImportErrorsPage> = await ctx.http.request<ImportErrorsPage>(req);
    if (res.status !== 200 || !Array.isArray(res.data?.data)) throw unreadable(`reading the errors of import job ${jobId}`, res);
    out.push(...res.data.data);
    const next = res.data.links?.next;
    req = typeof next === 'string' && next !== '' ? nextPageRequest(next) : undefined;
  }
  return out;
}

/**
 * Row results from a completed job's import errors. An error belongs to the profile its
 * `source.pointer` names (`/data/attributes/profiles/data/<n>`), else to the profiles of the batch
 * whose identifier (email, then phone_number, then external_id) its `original_payload` carries. The
 * others are returned as unmatched: nobody can tell which row they belong to.
 */
export function resultsFromImportErrors(profiles: ImportProfile[], errors: ImportErrorResource[]): { results: RowResult[]; unmatched: KlaviyoError[] } {
  const reasons = new Map<number, string[]>();
  const unmatched: KlaviyoError[] = [];
  for (const error of errors) {
    const attributes = error.attributes ?? {};
    const rows = rowsOf(attributes, profiles);
    if (rows.length === 0) unmatched.push(attributes);
    for (const row of rows) reasons.set(row, [...(reasons.get(row) ?? []), describeError(attributes)]);
  }
  const results = profiles.map((_, i): RowResult => (reasons.has(i) ? rowFailed(`Klaviyo rejected this profile: ${[...new Set(reasons.get(i))].join('; ')}`) : ROW_OK));
  return { results, unmatched };
}

function rowsOf(error: KlaviyoError & { original_payload?: unknown }, profiles: ImportProfile[]): number[] {
  const index = profileIndex(error.source?.pointer);
  if (index !== undefined && index < profiles.length) return [index];
  const payload = error.original_payload;
  if (!payload || typeof payload !== 'object') return [];
  // the profile as sent: its attributes, or the whole resource ({type, attributes})
  const nested = (payload as { attributes?: unknown }).attributes;
  const sent = (nested && typeof nested === 'object' ? nested : payload) as Record<string, unknown>;
  for (const key of KLAVIYO_IDENTIFIERS) {
    const value = sent[key];
    if (typeof value !== 'string' || value === '') continue;
    const wanted = key === 'email' ? value.trim().toLowerCase() : value.trim();
    const rows = profiles.flatMap((p, i) => (p.attributes[key] === wanted ? [i] : []));
    if (rows.length > 0) return rows;
  }
  return [];
}

/** A job or its errors could not be read: the batch is sent again later (imports are idempotent upserts). */
function unreadable(what: string, res: HttpResponse): RetryableError {
  const said = vendorMessage(res.data);
  return new RetryableError(`Klaviyo answered ${res.status} for ${what}${said ? `: ${said}` : ''}`);
}
