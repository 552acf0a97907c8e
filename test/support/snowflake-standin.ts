import { createDecipheriv, createHash, createPublicKey, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * A local stand-in for Snowflake's REST protocol, enough for the official Node driver
 * (snowflake-sdk) pointed at it with `accessUrl`. It cannot run SQL: it answers each statement from
 * a scripted handler (`on(pattern, answer)`), records every request, and answers Snowflake's own
 * shapes (what the driver's source parses, see node_modules/snowflake-sdk/dist/lib):
 *
 * - `POST /session/v1/login-request?warehouse=&databaseName=&schemaName=&roleName=`: password or
 *   key-pair (SNOWFLAKE_JWT, the RS256 token checked against the user's public key) logins;
 *   390100 "Incorrect username or password was specified." / 390144 "JWT token is invalid."
 * - `POST /queries/v1/query-request?requestId=`: the statement, its `bindings`; results as JSON
 *   (`rowtype`, an inline `rowset`, then `chunks` fetched from `/chunks/...` with the `qrmk`
 *   SSE-C headers, gzip'd like S3 serves them); "in progress" answers (333334 + getResultUrl,
 *   polled with `GET /queries/{id}/result`); errors `{success: false, code, message, data.sqlState}`;
 *   HTTP errors (429, 503) for throttling.
 * - PUT to a stage: the answer Snowflake gives on a GCS deployment (a downscoped token and a
 *   stage master key), the driver's encrypted upload to `/gcs/...` (decrypted here, as GCS +
 *   Snowflake would), and COPY INTO answered per staged file with the rows counted.
 * - `/session/heartbeat`, `/session?delete=true`, `/session/token-request`, `/telemetry/send`.
 */

export type SfType = 'fixed' | 'real' | 'text' | 'boolean' | 'date' | 'timestamp_ntz' | 'timestamp_ltz' | 'variant' | 'object' | 'array';

export interface StandinColumn {
  name: string;
  type: SfType;
  scale?: number;
  precision?: number;
  nullable?: boolean;
}

/** Rows as a list, or made on demand (a result of 200k rows without holding them). */
export type StandinRows = unknown[][] | { count: number; row: (index: number) => unknown[] };

export type StandinAnswer =
  /** a result set; `chunkRows` splits it into an inline part and chunks of that many rows */
  | { columns: StandinColumn[]; rows: StandinRows; chunkRows?: number; pending?: number }
  /** a DML statement's counts (merge: [inserted, updated] or [inserted, updated, deleted]) */
  | { dml: 'insert' | 'update' | 'delete' | 'merge'; count: number | number[]; pending?: number }
  /** DDL and other commands: Snowflake's one-row status result */
  | { status: string }
  /** a Snowflake error, as the service answers it (HTTP 200, success: false) */
  | { error: { code: string; message: string; sqlState: string } }
  /** an HTTP error (throttling: 429, 503) */
  | { http: number; body?: string };

export interface StandinSession {
  id: number;
  token: string;
  user: string;
  account: string;
  authenticator: string;
  warehouse?: string;
  database?: string;
  schema?: string;
  role?: string;
  closed: boolean;
}

/** One statement the driver sent to /queries/v1/query-request. */
export interface StandinStatement {
  sql: string;
  /** bound values in order, as the driver sends them (strings or null) */
  binds: (string | null)[];
  /** the driver's type for each bound value: TEXT, FIXED, REAL, BOOLEAN, VARIANT */
  bindTypes: string[];
  session: StandinSession;
  requestId: string;
  queryId: string;
}

export interface StandinLogin {
  query: Record<string, string>;
  data: Record<string, unknown>;
  ok: boolean;
}

export interface StagedFile {
  stage: string;
  name: string;
  /** the file as the driver sent it (after decryption), and gunzipped */
  text: string;
}

export interface StandinCopy {
  sql: string;
  table: string;
  stage: string;
  files: StagedFile[];
  /** the CSV records of every file, null for an empty unquoted field */
  records: (string | null)[][];
}

export interface RecordedHttp {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  json: unknown;
}

export interface StandinUser {
  password?: string;
  /** PEM public key for key-pair logins */
  publicKey?: string;
}

type Matcher = RegExp | ((statement: StandinStatement) => boolean);
type AnswerFn = StandinAnswer | ((statement: StandinStatement) => StandinAnswer);

interface Handler {
  match: Matcher;
  answer: AnswerFn;
  times: number;
}

interface PendingQuery {
  remaining: number;
  answer: StandinAnswer;
  statement: StandinStatement;
}

interface StoredResult {
  columns: StandinColumn[];
  rows: StandinRows;
  chunkRows: number;
  qrmk: string;
}

interface StageUpload {
  stage: string;
  kek: Buffer;
}

const STATEMENT_TYPE = { select: 0x1000, insert: 0x3100, update: 0x3200, delete: 0x3300, merge: 0x3400, transaction: 0x5000, ddl: 0x6000 } as const;
const PARAMETERS = [
  { name: 'TIMEZONE', value: 'America/Los_Angeles' },
  { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
  { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
  { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
  { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
  { name: 'QUERY_CONTEXT_CACHE_SIZE', value: 5 },
];

export class SnowflakeStandin {
  readonly requests: RecordedHttp[] = [];
  readonly logins: StandinLogin[] = [];
  readonly statements: StandinStatement[] = [];
  readonly sessions: StandinSession[] = [];
  readonly staged: StagedFile[] = [];
  readonly copies: StandinCopy[] = [];
  /** chunk downloads, in order: `${queryId}/${index}` */
  readonly chunkFetches: string[] = [];
  private handlers: Handler[] = [];
  private loginFailures: { answer: StandinAnswer; times: number }[] = [];
  private uploadFailures: { status: number; times: number } | undefined;
  private readonly pending = new Map<string, PendingQuery>();
  private readonly results = new Map<string, StoredResult>();
  private readonly uploads = new Map<string, StageUpload>();
  private readonly stages = new Set<string>();
  private port = 0;
  private nextSession = 1;

  private constructor(
    private readonly server: Server,
    readonly account: string,
    private readonly users: Record<string, StandinUser>,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.route(req, Buffer.concat(chunks), res).catch((e: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(e instanceof Error ? e.stack : e));
        });
      });
    });
  }

  /** Starts on a random local port. `users`: login name (upper case) to password and/or public key. */
  static async start(options: { account?: string; users?: Record<string, StandinUser> } = {}): Promise<SnowflakeStandin> {
    const standin = new SnowflakeStandin(createServer(), (options.account ?? 'TEST_ACCOUNT').toUpperCase(), options.users ?? {});
    await new Promise<void>((resolve) => standin.server.listen(0, '127.0.0.1', resolve));
    standin.port = (standin.server.address() as AddressInfo).port;
    return standin;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Answers the statements that match (a RegExp on the SQL text, or a predicate) `times` times
   * (default: always). The newest handler wins, so a test can override a default.
   */
  on(match: Matcher, answer: AnswerFn, options: { times?: number } = {}): this {
    this.handlers.unshift({ match, answer, times: options.times ?? Infinity });
    return this;
  }

  /** Answers the next `times` login requests with `answer` (an error, or an HTTP status). */
  failLogins(answer: StandinAnswer, times = 1): this {
    this.loginFailures.push({ answer, times });
    return this;
  }

  /** Answers the next `times` uploads to stage storage with an HTTP status (401: token expired, 503: unavailable). */
  failUploads(status: number, times = Infinity): this {
    this.uploadFailures = { status, times };
    return this;
  }

  /** The statements sent so far, as SQL text (whitespace collapsed), optionally only those matching. */
  sql(match?: RegExp): string[] {
    return this.statements.map((s) => s.sql.replace(/\s+/g, ' ').trim()).filter((s) => !match || match.test(s));
  }

  /** Forgets what was recorded and scripted (sessions stay open). */
  reset(): this {
    for (const list of [this.requests, this.logins, this.statements, this.staged, this.copies, this.chunkFetches]) list.length = 0;
    this.handlers = [];
    this.loginFailures = [];
    this.uploadFailures = undefined;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ── routing ───────────────────────────────────────────────────────────────
  private async route(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    const query = Object.fromEntries(url.searchParams);
    const recorded: RecordedHttp = { method: req.method ?? 'GET', path: url.pathname, query, headers: req.headers, json: parseJson(body.toString('utf8')) };
    this.requests.push(recorded);
    const path = url.pathname;

    if (req.method === 'POST' && path === '/session/v1/login-request') return this.login(recorded, res);
    if (path.startsWith('/chunks/')) return this.chunk(path, req.headers, res);
    if (path.startsWith('/gcs/')) return this.upload(req, path, raw, res);

    if (req.method === 'POST' && path === '/session/token-request') return this.renew(req.headers, res);
    const session = this.sessionOf(req.headers);
    if (!session) {
      // what Snowflake answers a request with an unknown or closed session token
      return send(res, 401, { data: null, code: '390104', message: 'Session token not found in the request data.', success: false, headers: null });
    }
    if (req.method === 'POST' && path === '/queries/v1/query-request') return this.queryRequest(recorded, session, res);
    const resultPath = /^\/queries\/([^/]+)\/result$/.exec(path);
    if (req.method === 'GET' && resultPath) return this.poll(resultPath[1], res);
    if (path === '/session' && query.delete === 'true') {
      session.closed = true;
      return send(res, 200, { data: null, code: null, message: null, success: true });
    }
    if (path === '/session/heartbeat') return send(res, 200, { data: null, code: null, message: null, success: true });
    if (path === '/telemetry/send') return send(res, 200, { data: 'Telemetry send success.', code: null, message: null, success: true });
    return send(res, 404, { data: null, code: '390404', message: `the stand-in does not serve ${req.method} ${path}`, success: false });
  }

  /** A new session token for the session whose master token authorizes the request (the driver's renewal after 390112). */
  private renew(headers: IncomingHttpHeaders, res: ServerResponse): void {
    const master = /Snowflake Token="([^"]+)"/.exec(headers.authorization ?? '')?.[1];
    const session = this.sessions.find((s) => `master-${s.id}` === master && !s.closed);
    if (!session) return send(res, 200, { data: null, code: '390114', message: 'Master token expired.', success: false, headers: null });
    session.token = `session-${randomUUID()}`;
    send(res, 200, { data: { sessionToken: session.token, validityInSecondsST: 3600, masterToken: master, validityInSecondsMT: 14400 }, code: null, message: null, success: true });
  }

  private sessionOf(headers: IncomingHttpHeaders): StandinSession | undefined {
    const token = /Snowflake Token="([^"]+)"/.exec(headers.authorization ?? '')?.[1];
    return this.sessions.find((s) => s.token === token && !s.closed);
  }

  // ── login ─────────────────────────────────────────────────────────────────
  private login(req: RecordedHttp, res: ServerResponse): void {
    const data = ((req.json as { data?: Record<string, unknown> })?.data ?? {});
    const failure = this.loginFailures[0];
    if (failure) {
      if (--failure.times <= 0) this.loginFailures.shift();
      this.logins.push({ query: req.query, data, ok: false });
      return this.answerFailure(res, failure.answer);
    }
    const loginName = text(data.LOGIN_NAME).toUpperCase();
    const user = this.users[loginName];
    const authenticator = (text(data.AUTHENTICATOR) || 'SNOWFLAKE').toUpperCase();
    let error: { code: string; message: string } | undefined;
    if (text(data.ACCOUNT_NAME).toUpperCase() !== this.account) {
      error = { code: '390100', message: 'Incorrect username or password was specified.' };
    } else if (authenticator === 'SNOWFLAKE_JWT') {
      if (!user?.publicKey || !verifyJwt(text(data.TOKEN), this.account, loginName, createPublicKey(user.publicKey))) {
        error = { code: '390144', message: `JWT token is invalid. [${randomUUID()}]` };
      }
    } else if (!user || user.password === undefined || user.password !== data.PASSWORD) {
      error = { code: '390100', message: 'Incorrect username or password was specified.' };
    }
    this.logins.push({ query: req.query, data, ok: !error });
    if (error) {
      return send(res, 200, {
        data: { nextAction: 'RETRY_LOGIN', authnMethod: authenticator === 'SNOWFLAKE_JWT' ? 'KEY_PAIR' : 'USERNAME_PASSWORD', loginName, requestId: req.query.requestId, signInOptions: {}, errorCode: error.code },
        code: error.code,
        message: error.message,
        success: false,
        headers: null,
      });
    }
    const session: StandinSession = {
      id: this.nextSession++,
      token: `session-${randomUUID()}`,
      user: loginName,
      account: this.account,
      authenticator,
      warehouse: req.query.warehouse,
      database: req.query.databaseName,
      schema: req.query.schemaName,
      role: req.query.roleName,
      closed: false,
    };
    this.sessions.push(session);
    send(res, 200, {
      data: {
        masterToken: `master-${session.id}`,
        token: session.token,
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        displayUserName: loginName,
        serverVersion: '9.0.0',
        firstLogin: false,
        remMeToken: null,
        remMeValidityInSeconds: 0,
        healthCheckInterval: 45,
        newClientForUpgrade: null,
        sessionId: 1_000_000 + session.id,
        parameters: [{ name: 'CLIENT_SESSION_KEEP_ALIVE', value: false }, ...PARAMETERS],
        sessionInfo: { databaseName: session.database ?? null, schemaName: session.schema ?? null, warehouseName: session.warehouse ?? null, roleName: session.role ?? 'PUBLIC' },
        idToken: null,
        idTokenValidityInSeconds: 0,
        responseData: null,
        mfaToken: null,
        mfaTokenValidityInSeconds: 0,
      },
      code: null,
      message: null,
      success: true,
    });
  }

  // ── statements ────────────────────────────────────────────────────────────
  private queryRequest(req: RecordedHttp, session: StandinSession, res: ServerResponse): void {
    const body = (req.json ?? {}) as { sqlText?: string; bindings?: Record<string, { type: string; value: string | null }> };
    const bindings = body.bindings ?? {};
    const order = Object.keys(bindings).sort((a, b) => Number(a) - Number(b));
    const statement: StandinStatement = {
      sql: body.sqlText ?? '',
      binds: order.map((k) => bindings[k].value),
      bindTypes: order.map((k) => bindings[k].type),
      session,
      requestId: req.query.requestId ?? '',
      queryId: queryId(),
    };
    this.statements.push(statement);
    const scripted = this.scripted(statement);
    if (!scripted && /^\s*put\s/i.test(statement.sql)) {
      const put = this.put(statement);
      if ('error' in put || 'http' in put) return this.answerFailure(res, put as StandinAnswer, statement);
      return send(res, 200, { data: put, code: null, message: null, success: true });
    }
    const answer = scripted ?? this.builtIn(statement);
    if ('http' in answer || 'error' in answer) return this.answerFailure(res, answer, statement);
    const pending = 'pending' in answer ? (answer.pending ?? 0) : 0;
    if (pending > 0) {
      this.pending.set(statement.queryId, { remaining: pending, answer, statement });
      return this.inProgress(res, statement.queryId);
    }
    this.answerSuccess(res, answer, statement);
  }

  private poll(id: string, res: ServerResponse): void {
    const p = this.pending.get(id);
    if (!p) return send(res, 200, { data: { queryId: id }, code: '000709', message: `Statement ${id} not found`, success: false });
    if (--p.remaining > 0) return this.inProgress(res, id);
    this.pending.delete(id);
    this.answerSuccess(res, p.answer, p.statement);
  }

  private inProgress(res: ServerResponse, id: string): void {
    send(res, 200, {
      data: { queryId: id, getResultUrl: `/queries/${id}/result`, queryAbortsAfterSecs: 300, progressDesc: null },
      code: '333334',
      message: 'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.',
      success: true,
    });
  }

  private scripted(s: StandinStatement): StandinAnswer | undefined {
    for (const h of this.handlers) {
      if (h.times <= 0) continue;
      if (h.match instanceof RegExp ? h.match.test(s.sql) : h.match(s)) {
        h.times--;
        return typeof h.answer === 'function' ? h.answer(s) : h.answer;
      }
    }
    return undefined;
  }

  /** What a statement nobody scripted gets: the commands the adapter issues, and an error for any other query. */
  private builtIn(s: StandinStatement): StandinAnswer {
    const sql = s.sql.trim();
    if (/^(begin|start transaction)\b/i.test(sql)) return { status: 'Statement executed successfully.' };
    if (/^(commit|rollback)\b/i.test(sql)) return { status: 'Statement executed successfully.' };
    if (/^alter\s+session\b/i.test(sql)) return { status: 'Statement executed successfully.' };
    if (/^select\s+1\s*$/i.test(sql)) return { columns: [{ name: '1', type: 'fixed' }], rows: [[1]] };
    const stage = /^create\s+(?:or\s+replace\s+)?temporary\s+stage\s+(?:if\s+not\s+exists\s+)?(\S+)/i.exec(sql);
    if (stage) {
      const name = normalizeName(stage[1]);
      this.stages.add(name);
      return { status: `Stage area ${name.split('.').at(-1)} successfully created.` };
    }
    const drop = /^drop\s+stage\s+(?:if\s+exists\s+)?(\S+)/i.exec(sql);
    if (drop) {
      this.stages.delete(normalizeName(drop[1]));
      return { status: `${normalizeName(drop[1]).split('.').at(-1)} successfully dropped.` };
    }
    if (/^copy\s+into\b/i.test(sql)) return this.copyInto(s);
    if (/^insert\b/i.test(sql)) return { dml: 'insert', count: (sql.match(/\(\s*\?(?:\s*,\s*\?)*\s*\)/g) ?? []).length };
    if (/^(create|drop|alter|grant|truncate)\b/i.test(sql)) return { status: 'Statement executed successfully.' };
    return { error: { code: '002003', sqlState: '42S02', message: `SQL compilation error:\nthe Snowflake stand-in has no scripted answer for: ${sql.slice(0, 200)}` } };
  }

  private answerFailure(res: ServerResponse, answer: StandinAnswer, s?: StandinStatement): void {
    if ('http' in answer) {
      res.writeHead(answer.http, { 'content-type': 'text/html' });
      res.end(answer.body ?? `<html><body>${answer.http}</body></html>`);
      return;
    }
    if (!('error' in answer)) throw new Error('not a failure answer');
    const { code, message, sqlState } = answer.error;
    send(res, 200, {
      data: { internalError: false, unredactedFromSecureObject: false, errorCode: code, age: 0, sqlState, queryId: s?.queryId ?? queryId(), line: -1, pos: -1, type: 'COMPILATION' },
      code,
      message,
      success: false,
      headers: null,
    });
  }

  private answerSuccess(res: ServerResponse, answer: StandinAnswer, s: StandinStatement): void {
    const base = {
      parameters: PARAMETERS,
      queryId: s.queryId,
      databaseProvider: null,
      finalDatabaseName: s.session.database ?? null,
      finalSchemaName: s.session.schema ?? null,
      finalWarehouseName: s.session.warehouse ?? null,
      finalRoleName: s.session.role ?? 'PUBLIC',
      numberOfBinds: s.binds.length,
      arrayBindSupported: false,
      version: 1,
      sendResultTime: Date.now(),
      queryResultFormat: 'json',
    };
    if ('status' in answer) {
      return send(res, 200, {
        data: { ...base, rowtype: [rowtype({ name: 'status', type: 'text' })], rowset: [[answer.status]], total: 1, returned: 1, statementTypeId: /^\s*(begin|commit|rollback)/i.test(s.sql) ? STATEMENT_TYPE.transaction : STATEMENT_TYPE.ddl },
        code: null,
        message: null,
        success: true,
      });
    }
    if ('dml' in answer) {
      const counts = Array.isArray(answer.count) ? answer.count : answer.dml === 'update' ? [answer.count, 0] : [answer.count];
      const names = {
        insert: ['number of rows inserted'],
        update: ['number of rows updated', 'number of multi-joined rows updated'],
        delete: ['number of rows deleted'],
        merge: ['number of rows inserted', 'number of rows updated', 'number of rows deleted'],
      }[answer.dml].slice(0, counts.length);
      return send(res, 200, {
        data: { ...base, rowtype: names.map((name) => rowtype({ name, type: 'fixed' })), rowset: [counts.map(String)], total: 1, returned: 1, statementTypeId: STATEMENT_TYPE[answer.dml] },
        code: null,
        message: null,
        success: true,
      });
    }
    if (!('columns' in answer)) throw new Error('unknown answer');
    const total = rowCount(answer.rows);
    const chunkRows = answer.chunkRows ?? Math.max(total, 1);
    const inline = Math.min(total, chunkRows);
    const wireRow = (i: number) => answer.columns.map((c, j) => toWire(rowAt(answer.rows, i)[j], c.type));
    const data: Record<string, unknown> = {
      ...base,
      rowtype: answer.columns.map(rowtype),
      rowset: Array.from({ length: inline }, (_, i) => wireRow(i)),
      total,
      returned: total,
      statementTypeId: STATEMENT_TYPE.select,
    };
    if (total > inline) {
      const qrmk = randomBytes(32).toString('base64');
      this.results.set(s.queryId, { columns: answer.columns, rows: answer.rows, chunkRows, qrmk });
      const chunks = [];
      for (let start = inline, i = 0; start < total; start += chunkRows, i++) {
        const rows = Math.min(chunkRows, total - start);
        chunks.push({ url: `${this.url}/chunks/${s.queryId}/${i}?x-amz-signature=standin`, rowCount: rows, uncompressedSize: rows * 32, compressedSize: rows * 8 });
      }
      data.chunks = chunks;
      data.qrmk = qrmk;
    }
    send(res, 200, { data, code: null, message: null, success: true });
  }

  /** A result chunk, as S3 serves it: gzip'd rows without the outer brackets, SSE-C key required. */
  private chunk(path: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    const [, , id, index] = path.split('/');
    const result = this.results.get(id);
    if (!result) return sendText(res, 404, '<Error><Code>NoSuchKey</Code></Error>', 'application/xml');
    if (headers['x-amz-server-side-encryption-customer-key'] !== result.qrmk) {
      return sendText(res, 403, '<Error><Code>AccessDenied</Code></Error>', 'application/xml');
    }
    this.chunkFetches.push(`${id}/${index}`);
    const total = rowCount(result.rows);
    const start = Math.min(total, result.chunkRows) + Number(index) * result.chunkRows;
    const end = Math.min(total, start + result.chunkRows);
    const parts: string[] = [];
    for (let i = start; i < end; i++) parts.push(JSON.stringify(result.columns.map((c, j) => toWire(rowAt(result.rows, i)[j], c.type))));
    const gz = gzipSync(parts.join(','));
    res.writeHead(200, { 'content-type': 'binary/octet-stream', 'content-encoding': 'gzip', 'content-length': gz.length });
    res.end(gz);
  }

  // ── stages: PUT, the upload, COPY INTO ────────────────────────────────────
  /** Snowflake's answer to PUT on a GCS deployment: where to upload, a token, the stage master key. */
  private put(s: StandinStatement): Record<string, unknown> | StandinAnswer {
    const m = /^\s*put\s+'?file:\/\/([^'\s]+)'?\s+'?@([^'\s]+)'?(.*)$/is.exec(s.sql);
    if (!m) return { error: { code: '001003', sqlState: '42000', message: 'SQL compilation error:\nsyntax error line 1 at position 4 unexpected PUT command.' } };
    const stage = normalizeName(m[2]);
    if (!this.stages.has(stage)) {
      return { error: { code: '002003', sqlState: '02000', message: `SQL compilation error:\nStage '${stage}' does not exist or not authorized.` } };
    }
    const token = `gcs-${randomUUID()}`;
    const kek = randomBytes(32);
    this.uploads.set(token, { stage, kek });
    const options = m[3];
    return {
      command: 'UPLOAD',
      src_locations: [m[1].split('/').at(-1)],
      parallel: 4,
      threshold: 209_715_200,
      autoCompress: !/auto_compress\s*=\s*false/i.test(options),
      overwrite: /overwrite\s*=\s*true/i.test(options),
      sourceCompression: (/source_compression\s*=\s*(\w+)/i.exec(options)?.[1] ?? 'auto_detect').toLowerCase(),
      clientShowEncryptionParameter: false,
      queryId: s.queryId,
      encryptionMaterial: { queryStageMasterKey: kek.toString('base64'), queryId: s.queryId, smkId: 1234567 },
      stageInfo: {
        locationType: 'GCS',
        location: `sfc-standin-stage/${token}/`,
        path: `${token}/`,
        region: 'US-CENTRAL1',
        storageAccount: null,
        isClientSideEncrypted: true,
        creds: { GCS_ACCESS_TOKEN: token },
        presignedUrl: null,
        endPoint: `${this.url}/gcs`,
        useRegionalUrl: false,
      },
      kind: null,
      operation: 'Node',
    };
  }

  /** The driver's upload: client-side encrypted (AES-CBC, the file key wrapped with AES-ECB), gzip'd by the adapter. */
  private upload(req: IncomingMessage, path: string, raw: Buffer, res: ServerResponse): void {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const upload = token ? this.uploads.get(token) : undefined;
    if (!upload) return sendText(res, 401, '<Error><Code>AuthenticationRequired</Code></Error>', 'application/xml');
    if (req.method === 'HEAD') return sendText(res, 404, '', 'application/xml');
    if (req.method !== 'PUT') return sendText(res, 405, '', 'application/xml');
    if (this.uploadFailures && this.uploadFailures.times-- > 0) return sendText(res, this.uploadFailures.status, '<Error><Code>Failure</Code></Error>', 'application/xml');
    const meta = JSON.parse(String(req.headers['x-goog-meta-encryptiondata'])) as { WrappedContentKey: { EncryptedKey: string }; ContentEncryptionIV: string };
    const keyDecipher = createDecipheriv('aes-256-ecb', upload.kek, null);
    const fileKey = Buffer.concat([keyDecipher.update(Buffer.from(meta.WrappedContentKey.EncryptedKey, 'base64')), keyDecipher.final()]);
    const decipher = createDecipheriv('aes-256-cbc', fileKey, Buffer.from(meta.ContentEncryptionIV, 'base64'));
    const plain = Buffer.concat([decipher.update(raw), decipher.final()]);
    const name = decodeURIComponent(path.split('/').at(-1) ?? '');
    const text = plain.length >= 2 && plain[0] === 0x1f && plain[1] === 0x8b ? gunzipSync(plain).toString('utf8') : plain.toString('utf8');
    this.staged.push({ stage: upload.stage, name, text });
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }

  /** COPY INTO from a stage: one result row per file (Snowflake's columns), the CSV records counted. */
  private copyInto(s: StandinStatement): StandinAnswer {
    const table = /^\s*copy\s+into\s+(\S+)/i.exec(s.sql)?.[1] ?? '';
    const ref = /@('?)([^\s')]+)\1/.exec(s.sql)?.[2];
    const stage = ref ? normalizeName(ref) : '';
    if (!this.stages.has(stage)) {
      return { error: { code: '002003', sqlState: '02000', message: `SQL compilation error:\nStage '${stage}' does not exist or not authorized.` } };
    }
    const files = this.staged.filter((f) => f.stage === stage);
    const perFile = files.map((f) => ({ file: f, records: parseCsv(f.text) }));
    this.copies.push({ sql: s.sql, table: normalizeName(table), stage, files, records: perFile.flatMap((p) => p.records) });
    if (!files.length) return { columns: [{ name: 'status', type: 'text' }], rows: [['Copy executed with 0 files processed.']] };
    return {
      columns: [
        { name: 'file', type: 'text' },
        { name: 'status', type: 'text' },
        { name: 'rows_parsed', type: 'fixed' },
        { name: 'rows_loaded', type: 'fixed' },
        { name: 'error_limit', type: 'fixed' },
        { name: 'errors_seen', type: 'fixed' },
        { name: 'first_error', type: 'text' },
        { name: 'first_error_line', type: 'fixed' },
        { name: 'first_error_character', type: 'fixed' },
        { name: 'first_error_column_name', type: 'text' },
      ],
      rows: perFile.map((p) => [`${stage.toLowerCase()}/${p.file.name}`, 'LOADED', p.records.length, p.records.length, 1, 0, null, null, null, null]),
    };
  }

}

// ── wire helpers ────────────────────────────────────────────────────────────
/** A scalar as text ('' for null and undefined, JSON for objects). */
function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Snowflake query ids: 01 + 16 hex digits... (the format does not matter to the driver) */
function queryId(): string {
  return `01b${randomBytes(8).toString('hex')}-0000-${randomBytes(2).toString('hex')}`;
}

function rowCount(rows: StandinRows): number {
  return Array.isArray(rows) ? rows.length : rows.count;
}

function rowAt(rows: StandinRows, i: number): unknown[] {
  return Array.isArray(rows) ? rows[i] : rows.row(i);
}

function rowtype(c: StandinColumn): Record<string, unknown> {
  const text = c.type === 'text' || c.type === 'variant' || c.type === 'object' || c.type === 'array';
  return {
    name: c.name,
    database: '',
    schema: '',
    table: '',
    type: c.type,
    nullable: c.nullable ?? true,
    byteLength: text ? 16_777_216 : null,
    length: text ? 16_777_216 : null,
    precision: c.precision ?? (c.type === 'fixed' ? 38 : c.type.startsWith('timestamp') ? 0 : null),
    scale: c.scale ?? (c.type === 'fixed' ? 0 : c.type.startsWith('timestamp') ? 9 : null),
    collation: null,
  };
}

/** A value as Snowflake's JSON result format carries it: every non-null value a string. */
export function toWire(value: unknown, type: SfType): string | null {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'boolean':
      return value === true || value === 'true' || value === 1 ? '1' : '0';
    case 'date': {
      const ms = value instanceof Date ? value.getTime() : Date.parse(`${text(value)}T00:00:00Z`);
      return String(Math.floor(ms / 86_400_000));
    }
    case 'timestamp_ntz':
    case 'timestamp_ltz': {
      const ms = value instanceof Date ? value.getTime() : Date.parse(text(value));
      const seconds = Math.floor(ms / 1000);
      return `${seconds}.${String((ms - seconds * 1000) * 1_000_000).padStart(9, '0')}`;
    }
    case 'variant':
    case 'object':
    case 'array':
      return JSON.stringify(value, null, 2);
    default:
      return text(value);
  }
}

/** `"DB"."SCHEMA".name` to DB.SCHEMA.NAME: quoted parts as written, unquoted ones upper-cased. */
export function normalizeName(name: string): string {
  const parts: string[] = [];
  let i = 0;
  while (i < name.length) {
    if (name[i] === '"') {
      let j = i + 1;
      let part = '';
      while (j < name.length) {
        if (name[j] === '"' && name[j + 1] === '"') {
          part += '"';
          j += 2;
        } else if (name[j] === '"') break;
        else part += name[j++];
      }
      parts.push(part);
      i = j + 1;
    } else {
      const end = name.indexOf('.', i);
      parts.push(name.slice(i, end === -1 ? name.length : end).toUpperCase());
      i = end === -1 ? name.length : end;
    }
    if (name[i] === '.') i++;
  }
  return parts.join('.');
}

/** RFC 4180 CSV: `""` inside quotes is a quote; an empty unquoted field is null (Snowflake's EMPTY_FIELD_AS_NULL). */
export function parseCsv(text: string): (string | null)[][] {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let field: string | null;
    if (text[i] === '"') {
      let value = '';
      i++;
      while (i < text.length) {
        if (text[i] === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else value += text[i++];
      }
      field = value;
    } else {
      let j = i;
      while (j < text.length && text[j] !== ',' && text[j] !== '\n') j++;
      field = j === i ? null : text.slice(i, j);
      i = j;
    }
    record.push(field);
    if (text[i] === ',') {
      i++;
      if (i === text.length || text[i] === '\n') record.push(null);
    }
    if (i >= text.length || text[i] === '\n') {
      records.push(record);
      record = [];
      i++;
    }
  }
  return records;
}

/** The driver's key-pair JWT: RS256 over iss = ACCOUNT.USER.SHA256:<fingerprint>, sub = ACCOUNT.USER. */
function verifyJwt(token: string, account: string, user: string, publicKey: KeyObject): boolean {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return false;
  const h = parseJson(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string } | undefined;
  const p = parseJson(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string; sub?: string; exp?: number } | undefined;
  if (h?.alg !== 'RS256' || !p) return false;
  const fingerprint = `SHA256:${createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('base64')}`;
  if (p.iss !== `${account}.${user}.${fingerprint}` || p.sub !== `${account}.${user}`) return false;
  if (!p.exp || p.exp < Date.now() / 1000) return false;
  return verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'));
}
