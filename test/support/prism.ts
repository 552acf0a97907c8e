import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * Stoplight Prism (`@stoplight/prism-cli`, pinned 5.14.2: the last release that runs on Node 20)
 * as a request validator for destination contract tests. Start it once per test file:
 *
 *   const upstream = await FakeServer.start();
 *   const prism = await Prism.start({ spec: 'test/specs/klaviyo/profiles.json', upstream: upstream.url });
 *   ... point the adapter's base URL at prism.url ...
 *   afterEach(() => prism.expectNoViolations());   // fails the test with Prism's own messages
 *   afterAll(() => prism.stop());
 *
 * - `proxy` mode (default when `upstream` is given): Prism validates each request against the spec,
 *   forwards it to the upstream fake (which scripts 429s, partial failures, ...), and validates the
 *   fake's answer too. With `errors` (default on) an invalid request is answered 422 and never reaches
 *   the fake; a reply that breaks the spec becomes a 500.
 * - `mock` mode (no upstream): Prism answers from the spec's examples (`dynamic` for generated ones).
 *
 * `url` is a small recording front in front of Prism: every answer Prism gives is read there, and
 * each violation it reports (the `validation` list of its 422 `UNPROCESSABLE_ENTITY` and 500
 * `VIOLATIONS` answers, the `sl-violations` header, or a `Violation:` log line when `errors` is off)
 * is kept in `violations` with the request it belongs to; `expectNoViolations()` throws with them
 * (failing the test with Prism's message) and clears the list.
 *
 * `spec` is one file or several (TikTok ships one file per endpoint: their `paths` and `components`
 * are merged), YAML or JSON; `patch` edits the parsed document before Prism sees it (a vendor spec
 * bug, like TikTok's Access-Token declared in the query). The document Prism loads is written to a
 * temporary folder, removed on stop.
 */
export interface PrismOptions {
  /** spec file(s), relative to the repository root or absolute */
  spec: string | string[];
  /** the fake server to forward to (proxy mode) */
  upstream?: string;
  mode?: 'proxy' | 'mock';
  /** answer invalid requests with 422 instead of only reporting them (default true) */
  errors?: boolean;
  /** mock mode: generate answers from the schemas instead of the examples */
  dynamic?: boolean;
  /** edit the parsed spec before Prism loads it */
  patch?: (doc: OpenApiDocument) => void;
  /** give up waiting for Prism after this long (default 30 s) */
  startupTimeoutMs?: number;
}

export type OpenApiDocument = Record<string, unknown> & { paths?: Record<string, Record<string, unknown>> };

export interface PrismViolation {
  /** `request` or `response` when Prism says so */
  location?: string;
  message: string;
}

const REPO_ROOT = resolve(__dirname, '../..');
const PRISM_BIN = join(REPO_ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'prism.cmd' : 'prism');

export class Prism {
  readonly violations: PrismViolation[] = [];
  private output = '';

  private front?: Server;
  /** the address to point the adapter at (the recording front); Prism itself listens on `prismUrl` */
  url = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly prismUrl: string,
  ) {}

  static async start(options: PrismOptions): Promise<Prism> {
    const mode = options.mode ?? (options.upstream ? 'proxy' : 'mock');
    if (mode === 'proxy' && !options.upstream) throw new Error('Prism proxy mode needs an upstream URL');
    const doc = loadSpec(options.spec);
    options.patch?.(doc);
    const dir = mkdtempSync(join(tmpdir(), 'prism-'));
    const file = join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(doc));
    const port = await freePort();
    const args = [mode, file, ...(mode === 'proxy' ? [options.upstream as string] : []), '-h', '127.0.0.1', '-p', String(port), '--errors', String(options.errors ?? true)];
    if (mode === 'mock' && options.dynamic) args.push('-d');
    const child = spawn(PRISM_BIN, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    const prism = new Prism(child, dir, `http://127.0.0.1:${port}`);
    try {
      await prism.waitUntilListening(options.startupTimeoutMs ?? 30_000);
      await prism.startFront(port);
    } catch (e) {
      await prism.stop();
      throw e;
    }
    return prism;
  }

  /** Throws (failing the test) when Prism reported any violation since the last call; clears them. */
  expectNoViolations(): void {
    if (this.violations.length === 0) return;
    const found = this.violations.splice(0).map((v) => `- ${v.location ? `${v.location}: ` : ''}${v.message}`);
    throw new Error(`Prism found spec violations:\n${[...new Set(found)].join('\n')}`);
  }

  /** Forget the violations reported so far (a test that sends an invalid request on purpose). */
  clearViolations(): PrismViolation[] {
    return this.violations.splice(0);
  }

  async stop(): Promise<void> {
    if (this.front) {
      this.front.closeAllConnections();
      await new Promise<void>((r) => this.front?.close(() => r()));
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
      clearTimeout(timer);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The recording front: forwards each request to Prism as it is, and reads Prism's answer for violations. */
  private async startFront(prismPort: number): Promise<void> {
    const front = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const upstream = httpRequest({ host: '127.0.0.1', port: prismPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            const raw = Buffer.concat(body);
            this.record(`${req.method} ${req.url}`, answer.statusCode ?? 0, answer.headers['sl-violations'], raw.toString('utf8'));
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(raw);
          });
        });
        upstream.on('error', (e) => {
          this.violations.push({ message: `${req.method} ${req.url}: Prism did not answer (${e.message})` });
          res.destroy();
        });
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    this.front = front;
    this.url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  }

  private record(request: string, status: number, header: string | string[] | undefined, body: string): void {
    const found: { location?: unknown; message?: unknown }[] = [];
    if (typeof header === 'string') found.push(...parseList(header));
    if (status === 422 || status === 500) {
      const parsed = parseJson(body) as { type?: unknown; validation?: unknown } | undefined;
      if (typeof parsed?.type === 'string' && /prism\/errors#(UNPROCESSABLE_ENTITY|VIOLATIONS)/.test(parsed.type) && Array.isArray(parsed.validation)) {
        found.push(...(parsed.validation as { location?: unknown; message?: unknown }[]));
      }
    }
    const seen = new Set<string>();
    for (const v of found) {
      const location = Array.isArray(v.location) ? v.location.join('.') : undefined;
      const message = `${request}: ${location ? `${location}: ` : ''}${String(v.message)}`;
      if (seen.has(message)) continue;
      seen.add(message);
      this.violations.push({ location: location?.startsWith('response') ? 'response' : 'request', message: `${request}: ${location ? `${location} ` : ''}${String(v.message)}` });
    }
  }

  private waitUntilListening(timeoutMs: number): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`Prism did not start within ${timeoutMs} ms:\n${this.output.slice(-2000)}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.output += text;
        for (const line of text.split('\n')) this.readLine(line);
        if (/Prism is listening/.test(this.output)) {
          clearTimeout(timer);
          resolvePromise();
        }
      };
      this.child.stdout?.on('data', onData);
      this.child.stderr?.on('data', onData);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Prism exited (${code}) before listening:\n${this.output.slice(-2000)}`));
      });
    });
  }

  /** Prism logs `Violation: request.body Request body must have required property 'x'` (and the 422 it answers). */
  private readLine(raw: string): void {
    const line = stripAnsi(raw);
    const m = /Violation:\s*(?:(request|response)[.\w-]*\s+)?(.*)$/.exec(line);
    if (m && /error|✖/i.test(line.slice(0, m.index))) this.violations.push({ location: m[1], message: m[2].trim() });
  }
}

/** One spec file, or several merged (paths and components), parsed from YAML or JSON. */
export function loadSpec(spec: string | string[]): OpenApiDocument {
  const files = (Array.isArray(spec) ? spec : [spec]).map((f) => resolve(REPO_ROOT, f));
  const docs = files.map((f) => parse(readFileSync(f, 'utf8')) as OpenApiDocument);
  const [first, ...rest] = docs;
  const merged: OpenApiDocument = { ...first, paths: { ...(first.paths ?? {}) } };
  for (const doc of rest) {
    Object.assign(merged.paths as object, doc.paths ?? {});
    const components = doc.components as Record<string, Record<string, unknown>> | undefined;
    if (components) {
      const target = ((merged.components as Record<string, Record<string, unknown>> | undefined) ??= {});
      for (const [kind, entries] of Object.entries(components)) target[kind] = { ...(target[kind] ?? {}), ...entries };
    }
  }
  return merged;
}

/** Every operation of a document (for patches): `[path, method, operation]`. */
export function operations(doc: OpenApiDocument): [string, string, Record<string, unknown>][] {
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => methods.has(m))
      .map(([m, op]): [string, string, Record<string, unknown>] => [path, m, op as Record<string, unknown>]),
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseList(text: string): { location?: unknown; message?: unknown }[] {
  const parsed = parseJson(text);
  return Array.isArray(parsed) ? (parsed as { location?: unknown; message?: unknown }[]) : [];
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
