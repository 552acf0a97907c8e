import { ROW_OK, rowFailed, type ActionContext, type HttpRequest, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { pollJob } from '../http/poll-job';
import { sha256Hex } from '../pii';
import { sfRequest } from './auth';
import type { WriteOperation } from './collections';
import { parseCsv, toCsv } from './csv';
import { unexpectedAnswer } from './errors';
import type { SfRecord } from './records';
import { dataPath, type SalesforceSettings } from './settings';

/** Bulk API 2.0 takes up to 150 MB of CSV per job; stay well under (a larger batch is bisected by the engine). */
export const BULK_MAX_BYTES = 100 * 1024 * 1024;

export interface JobInfo {
  id?: string;
  state?: string;
  errorMessage?: string;
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
}

type Ctx = Pick<ActionContext<SalesforceSettings>, 'http' | 'settings' | 'logger' | 'polling' | 'state'>;

const jobsPath = (s: SalesforceSettings, path = '') => dataPath(s, `jobs/ingest${path}`);

export const createJobRequest = (s: SalesforceSettings, operation: WriteOperation, object: string, externalIdField?: string): HttpRequest => ({
  method: 'POST',
  url: jobsPath(s),
  body: { object, operation, ...(operation === 'upsert' ? { externalIdFieldName: externalIdField } : {}), contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' },
});
export const uploadRequest = (s: SalesforceSettings, jobId: string, csv: string): HttpRequest => ({
  method: 'PUT',
  url: jobsPath(s, `/${jobId}/batches`),
  headers: { 'content-type': 'text/csv' },
  body: csv,
});
export const closeJobRequest = (s: SalesforceSettings, jobId: string, state: 'UploadComplete' | 'Aborted'): HttpRequest => ({ method: 'PATCH', url: jobsPath(s, `/${jobId}`), body: { state } });
export const resultsRequest = (s: SalesforceSettings, jobId: string, kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords'): HttpRequest => ({
  method: 'GET',
  url: jobsPath(s, `/${jobId}/${kind}`),
  headers: { accept: 'text/csv' },
});

/** Jobs this run created, by the CSV's hash: a batch sent again after a poll timeout resumes its job instead of loading twice. */
function pendingJobs(ctx: Ctx): Map<string, string> {
  if (!(ctx.state.bulkJobs instanceof Map)) ctx.state.bulkJobs = new Map<string, string>();
  return ctx.state.bulkJobs as Map<string, string>;
}

/**
 * One Bulk API 2.0 ingest job for the records: create (`POST /jobs/ingest`), upload the CSV (`PUT
 * …/batches`), close (`PATCH {state: UploadComplete}`), poll (`GET /jobs/ingest/{id}`) until
 * JobComplete or Failed, then read `successfulResults`, `failedResults` (`sf__Error`) and
 * `unprocessedrecords`. Salesforce does not keep the order of the records in its results, so each
 * result line is matched to its row by `keyColumn` (the external id for upsert, Id for update), or,
 * without one (insert), by the whole line as sent.
 */
export async function runBulkJob(ctx: Ctx, operation: WriteOperation, object: string, records: SfRecord[], externalIdField: string | undefined, keyColumn: string | undefined): Promise<Map<number, RowResult>> {
  const s = ctx.settings;
  const table = toCsv(records.map((r) => r.fields));
  if (Buffer.byteLength(table.text) > BULK_MAX_BYTES) throw new BatchRejectedError(`the batch is ${Math.round(Buffer.byteLength(table.text) / 1048576)} MB of CSV, over the ${BULK_MAX_BYTES / 1048576} MB the adapter sends in one Bulk API job`);
  const fingerprint = sha256Hex(`${operation}|${object}|${externalIdField ?? ''}|${table.text}`);
  const pending = pendingJobs(ctx);
  let jobId = pending.get(fingerprint);
  if (jobId === undefined) {
    jobId = await startJob(ctx, operation, object, externalIdField, table.text);
    pending.set(fingerprint, jobId);
  } else {
    ctx.logger.info({ destination: 'salesforce', job: jobId }, 'resuming the Salesforce bulk job of this batch');
  }
  const id = jobId;
  const info = await pollJob(ctx, `Salesforce bulk job ${id}`, async () => {
    const res = await sfRequest<JobInfo>(ctx, { method: 'GET', url: jobsPath(s, `/${id}`) });
    if (res.status !== 200 || typeof res.data?.state !== 'string') throw unexpectedAnswer(`reading bulk job ${id}`, res);
    const job = res.data;
    if (job.state === 'Aborted') throw new ConfigurationError(`Salesforce bulk job ${id} was aborted${job.errorMessage ? `: ${job.errorMessage}` : ''}`);
    return job.state === 'JobComplete' || job.state === 'Failed' ? { done: true, value: job } : { done: false, status: job.state };
  });
  pending.delete(fingerprint);
  if (info.state === 'Failed' && !(Number(info.numberRecordsProcessed) > 0)) {
    throw new ConfigurationError(`Salesforce bulk job ${id} failed without processing a record: ${info.errorMessage ?? 'no reason given'}`);
  }
  ctx.logger.info(
    { destination: 'salesforce', job: id, state: info.state, operation, object, records: records.length, processed: info.numberRecordsProcessed, failed: info.numberRecordsFailed },
    'Salesforce bulk job finished',
  );

  // each row's key, then a queue of rows per key (a key may repeat)
  const keyColumns = keyColumn !== undefined && table.columns.includes(keyColumn) ? [keyColumn] : table.columns;
  const keyOfSent = (cells: (string | undefined)[]) => keyColumns.map((c) => cells[table.columns.indexOf(c)] ?? '').join('\u0000');
  const keyOfResult = (line: Record<string, string>) => keyColumns.map((c) => line[c] ?? '').join('\u0000');
  const waiting = new Map<string, number[]>();
  table.cells.forEach((cells, i) => {
    const key = keyOfSent(cells);
    waiting.set(key, [...(waiting.get(key) ?? []), records[i].index]);
  });
  const out = new Map<number, RowResult>();
  const take = (line: Record<string, string>, result: RowResult) => {
    const row = waiting.get(keyOfResult(line))?.shift();
    if (row !== undefined) out.set(row, result);
  };
  for (const line of await results(ctx, id, 'successfulResults')) take(line, ROW_OK);
  for (const line of await results(ctx, id, 'failedResults')) take(line, rowFailed(`Salesforce rejected this record: ${line.sf__Error || 'no reason given'}`));
  const notProcessed = rowFailed(`Salesforce did not process this record (bulk job ${id} ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''})`);
  for (const line of await results(ctx, id, 'unprocessedrecords')) take(line, notProcessed);
  for (const r of records) if (!out.has(r.index)) out.set(r.index, rowFailed(`Salesforce returned no result for this record (bulk job ${id})`));
  return out;
}

async function startJob(ctx: Ctx, operation: WriteOperation, object: string, externalIdField: string | undefined, csv: string): Promise<string> {
  const s = ctx.settings;
  const created = await sfRequest<JobInfo>(ctx, createJobRequest(s, operation, object, externalIdField));
  if ((created.status !== 200 && created.status !== 201) || typeof created.data?.id !== 'string') throw unexpectedAnswer(`creating a bulk ${operation} job for ${object}`, created);
  const jobId = created.data.id;
  try {
    const uploaded = await sfRequest(ctx, uploadRequest(s, jobId, csv));
    if (uploaded.status !== 201 && uploaded.status !== 200) throw unexpectedAnswer(`uploading the CSV of bulk job ${jobId}`, uploaded);
    const closed = await sfRequest<JobInfo>(ctx, closeJobRequest(s, jobId, 'UploadComplete'));
    if (closed.status !== 200) throw unexpectedAnswer(`closing bulk job ${jobId}`, closed);
  } catch (e) {
    // best effort: a job left Open would hold the upload until Salesforce times it out
    await sfRequest(ctx, closeJobRequest(s, jobId, 'Aborted')).catch(() => undefined);
    throw e;
  }
  ctx.logger.info({ destination: 'salesforce', job: jobId, operation, object }, 'Salesforce bulk job created');
  return jobId;
}

async function results(ctx: Ctx, jobId: string, kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords'): Promise<Record<string, string>[]> {
  const res = await sfRequest<string>(ctx, resultsRequest(ctx.settings, jobId, kind));
  if (res.status !== 200) throw unexpectedAnswer(`reading the ${kind} of bulk job ${jobId}`, res);
  return parseCsv(res.data);
}
