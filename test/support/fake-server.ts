import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake server received. */
export interface RecordedRequest {
  method: string;
  /** the path without the query string */
  path: string;
  query: Record<string, string>;
  /** lower-case names, as node gives them */
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** the body parsed as JSON, undefined when it is not JSON */
  json: unknown;
}

/** What the server answers. A string body is sent as text, anything else as JSON. */
export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** wait this long before answering (timeouts) */
  delayMs?: number;
  /** drop the connection without answering (socket hang up) */
  destroy?: boolean;
}

export type FakeHandler = (req: RecordedRequest) => ScriptedResponse | Promise<ScriptedResponse>;

/**
 * A tiny programmable HTTP server on a random local port, for destination contract tests: it
 * records every request, answers from a queue of scripted responses (`reply`), then from a handler
 * (`handle`, default: 200 with no body).
 *
 *   const server = await FakeServer.start();
 *   server.reply({ status: 429, headers: { 'retry-after': '2' } }, { status: 200 });
 *   ... server.requests[0].json ...
 *   await server.close();
 */
export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  private queue: ScriptedResponse[] = [];
  private handler: FakeHandler = () => ({ status: 200 });
  private port = 0;

  private constructor(private readonly server: Server) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const recorded: RecordedRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          rawBody,
          json: parseJson(rawBody),
        };
        this.requests.push(recorded);
        void this.answer(recorded, res);
      });
    });
  }

  static async start(): Promise<FakeServer> {
    const fake = new FakeServer(createServer());
    // Prism pools its connections to the fake: a socket closed idle (Node's 5 s default) under a large body gives EPIPE
    fake.server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** `http://127.0.0.1:<port>` (still the same after close, for connection-refused tests) */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Queue responses, used one per request in order before the handler takes over. */
  reply(...responses: ScriptedResponse[]): this {
    this.queue.push(...responses);
    return this;
  }

  /** Answer every request not covered by the queue. */
  handle(handler: FakeHandler): this {
    this.handler = handler;
    return this;
  }

  /** Forget recorded requests, queued responses and the handler. */
  reset(): this {
    this.requests.length = 0;
    this.queue = [];
    this.handler = () => ({ status: 200 });
    return this;
  }

  /** The last request received (throws when there was none, to keep tests short). */
  get last(): RecordedRequest {
    const last = this.requests.at(-1);
    if (!last) throw new Error('the fake server received no request');
    return last;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const scripted = this.queue.shift() ?? (await this.handler(req));
    if (scripted.delayMs) await new Promise((r) => setTimeout(r, scripted.delayMs));
    if (scripted.destroy) {
      res.socket?.destroy();
      return;
    }
    if (res.destroyed) return;
    const isText = typeof scripted.body === 'string';
    const body = scripted.body === undefined ? '' : isText ? (scripted.body as string) : JSON.stringify(scripted.body);
    const type = scripted.body === undefined ? {} : { 'content-type': isText ? 'text/plain' : 'application/json' };
    res.writeHead(scripted.status ?? 200, { ...type, ...scripted.headers });
    res.end(body);
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
