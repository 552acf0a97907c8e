/**
 * cdp.yaml loading: defaults, ${ENV} interpolation, CDP_* overrides, and error messages that name
 * the file (path:line:column) or the environment variable, the key, and what was expected.
 */
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config.loader';
import type { CdpConfig } from '../../src/config/config.schema';
import { TempProject } from '../support/temp-project';

const temps: TempProject[] = [];
afterEach(() => temps.splice(0).forEach((t) => t.cleanup()));

/** A temp project whose cdp.yaml is `yaml`. */
function project(yaml: string): TempProject {
  const t = new TempProject({ 'cdp.yaml': yaml });
  temps.push(t);
  return t;
}

function load(yaml: string, env: NodeJS.ProcessEnv = {}): CdpConfig {
  return project(yaml).config(env);
}

/** The ConfigError a load throws (fails the test if it does not throw one). */
function loadError(yaml: string, env: NodeJS.ProcessEnv = {}): { message: string; file: string } {
  const t = project(yaml);
  const file = join(t.dir, 'cdp.yaml');
  try {
    t.config(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('CONFIG_INVALID');
    return { message: (e as Error).message, file };
  }
  throw new Error(`expected a ConfigError for:\n${yaml}`);
}

const DEFAULT_PATHS = { models: 'models', seeds: 'seeds', segments: 'segments', target: 'target' };
const DEFAULT_REALTIME = { enabled: true, debounce_ms: 100, poll_seconds: 5, lookback_seconds: 5 };
const DEFAULT_INGEST = { max_buffered_events: 100_000, flush_concurrency: 2, schema: 'cdp' };

describe('the demo cdp.yaml', () => {
  it('loads with its values and the defaults for what it leaves out', () => {
    const demo = TempProject.demo();
    temps.push(demo);
    const config = demo.config({});
    expect(config).toEqual({
      name: 'retail_demo',
      warehouse: { type: 'duckdb', path: join(demo.dir, '.cdp/warehouse.duckdb'), schema: 'analytics', checkpoint_threshold: '1GB' },
      control_store: { url: 'sqlite://.cdp/control.sqlite' },
      server: { port: 3000, host: '0.0.0.0' },
      log_level: 'info',
      paths: DEFAULT_PATHS,
      // as_of is one value for the models (vars) and for identity (a YAML anchor)
      vars: { lapsed_after_days: 14, as_of: '2010-12-24', churn_risk_medium_after_days: 7, churn_risk_high_after_days: 14 },
      sources: [],
      ingest: DEFAULT_INGEST,
      realtime: DEFAULT_REALTIME,
      identity: expect.objectContaining({ as_of: '2010-12-24' }),
      projectDir: resolve(demo.dir),
      configFile: join(resolve(demo.dir), 'cdp.yaml'),
      adminToken: undefined,
    });
  });

  it('has an identity section: the retail orders and the web events stitched by four identifier types', () => {
    const demo = TempProject.demo();
    temps.push(demo);
    const identity = demo.config({}).identity!;
    expect(identity.identifiers.map((i) => [i.type, i.limit])).toEqual([
      ['user_id', 1],
      ['email', 5],
      ['phone', 3],
      ['anonymous_id', 100],
    ]);
    expect(identity.identifiers.find((i) => i.type === 'user_id')!.from).toEqual(['events.user_id', 'stg_web_events.user_id', 'stg_orders.customer_id', 'stg_customers.customer_id']);
    expect(identity.identifiers.find((i) => i.type === 'phone')!.default_country).toBe('GB');
    expect(identity.ignore).toEqual(expect.arrayContaining(['unknown', 'null', 'undefined', 'n/a', 'test@example.com', { pattern: '^0+$' }]));
    expect(identity.priority).toEqual(['user_id', 'email', 'phone', 'anonymous_id']);
    expect(identity.sources).toEqual({ stg_web_events: { time: 'occurred_at' }, stg_orders: { time: 'ordered_at' } });
    expect(identity.traits.map((t) => t.name)).toEqual(['customer_id', 'email', 'phone', 'first_name', 'last_name', 'country']);
    expect(identity.computed_traits.map((t) => t.name)).toEqual([
      'orders',
      'orders_90d',
      'lifetime_value',
      'first_order_at',
      'last_order_at',
      'last_seen_at',
      'page_views_30d',
      'last_product_viewed',
    ]);
    expect(identity.computed_traits.find((t) => t.name === 'orders')).toMatchObject({ from: 'stg_orders', function: 'count', where: { is_cancellation: false } });
  });
});

describe('defaults', () => {
  it('an empty cdp.yaml is every default', () => {
    const t = project('');
    const config = t.config({});
    expect(config).toMatchObject({
      name: 'cdp',
      warehouse: { type: 'duckdb', path: join(t.dir, '.cdp/warehouse.duckdb'), schema: 'analytics', checkpoint_threshold: '1GB' },
      control_store: { url: 'sqlite://.cdp/control.sqlite' },
      server: { port: 3000, host: '0.0.0.0' },
      log_level: 'info',
      paths: DEFAULT_PATHS,
      vars: {},
      sources: [],
      ingest: DEFAULT_INGEST,
      realtime: DEFAULT_REALTIME,
    });
  });

  it('a file of comments only is every default', () => {
    expect(load('# nothing here yet\n').warehouse.type).toBe('duckdb');
  });

  it('keys left out of a block get their defaults', () => {
    const config = load('server:\n  host: 127.0.0.1\npaths:\n  models: sql/models\n');
    expect(config.server).toEqual({ port: 3000, host: '127.0.0.1' });
    expect(config.paths).toEqual({ ...DEFAULT_PATHS, models: 'sql/models' });
  });

  it.each([
    ['duckdb', 'warehouse: {type: duckdb}', { type: 'duckdb', schema: 'analytics' }],
    ['postgres', 'warehouse: {type: postgres, url: "postgres://u@h/db"}', { type: 'postgres', url: 'postgres://u@h/db', schema: 'analytics' }],
    ['postgres pool', 'warehouse: {type: postgres, url: "postgres://u@h/db", pool: {}}', { type: 'postgres', pool: { min: 0, max: 10 } }],
    ['bigquery', 'warehouse: {type: bigquery, project: demo-project}', { type: 'bigquery', project: 'demo-project', dataset: 'analytics', location: 'US' }],
    ['snowflake', 'warehouse: {type: snowflake, account: demo, user: demo, database: DEMO}', { type: 'snowflake', database: 'DEMO', schema: 'ANALYTICS' }],
  ])('%s warehouse defaults', (_name, yaml, expected) => {
    expect(load(yaml).warehouse).toMatchObject(expected);
  });

  it('a relative duckdb path resolves in the project folder; absolute and :memory: are kept', () => {
    const t = project('warehouse: {type: duckdb, path: data/w.duckdb}');
    expect(t.config({}).warehouse).toMatchObject({ path: join(t.dir, 'data/w.duckdb') });
    expect(load('warehouse: {type: duckdb, path: /var/lib/cdp/w.duckdb}').warehouse).toMatchObject({ path: '/var/lib/cdp/w.duckdb' });
    expect(load('warehouse: {type: duckdb, path: ":memory:"}').warehouse).toMatchObject({ path: ':memory:' });
  });

  it('vars keep their YAML types', () => {
    expect(load('vars: {days: 14, country: "\'UK\'", on: true, none: null, list: [1, 2], map: {a: b}}').vars).toEqual({
      days: 14,
      country: "'UK'",
      on: true,
      none: null,
      list: [1, 2],
      map: { a: 'b' },
    });
  });
});

describe('sources and ingest', () => {
  it('sources: each has a name and the environment variable holding its write key', () => {
    const config = load('sources:\n  - name: web\n    write_key_env: WEB_WRITE_KEY\n  - {name: ios.app-2, write_key_env: _IOS_KEY2}\n');
    expect(config.sources).toEqual([
      { name: 'web', write_key_env: 'WEB_WRITE_KEY' },
      { name: 'ios.app-2', write_key_env: '_IOS_KEY2' },
    ]);
    // the key itself is not read at load time: an unset variable is not a config error
    expect(config.ingest).toEqual(DEFAULT_INGEST);
  });

  it('realtime: keys left out get their defaults; bad values name the key', () => {
    expect(load('realtime: { debounce_ms: 20 }\n').realtime).toEqual({ ...DEFAULT_REALTIME, debounce_ms: 20 });
    expect(load('realtime: { enabled: false }\n').realtime).toEqual({ ...DEFAULT_REALTIME, enabled: false });
    expect(loadError('realtime:\n  poll_seconds: 0\n').message).toMatch(/realtime\.poll_seconds/);
  });

  it('ingest: keys left out get their defaults', () => {
    expect(load('ingest:\n  max_buffered_events: 5000\n').ingest).toEqual({ max_buffered_events: 5000, flush_concurrency: 2, schema: 'cdp' });
    expect(load('ingest: {schema: events}\n').ingest).toEqual({ max_buffered_events: 100_000, flush_concurrency: 2, schema: 'events' });
    expect(load('ingest: {}\n').ingest).toEqual(DEFAULT_INGEST);
  });

  it('an unknown key inside a source names sources[0].<key> and its position', () => {
    const { message, file } = loadError('sources:\n  - name: web\n    write_key_env: WEB_WRITE_KEY\n    write_key: abc\n');
    expect(message).toMatch(new RegExp(`^${escape(file)}:4:5: sources\\[0\\]\\.write_key: unknown key \\(allowed here: `));
  });

  // BUG in src/config/config.loader.ts allowedKeys(): it stops at an array index, so inside a list
  // item the allowed keys come out empty ("allowed here: )"). Flip to `it` once that is fixed.
  it('an unknown key inside a source lists the keys a source takes', () => {
    const { message, file } = loadError('sources:\n  - name: web\n    write_key_env: WEB_WRITE_KEY\n    write_key: abc\n');
    expect(message).toBe(`${file}:4:5: sources[0].write_key: unknown key (allowed here: name, write_key_env)`);
  });

  it.each([['web-key'], ['9KEY'], ['WEB KEY']])('a bad write_key_env (%s) is an error naming the key and the value', (value) => {
    const { message, file } = loadError(`sources:\n  - name: web\n    write_key_env: "${value}"\n`);
    expect(message).toBe(`${file}:3:20: sources[0].write_key_env: expected an environment variable name (got "${value}")`);
  });

  it('a source without write_key_env points at the source', () => {
    const { message, file } = loadError('sources:\n  - name: web\n');
    expect(message).toBe(`${file}:2:5: sources[0].write_key_env: required key is missing (expected string)`);
  });

  it('a bad source name says what form', () => {
    const { message, file } = loadError('sources:\n  - {name: web, write_key_env: K}\n  - {name: "my web", write_key_env: K2}\n');
    expect(message).toBe(`${file}:3:12: sources[1].name: expected a name of letters, digits, _ . - (got "my web")`);
  });

  it('ingest: an unknown key lists the allowed keys', () => {
    const { message, file } = loadError('ingest:\n  buffer: 10\n');
    expect(message).toBe(`${file}:2:3: ingest.buffer: unknown key (allowed here: max_buffered_events, flush_concurrency, schema)`);
  });

  it('ingest: max_buffered_events is a positive integer', () => {
    const zero = loadError('ingest:\n  max_buffered_events: 0\n');
    expect(zero.message).toMatch(new RegExp(`^${escape(zero.file)}:2:24: ingest\\.max_buffered_events: .*>0.* \\(got 0\\)$`));
    const fraction = loadError('ingest:\n  max_buffered_events: 1.5\n');
    expect(fraction.message).toMatch(new RegExp(`^${escape(fraction.file)}:2:24: ingest\\.max_buffered_events: .*int.* \\(got 1\\.5\\)$`));
  });

  it('identity: a bad ignore pattern, a duplicate type and a limit of 0 name their keys at load time', () => {
    const head = 'identity:\n  identifiers:\n    - { type: email, from: [events.traits.email], limit: 5 }\n';
    const pattern = loadError(`${head}  ignore: [ "x", { pattern: "(" } ]\n`);
    expect(pattern.message).toMatch(new RegExp(`^${escape(pattern.file)}:4:29: identity\\.ignore\\[1\\]\\.pattern: not a valid regular expression: .*Unterminated group`));
    const twice = loadError(`${head}    - { type: email, from: [stg.email] }\n`);
    expect(twice.message).toMatch(/identity\.identifiers\[1\]\.type: identifier type "email" is declared twice/);
    const zero = loadError('identity:\n  identifiers:\n    - { type: email, from: [events.traits.email], limit: 0 }\n');
    expect(zero.message).toMatch(/identity\.identifiers\[0\]\.limit: .*\(got 0\)/);
  });

  it('ingest: a bad schema name', () => {
    const { message, file } = loadError('ingest:\n  schema: "raw-events"\n');
    expect(message).toBe(`${file}:2:11: ingest.schema: expected a plain SQL identifier (letters, digits, _) (got "raw-events")`);
  });
});

describe('environment overrides', () => {
  const yaml = 'name: x\nwarehouse:\n  type: duckdb\n  path: .cdp/w.duckdb\n  schema: marts\n';

  it.each([
    ['duckdb:<absolute path>', 'duckdb:/data/w.duckdb', { type: 'duckdb', path: '/data/w.duckdb', schema: 'marts' }],
    ['duckdb://<absolute path>', 'duckdb:///data/w.duckdb', { type: 'duckdb', path: '/data/w.duckdb', schema: 'marts' }],
    ['duckdb::memory:', 'duckdb::memory:', { type: 'duckdb', path: ':memory:', schema: 'marts' }],
    ['postgres://', 'postgres://cdp:secret@db:5432/analytics', { type: 'postgres', url: 'postgres://cdp:secret@db:5432/analytics', schema: 'analytics' }],
    ['postgresql://', 'postgresql://cdp@db/analytics', { type: 'postgres', url: 'postgresql://cdp@db/analytics', schema: 'analytics' }],
    ['bigquery://project/dataset', 'bigquery://demo-project/marts', { type: 'bigquery', project: 'demo-project', dataset: 'marts', location: 'US' }],
    ['bigquery://project', 'bigquery://demo-project', { type: 'bigquery', project: 'demo-project', dataset: 'analytics' }],
  ])('CDP_WAREHOUSE_URL=%s replaces the warehouse block (a schema is kept only for the same type)', (_name, url, expected) => {
    const warehouse = load(yaml, { CDP_WAREHOUSE_URL: url }).warehouse as Record<string, unknown>;
    expect(warehouse).toEqual(expect.objectContaining(expected));
    if (expected.type !== 'duckdb') expect(warehouse).not.toHaveProperty('path');
  });

  it('CDP_WAREHOUSE_URL=duckdb:<relative path> resolves in the project folder; duckdb: alone is the default path', () => {
    const t = project(yaml);
    expect(t.config({ CDP_WAREHOUSE_URL: 'duckdb:data/w.duckdb' }).warehouse).toMatchObject({ path: join(t.dir, 'data/w.duckdb') });
    expect(t.config({ CDP_WAREHOUSE_URL: 'duckdb:' }).warehouse).toMatchObject({ path: join(t.dir, '.cdp/warehouse.duckdb') });
  });

  it('CDP_WAREHOUSE_URL works without a warehouse block in the file', () => {
    expect(load('name: x\n', { CDP_WAREHOUSE_URL: 'postgres://h/db' }).warehouse).toEqual({ type: 'postgres', url: 'postgres://h/db', schema: 'analytics' });
  });

  it('CDP_WAREHOUSE_SCHEMA sets warehouse.schema, also over CDP_WAREHOUSE_URL', () => {
    expect(load(yaml, { CDP_WAREHOUSE_SCHEMA: 'staging' }).warehouse).toMatchObject({ type: 'duckdb', schema: 'staging' });
    expect(load(yaml, { CDP_WAREHOUSE_URL: 'postgres://h/db', CDP_WAREHOUSE_SCHEMA: 'staging' }).warehouse).toMatchObject({ type: 'postgres', schema: 'staging' });
  });

  it('CDP_WAREHOUSE_SCHEMA without a warehouse block sets the default duckdb warehouse\'s schema', () => {
    const t = project('name: x\n');
    expect(t.config({ CDP_WAREHOUSE_SCHEMA: 'staging' }).warehouse).toEqual({ type: 'duckdb', path: join(t.dir, '.cdp/warehouse.duckdb'), schema: 'staging', checkpoint_threshold: '1GB' });
  });

  it('CDP_CONTROL_STORE_URL sets control_store.url', () => {
    expect(load(yaml, { CDP_CONTROL_STORE_URL: 'postgres://h/control' }).control_store).toEqual({ url: 'postgres://h/control' });
  });

  it('PORT sets server.port as a number', () => {
    expect(load('server: {port: 3000, host: localhost}', { PORT: '8080' }).server).toEqual({ port: 8080, host: 'localhost' });
  });

  it('CDP_LOG_LEVEL sets log_level', () => {
    expect(load(yaml, { CDP_LOG_LEVEL: 'debug' }).log_level).toBe('debug');
  });

  it('CDP_ADMIN_TOKEN is the admin token; empty is none', () => {
    expect(load(yaml, { CDP_ADMIN_TOKEN: 's3cret' }).adminToken).toBe('s3cret');
    expect(load(yaml, { CDP_ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
    expect(load(yaml, {}).adminToken).toBeUndefined();
  });

  it('empty variables override nothing', () => {
    const config = load(yaml, { CDP_WAREHOUSE_URL: '', CDP_WAREHOUSE_SCHEMA: '', PORT: '', CDP_CONTROL_STORE_URL: '' });
    expect(config.warehouse).toMatchObject({ type: 'duckdb', schema: 'marts' });
    expect(config.server.port).toBe(3000);
  });

  it('CDP_PROJECT_DIR is the project folder when none is given; an explicit folder wins', () => {
    const a = project('name: from_env\n');
    const b = project('name: explicit\n');
    expect(loadConfig({ env: { CDP_PROJECT_DIR: a.dir } })).toMatchObject({ name: 'from_env', projectDir: resolve(a.dir), configFile: join(resolve(a.dir), 'cdp.yaml') });
    expect(loadConfig({ projectDir: b.dir, env: { CDP_PROJECT_DIR: a.dir } }).name).toBe('explicit');
  });

  it('the process environment is the default', () => {
    const t = project('name: x\n');
    const saved = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig({ projectDir: t.dir }).server.port).toBe(4321);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

describe('${ENV} interpolation', () => {
  it('replaces a reference with the variable', () => {
    expect(load('warehouse: {type: postgres, url: "${PG_URL}"}', { PG_URL: 'postgres://h/db' }).warehouse).toMatchObject({ url: 'postgres://h/db' });
  });

  it('replaces several references inside one string', () => {
    const config = load('warehouse:\n  type: postgres\n  url: postgres://${PG_USER}:${PG_PASSWORD}@${PG_HOST:-localhost}/db\n', { PG_USER: 'cdp', PG_PASSWORD: 'pw' });
    expect(config.warehouse).toMatchObject({ url: 'postgres://cdp:pw@localhost/db' });
  });

  it.each([
    ['unset', {}, 'postgres://fallback/db'],
    ['empty', { PG_URL: '' }, 'postgres://fallback/db'],
    ['set', { PG_URL: 'postgres://real/db' }, 'postgres://real/db'],
  ])('${X:-default} when X is %s', (_name, env, expected) => {
    expect(load('warehouse: {type: postgres, url: "${PG_URL:-postgres://fallback/db}"}', env).warehouse).toMatchObject({ url: expected });
  });

  it('an empty default is allowed', () => {
    expect(load('vars: {suffix: "${SUFFIX:-}"}').vars).toEqual({ suffix: '' });
  });

  it('works in nested blocks and lists, and leaves non-strings alone', () => {
    expect(load('vars:\n  list: ["${A}", "b"]\n  nested: {x: "${B:-2}", n: 3}\n', { A: 'a' }).vars).toEqual({ list: ['a', 'b'], nested: { x: 2, n: 3 } });
  });

  it('text that only looks like a reference stays', () => {
    expect(load('vars: {price: "$5", raw: "${not a name}"}').vars).toEqual({ price: '$5', raw: '${not a name}' });
  });

  it('the demo comment form url: ${CDP_WAREHOUSE_URL} works', () => {
    const config = load('warehouse:\n  type: postgres\n  url: ${CDP_WAREHOUSE_URL}\n', { CDP_WAREHOUSE_URL: 'postgres://h/db' });
    expect(config.warehouse).toEqual({ type: 'postgres', url: 'postgres://h/db', schema: 'analytics' });
  });
});

describe('errors name the file, the position, the key and what was expected', () => {
  it('unknown top-level key: lists the allowed keys', () => {
    const { message, file } = loadError('name: x\nwarehous:\n  type: duckdb\n');
    expect(message).toBe(`${file}:2:1: warehous: unknown key (allowed here: name, warehouse, control_store, server, log_level, paths, vars, sources, ingest, identity, realtime)`);
  });

  it('unknown nested key: lists the keys of that warehouse type only', () => {
    const { message, file } = loadError('warehouse:\n  type: duckdb\n  paht: w.duckdb\n');
    expect(message).toBe(`${file}:3:3: warehouse.paht: unknown key (allowed here: type, path, schema, threads, checkpoint_threshold, memory_limit)`);
  });

  it('unknown key deeper in a warehouse block', () => {
    const { message, file } = loadError('warehouse:\n  type: postgres\n  url: postgres://h/db\n  pool: {min: 0, maximum: 5}\n');
    expect(message).toBe(`${file}:4:18: warehouse.pool.maximum: unknown key (allowed here: min, max)`);
  });

  it('a key of another warehouse type is unknown for this one', () => {
    const { message, file } = loadError('warehouse:\n  type: bigquery\n  project: p\n  schema: analytics\n');
    expect(message).toBe(`${file}:4:3: warehouse.schema: unknown key (allowed here: type, project, dataset, location, key_file, api_endpoint, streaming_max_rows, maximum_bytes_billed)`);
  });

  it('several unknown keys: one line each', () => {
    const { message, file } = loadError('server:\n  prot: 1\n  hots: x\n');
    expect(message.split('\n')).toEqual([
      `${file}:2:3: server.prot: unknown key (allowed here: port, host)`,
      `${file}:3:3: server.hots: unknown key (allowed here: port, host)`,
    ]);
  });

  it('wrong type: server.port: "abc"', () => {
    const { message, file } = loadError('name: x\nserver:\n  port: "abc"\n');
    expect(message).toMatch(new RegExp(`^${escape(file)}:3:9: server\\.port: .*expected number.* \\(got "abc"\\)$`));
  });

  it('a number out of range', () => {
    const { message, file } = loadError('server: {port: 70000}\n');
    expect(message).toMatch(new RegExp(`^${escape(file)}:1:16: server\\.port: .*65535.*\\(got 70000\\)$`));
  });

  it('unknown warehouse type: lists the types', () => {
    const { message, file } = loadError('name: x\nwarehouse:\n  type: oracle\n  path: x\n');
    expect(message).toBe(`${file}:3:9: warehouse.type: expected one of "duckdb", "postgres", "bigquery", "snowflake", got "oracle"`);
  });

  it('a required key that is missing points at its block', () => {
    const { message, file } = loadError('warehouse:\n  type: postgres\n');
    expect(message).toBe(`${file}:2:3: warehouse.url: required key is missing (expected string)`);
  });

  it('a value of the wrong form says what form', () => {
    const { message, file } = loadError('warehouse:\n  type: postgres\n  url: mysql://h/db\n');
    expect(message).toBe(`${file}:3:8: warehouse.url: expected a postgres:// URL (got "mysql://h/db")`);
  });

  it('a bad schema name', () => {
    const { message, file } = loadError('warehouse: {type: duckdb, schema: "my-schema"}\n');
    expect(message).toBe(`${file}:1:35: warehouse.schema: expected a plain SQL identifier (letters, digits, _) (got "my-schema")`);
  });

  it('a value outside an enum lists the options', () => {
    const { message, file } = loadError('log_level: loud\n');
    expect(message).toMatch(new RegExp(`^${escape(file)}:1:12: log_level: .*"debug".* \\(got "loud"\\)$`));
  });

  it('missing cdp.yaml: names the file and hints CDP_PROJECT_DIR', () => {
    const t = project('');
    t.remove('cdp.yaml');
    expect(() => t.config({})).toThrow(ConfigError);
    expect(() => t.config({})).toThrow(`${join(resolve(t.dir), 'cdp.yaml')}: file not found`);
    expect(() => t.config({})).toThrow(/set CDP_PROJECT_DIR to a folder that has one/);
  });

  it('invalid YAML: names file:line:column', () => {
    const { message, file } = loadError('name: x\nwarehouse: [duckdb\nserver: {}\n');
    expect(message).toMatch(new RegExp(`^${escape(file)}:\\d+:\\d+: invalid YAML: \\S`));
  });

  it('invalid YAML: a tab indentation', () => {
    const { message, file } = loadError('warehouse:\n\ttype: duckdb\n');
    expect(message).toMatch(new RegExp(`^${escape(file)}:2:\\d+: invalid YAML: `));
  });

  it('a top level that is not a mapping', () => {
    const { message, file } = loadError('- duckdb\n- postgres\n');
    expect(message).toBe(`${file}: expected a mapping of keys (warehouse, control_store, ...) at the top level`);
  });

  it('an unset ${ENV} reference: names the position, the key and the variable, and hints a default', () => {
    const { message, file } = loadError('name: x\nwarehouse:\n  type: postgres\n  url: ${PG_URL}\n');
    expect(message).toBe(`${file}:4:8: warehouse.url: environment variable PG_URL is not set (set it, or give a default: \${PG_URL:-...})`);
  });

  it('an unset ${ENV} reference inside a list', () => {
    const { message, file } = loadError('vars:\n  hosts: [a, "${HOST_B}"]\n');
    expect(message).toBe(`${file}:2:14: vars.hosts[1]: environment variable HOST_B is not set (set it, or give a default: \${HOST_B:-...})`);
  });

  it('an empty ${ENV} without a default counts as unset', () => {
    expect(loadError('vars: {a: "${EMPTY}"}', { EMPTY: '' }).message).toMatch(/vars\.a: environment variable EMPTY is not set/);
  });

  it.each([['abc'], ['80a'], ['-1'], ['3000.5']])('a bad PORT (%s) names the environment variable and the value', (port) => {
    const { message } = loadError('name: x\n', { PORT: port });
    expect(message).toBe(`environment variable PORT: expected a port number (0-65535), got "${port}"`);
  });

  it('PORT out of range names the environment variable', () => {
    const { message } = loadError('name: x\n', { PORT: '99999' });
    expect(message).toMatch(/^environment variable PORT: server\.port: .*65535.*\(got 99999\)$/);
  });

  it('an unsupported CDP_WAREHOUSE_URL names the variable and the accepted forms', () => {
    const { message } = loadError('name: x\n', { CDP_WAREHOUSE_URL: 'mysql://h/db' });
    expect(message).toBe('environment variable CDP_WAREHOUSE_URL: expected duckdb:<path>, postgres://..., or bigquery://<project>/<dataset>, got "mysql:..."');
  });

  it('a bad value from CDP_WAREHOUSE_SCHEMA names the variable, not the file', () => {
    const { message } = loadError('name: x\n', { CDP_WAREHOUSE_SCHEMA: 'bad-name' });
    expect(message).toBe('environment variable CDP_WAREHOUSE_SCHEMA: warehouse.schema: expected a plain SQL identifier (letters, digits, _) (got "bad-name")');
  });

  it('a bad value from CDP_CONTROL_STORE_URL names the variable', () => {
    const { message } = loadError('name: x\n', { CDP_CONTROL_STORE_URL: 'mysql://h/db' });
    expect(message).toBe('environment variable CDP_CONTROL_STORE_URL: control_store.url: expected a sqlite:<path> or postgres:// URL (got "mysql://h/db")');
  });

  it('a bad value from CDP_LOG_LEVEL names the variable', () => {
    expect(loadError('name: x\n', { CDP_LOG_LEVEL: 'loud' }).message).toMatch(/^environment variable CDP_LOG_LEVEL: log_level: .*\(got "loud"\)$/);
  });

  it('every problem is reported at once', () => {
    const { message } = loadError('nme: x\nserver: {port: "x"}\nlog_level: loud\n');
    expect(message.split('\n')).toHaveLength(3);
    expect(message).toMatch(/nme: unknown key/);
    expect(message).toMatch(/server\.port: /);
    expect(message).toMatch(/log_level: /);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('config: environment values', () => {
  it('reads a whole ${VAR} value as YAML would: a number stays a number', () => {
    const p = new TempProject({ 'cdp.yaml': 'server:\n  port: ${MY_PORT}\n' });
    try {
      expect(p.config({ MY_PORT: '4321' }).server.port).toBe(4321);
    } finally {
      p.cleanup();
    }
  });

  it('CDP_WAREHOUSE_SCHEMA sets the dataset on BigQuery', () => {
    const p = new TempProject({ 'cdp.yaml': 'warehouse:\n  type: bigquery\n  project: p1\n' });
    try {
      const w = p.config({ CDP_WAREHOUSE_SCHEMA: 'marts' }).warehouse;
      expect(w.type === 'bigquery' && w.dataset).toBe('marts');
    } finally {
      p.cleanup();
    }
  });
});
