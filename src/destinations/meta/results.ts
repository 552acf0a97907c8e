import { ROW_OK, rowFailed, type RowResult } from '../destination-definition';

/** What `/{audience_id}/users` answers on success (Custom Audience Users reference). */
export interface MetaUsersAnswer {
  audience_id?: string;
  session_id?: string | number;
  num_received?: number;
  num_invalid_entries?: number;
  /** examples of the rejected values: an object `{value: reason}` or a list of values */
  invalid_entry_samples?: unknown;
}

/**
 * Row results for one successful request. Meta reports invalid rows only as a count and a few
 * samples: a row whose sent values include a sample fails with Meta's reason; the others are ok.
 * `unattributed` counts the invalid entries no sample pointed to (logged, not failed: we cannot
 * tell which rows they are).
 */
export function usersResults(sent: string[][], answer: MetaUsersAnswer): { results: RowResult[]; unattributed: number } {
  const samples = sampleReasons(answer.invalid_entry_samples);
  let attributed = 0;
  const results = sent.map((values) => {
    const hit = values.find((v) => v !== '' && samples.has(v));
    if (hit === undefined) return ROW_OK;
    attributed++;
    const reason = samples.get(hit);
    return rowFailed(`Meta rejected this entry as invalid${reason ? `: ${reason}` : ''}`);
  });
  const invalid = typeof answer.num_invalid_entries === 'number' ? answer.num_invalid_entries : 0;
  return { results, unattributed: Math.max(0, invalid - attributed) };
}

function sampleReasons(samples: unknown): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (Array.isArray(samples)) {
    for (const s of samples) if (typeof s === 'string') out.set(s.toLowerCase(), undefined);
  } else if (samples && typeof samples === 'object') {
    for (const [value, reason] of Object.entries(samples)) out.set(value.toLowerCase(), typeof reason === 'string' ? reason : undefined);
  }
  return out;
}
