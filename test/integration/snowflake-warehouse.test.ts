import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { warehouseSchema } from '../../src/config/config.schema';
import { SnowflakeWarehouse, type SnowflakeOptions } from '../../src/warehouse/snowflake/snowflake.warehouse';
import { WarehouseError } from '../../src/warehouse/warehouse-error';
import { openWarehouse } from '../../src/warehouse/warehouse.factory';
import { queryAll, queryValue, type Relation, type Warehouse } from '../../src/warehouse/warehouse';
import { SnowflakeStandin, type StandinAnswer, type StandinColumn } from '../support/snowflake-standin';
import { TempProject } from '../support/temp-project';
import { apiClient, startApp } from '../support/test-app';

/**
 * The Snowflake adapter through the official driver (snowflake-sdk), against a local stand-in of
 * Snowflake's REST protocol (test/support/snowflake-standin.ts): what the driver sends (logins,
 * SQL, bound values with their types), result chunks, typing, errors, the stage + COPY INTO load.
 * No request leaves the machine: the driver talks to the stand-in (accessUrl). A live block at the
 * end builds the demo project on a real account when CDP_TEST_SNOWFLAKE_ACCOUNT is set.
 */

const ACCOUNT = 'TEST_ACCOUNT';
const DB = 'ANALYTICS_DB';
const SCHEMA = 'ANALYTICS';
const rel = (name: string): Relation => ({ database: DB, schema: 'analytics', name });

/** The describe query's answer: Snowflake's information_schema rows for a relation. */
function describeAnswer(columns: [string, string, 'YES' | 'NO'][], kind = 'BASE TABLE'): StandinAnswer {
  const text = (name: string): StandinColumn => ({ name, type: 'text' });
  return { columns: [text('COLUMN_NAME'), text('DATA_TYPE'), text('IS_NULLABLE'), text('TABLE_TYPE')], rows: columns.map((c) => [...c, kind]) };
}

/** Answers describe for one table (the query binds schema and name as Snowflake stores them). */
function onDescribe(sf: SnowflakeStandin, table: string, answer: StandinAnswer): void {
  sf.on((s) => /information_schema\.columns/i.test(s.sql) && s.binds[1] === table, answer);
}

const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms).unref())]);

describe('Snowflake warehouse (snowflake-sdk against a stand-in)', () => {
  let sf: SnowflakeStandin;
  let wh: SnowflakeWarehouse;
  const opened: Warehouse[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'cdp-sf-'));

  const open = async (options: Partial<SnowflakeOptions> = {}): Promise<SnowflakeWarehouse> => {
    const w = await SnowflakeWarehouse.open({
      account: 'test_account',
      user: 'cdp',
      password: 'secret',
      database: DB,
      schema: SCHEMA,
      warehouse: 'CDP_WH',
      role: 'CDP_ROLE',
      accessUrl: sf.url,
      ...options,
    });
    opened.push(w);
    return w;
  };

  beforeAll(async () => {
    sf = await SnowflakeStandin.start({ account: ACCOUNT, users: { CDP: { password: 'secret' } } });
    wh = await open();
  });

  beforeEach(() => {
    sf.reset();
  });

  afterAll(async () => {
    await Promise.all(opened.map((w) => w.close()));
    await sf?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('sessions and authentication', () => {
    it('logs in with the account, user, password, warehouse, role, database and schema; sessions run in UTC; close ends them', async () => {
      const w = await open();
      expect(await queryValue(w, 'select 1')).toBe(1);
      expect(sf.logins).toHaveLength(1);
      expect(sf.logins[0]).toMatchObject({
        ok: true,
        query: { warehouse: 'CDP_WH', roleName: 'CDP_ROLE', databaseName: DB, schemaName: SCHEMA },
        data: { ACCOUNT_NAME: 'test_account', LOGIN_NAME: 'cdp', PASSWORD: 'secret' },
      });
      const session = sf.statements[0].session;
      expect(sf.sql()).toEqual(["alter session set timezone = 'UTC'", 'select 1']);
      // a second call reuses the session
      await w.ping();
      expect(sf.logins).toHaveLength(1);
      expect(sf.statements.at(-1)?.session.id).toBe(session.id);

      await w.close();
      expect(session.closed).toBe(true);
      expect(sf.requests.some((r) => r.path === '/session' && r.query.delete === 'true')).toBe(true);
      await expect(w.ping()).rejects.toThrow(/closed/);
      // every request of the driver went to the stand-in; the driver's cloud-platform probes are off
      expect(process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION).toBe('true');
    });

    it('key-pair auth: the driver signs a JWT with the (encrypted) key of private_key_path, which the stand-in checks against the public key', async () => {
      const pair = () =>
        generateKeyPairSync('rsa', {
          modulusLength: 2048,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'key pass' },
        });
      const good = pair();
      const other = pair();
      writeFileSync(join(tmp, 'good.p8'), good.privateKey);
      writeFileSync(join(tmp, 'other.p8'), other.privateKey);
      const keySf = await SnowflakeStandin.start({ account: ACCOUNT, users: { KEYUSER: { publicKey: good.publicKey } } });
      try {
        const base = { account: 'test_account', user: 'keyuser', database: DB, schema: SCHEMA, accessUrl: keySf.url, privateKeyPassphrase: 'key pass' };
        const w = await SnowflakeWarehouse.open({ ...base, privateKeyPath: join(tmp, 'good.p8') });
        try {
          await w.ping();
        } finally {
          await w.close();
        }
        expect(keySf.logins[0]).toMatchObject({ ok: true, data: { AUTHENTICATOR: 'SNOWFLAKE_JWT', LOGIN_NAME: 'keyuser' } });
        expect(keySf.logins[0].data).not.toHaveProperty('PASSWORD', expect.anything());
        expect(typeof keySf.logins[0].data.TOKEN).toBe('string');

        const wrong = await SnowflakeWarehouse.open({ ...base, privateKeyPath: join(tmp, 'other.p8') });
        try {
          const failure = wrong.ping();
          await expect(failure).rejects.toThrow(WarehouseError);
          await expect(failure).rejects.toThrow(/key-pair login of user keyuser.*JWT token is invalid.*390144.*RSA_PUBLIC_KEY/s);
        } finally {
          await wrong.close();
        }
      } finally {
        await keySf.close();
      }
    });

    it('an expired session token (390112) is renewed by the driver with the master token, and the statement goes through', async () => {
      await wh.ping();
      const logins = sf.logins.length;
      sf.on(/from renewed/, { columns: [{ name: 'X', type: 'fixed' }], rows: [[1]] });
      sf.on(/from renewed/, { error: { code: '390112', sqlState: '08001', message: 'Your session has expired. Please login again.' } }, { times: 1 });
      expect(await queryAll(wh, 'select x from renewed')).toEqual([{ x: 1 }]);
      expect(sf.requests.filter((r) => r.path === '/session/token-request')).toHaveLength(1);
      // no new login
      expect(sf.logins).toHaveLength(logins);
    });

    it('a wrong password is a WarehouseError that names the user and the keys to check (390100)', async () => {
      const w = await open({ password: 'wrong' });
      const failure = w.ping();
      await expect(failure).rejects.toThrow(WarehouseError);
      await expect(failure).rejects.toThrow('Snowflake rejected the login of user cdp to account test_account: Incorrect username or password was specified. (390100). Check warehouse.user and warehouse.password.');
      expect(sf.logins.map((l) => l.ok)).toEqual([false]);
    });

    it('without a password or a private key, opening is a clear error', async () => {
      await expect(SnowflakeWarehouse.open({ account: 'a', user: 'u', database: DB, schema: SCHEMA })).rejects.toThrow('give password, or private_key_path');
    });

    it('config: the snowflake keys (access_url, private_key_passphrase, pool, stage_min_rows) reach the adapter through openWarehouse', async () => {
      const config = warehouseSchema.parse({
        type: 'snowflake',
        account: 'test_account',
        user: 'cdp',
        password: 'secret',
        database: DB,
        warehouse: 'CDP_WH',
        access_url: sf.url,
        pool: { max: 2 },
        stage_min_rows: 10,
      });
      const w = await openWarehouse(config);
      opened.push(w);
      expect(w.type).toBe('snowflake');
      expect(await queryValue(w, 'select 1')).toBe(1);
      expect(sf.logins[0].query).toMatchObject({ databaseName: DB, schemaName: 'ANALYTICS', warehouse: 'CDP_WH' });
      expect(() => warehouseSchema.parse({ type: 'snowflake', account: 'a', user: 'u', database: DB, access_url: 'not a url' })).toThrow();
    });
  });

  describe('statements and results', () => {
    it('binds ? values with the driver\'s types; SQL without values reaches Snowflake as written', async () => {
      sf.on(/what\?/, { columns: [{ name: 'Q', type: 'text' }], rows: [['what?']] });
      expect(await queryAll(wh, `select 'what?' as q -- really?\n`)).toEqual([{ q: 'what?' }]);
      expect(sf.statements.find((x) => x.sql.includes('what?'))).toMatchObject({ sql: `select 'what?' as q -- really?\n`, binds: [], bindTypes: [] });

      sf.on(/where/, { dml: 'update', count: 2 });
      const at = new Date(Date.UTC(2024, 0, 31, 23, 59, 59, 123));
      await wh.execute('update t set a = ? where b = ? and c = ? and d = ? and e = ? and f = ? and g = ?', [1, 1.5, "O'Brien", true, null, at, 12345678901234567890n]);
      const s = sf.statements.at(-1)!;
      expect(s.binds).toEqual(['1', '1.5', "O'Brien", 'true', null, '2024-01-31 23:59:59.123', '12345678901234567890']);
      expect(s.bindTypes).toEqual(['FIXED', 'REAL', 'TEXT', 'BOOLEAN', 'TEXT', 'TEXT', 'TEXT']);
    });

    it('result typing: integers as numbers when safe (strings beyond), decimals and floats as numbers, timestamps and dates as Dates, VARIANT as JSON, names unfolded', async () => {
      const at = new Date(Date.UTC(2010, 11, 1, 8, 26, 0, 250));
      sf.on(/from typed/, {
        columns: [
          { name: 'ID', type: 'fixed' },
          { name: 'BIG', type: 'fixed' },
          { name: 'AMOUNT', type: 'fixed', precision: 18, scale: 4 },
          { name: 'RATIO', type: 'real' },
          { name: 'OK', type: 'boolean' },
          { name: 'AT', type: 'timestamp_ntz' },
          { name: 'DAY', type: 'date' },
          { name: 'PROPS', type: 'variant' },
          { name: 'firstName', type: 'text' },
          { name: 'NOTHING', type: 'text' },
        ],
        rows: [[42, '9007199254740993', '12.3400', 0.25, true, at, '2010-12-01', { city: 'Paris', n: [1, 2] }, 'Jane', null]],
      });
      const [row] = await queryAll(wh, 'select * from typed');
      expect(row).toEqual({
        id: 42,
        big: '9007199254740993',
        amount: 12.34,
        ratio: 0.25,
        ok: true,
        at,
        day: new Date(Date.UTC(2010, 11, 1)),
        props: { city: 'Paris', n: [1, 2] },
        firstName: 'Jane',
        nothing: null,
      });
      // plain Dates (the driver's carry extra methods)
      expect(Object.getPrototypeOf(row.at)).toBe(Date.prototype);
      expect(Object.keys(row.at as object)).toEqual([]);
    });

    it('a result of several chunks streams every row: the driver fetches the chunks (gzip, SSE-C key) as rows are read', async () => {
      const n = 50_000;
      sf.on(/from big/, { columns: [{ name: 'N', type: 'fixed' }], rows: { count: n, row: (i) => [i + 1] }, chunkRows: 5000 });
      let count = 0;
      let sum = 0;
      for await (const row of wh.query('select n from big')) {
        count++;
        sum += row.n as number;
      }
      expect(count).toBe(n);
      expect(sum).toBe((n * (n + 1)) / 2);
      // 5000 rows inline, then 9 chunks
      expect(sf.chunkFetches).toHaveLength(9);
    });

    it('stopping early fetches no further chunks and gives the session back', async () => {
      const single = await open({ poolMax: 1 });
      sf.on(/from huge/, { columns: [{ name: 'N', type: 'fixed' }], rows: { count: 1_000_000, row: (i) => [i + 1] }, chunkRows: 1000 });
      for (let round = 0; round < 3; round++) {
        const seen: number[] = [];
        for await (const row of single.query('select n from huge')) {
          seen.push(row.n as number);
          if (seen.length === 5) break;
        }
        expect(seen).toEqual([1, 2, 3, 4, 5]);
      }
      await new Promise((r) => setTimeout(r, 200));
      // the driver prefetches a couple of chunks; nowhere near the 999 of the result
      expect(sf.chunkFetches.length).toBeLessThan(3 * 4);
      // with one session, a session that was not given back would make this wait forever
      expect(await within(10_000, 'a query after breaking early', queryValue(single, 'select 1'))).toBe(1);

      await expect(
        (async () => {
          for await (const _ of single.query('select n from huge')) throw new Error('consumer failed');
        })(),
      ).rejects.toThrow('consumer failed');
      expect(await within(10_000, 'a query after the consumer threw', queryValue(single, 'select 1'))).toBe(1);
    });

    it('a long query ("in progress", 333334) is polled by the driver until its result is ready', async () => {
      sf.on(/from slow/, { columns: [{ name: 'X', type: 'fixed' }], rows: [[7]], pending: 3 });
      expect(await queryAll(wh, 'select x from slow')).toEqual([{ x: 7 }]);
      const polls = sf.requests.filter((r) => r.method === 'GET' && /^\/queries\/[^/]+\/result$/.test(r.path));
      expect(polls).toHaveLength(3);
    });

    it('execute returns the rows a DML statement changed (MERGE: inserted + updated), nothing for DDL', async () => {
      sf.on(/^insert/, { dml: 'insert', count: 2 });
      sf.on(/^update/, { dml: 'update', count: 3 });
      sf.on(/^delete/, { dml: 'delete', count: 4 });
      sf.on(/^merge/, { dml: 'merge', count: [2, 1] });
      expect(await wh.execute('insert into t values (1), (2)')).toBe(2);
      expect(await wh.execute('update t set a = 1')).toBe(3);
      expect(await wh.execute('delete from t')).toBe(4);
      expect(await wh.execute('merge into t using s on t.id = s.id when matched then update set a = s.a')).toBe(3);
      expect(await wh.execute('create table t2 (a int)')).toBeUndefined();
    });

    it('describe: columns in order with the names the engine wrote and NUMBER(p,s) types, the kind; null when missing', async () => {
      onDescribe(sf, 'EVENTS', describeAnswer([
        ['ID', 'NUMBER(38,0)', 'NO'],
        ['firstName', 'TEXT', 'YES'],
        ['PROPS', 'VARIANT', 'YES'],
      ]));
      onDescribe(sf, 'EVENTS_V', describeAnswer([['ID', 'NUMBER(38,0)', 'YES']], 'VIEW'));
      onDescribe(sf, 'MISSING', { columns: [{ name: 'COLUMN_NAME', type: 'text' }], rows: [] });
      expect(await wh.describe(rel('events'))).toEqual({
        kind: 'table',
        columns: [
          { name: 'id', type: 'NUMBER(38,0)', nullable: false },
          { name: 'firstName', type: 'TEXT', nullable: true },
          { name: 'props', type: 'VARIANT', nullable: true },
        ],
      });
      expect(wh.dialect.logicalType('NUMBER(38,0)')).toBe('bigint');
      expect((await wh.describe(rel('events_v')))?.kind).toBe('view');
      expect(await wh.describe(rel('missing'))).toBeNull();
      const s = sf.statements.find((x) => x.binds[1] === 'EVENTS')!;
      expect(s.binds).toEqual(['ANALYTICS', 'EVENTS']);
      expect(s.sql).toMatch(/case when c\.data_type = 'NUMBER' then 'NUMBER\(' \|\| c\.numeric_precision/);
    });

    it('ping runs select 1', async () => {
      await wh.ping();
      expect(sf.sql()).toContain('select 1');
    });
  });

  describe('errors', () => {
    it('bad SQL is a WarehouseError with Snowflake\'s message, code and SQL state, from execute and from query; the session stays usable', async () => {
      const message = "SQL compilation error:\nObject 'ANALYTICS_DB.ANALYTICS.NO_SUCH_TABLE' does not exist or not authorized.";
      sf.on(/no_such_table/, { error: { code: '002003', sqlState: '42S02', message } });
      for (const run of [() => wh.execute('select * from no_such_table'), () => queryAll(wh, 'select * from no_such_table')]) {
        const failure = run();
        await expect(failure).rejects.toThrow(WarehouseError);
        await expect(failure).rejects.toThrow(`${message} (Snowflake 002003, SQL state 42S02)`);
      }
      expect(await queryValue(wh, 'select 1')).toBe(1);
    });

    it('throttling: an HTTP 429 is retried by the driver and the query goes through', async () => {
      sf.on(/from throttled/, { columns: [{ name: 'X', type: 'fixed' }], rows: [[1]] });
      sf.on(/from throttled/, { http: 429 }, { times: 1 });
      expect(await queryAll(wh, 'select x from throttled')).toEqual([{ x: 1 }]);
      const attempts = sf.requests.filter((r) => r.path === '/queries/v1/query-request');
      expect(attempts).toHaveLength(2);
      // the retry says it is one, with the same request id
      expect(attempts[1].query).toMatchObject({ requestId: attempts[0].query.requestId, retryCount: '1' });
    });

    it('throttling beyond the driver\'s retries (a login answered 429) is WAREHOUSE_BUSY', async () => {
      sf.failLogins({ http: 429 }, 3);
      const w = await open({ driverOptions: { sfRetryMaxLoginRetries: 1 } });
      const failure = w.ping();
      await expect(failure).rejects.toMatchObject({ code: 'WAREHOUSE_BUSY' });
      await expect(failure).rejects.toThrow(/throttling requests \(HTTP 429 Too Many Requests\)/);
      expect(sf.logins).toHaveLength(2);
    });

    it('a resource monitor over its credit quota (090073) is WAREHOUSE_BUSY and says what to do', async () => {
      sf.on(/from expensive/, { error: { code: '090073', sqlState: '22000', message: "Warehouse 'CDP_WH' cannot be resumed because resource monitor 'CDP_MONITOR' has exceeded its quota." } });
      const failure = queryAll(wh, 'select * from expensive');
      await expect(failure).rejects.toMatchObject({ code: 'WAREHOUSE_BUSY' });
      await expect(failure).rejects.toThrow(/has exceeded its quota\. \(090073\)\. The warehouse's resource monitor has used its credit quota/);
    });

    it('an unreachable account is a WarehouseError naming the URL', async () => {
      const closed = await SnowflakeStandin.start();
      const url = closed.url;
      await closed.close();
      const w = await open({ accessUrl: url, driverOptions: { sfRetryMaxLoginRetries: 0 } });
      await expect(w.ping()).rejects.toThrow(`cannot reach Snowflake at ${url}`);
    });
  });

  describe('transactions and materializations', () => {
    it('transaction: BEGIN, the statements and COMMIT on one session, with each statement\'s count; a new transaction after DDL', async () => {
      sf.on(/^insert/, { dml: 'insert', count: 2 });
      sf.on(/^update/, { dml: 'update', count: 1 });
      expect(await wh.transaction(['insert into l values (1, 10), (2, 20)', 'create table x (a int)', 'update l set a = 1 where id = 2'])).toEqual([2, undefined, 1]);
      expect(sf.sql()).toEqual(['begin', 'insert into l values (1, 10), (2, 20)', 'create table x (a int)', 'begin', 'update l set a = 1 where id = 2', 'commit']);
      expect(new Set(sf.statements.map((s) => s.session.id)).size).toBe(1);
    });

    it('transaction: an error rolls back on the same session and is a WarehouseError', async () => {
      sf.on(/^insert/, { dml: 'insert', count: 1 });
      sf.on(/no_such_table/, { error: { code: '002003', sqlState: '42S02', message: "SQL compilation error:\nTable 'NO_SUCH_TABLE' does not exist or not authorized." } });
      await expect(wh.transaction(['insert into l values (3, 30)', 'insert into no_such_table values (1)'])).rejects.toThrow(WarehouseError);
      expect(sf.sql()).toEqual(['begin', 'insert into l values (3, 30)', 'insert into no_such_table values (1)', 'rollback']);
      expect(new Set(sf.statements.map((s) => s.session.id)).size).toBe(1);
    });

    it('replaceTable and createView run the dialect\'s statements (create or replace) in a transaction', async () => {
      await wh.replaceTable(rel('replaced'), 'select 1 as a');
      await wh.createView(rel('big'), 'select a from replaced');
      expect(sf.sql()).toEqual([
        'begin',
        'create or replace table "ANALYTICS_DB"."ANALYTICS"."REPLACED" as select 1 as a',
        'begin',
        'commit',
        'begin',
        'create or replace view "ANALYTICS_DB"."ANALYTICS"."BIG" as select a from replaced',
        'begin',
        'commit',
      ]);
    });

    it('merge: one MERGE INTO with the described columns; returns the rows inserted and updated', async () => {
      onDescribe(sf, 'MERGED', describeAnswer([
        ['ID', 'NUMBER(38,0)', 'YES'],
        ['LABEL', 'TEXT', 'YES'],
      ]));
      onDescribe(sf, 'MISSING', { columns: [{ name: 'COLUMN_NAME', type: 'text' }], rows: [] });
      sf.on(/^merge/, { dml: 'merge', count: [2, 1] });
      expect(await wh.merge(rel('merged'), `select 2 as id, 'TWO' as label`, ['id'])).toBe(3);
      expect(sf.sql(/^merge/)).toEqual([
        `merge into "ANALYTICS_DB"."ANALYTICS"."MERGED" t using ( select 2 as id, 'TWO' as label ) s on t."ID" = s."ID" when matched then update set "LABEL" = s."LABEL" when not matched then insert ("ID", "LABEL") values (s."ID", s."LABEL")`,
      ]);
      await expect(wh.merge(rel('missing'), 'select 1 as id', ['id'])).rejects.toThrow(/does not exist/);
    });
  });

  describe('append', () => {
    const eventsColumns: [string, string, 'YES' | 'NO'][] = [
      ['ID', 'NUMBER(38,0)', 'YES'],
      ['NAME', 'TEXT', 'YES'],
      ['ACTIVE', 'BOOLEAN', 'YES'],
      ['AT', 'TIMESTAMP_NTZ', 'YES'],
      ['PROPS', 'VARIANT', 'YES'],
    ];
    const cols = ['id', 'name', 'active', 'at', 'props'];
    const at = new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 5));

    beforeEach(() => {
      onDescribe(sf, 'EVENTS', describeAnswer(eventsColumns));
    });

    it('a small input: one bound INSERT ... SELECT, VARIANT columns through PARSE_JSON, every value as text', async () => {
      const rows = [
        [1, "O'Brien", true, at, '{"plan":"pro"}'],
        [2, '', false, null, { nested: [1, 2] }],
        [3n, null, null, '2024-05-01T12:00:00Z', null],
      ];
      expect(await wh.append(rel('events'), cols, rows)).toBe(3);
      const insert = sf.statements.find((s) => /^insert/.test(s.sql))!;
      expect(insert.sql).toBe(
        'insert into "ANALYTICS_DB"."ANALYTICS"."EVENTS" ("ID", "NAME", "ACTIVE", "AT", "PROPS")\nselect column1, column2, column3, column4, parse_json(column5) from values (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)',
      );
      expect(insert.binds).toEqual([
        '1', "O'Brien", 'true', '2024-05-01 12:00:00.005', '{"plan":"pro"}',
        '2', '', 'false', null, '{"nested":[1,2]}',
        '3', null, null, '2024-05-01T12:00:00Z', null,
      ]);
      expect(new Set(insert.bindTypes)).toEqual(new Set(['TEXT']));
      // no stage for a small input
      expect(sf.sql(/stage|^put|^copy/)).toEqual([]);
    });

    it('a small input of more than 10,000 values: several INSERTs in one transaction, rolled back if one fails', async () => {
      const w = await open({ stageMinRows: 5000 });
      const rows = Array.from({ length: 2500 }, (_, i) => [i, `n${i}`, true, at, null]);
      expect(await w.append(rel('events'), cols, rows)).toBe(2500);
      expect(sf.sql().filter((x) => !/information_schema|^alter session/.test(x)).map((x) => x.slice(0, 12))).toEqual(['begin', 'insert into ', 'insert into ', 'commit']);
      expect(sf.statements.filter((x) => /^insert/.test(x.sql)).map((x) => x.binds.length)).toEqual([10_000, 2500]);

      sf.reset();
      onDescribe(sf, 'EVENTS', describeAnswer(eventsColumns));
      sf.on(/^insert/, { error: { code: '100038', sqlState: '22018', message: "Numeric value 'x' is not recognized" } });
      sf.on(/^insert/, { dml: 'insert', count: 2000 }, { times: 1 });
      await expect(w.append(rel('events'), cols, rows)).rejects.toThrow(/Numeric value 'x' is not recognized/);
      expect(sf.sql().filter((x) => !/information_schema|^alter session/.test(x)).map((x) => x.slice(0, 12))).toEqual(['begin', 'insert into ', 'insert into ', 'rollback']);
    });

    it('a large input: gzip CSV files PUT to a temporary stage (encrypted upload to its cloud storage), one COPY INTO, the stage dropped', async () => {
      const w = await open({ stageMinRows: 100, stageFileBytes: 50_000 });
      async function* rows() {
        yield [1, 'comma, "quoted"\nnewline', true, at, '{"a":1}'];
        yield [2, '', false, null, null];
        yield [3, 'back\\slash', null, '2024-05-01 00:00:00', { b: 'x' }];
        for (let i = 4; i <= 5000; i++) yield [i, `name ${i}`, i % 2 === 0, at, null];
      }
      expect(await w.append(rel('events'), cols, rows())).toBe(5000);

      const sql = sf.sql();
      const stage = /^create temporary stage ("ANALYTICS_DB"\."ANALYTICS"\."CDP_APPEND_[0-9A-F]{16}")$/.exec(sql.find((s) => s.startsWith('create temporary stage'))!)?.[1];
      expect(stage).toBeDefined();
      const puts = sql.filter((s) => s.startsWith('put '));
      expect(puts.length).toBeGreaterThan(1);
      expect(puts[0]).toBe(`put 'file://part-00001.csv.gz' '@${stage}' auto_compress = false source_compression = gzip overwrite = true`);
      expect(sql.filter((s) => s.startsWith('copy into'))).toEqual([
        `copy into "ANALYTICS_DB"."ANALYTICS"."EVENTS" ("ID", "NAME", "ACTIVE", "AT", "PROPS") from (select $1, $2, $3, $4, parse_json($5) from @${stage}) file_format = (type = csv field_optionally_enclosed_by = '"' empty_field_as_null = true null_if = () escape_unenclosed_field = none compression = gzip) on_error = abort_statement`,
      ]);
      expect(sql.at(-1)).toBe(`drop stage if exists ${stage}`);
      // the stage, PUT and COPY on one session (a temporary stage lives in its session)
      expect(new Set(sf.statements.filter((s) => /stage|^put|^copy/.test(s.sql)).map((s) => s.session.id)).size).toBe(1);

      // what was uploaded: every row once, '' and NULL apart, quotes, commas and newlines intact
      expect(sf.staged.length).toBe(puts.length);
      const [copy] = sf.copies;
      expect(copy.records).toHaveLength(5000);
      expect(copy.records.slice(0, 3)).toEqual([
        ['1', 'comma, "quoted"\nnewline', 'true', '2024-05-01 12:00:00.005', '{"a":1}'],
        ['2', '', 'false', null, null],
        ['3', 'back\\slash', null, '2024-05-01 00:00:00', '{"b":"x"}'],
      ]);
      expect(copy.records.at(-1)).toEqual(['5000', 'name 5000', 'true', '2024-05-01 12:00:00.005', null]);
    });

    it('a failing COPY (a value Snowflake cannot cast) is a WarehouseError; COPY loads all rows or none, and the stage is dropped', async () => {
      const w = await open({ stageMinRows: 0 });
      sf.on(/^copy into/, { error: { code: '100038', sqlState: '22018', message: "Numeric value 'not a number' is not recognized\n  File 'part-00001.csv.gz', line 2, character 1\n  Row 2, column \"EVENTS\"[\"ID\":1]" } });
      const failure = w.append(rel('events'), cols, [[1, 'a', true, at, null], ['not a number', 'b', false, at, null]]);
      await expect(failure).rejects.toThrow(WarehouseError);
      await expect(failure).rejects.toThrow(/Numeric value 'not a number' is not recognized.*\(Snowflake 100038, SQL state 22018\)/s);
      expect(sf.sql(/^create temporary stage/)).toHaveLength(1);
      expect(sf.sql(/^drop stage/)).toHaveLength(1);
    });

    it('a failed upload to the stage (storage token refused, storage unavailable) is a WarehouseError before any COPY', async () => {
      const w = await open({ stageMinRows: 0 });
      for (const status of [401, 503]) {
        sf.reset();
        onDescribe(sf, 'EVENTS', describeAnswer(eventsColumns));
        sf.failUploads(status);
        const failure = w.append(rel('events'), cols, [[1, 'a', true, at, null]]);
        await expect(failure).rejects.toThrow(WarehouseError);
        await expect(failure).rejects.toThrow(/append to "ANALYTICS_DB"\."ANALYTICS"\."EVENTS": the upload of part-00001\.csv\.gz to the stage failed: AxiosError: Request failed with status code (401|503)$/);
        expect(sf.sql(/^copy/)).toEqual([]);
        expect(sf.sql(/^drop stage/)).toHaveLength(1);
      }
    });

    it('a COPY that loads fewer rows than were staged is an error, not a short count', async () => {
      const w = await open({ stageMinRows: 0 });
      sf.on(/^copy into/, { columns: [{ name: 'file', type: 'text' }, { name: 'status', type: 'text' }, { name: 'rows_loaded', type: 'fixed' }], rows: [['part-00001.csv.gz', 'PARTIALLY_LOADED', 1]] });
      await expect(w.append(rel('events'), cols, [[1, 'a', true, at, null], [2, 'b', true, at, null]])).rejects.toThrow(/COPY INTO loaded 1 of the 2 rows staged/);
    });

    it('a row of the wrong width, a source that fails, a missing table and an unknown column are WarehouseErrors; nothing is copied', async () => {
      const w = await open({ stageMinRows: 10 });
      async function* shortRow() {
        for (let i = 1; i < 50; i++) yield [i, 'ok', true, at, null];
        yield [50];
      }
      await expect(w.append(rel('events'), cols, shortRow())).rejects.toThrow('append to "ANALYTICS_DB"."ANALYTICS"."EVENTS": row 50 has 1 values, 5 columns were given');
      async function* broken() {
        for (let i = 1; i < 50; i++) yield [i, 'ok', true, at, null];
        throw new Error('source went away');
      }
      await expect(w.append(rel('events'), cols, broken())).rejects.toThrow('source went away');
      expect(sf.sql(/^copy/)).toEqual([]);
      // every stage created was dropped
      expect(sf.sql(/^drop stage/)).toHaveLength(sf.sql(/^create temporary stage/).length);

      onDescribe(sf, 'NOPE', { columns: [{ name: 'COLUMN_NAME', type: 'text' }], rows: [] });
      await expect(w.append(rel('nope'), ['id'], [[1]])).rejects.toThrow('cannot append to "ANALYTICS_DB"."ANALYTICS"."NOPE": it does not exist');
      await expect(w.append(rel('events'), ['id', 'colour'], [[1, 'red']])).rejects.toThrow('it has no column "colour" (it has id, name, active, at, props)');
    });
  });
});

// ── live: the demo project end to end on a real account ────────────────────────────────────────
const live = {
  account: process.env.CDP_TEST_SNOWFLAKE_ACCOUNT,
  user: process.env.CDP_TEST_SNOWFLAKE_USER,
  password: process.env.CDP_TEST_SNOWFLAKE_PASSWORD,
  privateKeyPath: process.env.CDP_TEST_SNOWFLAKE_PRIVATE_KEY_PATH,
  database: process.env.CDP_TEST_SNOWFLAKE_DATABASE,
  warehouse: process.env.CDP_TEST_SNOWFLAKE_WAREHOUSE,
  role: process.env.CDP_TEST_SNOWFLAKE_ROLE,
};
const liveMissing = !live.account
  ? 'CDP_TEST_SNOWFLAKE_ACCOUNT is not set'
  : !live.user || !live.database || !(live.password || live.privateKeyPath)
    ? 'CDP_TEST_SNOWFLAKE_ACCOUNT is set but CDP_TEST_SNOWFLAKE_USER, CDP_TEST_SNOWFLAKE_DATABASE and CDP_TEST_SNOWFLAKE_PASSWORD (or _PRIVATE_KEY_PATH) are not all set'
    : undefined;
if (liveMissing) console.log(`live Snowflake tests skipped: ${liveMissing}`);

(liveMissing ? describe.skip : describe)('Snowflake live: the demo project end to end', () => {
  const suffix = randomBytes(4).toString('hex').toUpperCase();
  const modelsSchema = `CDP_TEST_${suffix}`;
  const cdpSchema = `CDP_TEST_${suffix}_CDP`;
  let project: TempProject;

  afterAll(async () => {
    const w = await SnowflakeWarehouse.open({ ...(live as SnowflakeOptions), schema: modelsSchema });
    try {
      for (const s of [modelsSchema, cdpSchema]) await w.execute(`drop schema if exists ${w.dialect.quoteIdentifier(live.database!)}.${w.dialect.quoteIdentifier(s)} cascade`);
    } finally {
      await w.close();
    }
    project?.cleanup();
  }, 300_000);

  it('builds the seeds, models, identity and segments, and the profiles are there', async () => {
    project = TempProject.demo();
    const file = join(project.dir, 'cdp.yaml');
    const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    config.warehouse = {
      type: 'snowflake',
      account: live.account,
      user: live.user,
      ...(live.privateKeyPath ? { private_key_path: live.privateKeyPath } : { password: live.password }),
      database: live.database,
      schema: modelsSchema,
      ...(live.warehouse ? { warehouse: live.warehouse } : {}),
      ...(live.role ? { role: live.role } : {}),
    };
    config.ingest = { schema: cdpSchema };
    writeFileSync(file, stringify(config));
    const { app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: 'live-token', CDP_LOG_LEVEL: 'warn' }));
    try {
      const api = apiClient(base, 'live-token');
      const res = await api('POST', '/api/models/build', {});
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('success');
      const w = await SnowflakeWarehouse.open({ ...(live as SnowflakeOptions), schema: modelsSchema });
      try {
        const profiles = Number(await queryValue(w, `select count(*) from ${w.dialect.relation({ database: live.database, schema: cdpSchema, name: 'profiles' })}`));
        expect(profiles).toBeGreaterThan(0);
      } finally {
        await w.close();
      }
    } finally {
      await app.close();
    }
  }, 1_800_000);
});
