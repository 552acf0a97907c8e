import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningService } from '../../src/server/service-file';
import { buildOnce } from '../support/build';
import { cdp, ServedProject } from '../support/cli';
import { REPO_ROOT, TempProject } from '../support/temp-project';

/** The built CLI (bin/cdp.js -> dist/) in child processes, as a user runs it. */

const servers: ServedProject[] = [];
const projects: TempProject[] = [];

function demo(): TempProject {
  const p = TempProject.demo();
  projects.push(p);
  return p;
}

function project(files: Record<string, string>): TempProject {
  const p = new TempProject(files);
  projects.push(p);
  return p;
}

beforeAll(() => {
  // the CLI under test is the compiled one: build it from the current sources
  buildOnce();
  expect(existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
}, 120000);

afterAll(() => {
  for (const s of servers) s.kill();
  for (const p of projects) p.cleanup();
});

describe('cdp --help', () => {
  it('lists the commands', async () => {
    const { code, stdout } = await cdp(['--help']);
    expect(code).toBe(0);
    const commands = stdout.slice(stdout.indexOf('Commands:'));
    for (const name of ['compile', 'run', 'test', 'seed', 'build', 'serve', 'token']) expect(commands).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
  });
});

describe('the demo project', () => {
  let p: TempProject;

  beforeAll(() => {
    p = demo();
  });

  it('cdp compile writes the compiled SQL to target/compiled/duckdb/', async () => {
    const compiled = join(p.dir, 'target', 'compiled', 'duckdb');
    expect(existsSync(compiled)).toBe(false);
    const { code, stdout, stderr } = await cdp(['compile', '-p', p.dir]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^13 models and 61 tests compiled for duckdb into target\/compiled\/duckdb\/$/m);
    const files = [
      'staging/events/stg_events.sql',
      'staging/events/stg_identifies.sql',
      'staging/stg_order_lines.sql',
      'staging/stg_orders.sql',
      'marts/daily_revenue.sql',
      'staging/stg_customers.sql',
      'marts/customer_summary.sql',
      'staging/events/stg_pages.sql',
      'staging/events/stg_tracks.sql',
      'staging/stg_web_events.sql',
      'profiles/profile_churn_risk.sql',
      'profiles/profile_rfm.sql',
      'segments/at_churn_risk.sql',
    ];
    // one line per model, in DAG order
    expect([...stdout.matchAll(/^compiled target\/compiled\/duckdb\/models\/(\S+)$/gm)].map((m) => m[1])).toEqual(files);
    for (const file of files) expect(existsSync(join(compiled, 'models', file))).toBe(true);
    // the event staging models read the engine's own table
    expect(readFileSync(join(compiled, 'models', 'staging', 'events', 'stg_events.sql'), 'utf8')).toContain('"cdp"."raw_events"');
    const sql = readFileSync(join(compiled, 'models', 'marts', 'customer_summary.sql'), 'utf8');
    expect(sql).toContain('"analytics"."stg_customers"');
    expect(sql).not.toContain('{{');
    expect(existsSync(join(compiled, 'tests', 'unique_customer_summary_customer_id.sql'))).toBe(true);
  });

  it('cdp build seeds, runs and tests the demo and prints a line per node', async () => {
    const { code, stdout, stderr } = await cdp(['build', '-p', p.dir]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // the 2 seeds, the 13 models, the identity step and the 3 tree segments, in DAG order: the event views build with no event sent yet
    expect(stdout).toMatch(/ 1 of 19 OK\s+seed online_retail \.+ \[42,481 rows in [\d.]+s\]/);
    expect(stdout).toMatch(/ 2 of 19 OK\s+view stg_events \.+ \[in [\d.]+s\]/);
    expect(stdout).toMatch(/ 3 of 19 OK\s+view stg_identifies \.+ \[in [\d.]+s\]/);
    expect(stdout).toMatch(/ 4 of 19 OK\s+view stg_order_lines \.+ \[in [\d.]+s\]/);
    expect(stdout).toMatch(/ 5 of 19 OK\s+table stg_orders \.+ \[2,025 rows in [\d.]+s\]/);
    expect(stdout).toMatch(/ 6 of 19 OK\s+incremental daily_revenue \.+ \[20 rows/);
    expect(stdout).toMatch(/ 7 of 19 OK\s+table stg_customers \.+ \[948 rows/);
    expect(stdout).toMatch(/ 8 of 19 OK\s+table customer_summary \.+ \[948 rows/);
    expect(stdout).toMatch(/ 9 of 19 OK\s+view stg_pages \.+ \[in [\d.]+s\]/);
    expect(stdout).toMatch(/10 of 19 OK\s+view stg_tracks \.+ \[in [\d.]+s\]/);
    expect(stdout).toMatch(/11 of 19 OK\s+seed web_events \.+ \[26,440 rows/);
    expect(stdout).toMatch(/12 of 19 OK\s+table stg_web_events \.+ \[26,440 rows/);
    // identity resolution: one profile per customer (948), guest, newsletter lead and anonymous visitor
    // (4,334 identifiers; the two family computers' second logins are blocked by the user_id limit)
    expect(stdout).toMatch(/13 of 19 OK\s+identity \.+ \[1,575 profiles, 4,334 identifiers, 26,135 events, full, 2 blocked links in [\d.]+s\]/);
    // the segments: members, and how many entered and left since the last build (this is the first)
    expect(stdout).toMatch(/14 of 19 OK\s+segment cart_abandoners \.+ \[154 members, \+154 -0 in [\d.]+s\]/);
    expect(stdout).toMatch(/15 of 19 OK\s+segment high_value_customers \.+ \[83 members, \+83 -0 in [\d.]+s\]/);
    expect(stdout).toMatch(/16 of 19 OK\s+segment new_customers \.+ \[71 members, \+71 -0 in [\d.]+s\]/);
    // every customer, and the 885 of them with an order that was not cancelled
    expect(stdout).toMatch(/17 of 19 OK\s+table profile_churn_risk \.+ \[948 rows/);
    expect(stdout).toMatch(/18 of 19 OK\s+table profile_rfm \.+ \[885 rows/);
    // a SQL segment: valuable customers at high churn risk
    expect(stdout).toMatch(/19 of 19 OK\s+table at_churn_risk \.+ \[120 members, \+120 -0 in [\d.]+s\]/);
    // then the 61 data tests, all passing
    expect(stdout.match(/^\s*\d+ of 61 PASS\s+test /gm)).toHaveLength(61);
    expect(stdout).toMatch(/PASS\s+test unique_customer_summary_customer_id \.+/);
    expect(stdout).toMatch(/PASS\s+test accepted_values_stg_events_type \.+/);
    expect(stdout).toMatch(/PASS\s+test not_null_stg_tracks_event \.+/);
    expect(stdout).toMatch(/PASS\s+test relationships_stg_web_events_order_id__stg_orders_order_id \.+/);
    expect(stdout).toMatch(/PASS\s+test not_null_profile_churn_risk_days_since_last_activity \.+/);
    expect(stdout).toMatch(/PASS\s+test accepted_values_profile_rfm_rfm_segment \.+/);
    expect(stdout).not.toMatch(/\b(ERROR|FAIL|SKIP)\b/);
    expect(stdout).toMatch(/build finished: 80 ok\n$/);
  });

  it('cdp run -s nope exits non-zero and says the selector matches nothing', async () => {
    const { code, stdout, stderr } = await cdp(['run', '-s', 'nope', '-p', p.dir]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('selector "nope" matches no model or seed');
    expect(stdout).toBe('');
  });

  describe('with `cdp serve` running', () => {
    let server: ServedProject;
    let service: RunningService;

    beforeAll(async () => {
      server = new ServedProject(p.dir);
      servers.push(server);
      service = await server.ready();
    });

    it('writes .cdp/service.json (owner-only) with the real port it listens on', () => {
      expect(service.pid).toBe(server.child.pid);
      const port = Number(new URL(service.url).port);
      expect(port).toBeGreaterThan(0);
      expect(server.stdout).toContain(`on http://localhost:${port} (API docs: http://localhost:${port}/docs)`);
      expect(statSync(server.serviceFile).mode & 0o777).toBe(0o600);
    });

    it('cdp run sends the job to the service instead of opening the locked DuckDB file', async () => {
      const { code, stdout, stderr } = await cdp(['run', '-s', 'stg_orders', '-p', p.dir]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain(`the service is running (pid ${service.pid}, ${service.url}); sending the run to it`);
      expect(stdout).toMatch(/1 of 1 OK\s+table stg_orders \.+ \[[\d,]+ rows/);
      expect(stdout).toMatch(/run finished: 1 ok/);
      expect(stdout).not.toMatch(/lock/i);
    });

    it('cdp test through the service passes', async () => {
      const { code, stdout } = await cdp(['test', '-s', 'stg_orders', '-p', p.dir]);
      expect(code).toBe(0);
      expect(stdout).toContain('sending the test to it');
      expect(stdout).toMatch(/PASS\s+test unique_stg_orders_order_id/);
    });

    it('the service answers /health and never logs the Authorization header nor health checks', async () => {
      const res = await fetch(new URL('/health', service.url));
      expect(res.status).toBe(200);
      expect(server.stdout).toContain('"url":"/api/models/run"');
      expect(server.stdout).toContain('"statusCode":200');
      expect(server.stdout).not.toContain(service.token);
      expect(server.stderr).not.toContain(service.token);
      // health checks (the CLI makes one before each job) are not logged as requests
      expect(server.stdout).not.toContain('"url":"/health"');
    });

    it('SIGTERM stops it and removes .cdp/service.json; the CLI then works on its own', async () => {
      const { code, signal } = await server.stop('SIGTERM');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(existsSync(server.serviceFile)).toBe(false);

      const direct = await cdp(['run', '-s', 'stg_orders', '-p', p.dir]);
      expect(direct.stderr).toBe('');
      expect(direct.code).toBe(0);
      expect(direct.stdout).not.toContain('the service is running');
      expect(direct.stdout).toMatch(/OK\s+table stg_orders/);
    });

    it('SIGINT (Ctrl-C) also removes .cdp/service.json', async () => {
      const again = new ServedProject(p.dir);
      servers.push(again);
      await again.ready();
      expect(again.stdout).not.toContain('cdp_admin_'); // the token of the first start is not printed again
      await again.stop('SIGINT');
      expect(existsSync(again.serviceFile)).toBe(false);
    });
  });
});

describe('errors a user makes', () => {
  it('an unknown key in cdp.yaml exits non-zero naming file:line and the key', async () => {
    const p = project({ 'cdp.yaml': 'name: broken\nwarehouse:\n  type: duckdb\n  pathh: .cdp/warehouse.duckdb\n' });
    const { code, stdout, stderr } = await cdp(['run', '-p', p.dir]);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${join(p.dir, 'cdp.yaml')}:4:`);
    expect(stderr).toContain('warehouse.pathh: unknown key');
    expect(stderr).toMatch(/allowed here: .*\bpath\b/);
  });

  describe('a small project', () => {
    let p: TempProject;

    beforeAll(async () => {
      p = project({
        'cdp.yaml': 'name: small\n',
        'seeds/people.csv': 'id,name\n1,ann\n1,bob\n2,cy\n',
        'models/people_model.sql': 'select id, name from {{ref "people"}}\n',
        'models/broken.sql': 'select no_such_column from {{ref "people"}}\n',
        'models/schema.yml': 'models:\n  - name: people_model\n    columns:\n      - { name: id, tests: [unique, not_null] }\n',
      });
      const seeded = await cdp(['seed', '-p', p.dir]);
      expect(seeded.code).toBe(0);
    });

    it('a model with a SQL error exits 1 naming the model and its compiled SQL', async () => {
      // run from the project folder, without -p, as a user in it would
      const { code, stdout, stderr } = await cdp(['run', '-s', 'broken'], { cwd: p.dir });
      expect(code).toBe(1);
      const out = stdout + stderr;
      expect(out).toMatch(/ERROR\s+view broken/);
      expect(out).toContain('model broken failed (compiled SQL: target/compiled/duckdb/models/broken.sql)');
      expect(out).toContain('no_such_column');
      expect(out).toMatch(/run finished with problems: 0 ok, 1 errors/);
    });

    it('cdp test exits 1 when a data test fails', async () => {
      const run = await cdp(['run', '-s', 'people_model', '-p', p.dir]);
      expect(run.code).toBe(0);
      const { code, stdout } = await cdp(['test', '-s', 'people_model', '-p', p.dir]);
      expect(code).toBe(1);
      expect(stdout).toMatch(/FAIL\s+test unique_people_model_id \.+ \[1 failing rows in/);
      expect(stdout).toMatch(/PASS\s+test not_null_people_model_id/);
      expect(stdout).toMatch(/test finished with problems: 1 ok, 1 failed tests/);
    });
  });
});
