import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';

/** SendGrid's error answers: `{"errors":[{field, message, error_id, parameter}]}` (reference §1.10). */
export interface SendGridError {
  field?: string;
  message?: string;
}

/** The `errors` of an answer (an array, or the single object some endpoints send). */
export function errorsOf(data: unknown): SendGridError[] {
  const errors = (data as { errors?: unknown } | null | undefined)?.errors;
  const list = Array.isArray(errors) ? errors : errors && typeof errors === 'object' ? [errors] : [];
  return list.flatMap((e) => {
    if (!e || typeof e !== 'object') return [];
    const r = e as Record<string, unknown>;
    return [{ field: typeof r.field === 'string' ? r.field : undefined, message: typeof r.message === 'string' ? r.message : undefined }];
  });
}

export const describe = (e: SendGridError): string => [e.field, e.message ?? 'no message'].filter(Boolean).join(': ');

/** An answer the adapter cannot use: 404 is something configured gone (a list), anything else a rejected batch. */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  const errors = errorsOf(res.data);
  const said = errors.length > 0 ? errors.map(describe).join('; ') : vendorMessage(res.data);
  const message = `SendGrid answered ${res.status} for ${what}${said ? `: ${said}` : ''}`;
  return res.status === 404 ? new ConfigurationError(message) : new BatchRejectedError(message);
}

/** Setting things up (field definitions, the list) is configuration: a rejected request there is not a batch to bisect. */
export function asConfiguration(e: Error): Error {
  return e instanceof BatchRejectedError ? new ConfigurationError(e.message) : e;
}
