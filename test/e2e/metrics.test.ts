import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { renderExposition } from '../../src/metrics/exposition';
import { RealtimeService } from '../../src/realtime/realtime.service';
import { openControlStore, type ControlStore } from '../../src/store/control-store';
import { RUN_STATUSES, SyncRunsRepository } from '../../src/syncs/sync-runs.repository';
import { FakeServer } from '../support/fake-server';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { TempProject } from '../support/temp-project';
import { apiClient, createSource, startApp, type ApiCall, type CreatedSource } from '../support/test-app';
import { webIdentityYaml } from '../support/web-identity';

/**
 * GET /metrics over real HTTP: the admin token is required; the answer is Prometheus text that a
 * strict parser reads (HELP and TYPE before each family's samples, valid names, labels and
 * values); the real-time gauges show events behind before a pass and none after, the ingest
 * counters equal what the tracking API accepted and refused, the profile index and the sync runs
 * match what the API says. The sync runs query is also checked on both control stores.
 */

const ADMIN_TOKEN = 'test-admin-token';
const SECRET = 'whsec_bWV0cmljcy1zZWNyZXQtdGhhdC1tdXN0LW5ldmVyLWxlYWs=';

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface ParsedFamily {
  help: string;
  type: string;
  samples: ParsedSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
/** Values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`). */
const VALUE = /^(nan|[+-]?inf|[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)$/i;
const toNumber = (v: string) => (/^nan$/i.test(v) ? NaN : /inf$/i.test(v) ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v));

/** The samples of a family: histograms and summaries add suffixes to the family's name. */
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    if (m[1] in labels) throw new Error(`label ${m[1]} twice in: ${line}`);
    labels[m[1]] = m[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    at = re.lastIndex;
  }
  return labels;
}

/**
 * A strict reader of the text format 0.0.4: every line is a HELP, a TYPE, a sample or empty; a
 * family's HELP and TYPE come once, before its samples, and its samples are together.
 */
function parseExposition(text: string): Map<string, ParsedFamily> {
  expect(text.endsWith('\n')).toBe(true);
  const families = new Map<string, ParsedFamily>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (line === '') continue; // empty lines are allowed (prom-client separates families with them)
    if (help) {
      if (families.get(help[1])?.help) throw new Error(`HELP twice for ${help[1]}`);
      families.set(help[1], { help: help[2], type: '', samples: [] });
      current = help[1];
    } else if (type) {
      const family = families.get(type[1]);
      if (!family || current !== type[1] || family.type) throw new Error(`TYPE of ${type[1]} not right after its HELP`);
      family.type = type[2];
    } else if (sample) {
      const family = current === undefined ? undefined : families.get(current);
      if (!family?.type) throw new Error(`sample before its TYPE: ${line}`);
      const suffix = (SUFFIXES[family.type] ?? ['']).find((s) => sample[1] === current + s);
      if (suffix === undefined) throw new Error(`sample ${sample[1]} outside its family ${current}`);
      if (!VALUE.test(sample[3])) throw new Error(`bad value in: ${line}`);
      family.samples.push({ name: sample[1], labels: parseLabels(sample[2] ?? '', line), value: toNumber(sample[3]) });
    } else {
      throw new Error(`not a line of the text format: ${JSON.stringify(line)}`);
    }
  }
  return families;
}

/** The one value of a family's sample with these labels (exactly one must match). */
function valueOf(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) throw new Error(`no family ${name}`);
  const matching = family.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matching.length !== 1) throw new Error(`${matching.length} samples of ${name} with ${JSON.stringify(labels)}`);
  return matching[0].value;
}

describe('GET /metrics', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: ApiCall;
  let base: string;
  let source: CreatedSource;
  let hook: FakeServer;
  let hookStatus = 200;

  const scrape = async (token: string | null = ADMIN_TOKEN) => {
    const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const metrics = async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    return { text: res.text, families: parseExposition(res.text) };
  };
  /** Scrapes until `done` holds (the profile index loads and patches in the background). */
  const metricsUntil = async (done: (families: Map<string, ParsedFamily>) => boolean, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = await metrics();
      if (done(m.families)) return m;
      if (Date.now() > until) throw new Error(`the metrics did not get there within ${timeoutMs} ms:\n${m.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const post = async (path: string, body: unknown) =>
    fetch(`${base}/v1/${path}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const track = async (path: 'identify' | 'track', body: Record<string, unknown>) => expect((await post(path, body)).status).toBe(200);

  beforeAll(async () => {
    hook = await FakeServer.start();
    hook.handle(() => ({ status: hookStatus }));
    process.env.CDP_TEST_METRICS_HOOK_SECRET = SECRET;
    project = new TempProject({
      'cdp.yaml': [
        'name: metrics',
        'warehouse: { type: duckdb }',
        ...webIdentityYaml(),
        // a long debounce: the test scrapes the backlog before the pass starts
        'realtime: { debounce_ms: 3000, poll_seconds: 1 }',
      ].join('\n'),
      'segments/viewers.yaml': ['name: viewers', 'realtime: true', 'where:', '  and:', '    - event: { name: Product Viewed }', '    - trait: { name: email, op: is_set }'].join('\n'),
      'destinations/hook.yaml': `type: webhook\nsettings:\n  url: ${hook.url}/hooks/cdp\n  secret: \${CDP_TEST_METRICS_HOOK_SECRET}\n`,
      'syncs/viewers_to_hook.yaml': [
        'source: { segment: viewers }',
        'primary_key: profile_id',
        'destination: hook',
        'mode: audience',
        'mapping:',
        '  email: email',
        'options: { max_attempts: 1 }',
      ].join('\n'),
    });
    const config = project.config();
    config.adminToken = ADMIN_TOKEN;
    config.log_level = 'error';
    ({ app, base } = await startApp(config));
    api = apiClient(base, ADMIN_TOKEN);
    source = await createSource(base, ADMIN_TOKEN, 'web');
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await hook?.close();
    project?.cleanup();
    delete process.env.CDP_TEST_METRICS_HOOK_SECRET;
  });

  it('needs the admin token: 401 without it or with a wrong one', async () => {
    const none = await scrape(null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="cdp"');
    expect(none.text).not.toContain('cdp_');
    const wrong = await scrape('not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('cdp_');
  });

  it('answers Prometheus text: HELP and TYPE for every family, the pipeline waiting for a first build, the process metrics', async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parseExposition(res.text);
    const types = Object.fromEntries([...families].filter(([name]) => name.startsWith('cdp_')).map(([name, f]) => [name, f.type]));
    expect(types).toEqual({
      cdp_realtime_status: 'gauge',
      cdp_realtime_events_behind: 'gauge',
      cdp_realtime_lag_seconds: 'gauge',
      cdp_realtime_passes_total: 'counter',
      cdp_realtime_pass_failures_total: 'counter',
      cdp_realtime_last_pass_duration_seconds: 'gauge',
      cdp_realtime_last_pass_timestamp_seconds: 'gauge',
      cdp_ingest_events_total: 'counter',
      cdp_ingest_rejected_total: 'counter',
      cdp_profile_index_loaded: 'gauge',
      cdp_profile_index_profiles: 'gauge',
      cdp_profile_index_identifiers: 'gauge',
      cdp_profile_index_events: 'gauge',
      cdp_profile_index_bytes: 'gauge',
      cdp_profile_index_load_duration_seconds: 'gauge',
      cdp_profile_index_patches: 'gauge',
      cdp_profile_index_last_patch_duration_seconds: 'gauge',
      cdp_sync_runs_24h: 'gauge',
      cdp_sync_last_run_status: 'gauge',
      cdp_sync_last_finished_timestamp_seconds: 'gauge',
      cdp_metrics_collect_ok: 'gauge',
    });
    expect(families.get('cdp_realtime_events_behind')!.help).toBe('Committed events identity resolution has not read yet');
    // identity is configured and a segment is real-time, but nothing is built yet
    expect(families.get('cdp_realtime_status')!.samples.map((s) => [s.labels.status, s.value])).toEqual([
      ['off', 0],
      ['waiting', 1],
      ['idle', 0],
      ['running', 0],
      ['failing', 0],
      ['unknown', 0],
    ]);
    expect(valueOf(families, 'cdp_realtime_events_behind')).toBe(0);
    expect(valueOf(families, 'cdp_realtime_passes_total')).toBe(0);
    expect(valueOf(families, 'cdp_ingest_events_total')).toBe(0);
    expect(valueOf(families, 'cdp_profile_index_loaded')).toBe(0);
    // unknown values are left out, not shown as 0
    expect(families.get('cdp_realtime_last_pass_duration_seconds')!.samples).toEqual([]);
    expect(families.get('cdp_profile_index_profiles')!.samples).toEqual([]);
    // the sync has not run: zeros for its counts, no latest run
    expect(families.get('cdp_sync_runs_24h')!.samples).toEqual(RUN_STATUSES.map((status) => ({ name: 'cdp_sync_runs_24h', labels: { sync: 'viewers_to_hook', status }, value: 0 })));
    expect(families.get('cdp_sync_last_run_status')!.samples).toEqual([]);
    expect(families.get('cdp_sync_last_finished_timestamp_seconds')!.samples).toEqual([]);
    expect(valueOf(families, 'cdp_metrics_collect_ok', { part: 'realtime_backlog' })).toBe(1);
    expect(valueOf(families, 'cdp_metrics_collect_ok', { part: 'syncs' })).toBe(1);
    // prom-client's process metrics follow
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(valueOf(families, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(families.get('nodejs_eventloop_lag_p99_seconds')?.type).toBe('gauge');
  });

  it('counts events accepted and refused; the real-time gauges show the backlog before a pass and none after', async () => {
    await track('identify', { userId: 'u0', traits: { email: 'u0@shop.io' } });
    await track('track', { userId: 'u0', event: 'Product Viewed' });
    const batch = await post('batch', {
      batch: [
        { type: 'identify', userId: 'u1', traits: { email: 'u1@shop.io' } },
        { type: 'track', userId: 'u1', event: 'Product Viewed' },
        { type: 'track', event: 'Nobody' }, // no userId or anonymousId: refused
      ],
    });
    expect(batch.status).toBe(400);
    expect((await post('track', { userId: 'u0' })).status).toBe(400); // no event name
    let accepted = 4;

    const build = await api('POST', '/api/models/build', {});
    expect(build.body.status).toBe('success');
    // the build read every event; the index loads in the background after it
    const built = await metricsUntil((f) => valueOf(f, 'cdp_profile_index_loaded') === 1);
    expect(valueOf(built.families, 'cdp_realtime_status', { status: 'idle' })).toBe(1);
    expect(valueOf(built.families, 'cdp_realtime_events_behind')).toBe(0);
    expect(valueOf(built.families, 'cdp_realtime_lag_seconds')).toBe(0);
    expect(valueOf(built.families, 'cdp_profile_index_profiles')).toBe(2);
    expect(valueOf(built.families, 'cdp_profile_index_identifiers')).toBe(4); // a user id and an email each
    expect(valueOf(built.families, 'cdp_profile_index_events')).toBe(4);
    expect(valueOf(built.families, 'cdp_profile_index_bytes')).toBeGreaterThan(0);
    expect(valueOf(built.families, 'cdp_profile_index_load_duration_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(built.families, 'cdp_profile_index_patches')).toBe(0);

    const realtime = app.get(RealtimeService);
    const passesBefore = realtime.passStats().passes;
    await track('identify', { userId: 'u2', traits: { email: 'u2@shop.io' } });
    await track('track', { userId: 'u2', event: 'Product Viewed' });
    await track('track', { userId: 'u0', event: 'Product Viewed' });
    accepted += 3;
    // the pass waits for the debounce (3 s): the backlog shows
    const behind = await metrics();
    expect(valueOf(behind.families, 'cdp_realtime_events_behind')).toBe(3);
    expect(valueOf(behind.families, 'cdp_realtime_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(behind.families, 'cdp_realtime_lag_seconds')).toBeLessThan(3);
    expect(valueOf(behind.families, 'cdp_realtime_passes_total')).toBe(passesBefore);
    expect(valueOf(behind.families, 'cdp_ingest_events_total')).toBe(accepted);
    expect(valueOf(behind.families, 'cdp_ingest_rejected_total')).toBe(2);

    await realtime.idle();
    // the pass patches the index with the profiles it touched
    const after = await metricsUntil((f) => valueOf(f, 'cdp_profile_index_patches') >= 1);
    expect(valueOf(after.families, 'cdp_realtime_events_behind')).toBe(0);
    expect(valueOf(after.families, 'cdp_realtime_lag_seconds')).toBe(0);
    expect(valueOf(after.families, 'cdp_realtime_status', { status: 'idle' })).toBe(1);
    expect(valueOf(after.families, 'cdp_realtime_passes_total')).toBe(passesBefore + 1);
    expect(valueOf(after.families, 'cdp_realtime_pass_failures_total')).toBe(0);
    const { lastPass } = realtime.passStats();
    expect(lastPass?.status).toBe('success');
    expect(valueOf(after.families, 'cdp_realtime_last_pass_duration_seconds')).toBe(lastPass!.durationMs / 1000);
    expect(valueOf(after.families, 'cdp_realtime_last_pass_timestamp_seconds')).toBe(Date.parse(lastPass!.startedAt) / 1000);
    expect(valueOf(after.families, 'cdp_profile_index_profiles')).toBe(3);
    expect(valueOf(after.families, 'cdp_profile_index_last_patch_duration_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(after.families, 'cdp_ingest_events_total')).toBe(accepted);
  }, 60_000);

  it("shows each sync's runs by status, its latest run's status and its last finish, as the API does", async () => {
    const run = async () => {
      // a finished run lets go of the sync's lock a moment after it records its end: 409 meanwhile
      let started = await api('POST', '/api/syncs/viewers_to_hook/runs', {});
      for (let i = 0; i < 100 && started.status === 409; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        started = await api('POST', '/api/syncs/viewers_to_hook/runs', {});
      }
      expect(started.status).toBe(202);
      for (let i = 0; i < 400; i++) {
        const r = await api('GET', `/api/syncs/viewers_to_hook/runs/${started.body.runId}`);
        if (r.body.finishedAt) return r.body as { status: string; finishedAt: string };
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the run did not finish');
    };
    hookStatus = 500; // refused: the run fails (one attempt)
    const first = await run();
    hookStatus = 200;
    const second = await run();
    expect(second.status).toBe('succeeded');
    expect(first.status).not.toBe('succeeded');

    const runs = (await api('GET', '/api/syncs/viewers_to_hook/runs')).body as { status: string; finishedAt: string | null }[];
    const { families } = await metrics();
    for (const status of RUN_STATUSES) {
      expect(valueOf(families, 'cdp_sync_runs_24h', { sync: 'viewers_to_hook', status })).toBe(runs.filter((r) => r.status === status).length);
      expect(valueOf(families, 'cdp_sync_last_run_status', { sync: 'viewers_to_hook', status })).toBe(status === 'succeeded' ? 1 : 0);
    }
    expect(valueOf(families, 'cdp_sync_last_finished_timestamp_seconds', { sync: 'viewers_to_hook' })).toBe(Date.parse(second.finishedAt) / 1000);
  }, 60_000);

  it('shows no secret and no personal data: no emails, user ids, write key or token', async () => {
    const { text } = await metrics();
    for (const secret of ['@shop.io', '"u0"', '"u1"', source.writeKey, ADMIN_TOKEN, SECRET, hook.url]) expect(text).not.toContain(secret);
    const labels = new Set([...parseExposition(text)].filter(([name]) => name.startsWith('cdp_')).flatMap(([, f]) => f.samples.flatMap((s) => Object.keys(s.labels))));
    expect([...labels].sort()).toEqual(['part', 'status', 'sync']);
  });

  it('is in the OpenAPI document, with the bearer token and the text format', async () => {
    const doc = (await api('GET', '/docs/json', undefined, null)).body;
    const op = doc.paths['/metrics'].get;
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/plain; version=0.0.4; charset=utf-8']);
    expect(op.responses['401']).toBeDefined();
  });
});

describe('the exposition text', () => {
  it('escapes HELP text and label values so a parser reads them back', () => {
    const text = renderExposition([
      { name: 'cdp_test_info', help: 'a \\ backslash\nand a line', type: 'gauge', samples: [{ labels: { sync: 'say "hi"\\\nbye' }, value: 1 }] },
      { name: 'cdp_test_total', help: 'no samples yet', type: 'counter', samples: [] },
      { name: 'cdp_test_odd', help: 'odd values', type: 'gauge', samples: [{ labels: { v: 'nan' }, value: NaN }, { labels: { v: 'inf' }, value: Infinity }, { labels: { v: 'small' }, value: 1.5e-7 }] },
    ]);
    expect(text).toBe(
      [
        '# HELP cdp_test_info a \\\\ backslash\\nand a line',
        '# TYPE cdp_test_info gauge',
        'cdp_test_info{sync="say \\"hi\\"\\\\\\nbye"} 1',
        '# HELP cdp_test_total no samples yet',
        '# TYPE cdp_test_total counter',
        '# HELP cdp_test_odd odd values',
        '# TYPE cdp_test_odd gauge',
        'cdp_test_odd{v="nan"} NaN',
        'cdp_test_odd{v="inf"} +Inf',
        'cdp_test_odd{v="small"} 1.5e-7',
        '',
      ].join('\n'),
    );
    const parsed = parseExposition(text);
    expect(parsed.get('cdp_test_info')!.samples[0].labels.sync).toBe('say "hi"\\\nbye');
    expect(parsed.get('cdp_test_total')!.samples).toEqual([]);
  });

  it('refuses names that are not Prometheus names (a bug in the code, not a user error)', () => {
    expect(() => renderExposition([{ name: 'cdp-bad', help: 'x', type: 'gauge', samples: [] }])).toThrow('metric name "cdp-bad" is not a Prometheus name');
    expect(() => renderExposition([{ name: 'cdp_ok', help: 'x', type: 'gauge', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] }])).toThrow('label name "a-b" of cdp_ok');
  });
});

/** The sync runs query GET /metrics makes, on SQLite and on PostgreSQL: counts, latest start and finish per sync and status. */
describe.each(['sqlite', 'postgres'] as const)('sync run counts by status on the %s control store', (kind) => {
  let store: ControlStore | undefined;
  let schema: string | undefined;
  let project: TempProject;

  beforeAll(async () => {
    project = new TempProject();
    if (kind === 'sqlite') {
      store = await openControlStore('sqlite:.cdp/control.db', project.dir);
      return;
    }
    if (!(await requirePostgres())) return;
    schema = uniqueSchema('cdp_metrics');
    // the migrations run in a fresh schema of their own (search_path), never in public
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`create schema "${schema}"`).finally(() => client.end());
    store = await openControlStore(`${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, project.dir);
  });

  afterAll(async () => {
    await store?.destroy();
    if (schema) await dropSchema(schema);
    project?.cleanup();
  });

  it("counts the window's runs by status, and finds each sync's latest run and last finish", async () => {
    if (!store) return;
    const repo = new SyncRunsRepository(store);
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    const runs: [string, string, (typeof RUN_STATUSES)[number], number, number | null][] = [
      ['r0', 'a', 'failed', 3000, 2999], // before the window: not counted
      ['r1', 'a', 'failed', 60, 59],
      ['r2', 'a', 'succeeded', 50, 49],
      ['r3', 'a', 'succeeded', 40, 38],
      ['r4', 'a', 'running', 10, null],
      ['r5', 'b', 'partial', 3000, 2990], // only before the window: its latest run all the same
      ['r6', 'z', 'succeeded', 5, 4], // a sync not asked for (deleted)
    ];
    for (const [id, sync, status, start, end] of runs) {
      await repo.create({ id, sync, trigger: 'manual', fullResync: false, startedAt: at(start) });
      await repo.update(id, { status, ...(end === null ? {} : { finishedAt: at(end) }) });
    }
    const overview = await repo.metricsOverview(['a', 'b', 'c'], at(24 * 60));
    expect(overview.counts.sort((x, y) => `${x.sync}${x.status}`.localeCompare(`${y.sync}${y.status}`))).toEqual([
      { sync: 'a', status: 'failed', runs: 1 },
      { sync: 'a', status: 'running', runs: 1 },
      { sync: 'a', status: 'succeeded', runs: 2 },
    ]);
    expect(overview.latest).toEqual(
      new Map([
        ['a', { status: 'running', finishedAt: null }],
        ['b', { status: 'partial', finishedAt: at(2990) }],
      ]),
    );
    expect(overview.lastFinished).toEqual(
      new Map([
        ['a', at(38)],
        ['b', at(2990)],
      ]),
    );
    expect(await repo.metricsOverview([], at(60))).toEqual({ counts: [], latest: new Map(), lastFinished: new Map() });
    // more syncs than one statement holds (SQLite: 500 terms in a compound select)
    const many = Array.from({ length: 450 }, (_, i) => `s${i}`);
    expect((await repo.metricsOverview([...many, 'a'], at(24 * 60))).latest.get('a')).toEqual({ status: 'running', finishedAt: null });
  });
});
