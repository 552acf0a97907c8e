import { z } from 'zod';
import { ROW_OK, rowFailed, type OutgoingRow, type RowResult } from '../destination-definition';

const resultsBody = z.object({
  results: z.array(z.object({ key: z.string(), status: z.enum(['ok', 'error']), error: z.string().optional() })),
});

/**
 * Row results from a 2xx answer. With a `{"results":[{key, status, error}]}` body, each row takes the
 * result of its key; a row missing from the results is ok on 200 (the receiver lists only failures)
 * and failed on 207 (a multi-status answer is expected to list every row). Any other body: all ok.
 */
export function rowResults(rows: OutgoingRow[], status: number, data: unknown): RowResult[] {
  const parsed = resultsBody.safeParse(data);
  if (!parsed.success) return rows.map(() => ROW_OK);
  const byKey = new Map(parsed.data.results.map((r) => [r.key, r]));
  return rows.map((row) => {
    const result = byKey.get(row.key);
    if (!result) return status === 207 ? rowFailed('missing from the 207 results') : ROW_OK;
    return result.status === 'ok' ? ROW_OK : rowFailed(result.error ?? 'rejected by the endpoint');
  });
}
