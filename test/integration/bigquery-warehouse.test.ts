import http, { type RequestOptions } from 'node:http';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { warehouseSchema } from '../../src/config/config.schema';
import { BigQueryWarehouse, type BigQueryWarehouseOptions } from '../../src/warehouse/bigquery/bigquery.warehouse';
import { openWarehouse } from '../../src/warehouse/warehouse.factory';
import { WarehouseError } from '../../src/warehouse/warehouse-error';
import { queryAll, queryValue, type Relation } from '../../src/warehouse/warehouse';
import { BigQueryStandin, bigQueryErrors, type QueryJob, type RecordedRequest } from '../support/bigquery-standin';
import { DEMO_ORDER, DEMO_TEST_COUNT } from '../support/demo';
import { TempProject } from '../support/temp-project';

/**
 * The BigQuery adapter through the official SDK (@google-cloud/bigquery) against a local stand-in of
 * the REST API (test/support/bigquery-standin.ts): the requests the SDK sends, pagination, result
 * typing, errors, loads. No request leaves this machine (the http/https guard below fails the suite
 * if one tries). The live block at the end runs the demo project on a real BigQuery project when
 * CDP_TEST_BIGQUERY_PROJECT is set.
 */
const PROJECT = 'cdp-standin';
const DATASET = 'analytics';

/** every outgoing request goes to the stand-in on 127.0.0.1: a request anywhere else is recorded and refused */
const outside: string[] = [];
let localRequests = 0;
function guardNetwork(): void {
  for (const mod of [http, https]) {
    for (const fn of ['request', 'get'] as const) {
      const original = mod[fn];
      jest.spyOn(mod, fn).mockImplementation(((...args: unknown[]) => {
        const host = hostOf(args);
        if (host !== '127.0.0.1') {
          outside.push(`${fn} ${host}`);
          throw new Error(`tests use no network: a request to ${host}`);
        }
        localRequests++;
        return (original as (...a: unknown[]) => http.ClientRequest).apply(mod, args);
      }));
    }
  }
}

function hostOf(args: unknown[]): string {
  const [first, second] = args;
  if (typeof first === 'string') return new URL(first).hostname;
  if (first instanceof URL) return first.hostname;
  const options = (first ?? second ?? {}) as RequestOptions;
  return options.hostname ?? options.host ?? 'localhost';
}

const sent = (bq: BigQueryStandin, name: string): RecordedRequest[] =>
  bq.requests.filter((r) => {
    if (name === 'jobs.insert') return r.method === 'POST' && /\/jobs$/.test(r.path) && !r.path.startsWith('/upload');
    if (name === 'getQueryResults') return r.method === 'GET' && r.path.includes('/queries/');
    if (name === 'jobs.get') return r.method === 'GET' && /\/jobs\/[^/]+$/.test(r.path);
    if (name === 'jobs.cancel') return r.path.endsWith('/cancel');
    if (name === 'insertAll') return r.path.endsWith('/insertAll');
    if (name === 'upload') return r.path.startsWith('/upload/');
    if (name === 'tables.get') return r.method === 'GET' && /\/tables\/[^/]+$/.test(r.path);
    if (name === 'datasets.get') return r.method === 'GET' && /\/datasets\/[^/]+$/.test(r.path);
    if (name === 'datasets.insert') return r.method === 'POST' && /\/datasets$/.test(r.path);
    return false;
  });

describe('BigQuery warehouse (SDK against the REST stand-in)', () => {
  let bq: BigQueryStandin;
  let dir: string;
  let keyFile: string;
  let wh: BigQueryWarehouse;
  const opened: BigQueryWarehouse[] = [];
  const rel = (name: string, schema = DATASET): Relation => ({ database: PROJECT, schema, name });
  const open = (extra: Partial<BigQueryWarehouseOptions> = {}): BigQueryWarehouse => {
    // one fast retry: the SDK's default backoff starts at 2 s
    const w = new BigQueryWarehouse({ project: PROJECT, dataset: DATASET, location: 'EU', keyFile, apiEndpoint: bq.url, retry: { maxRetries: 1, maxRetryDelaySeconds: 0.01 }, ...extra });
    opened.push(w);
    return w;
  };
  const only = (): QueryJob => {
    const jobs = bq.queries();
    expect(jobs).toHaveLength(1);
    return jobs[0];
  };

  beforeAll(async () => {
    guardNetwork();
    bq = await BigQueryStandin.start({ project: PROJECT });
    dir = mkdtempSync(join(tmpdir(), 'cdp-bq-'));
    keyFile = bq.serviceAccount(dir);
    wh = open();
  });

  beforeEach(() => bq.reset());

  afterAll(async () => {
    await Promise.all(opened.map((w) => w.close()));
    await bq?.close();
    rmSync(dir, { recursive: true, force: true });
    jest.restoreAllMocks();
    // nothing went to Google: not the API, not the token service, not the metadata server
    expect(outside).toEqual([]);
    expect(localRequests).toBeGreaterThan(0);
  });

  describe('queries', () => {
    it('run as query jobs: the SQL, typed positional parameters, the location; authenticated by the key file, locally', async () => {
      bq.onQuery(/^select \?/, {
        schema: [
          { name: 's', type: 'STRING' },
          { name: 'i', type: 'INTEGER' },
        ],
        rows: [["O'Brien", 42]],
      });
      const at = new Date('2024-03-01T12:34:56.789Z');
      const rows = await queryAll(wh, 'select ? as s, ? as i, ? as f, ? as b, ? as t, ? as big, ? as n', ["O'Brien", 42, 1.5, true, at, 2n ** 60n, null]);
      expect(rows).toEqual([{ s: "O'Brien", i: 42 }]);

      const job = only();
      // the null is the keyword NULL (it fits any column type); every other value is a parameter
      expect(job.sql).toBe('select ? as s, ? as i, ? as f, ? as b, ? as t, ? as big, NULL as n');
      expect(job.params).toEqual([
        { type: 'STRING', value: "O'Brien" },
        { type: 'INT64', value: '42' },
        { type: 'FLOAT64', value: '1.5' },
        { type: 'BOOL', value: 'true' },
        { type: 'TIMESTAMP', value: '2024-03-01T12:34:56.789Z' },
        { type: 'INT64', value: '1152921504606846976' },
      ]);
      expect(job.location).toBe('EU');
      expect(job.jobId).toMatch(/^cdp_/);
      expect(job.configuration).toMatchObject({ query: { useLegacySql: false, parameterMode: 'positional' }, labels: { app: 'cdp' } });

      // jobs.insert, then getQueryResults in the job's location, with 64-bit timestamps
      const [insert] = sent(bq, 'jobs.insert');
      expect(insert.path).toBe(`/bigquery/v2/projects/${PROJECT}/jobs`);
      expect((insert.body as { jobReference: unknown }).jobReference).toEqual({ projectId: PROJECT, jobId: job.jobId, location: 'EU' });
      const [results] = sent(bq, 'getQueryResults');
      expect(results.path).toBe(`/bigquery/v2/projects/${PROJECT}/queries/${job.jobId}`);
      expect(results.query).toMatchObject({ location: 'EU', 'formatOptions.useInt64Timestamp': 'true', maxResults: '10000' });

      // every request carries a JWT the key file signed, with the BigQuery scope; no token exchange anywhere
      const email = (JSON.parse(readFileSync(keyFile, 'utf8')) as { client_email: string }).client_email;
      for (const r of bq.requests) expect(r.token).toMatchObject({ iss: email, sub: email, scope: 'https://www.googleapis.com/auth/bigquery' });
      expect(bq.requests.filter((r) => r.path === '/token')).toEqual([]);
    });

    it('a ? in a string, a quoted identifier or a comment is not a parameter', async () => {
      bq.onQuery(/what/, { schema: [{ name: 'q', type: 'STRING' }], rows: [['what?']] });
      const sql = "select 'what?' as q, \"so?\" as `x?`, '''tri?ple''' -- why?\n, r'\\'?' /* ? */ # ?\n, ? as v, ? as w";
      await queryAll(wh, sql, [null, 'it?']);
      const job = only();
      expect(job.sql).toBe(sql.replace(', ? as v', ', NULL as v'));
      expect(job.params).toEqual([{ type: 'STRING', value: 'it?' }]);

      // as many values as placeholders, or a clear error before anything is sent
      await expect(wh.execute('select ? as a', [1, 2])).rejects.toThrow(/1 \? placeholders but 2 values/);
      expect(bq.queries()).toHaveLength(1);
    });

    it('result types become plain values: numbers, Dates, parsed JSON, records and arrays', async () => {
      bq.onQuery('typed', {
        schema: [
          { name: 'int', type: 'INTEGER' },
          { name: 'huge', type: 'INTEGER' },
          { name: 'float', type: 'FLOAT' },
          { name: 'numeric', type: 'NUMERIC' },
          { name: 'bool', type: 'BOOLEAN' },
          { name: 'text', type: 'STRING' },
          { name: 'ts', type: 'TIMESTAMP' },
          { name: 'day', type: 'DATE' },
          { name: 'dt', type: 'DATETIME' },
          { name: 'time', type: 'TIME' },
          { name: 'doc', type: 'JSON' },
          { name: 'rec', type: 'RECORD', fields: [{ name: 'n', type: 'INTEGER' }, { name: 'at', type: 'TIMESTAMP' }] },
          { name: 'list', type: 'INTEGER', mode: 'REPEATED' },
          { name: 'missing', type: 'STRING' },
        ],
        rows: [
          [
            7,
            '9223372036854775807',
            1.25,
            '12.5',
            true,
            'x',
            new Date('2024-01-31T23:59:58.123Z'),
            '2024-02-29',
            '2024-02-29T10:11:12.345678',
            '10:11:12',
            { a: [1, 'two'], b: null },
            { n: 3, at: new Date('2020-01-01T00:00:00Z') },
            [1, 2, 3],
            null,
          ],
        ],
      });
      const [row] = await queryAll(wh, 'select typed');
      expect(row).toEqual({
        int: 7,
        huge: '9223372036854775807', // beyond 2^53: its exact digits, as PostgreSQL's int8
        float: 1.25,
        numeric: 12.5,
        bool: true,
        text: 'x',
        ts: new Date('2024-01-31T23:59:58.123Z'),
        day: new Date('2024-02-29T00:00:00Z'),
        dt: new Date('2024-02-29T10:11:12.345Z'),
        time: '10:11:12',
        doc: { a: [1, 'two'], b: null },
        rec: { n: 3, at: new Date('2020-01-01T00:00:00Z') },
        list: [1, 2, 3],
        missing: null,
      });
    });

    it('a result over several pages streams every row, one getQueryResults call per page with the last pageToken', async () => {
      const small = open({ pageSize: 1000 });
      bq.onQuery('series', { schema: [{ name: 'n', type: 'INTEGER' }], rows: { count: 2500, row: (i) => [i + 1] } });
      let n = 0;
      let sum = 0;
      for await (const row of small.query('select series')) {
        n++;
        sum += row.n as number;
      }
      expect(n).toBe(2500);
      expect(sum).toBe((2500 * 2501) / 2);
      const pages = sent(bq, 'getQueryResults');
      expect(pages.map((p) => [p.query.maxResults, p.query.pageToken])).toEqual([
        ['1000', undefined],
        ['1000', Buffer.from('offset:1000').toString('base64url')],
        ['1000', Buffer.from('offset:2000').toString('base64url')],
      ]);

      // BigQuery may answer fewer rows than asked (pages end at ~10 MB): the next page token still follows
      bq.reset();
      bq.onQuery('series', { schema: [{ name: 'n', type: 'INTEGER' }], rows: { count: 1000, row: (i) => [i] }, pageSize: 300 });
      expect(await queryAll(small, 'select series')).toHaveLength(1000);
      expect(sent(bq, 'getQueryResults')).toHaveLength(4);
    });

    it('reads 100k rows page by page, and breaking early reads no further page', async () => {
      bq.onQuery('big', { schema: [{ name: 'n', type: 'INTEGER' }], rows: { count: 100_000, row: (i) => [i + 1] }, pageSize: 5000 });
      let n = 0;
      for await (const _ of wh.query('select big')) n++;
      expect(n).toBe(100_000);
      expect(sent(bq, 'getQueryResults')).toHaveLength(20);

      bq.reset();
      bq.onQuery('big', { schema: [{ name: 'n', type: 'INTEGER' }], rows: { count: 1_000_000_000, row: (i) => [i + 1] }, pageSize: 5000 });
      const seen: number[] = [];
      for await (const row of wh.query('select big')) {
        seen.push(row.n as number);
        if (seen.length === 5) break;
      }
      expect(seen).toEqual([1, 2, 3, 4, 5]);
      // one page of a billion rows read; the job was done, so nothing to cancel
      expect(sent(bq, 'getQueryResults')).toHaveLength(1);
      expect(sent(bq, 'jobs.cancel')).toHaveLength(0);
    });

    it('waits for a running job: getQueryResults answers jobComplete false, then the rows', async () => {
      bq.onQuery('slow', { schema: [{ name: 'x', type: 'STRING' }], rows: [['done']], pendingPolls: 2 });
      expect(await queryAll(wh, 'select slow')).toEqual([{ x: 'done' }]);
      expect(sent(bq, 'getQueryResults')).toHaveLength(3);
      expect(await queryValue(wh, 'select slow')).toBe('done');
    });

    it('a query that fails while its job runs cancels the job', async () => {
      bq.onQuery('slow', { schema: [{ name: 'x', type: 'STRING' }], rows: [['done']], pendingPolls: 3 });
      bq.failNext('getQueryResults', bigQueryErrors.quotaExceeded());
      await expect(queryAll(wh, 'select slow')).rejects.toThrow(WarehouseError);
      const [cancel] = sent(bq, 'jobs.cancel');
      expect(cancel.path).toBe(`/bigquery/v2/projects/${PROJECT}/jobs/${only().jobId}/cancel`);
      expect(cancel.query).toMatchObject({ location: 'EU' });
    });

    it('execute answers the affected rows of DML, nothing for DDL, and reads no rows', async () => {
      bq.onQuery(/^update/, { schema: [], rows: [], numDmlAffectedRows: 3 });
      bq.onQuery(/^create table/, { schema: [], rows: [] });
      expect(await wh.execute('update `t` set x = ? where y = ?', [1, 'a'])).toBe(3);
      expect(await wh.execute('create table `t` (x INT64)')).toBeUndefined();
      for (const r of sent(bq, 'getQueryResults')) expect(r.query.maxResults).toBe('0');
    });
  });

  describe('errors', () => {
    it("a query that does not parse: BigQuery's message, from query and from execute", async () => {
      bq.onQuery(/^selec /, { error: bigQueryErrors.syntax('Unexpected identifier "selec" at [1:1]') });
      const failed = queryAll(wh, 'selec 1');
      await expect(failed).rejects.toThrow(WarehouseError);
      await expect(failed).rejects.toThrow('BigQuery: Syntax error: Unexpected identifier "selec" at [1:1] (invalidQuery)');
      await expect(wh.execute('selec 1')).rejects.toMatchObject({ code: 'WAREHOUSE_ERROR', message: expect.stringContaining('Syntax error') });
      // the SDK does not retry a bad query
      expect(sent(bq, 'jobs.insert')).toHaveLength(2);
    });

    it('a job that fails: when jobs.insert answers it done and failed, and when getQueryResults does', async () => {
      bq.onQuery('no_such_table', { error: bigQueryErrors.notFound(`Table ${PROJECT}:${DATASET}.no_such_table was not found in location EU`), at: 'job' });
      await expect(queryAll(wh, 'select * from no_such_table')).rejects.toThrow(/Not found: Table cdp-standin:analytics.no_such_table.*\(notFound\)/);

      bq.onQuery('division', { error: bigQueryErrors.invalidQuery('Query error: division by zero: 1 / 0 at [1:8]'), at: 'results', pendingPolls: 1 });
      await expect(wh.execute('select 1/0 as division')).rejects.toThrow('BigQuery: Query error: division by zero: 1 / 0 at [1:8] (invalidQuery)');
    });

    it('credentials BigQuery refuses (401): a WarehouseError that says where credentials come from', async () => {
      const stranger = open({ keyFile: bq.serviceAccount(dir, { trusted: false, name: 'stranger' }) });
      const failed = queryAll(stranger, 'select 1');
      await expect(failed).rejects.toThrow(WarehouseError);
      await expect(failed).rejects.toThrow(/BigQuery did not accept the credentials: Request had invalid authentication credentials.*warehouse\.key_file/);
      expect(bq.requests.every((r) => r.token === undefined)).toBe(true);
      // not retried
      expect(sent(bq, 'jobs.insert')).toHaveLength(1);
    });

    it('a key file that is missing or not a key: an error when the warehouse opens', async () => {
      await expect(BigQueryWarehouse.open({ project: PROJECT, dataset: DATASET, location: 'EU', keyFile: join(dir, 'nope.json') })).rejects.toThrow(/warehouse.key_file .*nope.json: cannot read it/);
      const notKey = join(dir, 'not-a-key.json');
      writeFileSync(notKey, JSON.stringify({ hello: 'world' }));
      await expect(BigQueryWarehouse.open({ project: PROJECT, dataset: DATASET, location: 'EU', keyFile: notKey })).rejects.toThrow(/not a Google credentials file/);
    });

    it('quota exceeded (403 quotaExceeded): WAREHOUSE_BUSY, not retried', async () => {
      bq.onQuery('select 1', { schema: [{ name: 'x', type: 'INTEGER' }], rows: [[1]] });
      bq.failNext('jobs.insert', bigQueryErrors.quotaExceeded());
      await expect(wh.execute('select 1')).rejects.toMatchObject({
        code: 'WAREHOUSE_BUSY',
        message: expect.stringMatching(/^BigQuery quota exceeded \(quotaExceeded\): Quota exceeded: Your project exceeded quota for free query bytes scanned/),
      });
      expect(sent(bq, 'jobs.insert')).toHaveLength(1);
    });

    it('a rate limit (403 rateLimitExceeded) is retried by the SDK with the same job id; past the retries it is WAREHOUSE_BUSY', async () => {
      bq.onQuery('select 1', { schema: [{ name: 'x', type: 'INTEGER' }], rows: [[1]] });
      bq.failNext('jobs.insert', bigQueryErrors.rateLimitExceeded());
      expect(await queryValue(wh, 'select 1')).toBe(1);
      const inserts = sent(bq, 'jobs.insert').map((r) => (r.body as { jobReference: { jobId: string } }).jobReference.jobId);
      expect(inserts).toHaveLength(2);
      expect(inserts[0]).toBe(inserts[1]);

      bq.reset();
      bq.failNext('jobs.insert', bigQueryErrors.rateLimitExceeded(), 2);
      await expect(wh.execute('select 1')).rejects.toMatchObject({ code: 'WAREHOUSE_BUSY', message: expect.stringMatching(/^BigQuery rate limit \(rateLimitExceeded\): Exceeded rate limits/) });
      expect(sent(bq, 'jobs.insert')).toHaveLength(2);
    });
  });

  describe('statements', () => {
    it('transaction: one script, BEGIN/COMMIT around DML, each statement’s row count from @@row_count', async () => {
      let script = '';
      bq.onQuery(/^DECLARE cdp_row_counts/, (job) => {
        script = job.sql;
        return { schema: [{ name: 'row_counts', type: 'INTEGER', mode: 'REPEATED' }], rows: [[[2, 1, -1]]] };
      });
      const counts = await wh.transaction(['insert into `t` values (1), (2);', 'update `t` set x = 3 where x = 2', 'select 1 -- a trailing comment']);
      expect(counts).toEqual([2, 1, undefined]);
      expect(script).toBe(
        [
          'DECLARE cdp_row_counts ARRAY<INT64> DEFAULT [];',
          'BEGIN TRANSACTION;',
          'insert into `t` values (1), (2)\n;',
          'SET cdp_row_counts = ARRAY_CONCAT(cdp_row_counts, [COALESCE(@@row_count, -1)]);',
          'update `t` set x = 3 where x = 2\n;',
          'SET cdp_row_counts = ARRAY_CONCAT(cdp_row_counts, [COALESCE(@@row_count, -1)]);',
          'select 1 -- a trailing comment\n;',
          'SET cdp_row_counts = ARRAY_CONCAT(cdp_row_counts, [COALESCE(@@row_count, -1)]);',
          'COMMIT TRANSACTION;',
          'SELECT cdp_row_counts AS row_counts;',
        ].join('\n'),
      );
      // the script's status is checked: a failed script can answer its results without an error
      expect(sent(bq, 'jobs.get')).toHaveLength(1);
    });

    it('transaction with DDL on permanent tables: a script without BEGIN/COMMIT (BigQuery refuses DDL in transactions)', async () => {
      let script = '';
      bq.onQuery(/^DECLARE/, (job) => {
        script = job.sql;
        return { schema: [{ name: 'row_counts', type: 'INTEGER', mode: 'REPEATED' }], rows: [[[-1, 5, -1]]] };
      });
      expect(await wh.transaction(['drop table if exists `s`', 'insert into `t` select * from `u`', '/* swap */ create or replace table `s` as select 1 as x'])).toEqual([undefined, 5, undefined]);
      expect(script).not.toMatch(/TRANSACTION/);

      // a temporary table is allowed inside a transaction
      bq.reset();
      bq.onQuery(/^DECLARE/, (job) => {
        script = job.sql;
        return { schema: [{ name: 'row_counts', type: 'INTEGER', mode: 'REPEATED' }], rows: [[[-1, 1]]] };
      });
      await wh.transaction(['create temp table x as select 1 as a', 'insert into `t` select a from x']);
      expect(script).toMatch(/BEGIN TRANSACTION/);
    });

    it('a transaction that fails is an error, also when only the job status says so', async () => {
      bq.onQuery(/^DECLARE/, { error: bigQueryErrors.invalidQuery('Query error: Table cdp-standin:analytics.nope was not found at [5:13]'), at: 'results' });
      await expect(wh.transaction(['delete from `t` where true', 'insert into `nope` values (1)'])).rejects.toThrow(/Query error: Table cdp-standin:analytics.nope was not found at \[5:13\]/);

      bq.reset();
      bq.onQuery(/^DECLARE/, { error: bigQueryErrors.invalidQuery('Query error: Table cdp-standin:analytics.nope was not found at [5:13]'), at: 'status' });
      await expect(wh.transaction(['delete from `t` where true', 'insert into `nope` values (1)'])).rejects.toThrow(/was not found at \[5:13\] \(invalidQuery\)/);
    });

    it('replaceTable and createView: one CREATE OR REPLACE each, atomic in itself', async () => {
      bq.onQuery(/^create or replace/, { schema: [], rows: [] });
      await wh.replaceTable(rel('customers'), 'select 1 as id');
      await wh.createView(rel('recent'), 'select id from `cdp-standin`.`analytics`.`customers`');
      expect(bq.queries().map((q) => q.sql)).toEqual([
        'create or replace table `cdp-standin`.`analytics`.`customers` as\nselect 1 as id',
        'create or replace view `cdp-standin`.`analytics`.`recent` as\nselect id from `cdp-standin`.`analytics`.`customers`',
      ]);
    });

    it('merge: the target described through the tables API, one MERGE statement, its affected rows', async () => {
      bq.defineTable(DATASET, 'merged', [
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'label', type: 'STRING' },
      ]);
      bq.onQuery(/^merge into/, { schema: [], rows: [], numDmlAffectedRows: 3 });
      expect(await wh.merge(rel('merged'), "select 2 as id, 'TWO' as label", ['id'])).toBe(3);
      expect(sent(bq, 'tables.get').map((r) => r.path)).toEqual([`/bigquery/v2/projects/${PROJECT}/datasets/${DATASET}/tables/merged`]);
      expect(only().sql).toBe(
        [
          'merge into `cdp-standin`.`analytics`.`merged` t',
          "using (\nselect 2 as id, 'TWO' as label\n) s",
          'on t.`id` = s.`id`',
          'when matched then update set `label` = s.`label`',
          'when not matched then insert (`id`, `label`) values (s.`id`, s.`label`)',
        ].join('\n'),
      );
      await expect(wh.merge(rel('no_such_table'), 'select 1 as id', ['id'])).rejects.toThrow(/does not exist/);
    });

    it('describe: kind and columns from tables.get (no query job), standard type names; null when the table or dataset is missing', async () => {
      bq.defineTable(DATASET, 'described', [
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'name', type: 'STRING' },
        { name: 'ok', type: 'BOOLEAN' },
        { name: 'score', type: 'FLOAT' },
        { name: 'props', type: 'JSON' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      ]);
      bq.defineTable(DATASET, 'described_v', [{ name: 'name', type: 'STRING' }], { type: 'VIEW' });
      expect(await wh.describe(rel('described'))).toEqual({
        kind: 'table',
        columns: [
          { name: 'id', type: 'INT64', nullable: false },
          { name: 'name', type: 'STRING', nullable: true },
          { name: 'ok', type: 'BOOL', nullable: true },
          { name: 'score', type: 'FLOAT64', nullable: true },
          { name: 'props', type: 'JSON', nullable: true },
          { name: 'tags', type: 'ARRAY<STRING>', nullable: true },
        ],
      });
      expect(wh.dialect.logicalType('INT64')).toBe('bigint');
      expect(await wh.describe(rel('described_v'))).toEqual({ kind: 'view', columns: [{ name: 'name', type: 'STRING', nullable: true }] });
      expect(await wh.describe(rel('not_there'))).toBeNull();
      expect(await wh.describe(rel('described', 'no_such_dataset'))).toBeNull();
      expect(bq.queries()).toEqual([]);
    });

    it('ensureSchema: the dataset, created in the configured location when missing, once', async () => {
      await wh.ensureSchema('cdp_events', PROJECT);
      await wh.ensureSchema('cdp_events', PROJECT);
      expect(sent(bq, 'datasets.get')).toHaveLength(2);
      const [insert] = sent(bq, 'datasets.insert');
      expect(insert.body).toMatchObject({ datasetReference: { datasetId: 'cdp_events' }, location: 'EU' });
      expect(sent(bq, 'datasets.insert')).toHaveLength(1);
      expect(bq.hasDataset('cdp_events')).toBe(true);
    });

    it('dropRelation and ping are query jobs', async () => {
      bq.onQuery(/^drop/, { schema: [], rows: [] });
      bq.onQuery(/^select 1$/, { schema: [{ name: 'f0_', type: 'INTEGER' }], rows: [[1]] });
      await wh.dropRelation(rel('gone'), 'view');
      await wh.ping();
      expect(bq.queries().map((q) => q.sql)).toEqual(['drop view if exists `cdp-standin`.`analytics`.`gone`', 'select 1']);
    });

    it('openWarehouse builds the adapter from the config (api_endpoint, key_file, location)', async () => {
      const config = warehouseSchema.parse({ type: 'bigquery', project: PROJECT, location: 'europe-west2', key_file: keyFile, api_endpoint: bq.url, maximum_bytes_billed: 1e9 });
      const w = await openWarehouse(config);
      expect(w).toBeInstanceOf(BigQueryWarehouse);
      opened.push(w as BigQueryWarehouse);
      bq.onQuery('select 1', { schema: [{ name: 'x', type: 'INTEGER' }], rows: [[1]] });
      expect(await queryValue(w, 'select 1')).toBe(1);
      expect(only().location).toBe('europe-west2');
      expect(only().configuration).toMatchObject({ query: { maximumBytesBilled: '1000000000' } });
      expect(() => warehouseSchema.parse({ type: 'bigquery', project: PROJECT, api_endpoint: 'localhost:9050' })).toThrow(/http/);
    });
  });

  describe('append', () => {
    const events = [
      { name: 'id', type: 'INTEGER' as const, mode: 'REQUIRED' as const },
      { name: 'name', type: 'STRING' as const },
      { name: 'at', type: 'TIMESTAMP' as const },
      { name: 'props', type: 'JSON' as const },
      { name: 'active', type: 'BOOLEAN' as const },
    ];
    const columns = ['id', 'name', 'at', 'props', 'active'];
    const at = new Date('2024-05-06T07:08:09.010Z');

    const anHourAgo = () => new Date(Date.now() - 3600_000);

    it('a small input into an established table: one insertAll request (streaming API), rows by column name with insert ids', async () => {
      bq.defineTable(DATASET, 'streamed', events, { createdAt: anHourAgo() });
      const rows = [
        [1, "O'Brien", at, '{"plan":"pro","n":2}', true],
        [2, 'comma, "quoted"\nnewline', null, null, false],
        [3n, null, '2024-01-01T00:00:00Z', { already: 'an object' }, null],
      ];
      expect(await wh.append(rel('streamed'), columns, rows)).toBe(3);
      expect(sent(bq, 'insertAll')).toHaveLength(1);
      expect(sent(bq, 'upload')).toHaveLength(0);
      const [insert] = sent(bq, 'insertAll');
      expect(insert.path).toBe(`/bigquery/v2/projects/${PROJECT}/datasets/${DATASET}/tables/streamed/insertAll`);
      expect(insert.body).toMatchObject({ skipInvalidRows: false, ignoreUnknownValues: false });
      // JSON columns as JSON text (what insertAll takes), instants as ISO strings, nulls left out
      expect(bq.rowsOf(DATASET, 'streamed')).toEqual([
        { id: 1, name: "O'Brien", at: '2024-05-06T07:08:09.010Z', props: '{"plan":"pro","n":2}', active: true },
        { id: 2, name: 'comma, "quoted"\nnewline', active: false },
        { id: '3', at: '2024-01-01T00:00:00Z', props: '{"already":"an object"}' },
      ]);
      // insert ids let BigQuery drop a row the SDK sends twice on a retry
      expect(new Set(bq.insertIdsOf(DATASET, 'streamed')).size).toBe(3);
      expect(await wh.append(rel('streamed'), columns, [])).toBe(0);
      expect(sent(bq, 'insertAll')).toHaveLength(1);
    });

    it('a table created minutes ago takes a load job, however small the input (streamed rows could be late or lost)', async () => {
      bq.defineTable(DATASET, 'staging', events);
      expect(await wh.append(rel('staging'), columns, [[1, 'one', at, null, true]])).toBe(1);
      expect(sent(bq, 'insertAll')).toHaveLength(0);
      expect(sent(bq, 'upload')).toHaveLength(1);
      expect(bq.rowsOf(DATASET, 'staging')).toEqual([{ id: 1, name: 'one', at: '2024-05-06T07:08:09.010Z', active: true }]);
    });

    it('a larger input: one load job of newline-delimited JSON through the upload endpoint', async () => {
      bq.defineTable(DATASET, 'loaded', events);
      const w = open({ streamingMaxRows: 10 });
      async function* many() {
        for (let i = 1; i <= 5000; i++) yield [i, `name ${i}`, at, `{"i":${i}}`, i % 2 === 0];
      }
      expect(await w.append(rel('loaded'), columns, many())).toBe(5000);
      expect(sent(bq, 'insertAll')).toHaveLength(0);
      const [upload] = sent(bq, 'upload');
      expect(upload.path).toBe(`/upload/bigquery/v2/projects/${PROJECT}/jobs`);
      expect(upload.query).toMatchObject({ uploadType: 'multipart' });
      const { metadata, data } = upload.body as { metadata: { configuration: { load: Record<string, unknown> }; jobReference: { jobId: string; location: string } }; data: string };
      expect(metadata.configuration.load).toMatchObject({
        sourceFormat: 'NEWLINE_DELIMITED_JSON',
        writeDisposition: 'WRITE_APPEND',
        createDisposition: 'CREATE_NEVER',
        maxBadRecords: 0,
        destinationTable: { projectId: PROJECT, datasetId: DATASET, tableId: 'loaded' },
      });
      expect(metadata.jobReference).toMatchObject({ jobId: expect.stringMatching(/^cdp_load_/), location: 'EU' });
      const lines = data.trim().split('\n');
      expect(lines).toHaveLength(5000);
      // a load job reads a JSON column's document itself
      expect(JSON.parse(lines[0])).toEqual({ id: 1, name: 'name 1', at: '2024-05-06T07:08:09.010Z', props: { i: 1 }, active: false });
      expect(bq.rowsOf(DATASET, 'loaded')).toHaveLength(5000);
      // the SDK waited for the job to finish
      expect(sent(bq, 'jobs.get').map((r) => r.path)).toContain(`/bigquery/v2/projects/${PROJECT}/jobs/${metadata.jobReference.jobId}`);

      // streaming_max_rows 0: every append is a load job
      bq.reset();
      expect(await open({ streamingMaxRows: 0 }).append(rel('loaded'), columns, [[1, 'one', at, null, true]])).toBe(1);
      expect(sent(bq, 'upload')).toHaveLength(1);
    });

    it('a row BigQuery rejects fails the whole append: nothing written, the bad row named', async () => {
      bq.defineTable(DATASET, 'strict', events, { createdAt: anHourAgo() });
      await expect(wh.append(rel('strict'), columns, [[1, 'fine', at, null, true], ['not a number', 'bad', at, null, true]])).rejects.toThrow(
        'append to `cdp-standin`.`analytics`.`strict`: BigQuery rejected the insert, no row was written: row 2: Cannot convert value to integer (bad value): not a number (invalid)',
      );
      expect(bq.rowsOf(DATASET, 'strict')).toEqual([]);

      // through a load job too
      const w = open({ streamingMaxRows: 1 });
      await expect(w.append(rel('strict'), columns, [[1, 'fine', at, null, true], [2, 'fine', at, null, true], ['x', 'bad', at, null, true]])).rejects.toThrow(
        'append to `cdp-standin`.`analytics`.`strict`: BigQuery: Error while reading data, error message: JSON table encountered too many errors, giving up. Rows: 3; errors: 1. Please look into the errors[] collection for more details.; ' +
          'Error while reading data, error message: JSON parsing error in row starting at position 0: Cannot convert value to integer (bad value): x Field: id; Value: "x" (invalid)',
      );
      expect(bq.rowsOf(DATASET, 'strict')).toEqual([]);
    });

    it('the daily load-job quota of a table (403 quotaExceeded on the upload): WAREHOUSE_BUSY', async () => {
      bq.defineTable(DATASET, 'busy', events);
      bq.failNext('upload', {
        status: 403,
        reason: 'quotaExceeded',
        domain: 'usageLimits',
        message: 'Quota exceeded: Your table exceeded quota for imports or query appends per table. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
        rpcStatus: 'PERMISSION_DENIED',
      });
      await expect(open({ streamingMaxRows: 0 }).append(rel('busy'), columns, [[1, 'one', at, null, true]])).rejects.toMatchObject({
        code: 'WAREHOUSE_BUSY',
        message: expect.stringContaining('BigQuery quota exceeded (quotaExceeded): Quota exceeded: Your table exceeded quota for imports or query appends per table'),
      });
      expect(bq.rowsOf(DATASET, 'busy')).toEqual([]);
    });

    it('a malformed row, a failing row source or a missing table stop before anything is sent', async () => {
      bq.defineTable(DATASET, 'guarded', events, { createdAt: anHourAgo() });
      const w = open({ streamingMaxRows: 10 });
      async function* shortRow() {
        for (let i = 1; i < 50; i++) yield [i, `ok ${i}`, at, null, true];
        yield [50];
      }
      await expect(w.append(rel('guarded'), columns, shortRow())).rejects.toThrow(/row 50 has 1 values for 5 columns/);
      await expect(wh.append(rel('guarded'), columns, [[1, 'short']])).rejects.toThrow(/row 1 has 2 values for 5 columns/);

      async function* broken() {
        yield [1, 'one', at, null, true];
        throw new Error('source went away');
      }
      await expect(wh.append(rel('guarded'), columns, broken())).rejects.toThrow('source went away');
      await expect(w.append(rel('guarded'), columns, broken())).rejects.toThrow('source went away');
      await expect(wh.append(rel('nope'), ['id'], [[1]])).rejects.toThrow(/cannot append to `cdp-standin`.`analytics`.`nope`: it does not exist/);
      await expect(wh.append(rel('guarded'), ['id', 'colour'], [[1, 'red']])).rejects.toThrow(/it has no column "colour"/);
      expect(sent(bq, 'insertAll')).toHaveLength(0);
      expect(sent(bq, 'upload')).toHaveLength(0);
      expect(bq.rowsOf(DATASET, 'guarded')).toEqual([]);
    });
  });
});

// ── live: the demo project end to end on a real BigQuery project ─────────────

const LIVE_PROJECT = process.env.CDP_TEST_BIGQUERY_PROJECT;
if (!LIVE_PROJECT) {
  console.log(
    'BigQuery live tests skipped: set CDP_TEST_BIGQUERY_PROJECT (and CDP_TEST_BIGQUERY_KEY_FILE, or application default credentials; CDP_TEST_BIGQUERY_LOCATION, default US) to build the demo project on BigQuery',
  );
}

(LIVE_PROJECT ? describe : describe.skip)('BigQuery live (CDP_TEST_BIGQUERY_PROJECT)', () => {
  const suffix = randomBytes(4).toString('hex');
  const dataset = `cdp_test_${suffix}`;
  const ingest = `cdp_test_${suffix}_cdp`;
  const location = process.env.CDP_TEST_BIGQUERY_LOCATION ?? 'US';
  const keyFile = process.env.CDP_TEST_BIGQUERY_KEY_FILE;
  let wh: BigQueryWarehouse;
  let project: TempProject | undefined;

  beforeAll(async () => {
    wh = await BigQueryWarehouse.open({ project: LIVE_PROJECT!, dataset, location, keyFile });
  });

  afterAll(async () => {
    for (const d of [dataset, ingest]) await wh.client.dataset(d).delete({ force: true }).catch(() => undefined);
    await wh.close();
    project?.cleanup();
  });

  it('binds, pages, counts a transaction, loads, reports a syntax error', async () => {
    await wh.ensureSchema(dataset);
    const q = (name: string) => wh.dialect.relation({ database: LIVE_PROJECT, schema: dataset, name });
    expect(await queryAll(wh, "select ? as s, ? as i, ? as n, 'what?' as q", ["O'Brien", 42, null])).toEqual([{ s: "O'Brien", i: 42, n: null, q: 'what?' }]);
    const paged = new BigQueryWarehouse({ project: LIVE_PROJECT!, dataset, location, keyFile, pageSize: 1000 });
    let n = 0;
    for await (const _ of paged.query('select x from unnest(generate_array(1, 5000)) as x')) n++;
    expect(n).toBe(5000);

    await wh.execute(`create table ${q('ledger')} (id INT64, amount INT64)`);
    expect(await wh.transaction([`insert into ${q('ledger')} values (1, 10), (2, 20)`, `update ${q('ledger')} set amount = amount + 1 where id = 2`])).toEqual([2, 1]);

    // a table created just now: load jobs (streamed rows could reach it late)
    await wh.execute(`create table ${q('appended')} (id INT64, name STRING, props JSON, at TIMESTAMP)`);
    const appended = { database: LIVE_PROJECT, schema: dataset, name: 'appended' };
    expect(await wh.append(appended, ['id', 'name', 'props', 'at'], [[1, 'one', '{"a":1}', new Date()]])).toBe(1);
    expect(await wh.append(appended, ['id', 'name', 'props', 'at'], [[2, 'two', null, null], [3, 'three', '{"b":[1,2]}', new Date()]])).toBe(2);
    expect(await queryAll(wh, `select id, props from ${q('appended')} order by id`)).toEqual([
      { id: 1, props: { a: 1 } },
      { id: 2, props: null },
      { id: 3, props: { b: [1, 2] } },
    ]);
    await expect(wh.execute('selec 1')).rejects.toThrow(/Syntax error/);
  }, 300_000);

  it('builds the demo project: seeds, models, identity, segments', async () => {
    const { Workspace } = await import('../../src/workspace/workspace');
    const { ModelEngine } = await import('../../src/models/model-engine');
    project = TempProject.demo();
    const yamlPath = join(project.dir, 'cdp.yaml');
    const config = parseYaml(readFileSync(yamlPath, 'utf8')) as Record<string, unknown>;
    config.warehouse = { type: 'bigquery', project: LIVE_PROJECT, dataset, location, ...(keyFile ? { key_file: keyFile } : {}) };
    config.ingest = { schema: ingest };
    writeFileSync(yamlPath, stringifyYaml(config));
    const ws = await Workspace.open(project.config());
    try {
      const result = await new ModelEngine(ws).build();
      // every node built, every data test passed (the failures with their errors, if not)
      expect(result.results.filter((r) => r.status === 'error' || r.status === 'fail').map((r) => `${r.node}: ${r.error ?? r.summary ?? r.status}`)).toEqual([]);
      expect(result.results.filter((r) => r.kind !== 'test').map((r) => r.node)).toEqual(expect.arrayContaining([...DEMO_ORDER]));
      expect(result.results.filter((r) => r.kind === 'test')).toHaveLength(DEMO_TEST_COUNT);
      expect(result.status).toBe('success');
      const profiles = await queryValue(ws.warehouse, `select count(*) from ${ws.warehouse.dialect.relation({ database: LIVE_PROJECT, schema: ingest, name: 'profiles' })}`);
      expect(Number(profiles)).toBeGreaterThan(0);
    } finally {
      await ws.close();
    }
  }, 1_800_000);
});
