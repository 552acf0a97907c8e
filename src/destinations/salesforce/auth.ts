import type { DestinationLogger, HttpClient, HttpRequest, HttpResponse } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';
import { SalesforceSessionExpired } from './errors';
import type { SalesforceSettings } from './settings';

/**
 * Salesforce authentication. With `access_token` only, every request carries it and a 401
 * INVALID_SESSION_ID stops the run. With `client_id` and `refresh_token` (the OAuth 2.0 refresh
 * token flow), the adapter exchanges the refresh token at `/services/oauth2/token`, keeps the access
 * token for the HTTP client's life (one sync run, or one connection test), and on a 401
 * INVALID_SESSION_ID refreshes it once and sends the request again.
 */

/** Access tokens by HTTP client: one client per run, so a token lives as long as the run. */
const tokens = new WeakMap<HttpClient, Promise<string>>();
/** Clients that already warned about the API allocation. */
const warned = new WeakSet<HttpClient>();

export const canRefresh = (s: SalesforceSettings): boolean => s.client_id !== undefined && s.refresh_token !== undefined;

/** `POST {login_url|instance_url}/services/oauth2/token` (form-encoded `grant_type=refresh_token`). */
export function tokenRequest(s: SalesforceSettings): HttpRequest {
  const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: s.client_id ?? '', refresh_token: s.refresh_token ?? '' });
  if (s.client_secret) form.set('client_secret', s.client_secret);
  return {
    method: 'POST',
    url: `${(s.login_url ?? s.instance_url).replace(/\/+$/, '')}/services/oauth2/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  };
}

async function fetchToken(http: HttpClient, s: SalesforceSettings): Promise<string> {
  const res = await http.request<{ access_token?: unknown }>(tokenRequest(s));
  if (res.status === 200 && typeof res.data?.access_token === 'string' && res.data.access_token !== '') return res.data.access_token;
  const said = vendorMessage(res.data);
  throw new ConfigurationError(`Salesforce refused the refresh token (${res.status}${said ? `: ${said}` : ''}): check client_id, client_secret and refresh_token, or connect the integration user again`);
}

function refresh(http: HttpClient, s: SalesforceSettings): Promise<string> {
  const pending = fetchToken(http, s);
  tokens.set(http, pending);
  // a failed exchange is not kept: the next request tries again
  void pending.catch(() => {
    if (tokens.get(http) === pending) tokens.delete(http);
  });
  return pending;
}

/** The token to send: the refreshed one of this client, else access_token, else a new one from the refresh token. */
async function currentToken(http: HttpClient, s: SalesforceSettings): Promise<string | undefined> {
  const cached = tokens.get(http);
  if (cached) return cached;
  if (s.access_token !== undefined || !canRefresh(s)) return s.access_token;
  return refresh(http, s);
}

/** A token other than the rejected one: another request may have refreshed it meanwhile. */
async function tokenAfter(http: HttpClient, s: SalesforceSettings, rejected: string | undefined): Promise<string> {
  const cached = tokens.get(http);
  if (cached) {
    const token = await cached.catch(() => undefined);
    if (token !== undefined && token !== rejected) return token;
  }
  return refresh(http, s);
}

/**
 * Sends a request with the Bearer token (see above), retrying once with a refreshed token on 401
 * INVALID_SESSION_ID. Warns once per client when `Sforce-Limit-Info` shows 90% of the org's daily
 * API allocation used.
 */
export async function sfRequest<T = unknown>(
  ctx: { http: HttpClient; settings: SalesforceSettings; logger?: DestinationLogger },
  req: HttpRequest,
): Promise<HttpResponse<T>> {
  const { http, settings: s } = ctx;
  const send = async (token: string | undefined) => {
    const res = await http.request<T>({ ...req, headers: { ...req.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    watchAllocation(ctx, res);
    return res;
  };
  const token = await currentToken(http, s);
  try {
    return await send(token);
  } catch (e) {
    if (!(e instanceof SalesforceSessionExpired)) throw e;
    if (!canRefresh(s)) throw new ConfigurationError(`${e.message}: the access_token expired or was revoked; set a new one, or client_id and refresh_token so the adapter refreshes it`);
    const fresh = await tokenAfter(http, s, token);
    try {
      return await send(fresh);
    } catch (again) {
      if (again instanceof SalesforceSessionExpired) throw new ConfigurationError(`${again.message} (also with a freshly refreshed token: check the integration user’s API access)`);
      throw again;
    }
  }
}

function watchAllocation(ctx: { http: HttpClient; logger?: DestinationLogger }, res: HttpResponse): void {
  const m = /api-usage=(\d+)\/(\d+)/.exec(res.headers['sforce-limit-info'] ?? '');
  if (!m || warned.has(ctx.http)) return;
  const [used, max] = [Number(m[1]), Number(m[2])];
  if (max > 0 && used / max >= 0.9) {
    warned.add(ctx.http);
    ctx.logger?.warn({ destination: 'salesforce', apiUsage: used, apiAllocation: max }, 'Salesforce: 90% of the org’s daily API request allocation is used');
  }
}
