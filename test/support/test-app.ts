import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { CdpConfig } from '../../src/config/config.schema';
import { createApp } from '../../src/server/app.factory';

/** The in-process Nest app on Fastify, over real HTTP on a free local port, for the e2e suites. */

/** A parsed JSON answer: its shape is what the assertions check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** An HTTP answer with its body parsed as JSON when it is JSON (else the text; undefined when empty). */
export interface Answer<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

/** Reads a fetch Response into an Answer. */
export async function answer<T = Json>(res: Response): Promise<Answer<T>> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (the Swagger UI page, a plain-text error)
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

/** Listens on 127.0.0.1 on a free port; returns the base URL. */
export async function listen(app: NestFastifyApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (!address || typeof address !== 'object') throw new Error('the app is not listening on a TCP port');
  return `http://127.0.0.1:${address.port}`;
}

/** createApp(config) listening on a free port. Close it with app.close(). */
export async function startApp(config: CdpConfig): Promise<{ app: NestFastifyApplication; base: string }> {
  const app = await createApp(config);
  return { app, base: await listen(app) };
}

/** A call to the API with a bearer token (default: the client's; `null`: none), JSON in and out. */
export type ApiCall = (method: string, path: string, body?: unknown, token?: string | null) => Promise<Answer>;

/** An ApiCall against `base` that sends `token` unless told otherwise. */
export function apiClient(base: string, token: string): ApiCall {
  return async (method, path, body, as = token) => {
    const headers: Record<string, string> = {};
    if (as) headers.authorization = `Bearer ${as}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return answer(await fetch(base + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) }));
  };
}

/** A source as POST /api/sources returns it. */
export interface CreatedSource {
  id: string;
  name: string;
  writeKey: string;
}

/** POST /api/sources with the admin token (an app or a `cdp serve` at `base`); expects the 201. */
export async function createSource(base: string, adminToken: string, name: string): Promise<CreatedSource> {
  const res = await fetch(`${base}/api/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as CreatedSource;
}
