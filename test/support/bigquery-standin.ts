import { createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A local stand-in for the BigQuery REST API (v2), enough for @google-cloud/bigquery: query jobs
 * (jobs.insert, getQueryResults with maxResults and pageToken, jobs.get, jobs.cancel), datasets and
 * tables get/insert, tabledata.insertAll, load jobs through the multipart upload endpoint, and an
 * OAuth token endpoint. It executes no SQL: a handler answers each query (schema and rows, split into
 * pages; or one of BigQuery's errors, in the shape BigQuery sends it). Every request is recorded.
 * Requests must carry a bearer token signed by a key from `serviceAccount()` (a self-signed JWT
 * with the BigQuery scope, or an access token from the token endpoint); anything else answers 401.
 *
 *   const bq = await BigQueryStandin.start({ project: 'p' });
 *   const keyFile = bq.serviceAccount(dir);
 *   bq.onQuery(/^select 1/, { schema: [{ name: 'one', type: 'INTEGER' }], rows: [[1]] });
 */

export type FieldType = 'STRING' | 'INTEGER' | 'FLOAT' | 'BOOLEAN' | 'TIMESTAMP' | 'DATE' | 'DATETIME' | 'TIME' | 'NUMERIC' | 'BIGNUMERIC' | 'JSON' | 'RECORD' | 'BYTES' | 'GEOGRAPHY';

export interface Field {
  name: string;
  type: FieldType;
  mode?: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  fields?: Field[];
}

/** One of BigQuery's errors: the HTTP status and the ErrorProto (reason, message, location). */
export interface ServiceError {
  status: number;
  reason: string;
  message: string;
  /** the google.rpc code name in the error body (INVALID_ARGUMENT, PERMISSION_DENIED, ...) */
  rpcStatus: string;
  domain?: string;
  location?: string;
  locationType?: string;
  /** more entries of a failed job's status.errors (the row a load job could not read) */
  details?: string[];
}

/** BigQuery's errors, worded as the service words them. */
export const bigQueryErrors = {
  syntax: (detail: string): ServiceError => ({ status: 400, reason: 'invalidQuery', location: 'query', message: `Syntax error: ${detail}`, rpcStatus: 'INVALID_ARGUMENT' }),
  invalidQuery: (message: string): ServiceError => ({ status: 400, reason: 'invalidQuery', location: 'query', message, rpcStatus: 'INVALID_ARGUMENT' }),
  notFound: (what: string): ServiceError => ({ status: 404, reason: 'notFound', message: `Not found: ${what}`, rpcStatus: 'NOT_FOUND' }),
  quotaExceeded: (): ServiceError => ({
    status: 403,
    reason: 'quotaExceeded',
    domain: 'usageLimits',
    message: 'Quota exceeded: Your project exceeded quota for free query bytes scanned. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
    rpcStatus: 'PERMISSION_DENIED',
  }),
  rateLimitExceeded: (): ServiceError => ({
    status: 403,
    reason: 'rateLimitExceeded',
    domain: 'usageLimits',
    message: 'Exceeded rate limits: too many api requests per user per method for this user_method. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
    rpcStatus: 'PERMISSION_DENIED',
  }),
  unauthenticated: (): ServiceError => ({
    status: 401,
    reason: 'authError',
    location: 'Authorization',
    locationType: 'header',
    message:
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    rpcStatus: 'UNAUTHENTICATED',
  }),
};

/** A query job as the handler sees it (decoded from the jobs.insert body). */
export interface QueryJob {
  jobId: string;
  sql: string;
  /** positional parameters: type and value as sent */
  params: { type: string; value: unknown }[];
  location?: string;
  configuration: Record<string, unknown>;
}

/** A result: rows as JS values (the stand-in encodes them as the API does), or a generator for big ones. */
export interface QueryResult {
  schema: Field[];
  rows: unknown[][] | { count: number; row: (i: number) => unknown[] };
  /** the most rows the stand-in puts in one page, whatever maxResults asks (BigQuery stops at ~10 MB) */
  pageSize?: number;
  /** getQueryResults and jobs.get answer "not complete" this many times first */
  pendingPolls?: number;
  /** for DML */
  numDmlAffectedRows?: number;
}

/**
 * A failed query. `at` is where the failure shows, as BigQuery shows it:
 * - 'insert': jobs.insert answers the HTTP error (a query that does not parse)
 * - 'job': jobs.insert answers 200 with the job done and failed (status.errorResult)
 * - 'results': the job runs, then getQueryResults answers the HTTP error and jobs.get the failed status
 * - 'status': getQueryResults answers complete with no rows, only jobs.get has the error (a failed script)
 */
export interface QueryFailure {
  error: ServiceError;
  at?: 'insert' | 'job' | 'results' | 'status';
  pendingPolls?: number;
}

export type QueryAnswer = QueryResult | QueryFailure;
type Handler = { match: (sql: string) => boolean; answer: (job: QueryJob) => QueryAnswer };

export interface RecordedRequest {
  method: string;
  /** the path without the query string */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** JSON bodies parsed; a multipart upload as its metadata and data; otherwise the text */
  body: unknown;
  /** the claims of the bearer token, when it was a valid one */
  token?: Record<string, unknown>;
}

interface StoredTable {
  type: 'TABLE' | 'VIEW';
  createdAt: Date;
  fields: Field[];
  /** what insertAll and load jobs wrote, as sent */
  rows: Record<string, unknown>[];
  insertIds: string[];
}

interface JobState {
  projectId: string;
  jobId: string;
  location: string;
  configuration: Record<string, unknown>;
  answer: QueryAnswer;
  pendingPolls: number;
  cancelled: boolean;
  kind: 'query' | 'load';
}

const isFailure = (a: QueryAnswer): a is QueryFailure => 'error' in a;

export class BigQueryStandin {
  readonly requests: RecordedRequest[] = [];
  readonly jobs = new Map<string, JobState>();
  private readonly tables = new Map<string, StoredTable>();
  private readonly datasets = new Map<string, { location: string }>();
  private handlers: Handler[] = [];
  /** errors injected before routing: the next requests of a route answer them */
  private injected: { route: string; error: ServiceError }[] = [];
  private readonly trusted = new Map<string, KeyObject>();
  private readonly accessTokens = new Set<string>();
  private port = 0;

  private constructor(
    private readonly server: Server,
    readonly project: string,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.handle(req, Buffer.concat(chunks), res);
        } catch (e) {
          send(res, 500, { error: { code: 500, message: `stand-in failure: ${(e as Error).stack}`, errors: [], status: 'INTERNAL' } });
        }
      });
    });
  }

  static async start(options: { project: string }): Promise<BigQueryStandin> {
    const standin = new BigQueryStandin(createServer(), options.project);
    await new Promise<void>((resolve) => standin.server.listen(0, '127.0.0.1', resolve));
    standin.port = (standin.server.address() as AddressInfo).port;
    return standin;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ── scripting ───────────────────────────────────────────────────────────────

  /** Answers queries whose SQL matches (a RegExp, a substring, or a predicate); later handlers win. */
  onQuery(match: RegExp | string | ((sql: string) => boolean), answer: QueryAnswer | ((job: QueryJob) => QueryAnswer)): this {
    const test = typeof match === 'function' ? match : typeof match === 'string' ? (sql: string) => sql.includes(match) : (sql: string) => match.test(sql);
    this.handlers.unshift({ match: test, answer: typeof answer === 'function' ? answer : () => answer });
    return this;
  }

  /** The next `times` requests of a route ('jobs.insert', 'getQueryResults', 'jobs.get', 'insertAll', 'upload', 'tables.get', 'datasets.get') answer `error`. */
  failNext(route: string, error: ServiceError, times = 1): this {
    for (let i = 0; i < times; i++) this.injected.push({ route, error });
    return this;
  }

  /** Forgets the requests, jobs and scripts (datasets and tables stay). */
  reset(): void {
    this.requests.length = 0;
    this.jobs.clear();
    this.handlers = [];
    this.injected = [];
  }

  defineDataset(dataset: string, options: { project?: string; location?: string } = {}): this {
    this.datasets.set(`${options.project ?? this.project}.${dataset}`, { location: options.location ?? 'US' });
    return this;
  }

  hasDataset(dataset: string, project = this.project): boolean {
    return this.datasets.has(`${project}.${dataset}`);
  }

  /** A table (or view) the tables API, insertAll and load jobs know (created now, unless `createdAt`); its dataset is defined too. */
  defineTable(dataset: string, table: string, fields: Field[], options: { project?: string; type?: 'TABLE' | 'VIEW'; createdAt?: Date } = {}): this {
    const project = options.project ?? this.project;
    if (!this.datasets.has(`${project}.${dataset}`)) this.defineDataset(dataset, { project });
    this.tables.set(`${project}.${dataset}.${table}`, { type: options.type ?? 'TABLE', createdAt: options.createdAt ?? new Date(), fields, rows: [], insertIds: [] });
    return this;
  }

  /** What insertAll and load jobs wrote into a table. */
  rowsOf(dataset: string, table: string, project = this.project): Record<string, unknown>[] {
    return this.tables.get(`${project}.${dataset}.${table}`)?.rows ?? [];
  }

  insertIdsOf(dataset: string, table: string, project = this.project): string[] {
    return this.tables.get(`${project}.${dataset}.${table}`)?.insertIds ?? [];
  }

  /** The query jobs inserted, in order (retried inserts of the same job once). */
  queries(): QueryJob[] {
    return [...this.jobs.values()].filter((j) => j.kind === 'query').map((j) => decodeJob(j.jobId, j.configuration, j.location));
  }

  /**
   * Writes a service account key file whose key the stand-in trusts (`trusted: false`: one it does
   * not, to test refused credentials). token_uri points at the stand-in's token endpoint.
   */
  serviceAccount(dir: string, options: { trusted?: boolean; name?: string } = {}): string {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = randomBytes(20).toString('hex');
    const email = `${options.name ?? 'cdp-test'}@${this.project}.iam.gserviceaccount.com`;
    if (options.trusted !== false) this.trusted.set(keyId, publicKey);
    const path = join(dir, `${options.name ?? 'cdp-test'}-${keyId.slice(0, 8)}.json`);
    const key = {
      type: 'service_account',
      project_id: this.project,
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '100000000000000000000',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: `${this.url}/token`,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
      universe_domain: 'googleapis.com',
    };
    writeFileSync(path, JSON.stringify(key, null, 2));
    return path;
  }

  // ── the wire protocol ───────────────────────────────────────────────────────

  private handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: parseBody(req.headers['content-type'], raw),
    };
    this.requests.push(recorded);

    if (recorded.path === '/token' && recorded.method === 'POST') return this.token(recorded, res);

    const claims = this.authenticate(req.headers.authorization);
    if (!claims) {
      res.setHeader('www-authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"');
      return sendError(res, bigQueryErrors.unauthenticated());
    }
    recorded.token = claims;

    const route = routeOf(recorded.method, recorded.path);
    if (!route) return sendError(res, { status: 404, reason: 'notFound', message: `Not found: ${recorded.method} ${recorded.path}`, rpcStatus: 'NOT_FOUND' });
    const injected = this.injected.findIndex((i) => i.route === route.name);
    if (injected !== -1) {
      const [{ error }] = this.injected.splice(injected, 1);
      return sendError(res, error);
    }
    const [project, a, b] = route.params;
    switch (route.name) {
      case 'jobs.insert':
        return this.insertJob(project, recorded.body as Record<string, unknown>, res);
      case 'getQueryResults':
        return this.queryResults(project, a, recorded.query, res);
      case 'jobs.get':
        return this.getJob(project, a, res);
      case 'jobs.cancel': {
        const job = this.jobs.get(a);
        if (!job) return sendError(res, bigQueryErrors.notFound(`Job ${project}:${a}`));
        job.cancelled = true;
        return send(res, 200, { kind: 'bigquery#jobCancelResponse', job: this.jobResource(job) });
      }
      case 'datasets.get': {
        const dataset = this.datasets.get(`${project}.${a}`);
        if (!dataset) return sendError(res, bigQueryErrors.notFound(`Dataset ${project}:${a}`));
        return send(res, 200, datasetResource(project, a, dataset.location));
      }
      case 'datasets.insert': {
        const body = recorded.body as { datasetReference?: { datasetId?: string }; location?: string };
        const id = body.datasetReference?.datasetId ?? '';
        if (this.datasets.has(`${project}.${id}`)) return sendError(res, { status: 409, reason: 'duplicate', message: `Already Exists: Dataset ${project}:${id}`, rpcStatus: 'ALREADY_EXISTS' });
        this.datasets.set(`${project}.${id}`, { location: body.location ?? 'US' });
        return send(res, 200, datasetResource(project, id, body.location ?? 'US'));
      }
      case 'tables.get': {
        const table = this.tables.get(`${project}.${a}.${b}`);
        if (!table) return sendError(res, bigQueryErrors.notFound(`${this.datasets.has(`${project}.${a}`) ? 'Table' : 'Dataset'} ${project}:${a}${this.datasets.has(`${project}.${a}`) ? `.${b}` : ''}`));
        return send(res, 200, {
          kind: 'bigquery#table',
          id: `${project}:${a}.${b}`,
          tableReference: { projectId: project, datasetId: a, tableId: b },
          type: table.type,
          creationTime: String(table.createdAt.getTime()),
          schema: { fields: table.fields },
          numRows: String(table.rows.length),
          location: this.datasets.get(`${project}.${a}`)?.location ?? 'US',
        });
      }
      case 'insertAll':
        return this.insertAll(project, a, b, recorded.body as { rows?: { insertId?: string; json: Record<string, unknown> }[]; skipInvalidRows?: boolean }, res);
      case 'upload':
        return this.upload(project, recorded.body as { metadata: Record<string, unknown>; data: string }, res);
    }
  }

  /** The JWT-bearer grant: a JWT signed by a trusted key buys an access token. */
  private token(recorded: RecordedRequest, res: ServerResponse): void {
    const form = new URLSearchParams(typeof recorded.body === 'string' ? recorded.body : '');
    const claims = form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' ? this.verifyJwt(form.get('assertion') ?? '') : undefined;
    if (!claims) return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    const token = `ya29.standin-${randomBytes(16).toString('hex')}`;
    this.accessTokens.add(token);
    send(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }

  private authenticate(header: string | undefined): Record<string, unknown> | undefined {
    const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (!token) return undefined;
    if (this.accessTokens.has(token)) return { access_token: true };
    const claims = this.verifyJwt(token);
    if (!claims) return undefined;
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    const aud = typeof claims.aud === 'string' ? claims.aud : '';
    // a self-signed JWT carries the scope (useJWTAccessWithScope) or the API's audience
    if (!scopes.includes('https://www.googleapis.com/auth/bigquery') && !aud.startsWith('https://bigquery.googleapis.com')) return undefined;
    return claims;
  }

  private verifyJwt(jwt: string): Record<string, unknown> | undefined {
    const [h, p, s] = jwt.split('.');
    if (!h || !p || !s) return undefined;
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string; kid?: string };
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      const key = header.kid ? this.trusted.get(header.kid) : undefined;
      if (header.alg !== 'RS256' || !key) return undefined;
      if (!createVerify('RSA-SHA256').update(`${h}.${p}`).verify(key, Buffer.from(s, 'base64url'))) return undefined;
      if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }

  private insertJob(project: string, body: Record<string, unknown>, res: ServerResponse): void {
    const reference = (body.jobReference ?? {}) as { jobId?: string; location?: string };
    const configuration = (body.configuration ?? {}) as Record<string, unknown>;
    const jobId = reference.jobId ?? `job_${randomBytes(12).toString('base64url')}`;
    const location = reference.location ?? 'US';
    if (this.jobs.has(jobId)) return sendError(res, { status: 409, reason: 'duplicate', message: `Already Exists: Job ${project}:${location}.${jobId}`, rpcStatus: 'ALREADY_EXISTS' });
    const query = decodeJob(jobId, configuration, location);
    const handler = this.handlers.find((h) => h.match(query.sql));
    const answer: QueryAnswer = handler ? handler.answer(query) : { error: bigQueryErrors.invalidQuery(`the stand-in has no answer for: ${query.sql}`), at: 'insert' };
    if (isFailure(answer) && (answer.at ?? 'insert') === 'insert') return sendError(res, answer.error);
    const job: JobState = { projectId: project, jobId, location, configuration, answer, pendingPolls: answer.pendingPolls ?? 0, cancelled: false, kind: 'query' };
    this.jobs.set(jobId, job);
    const resource = this.jobResource(job);
    if (isFailure(answer) && answer.at === 'job') resource.status = failedStatus(answer.error);
    send(res, 200, resource);
  }

  private jobResource(job: JobState): Record<string, unknown> {
    const answer = job.answer;
    const running = job.pendingPolls > 0 && !job.cancelled;
    const failed = isFailure(answer) && answer.at !== 'insert' && !running;
    return {
      kind: 'bigquery#job',
      etag: randomBytes(8).toString('base64'),
      id: `${job.projectId}:${job.location}.${job.jobId}`,
      selfLink: `${this.url}/bigquery/v2/projects/${job.projectId}/jobs/${job.jobId}?location=${job.location}`,
      user_email: `cdp-test@${this.project}.iam.gserviceaccount.com`,
      configuration: { ...job.configuration, jobType: job.kind === 'load' ? 'LOAD' : 'QUERY' },
      jobReference: { projectId: job.projectId, jobId: job.jobId, location: job.location },
      statistics: {
        creationTime: String(Date.now()),
        ...(job.kind === 'query' && !isFailure(answer) && answer.numDmlAffectedRows !== undefined ? { query: { numDmlAffectedRows: String(answer.numDmlAffectedRows) } } : {}),
        ...(job.kind === 'load' && !isFailure(answer) ? { load: { outputRows: String(rowCount(answer)) } } : {}),
      },
      status: running ? { state: 'RUNNING' } : failed ? failedStatus(answer.error) : { state: 'DONE' },
    };
  }

  private getJob(project: string, jobId: string, res: ServerResponse): void {
    const job = this.jobs.get(jobId);
    if (!job) return sendError(res, bigQueryErrors.notFound(`Job ${project}:${jobId}`));
    const resource = this.jobResource(job);
    if (job.pendingPolls > 0) job.pendingPolls--;
    send(res, 200, resource);
  }

  private queryResults(project: string, jobId: string, query: Record<string, string>, res: ServerResponse): void {
    const job = this.jobs.get(jobId);
    if (!job || (query.location && query.location !== job.location)) return sendError(res, bigQueryErrors.notFound(`Job ${project}:${query.location ?? 'US'}.${jobId}`));
    const reference = { projectId: job.projectId, jobId: job.jobId, location: job.location };
    if (job.cancelled) return sendError(res, { status: 400, reason: 'stopped', message: 'Job execution was cancelled: User requested cancellation', rpcStatus: 'INVALID_ARGUMENT' });
    if (job.pendingPolls > 0) {
      job.pendingPolls--;
      return send(res, 200, { kind: 'bigquery#getQueryResultsResponse', etag: randomBytes(8).toString('base64'), jobReference: reference, jobComplete: false });
    }
    const answer = job.answer;
    if (isFailure(answer)) {
      if (answer.at === 'status') return send(res, 200, { kind: 'bigquery#getQueryResultsResponse', jobReference: reference, jobComplete: true, totalRows: '0', schema: { fields: [] } });
      return sendError(res, answer.error);
    }
    const total = rowCount(answer);
    const offset = query.pageToken ? Number(Buffer.from(query.pageToken, 'base64url').toString().replace('offset:', '')) : 0;
    const asked = query.maxResults !== undefined ? Number(query.maxResults) : Infinity;
    const size = Math.max(0, Math.min(asked, answer.pageSize ?? Infinity, total - offset));
    const int64Timestamps = query['formatOptions.useInt64Timestamp'] === 'true';
    const rows: unknown[] = [];
    for (let i = offset; i < offset + size; i++) rows.push(encodeRow(answer.schema, rowAt(answer, i), int64Timestamps));
    const end = offset + size;
    send(res, 200, {
      kind: 'bigquery#getQueryResultsResponse',
      etag: randomBytes(8).toString('base64'),
      schema: { fields: answer.schema },
      jobReference: reference,
      totalRows: String(total),
      ...(end < total ? { pageToken: Buffer.from(`offset:${end}`).toString('base64url') } : {}),
      ...(size > 0 ? { rows } : {}),
      totalBytesProcessed: '0',
      jobComplete: true,
      cacheHit: false,
      ...(answer.numDmlAffectedRows !== undefined ? { numDmlAffectedRows: String(answer.numDmlAffectedRows) } : {}),
    });
  }

  /** tabledata.insertAll: with skipInvalidRows off, one invalid row fails the request and no row is written. */
  private insertAll(project: string, dataset: string, name: string, body: { rows?: { insertId?: string; json: Record<string, unknown> }[]; skipInvalidRows?: boolean }, res: ServerResponse): void {
    const table = this.tables.get(`${project}.${dataset}.${name}`);
    if (!table) return sendError(res, bigQueryErrors.notFound(`Table ${project}:${dataset}.${name}`));
    const rows = body.rows ?? [];
    const problems = rows.map((r) => validateRow(table.fields, r.json, 'insertAll'));
    if (problems.some((p) => p)) {
      const insertErrors = problems.map((p, index) => ({
        index,
        errors: [p ? { reason: 'invalid', location: p.field, debugInfo: '', message: p.message } : { reason: 'stopped', location: '', debugInfo: '', message: '' }],
      }));
      return send(res, 200, { kind: 'bigquery#tableDataInsertAllResponse', insertErrors });
    }
    for (const r of rows) {
      table.rows.push(r.json);
      table.insertIds.push(r.insertId ?? '');
    }
    send(res, 200, { kind: 'bigquery#tableDataInsertAllResponse' });
  }

  /** A load job from the multipart upload: newline-delimited JSON into the destination table, all rows or none. */
  private upload(project: string, body: { metadata: Record<string, unknown>; data: string }, res: ServerResponse): void {
    const reference = (body.metadata.jobReference ?? {}) as { jobId?: string; location?: string };
    const configuration = (body.metadata.configuration ?? {}) as Record<string, unknown>;
    const load = (configuration.load ?? {}) as { destinationTable?: { projectId?: string; datasetId?: string; tableId?: string } };
    const destination = load.destinationTable ?? {};
    const table = this.tables.get(`${destination.projectId ?? project}.${destination.datasetId}.${destination.tableId}`);
    const lines = body.data.split('\n').filter((l) => l.trim());
    let answer: QueryAnswer;
    if (!table) answer = { error: bigQueryErrors.notFound(`Table ${destination.projectId ?? project}:${destination.datasetId}.${destination.tableId}`), at: 'job' };
    else {
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const bad = parsed.map((r, i) => ({ i, p: validateRow(table.fields, r, 'load') })).find((x) => x.p);
      if (bad?.p) {
        answer = {
          at: 'job',
          error: {
            status: 400,
            reason: 'invalid',
            message: `Error while reading data, error message: JSON table encountered too many errors, giving up. Rows: ${bad.i + 1}; errors: 1. Please look into the errors[] collection for more details.`,
            rpcStatus: 'INVALID_ARGUMENT',
            details: [`Error while reading data, error message: JSON parsing error in row starting at position 0: ${bad.p.message} Field: ${bad.p.field}; Value: ${JSON.stringify(parsed[bad.i][bad.p.field])}`],
          },
        };
      } else {
        table.rows.push(...parsed);
        answer = { schema: [], rows: parsed.map(() => []) };
      }
    }
    const jobId = reference.jobId ?? `job_${randomBytes(12).toString('base64url')}`;
    const job: JobState = { projectId: project, jobId, location: reference.location ?? 'US', configuration, answer, pendingPolls: 0, cancelled: false, kind: 'load' };
    this.jobs.set(jobId, job);
    send(res, 200, this.jobResource(job));
  }
}

// ── helpers ─────────────────────────────────────────────────────────────────

function routeOf(method: string, path: string): { name: string; params: string[] } | undefined {
  const routes: [string, string, RegExp][] = [
    ['POST', 'jobs.insert', /^\/bigquery\/v2\/projects\/([^/]+)\/jobs$/],
    ['GET', 'getQueryResults', /^\/bigquery\/v2\/projects\/([^/]+)\/queries\/([^/]+)$/],
    ['GET', 'jobs.get', /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)$/],
    ['POST', 'jobs.cancel', /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)\/cancel$/],
    ['GET', 'datasets.get', /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)$/],
    ['POST', 'datasets.insert', /^\/bigquery\/v2\/projects\/([^/]+)\/datasets$/],
    ['GET', 'tables.get', /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/],
    ['POST', 'insertAll', /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/],
    ['POST', 'upload', /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs$/],
  ];
  for (const [m, name, re] of routes) {
    const match = method === m ? re.exec(path) : null;
    if (match) return { name, params: match.slice(1).map(decodeURIComponent) };
  }
  return undefined;
}

function decodeJob(jobId: string, configuration: Record<string, unknown>, location: string): QueryJob {
  const query = (configuration.query ?? {}) as { query?: string; queryParameters?: { parameterType: { type: string }; parameterValue: { value?: unknown } }[] };
  return {
    jobId,
    sql: query.query ?? '',
    params: (query.queryParameters ?? []).map((p) => ({ type: p.parameterType.type, value: p.parameterValue.value })),
    location,
    configuration,
  };
}

const rowCount = (r: QueryResult): number => (Array.isArray(r.rows) ? r.rows.length : r.rows.count);
const rowAt = (r: QueryResult, i: number): unknown[] => (Array.isArray(r.rows) ? r.rows[i] : r.rows.row(i));

/** A row as the API sends it: {f: [{v}]}, every scalar as text, records and arrays nested. */
function encodeRow(fields: Field[], values: unknown[], int64Timestamps: boolean): { f: { v: unknown }[] } {
  return { f: fields.map((field, i) => ({ v: encodeField(field, values[i], int64Timestamps) })) };
}

function encodeField(field: Field, value: unknown, int64Timestamps: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') return (value as unknown[]).map((v) => ({ v: encodeScalar(field, v, int64Timestamps) }));
  return encodeScalar(field, value, int64Timestamps);
}

function encodeScalar(field: Field, value: unknown, int64Timestamps: boolean): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'RECORD': {
      const record = value as Record<string, unknown>;
      return encodeRow(field.fields ?? [], (field.fields ?? []).map((f) => record[f.name]), int64Timestamps);
    }
    case 'TIMESTAMP': {
      // a Date, an ISO string, or microseconds since the epoch
      const micros = value instanceof Date ? BigInt(value.getTime()) * 1000n : typeof value === 'string' && /\D/.test(value) ? BigInt(Date.parse(value)) * 1000n : BigInt(text(value));
      // formatOptions.useInt64Timestamp: microseconds since the epoch; otherwise seconds as a float
      return int64Timestamps ? micros.toString() : (Number(micros) / 1e6).toExponential();
    }
    case 'JSON':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'BYTES':
      return Buffer.isBuffer(value) ? value.toString('base64') : text(value);
    default:
      return text(value);
  }
}

function text(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
    case 'boolean':
      return v.toString();
    default:
      return JSON.stringify(v) ?? '';
  }
}

/** Why a row does not fit the table (the first problem), as BigQuery words it; undefined when it fits. */
function validateRow(fields: Field[], row: Record<string, unknown>, via: 'insertAll' | 'load'): { field: string; message: string } | undefined {
  for (const key of Object.keys(row)) {
    if (!fields.some((f) => f.name.toLowerCase() === key.toLowerCase())) return { field: key, message: `no such field: ${key}.` };
  }
  for (const f of fields) {
    const v = row[f.name];
    if (v === null || v === undefined) {
      if (f.mode === 'REQUIRED') return { field: f.name, message: `Missing required field: ${f.name}.` };
      continue;
    }
    const bad = (what: string) => ({ field: f.name, message: `Cannot convert value to ${what} (bad value): ${typeof v === 'string' ? v : JSON.stringify(v)}` });
    switch (f.type) {
      case 'INTEGER':
        if (!(typeof v === 'number' ? Number.isInteger(v) : typeof v === 'string' && /^-?\d+$/.test(v))) return bad('integer');
        break;
      case 'FLOAT':
      case 'NUMERIC':
      case 'BIGNUMERIC':
        if (!(typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))))) return bad('floating point');
        break;
      case 'BOOLEAN':
        if (!(typeof v === 'boolean' || v === 'true' || v === 'false')) return bad('boolean');
        break;
      case 'TIMESTAMP':
        if (!(typeof v === 'number' || (typeof v === 'string' && !Number.isNaN(Date.parse(v))))) return bad('timestamp');
        break;
      case 'STRING':
        if (typeof v === 'object') return { field: f.name, message: `This field: ${f.name} is not a record.` };
        break;
      case 'JSON':
        if (via === 'insertAll') {
          if (typeof v !== 'string') return { field: f.name, message: `This field: ${f.name} is not a record.` };
          try {
            JSON.parse(v);
          } catch {
            return { field: f.name, message: `Invalid JSON: ${v}` };
          }
        }
        break;
    }
  }
  return undefined;
}

function failedStatus(error: ServiceError): Record<string, unknown> {
  const proto = { reason: error.reason, message: error.message, ...(error.location ? { location: error.location } : {}) };
  return { state: 'DONE', errorResult: proto, errors: [proto, ...(error.details ?? []).map((message) => ({ reason: error.reason, message }))] };
}

function datasetResource(project: string, dataset: string, location: string) {
  return { kind: 'bigquery#dataset', id: `${project}:${dataset}`, datasetReference: { projectId: project, datasetId: dataset }, location };
}

function parseBody(contentType: string | undefined, raw: Buffer): unknown {
  const text = raw.toString('utf8');
  const boundary = /multipart\/related;\s*boundary=([^;]+)/.exec(contentType ?? '')?.[1];
  if (boundary) {
    const parts = text
      .split(`--${boundary}`)
      .slice(1, -1)
      .map((part) => {
        const start = part.indexOf('\r\n\r\n');
        return part.slice(start + 4).replace(/\r\n$/, '');
      });
    return { metadata: JSON.parse(parts[0] ?? '{}') as Record<string, unknown>, data: parts[1] ?? '' };
  }
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return text;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** BigQuery's error body: {error: {code, message, errors: [ErrorProto], status}}. */
function sendError(res: ServerResponse, e: ServiceError): void {
  send(res, e.status, {
    error: {
      code: e.status,
      message: e.message,
      errors: [{ message: e.message, domain: e.domain ?? 'global', reason: e.reason, ...(e.location ? { location: e.location } : {}), ...(e.locationType ? { locationType: e.locationType } : {}) }],
      status: e.rpcStatus,
    },
  });
}
