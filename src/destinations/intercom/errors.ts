import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';

/** Intercom's error body: `{"type":"error.list","request_id":…,"errors":[{"code","message","field"}]}`. */
interface IntercomErrorItem {
  code?: unknown;
  message?: unknown;
  field?: unknown;
}

/** `code: message` of every error in the answer (or whatever the body says), for a row error or a log line. */
export function intercomMessage(res: HttpResponse): string {
  const errors = (res.data as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return (errors as IntercomErrorItem[])
      .map((e) => [e.code, e.message].filter((v) => typeof v === 'string' && v !== '').join(': '))
      .filter(Boolean)
      .join('; ');
  }
  return vendorMessage(res.data);
}

const said = (what: string, res: HttpResponse) => {
  const m = intercomMessage(res);
  return `Intercom answered ${res.status} for ${what}${m ? `: ${m}` : ''}`;
};

/**
 * An answer that is nobody's row fault: 404 (a path or tag that is not there) is configuration, a
 * redirect too (wrong region or base_url); anything else rejects the batch (the engine bisects it).
 */
export function unexpectedAnswer(what: string, res: HttpResponse): Error {
  if (res.status === 404 || (res.status >= 300 && res.status < 400)) return new ConfigurationError(`${said(what, res)} (check region and base_url)`);
  return new BatchRejectedError(said(what, res));
}

/** The same, as a configuration problem: a failing request in `ensure` or `testConnection` is not a batch to bisect. */
export function configurationAnswer(what: string, res: HttpResponse): ConfigurationError {
  return new ConfigurationError(said(what, res));
}

/** The row's error for a per-contact request Intercom refused (400 validation, 404, 409, 422). */
export const rowMessage = (what: string, res: HttpResponse) => `Intercom refused ${what} (${res.status})${intercomMessage(res) ? `: ${intercomMessage(res)}` : ''}`;

/** 409 on create: `A contact matching those details already exists with id=<id>` names the contact to update instead. */
export function conflictContactId(res: HttpResponse): string | undefined {
  return /\bid=([A-Za-z0-9]+)/.exec(intercomMessage(res))?.[1];
}
