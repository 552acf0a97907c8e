import { rowFailed, type HttpResponse, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';

/** A JSON:API error object (`{"errors":[{id, status, code, title, detail, source:{pointer}}]}`). */
export interface KlaviyoError {
  code?: string;
  title?: string;
  detail?: string;
  source?: { pointer?: string | null; parameter?: string };
}

const errorsOf = (data: unknown): KlaviyoError[] => {
  const errors = (data as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? (errors as KlaviyoError[]) : [];
};

/** `code: detail` (or the title when there is no detail). */
export const describeError = (e: KlaviyoError) => [e.code, e.detail ?? e.title].filter(Boolean).join(': ');

/** The index of the profile a bulk-import error points at (`/data/attributes/profiles/data/3/...`). */
const PROFILE_POINTER = /^\/data\/attributes\/profiles\/data\/(\d+)(\/|$)/;

/** The profile index in a JSON pointer, or undefined when it points at no profile (`/data`). */
export function profileIndex(pointer: string | null | undefined): number | undefined {
  const m = PROFILE_POINTER.exec(pointer ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Row results for a rejected bulk import: errors that point at a profile fail that row with
 * Klaviyo's reason, the others are ok. When an error points at no profile, nobody can tell which
 * rows are at fault: the whole batch is rejected (the engine bisects it).
 */
export function importErrorResults(count: number, res: HttpResponse): RowResult[] {
  const errors = errorsOf(res.data);
  const byRow = new Map<number, string>();
  for (const e of errors) {
    const index = profileIndex(e.source?.pointer);
    if (index === undefined || index >= count) throw unexpectedAnswer('importing profiles', res);
    byRow.set(index, byRow.has(index) ? `${byRow.get(index)}; ${describeError(e)}` : describeError(e));
  }
  if (byRow.size === 0) throw unexpectedAnswer('importing profiles', res);
  return Array.from({ length: count }, (_, i) => (byRow.has(i) ? rowFailed(`Klaviyo rejected this profile: ${byRow.get(i)}`) : { ok: true as const }));
}

/** An answer the adapter cannot use: a rejected batch (4xx) or a configuration problem (404: no such list). */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  const said = vendorMessage(res.data);
  const message = `Klaviyo answered ${res.status} for ${what}${said ? `: ${said}` : ''}`;
  return res.status === 404 ? new ConfigurationError(message) : new BatchRejectedError(message);
}
