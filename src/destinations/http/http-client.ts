import axios, { type AxiosResponse } from 'axios';
import type { DestinationDefinition, DestinationLogger, HttpClient, HttpRequest, HttpResponse } from '../destination-definition';
import { ConfigurationError, RetryableError } from '../destination-errors';
import { sharedRateLimiter, type RateLimiter } from './rate-limiter';
import { Redactor } from './redact';
import { retryAfterMs } from './retry-after';
import { secretSettingValues } from './secret-settings';
import { vendorMessage } from './vendor-message';

export interface HttpClientOptions {
  /** the destination instance's name: the default rate-limit account and a log field */
  instance: string;
  logger: DestinationLogger;
  /** values to redact from logs and error messages (the instance's secrets) */
  secrets: string[];
  /** per request, unless the request says otherwise; default 30 s */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Header names whose values are never credentials, so they are not added to the redaction list. */
const PLAIN_HEADERS = new Set(['accept', 'content-type', 'user-agent', 'accept-encoding', 'content-encoding', 'accept-language']);
const REQUEST_ID_HEADERS = ['x-request-id', 'request-id', 'x-amzn-requestid', 'x-amz-request-id', 'x-slack-req-id', 'x-trace-id', 'cf-ray'];
/** Transport failures that mean "the address is wrong", not "try again". */
const CONFIGURATION_CODES = new Set([
  'ENOTFOUND',
  'ERR_INVALID_URL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The HTTP client of one destination instance (see HttpClient). Per request: wait for the shared
 * rate-limit budget, send with the definition's base URL and auth headers, then map the answer:
 * 1. `definition.classify` first, so a vendor's own signal wins (Salesforce's 403 REQUEST_LIMIT_EXCEEDED
 *    is throttling, not bad credentials);
 * 2. 401/403 → ConfigurationError; 408/429 and 5xx other than 501 → RetryableError with Retry-After;
 * 3. anything else comes back as `{status, headers, data}`: `data` is the parsed JSON when the body is
 *    JSON, the text otherwise ('' when empty). Adapters check its shape before reading it. A secret
 *    echoed in a body is already redacted there, so adapters may quote bodies in their errors.
 * Timeouts and dropped connections become RetryableError; an unknown host or bad certificate
 * ConfigurationError. Secrets never reach a log line or an error message.
 */
export function createHttpClient<S>(definition: DestinationDefinition<S>, settings: S, opts: HttpClientOptions): HttpClient {
  const baseUrl = definition.baseUrl?.(settings);
  const definitionHeaders = lowerKeys(definition.headers?.(settings) ?? {});
  const redactor = new Redactor([...opts.secrets, ...secretSettingValues(definition.settings, settings), ...headerSecrets(definitionHeaders)]);
  const rateLimit = typeof definition.rateLimit === 'function' ? definition.rateLimit(settings) : definition.rateLimit;
  // the budget is the account's; a limit from the settings is part of the key, so a changed setting takes effect
  const limiter: RateLimiter | undefined = rateLimit
    ? sharedRateLimiter(`${definition.slug}:${definition.accountKey?.(settings) ?? opts.instance}${typeof definition.rateLimit === 'function' ? `:${rateLimit.requests}/${rateLimit.perMs}` : ''}`, rateLimit)
    : undefined;
  const instance = axios.create({
    validateStatus: () => true,
    maxRedirects: 0, // a redirected POST silently becomes a GET: let the adapter see the 3xx instead
    responseType: 'text',
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
    transitional: { clarifyTimeoutError: true },
  });

  const fail = (message: string) => redactor.redact(`${definition.name}: ${message}`);

  return {
    async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
      const url = fullUrl(baseUrl, req);
      const logUrl = redactor.redactUrl(url);
      if (!URL.canParse(url)) throw new ConfigurationError(fail(`invalid URL ${logUrl}`));
      const { body, contentType } = encodeBody(req.body);
      const headers = { 'user-agent': 'composable-cdp', accept: 'application/json, text/plain, */*', ...contentType, ...definitionHeaders, ...lowerKeys(req.headers ?? {}) };
      const timeoutMs = req.timeoutMs ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const logFields = { destination: definition.slug, instance: opts.instance, method: req.method, url: logUrl };

      await limiter?.take();
      const started = Date.now();
      let raw: AxiosResponse<string>;
      try {
        raw = await instance.request<string>({ method: req.method, url, headers, data: body, timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
      } catch (e) {
        const code = errorCode(e);
        opts.logger.debug({ ...logFields, error: code, durationMs: Date.now() - started }, 'http request failed');
        if (code === 'ETIMEDOUT' || code === 'ECONNABORTED' || code === 'ERR_CANCELED') {
          throw new RetryableError(fail(`${req.method} ${logUrl} timed out after ${timeoutMs} ms`));
        }
        if (CONFIGURATION_CODES.has(code)) throw new ConfigurationError(fail(`${req.method} ${logUrl} failed: ${code}`));
        throw new RetryableError(fail(`${req.method} ${logUrl} failed: ${code}`));
      }

      const response: HttpResponse<T> = { status: raw.status, headers: lowerKeys(flattenHeaders(raw.headers)), data: redactor.redactDeep(decodeBody(raw.data, raw.headers)) as T };
      const requestId = REQUEST_ID_HEADERS.map((h) => response.headers[h]).find(Boolean);
      opts.logger.debug({ ...logFields, status: response.status, durationMs: Date.now() - started, ...(requestId ? { requestId } : {}) }, 'http request');

      const classified = definition.classify?.(response);
      if (classified) {
        classified.message = redactor.redact(classified.message);
        throw classified;
      }
      const said = () => {
        const m = vendorMessage(response.data);
        return m ? `: ${m}` : '';
      };
      const { status } = response;
      if (status === 401 || status === 403) {
        throw new ConfigurationError(fail(`${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'} for ${req.method} ${logUrl}${said()}`));
      }
      if (status === 408 || status === 429 || (status >= 500 && status !== 501)) {
        throw new RetryableError(fail(`${status} for ${req.method} ${logUrl}${said()}`), retryAfterMs(response.headers));
      }
      return response;
    },
  };
}

function fullUrl(baseUrl: string | undefined, req: HttpRequest): string {
  let url = req.url;
  if (baseUrl && !/^https?:\/\//i.test(url)) url = url ? `${baseUrl.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}` : baseUrl;
  const params = Object.entries(req.params ?? {}).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined);
  if (params.length === 0) return url;
  const query = new URLSearchParams(params.map(([k, v]): [string, string] => [k, String(v)])).toString();
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

/** Strings and Buffers go as they are (an adapter that signs the body needs its exact bytes); anything else as JSON. */
function encodeBody(body: unknown): { body?: Buffer; contentType: Record<string, string> } {
  if (body === undefined) return { contentType: {} };
  if (Buffer.isBuffer(body)) return { body, contentType: {} };
  if (typeof body === 'string') return { body: Buffer.from(body), contentType: {} };
  return { body: Buffer.from(JSON.stringify(body)), contentType: { 'content-type': 'application/json' } };
}

function decodeBody(text: unknown, headers: unknown): unknown {
  if (typeof text !== 'string' || text === '') return typeof text === 'string' ? text : '';
  const contentType = String(flattenHeaders(headers)['content-type'] ?? '');
  if (!contentType.includes('json') && !/^\s*[[{]/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function flattenHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const plain = headers && typeof (headers as { toJSON?: unknown }).toJSON === 'function' ? (headers as { toJSON(): object }).toJSON() : headers;
  for (const [k, v] of Object.entries((plain ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number') out[k.toLowerCase()] = String(v);
    else if (Array.isArray(v)) out[k.toLowerCase()] = v.join(', ');
  }
  return out;
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Every auth-ish header value is a secret, and so is the token after `Bearer `/`Basic `. */
function headerSecrets(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (PLAIN_HEADERS.has(name) || !value) continue;
    out.push(value);
    const token = /^\w+\s+(\S{6,})$/.exec(value)?.[1];
    if (token) out.push(token);
  }
  return out;
}

function errorCode(e: unknown): string {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof err?.code === 'string' ? err.code : typeof err?.cause?.code === 'string' ? err.cause.code : undefined;
  return code ?? 'network error';
}
