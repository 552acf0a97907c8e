import type { HttpResponse } from '../destination-definition';
import { BatchRejectedError, ConfigurationError, RetryableError } from '../destination-errors';
import { retryAfterMs } from '../http/retry-after';

/**
 * TikTok answers HTTP 200 in all cases with `{code, message, request_id, data}`; the code decides:
 * - 0 OK; 20001 partial OK (accepted).
 * - 40100 request too frequent → RetryableError (classify, before the action reads the body).
 * - 40050 duplicated request (a retried batch TikTok already took) → accepted.
 * - 40102 access token expired, 40104/40105 token missing or invalid, 40001 no permission on
 *   the advertiser → ConfigurationError.
 * - 5xxxx (TikTok's internal errors) → RetryableError.
 * - any other code (40061 invalid batch size, 40062 PII not hashed, an audience falling under 1,000,
 *   bad parameters) → BatchRejectedError with TikTok's message.
 */
export interface TikTokEnvelope {
  code: number;
  message: string;
  requestId?: string;
}

export function envelope(data: unknown): TikTokEnvelope | undefined {
  if (!data || typeof data !== 'object' || !('code' in data)) return undefined;
  const d = data as { code?: unknown; message?: unknown; request_id?: unknown };
  const code = Number(d.code);
  if (!Number.isFinite(code)) return undefined;
  return { code, message: typeof d.message === 'string' ? d.message : '', requestId: typeof d.request_id === 'string' ? d.request_id : undefined };
}

/** 40050 "duplicated request": TikTok already has this exact request (a retried batch), so it counts as done. */
export const OK_CODES = new Set([0, 20001, 40050]);
const CONFIG_CODES = new Set([40001, 40102, 40104, 40105]);

const said = (e: TikTokEnvelope) => `TikTok answered code ${e.code}${e.message ? ` ${e.message}` : ''}${e.requestId ? ` (request_id ${e.requestId})` : ''}`;

export function classifyTikTok(res: HttpResponse): Error | undefined {
  const e = envelope(res.data);
  if (!e) return undefined;
  if (e.code === 40100) return new RetryableError(`${said(e)}: rate limited`, retryAfterMs(res.headers));
  if (CONFIG_CODES.has(e.code)) return new ConfigurationError(`${said(e)}: check access_token and advertiser_id`);
  if (e.code >= 50000 && e.code < 60000) return new RetryableError(said(e), retryAfterMs(res.headers));
  return undefined;
}

/** The envelope of a successful answer, or the error for the rest (after classify). */
export function checked(res: HttpResponse, what: string): TikTokEnvelope {
  const e = envelope(res.data);
  if (res.status >= 200 && res.status < 300 && e && OK_CODES.has(e.code)) return e;
  if (e) return rejected(`${said(e)} for ${what}`);
  if (res.status === 404 || (res.status >= 300 && res.status < 400)) throw new ConfigurationError(`TikTok answered ${res.status} for ${what}: check base_url`);
  throw new BatchRejectedError(`TikTok answered ${res.status} without a code for ${what}`);
}

function rejected(message: string): never {
  throw new BatchRejectedError(message);
}
