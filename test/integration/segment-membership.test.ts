import { ModelEngine } from '../../src/models/model-engine';
import { compileSegment } from '../../src/segments/segment-compiler';
import { segmentContext } from '../../src/segments/segment-builder';
import { queryAll, type Row } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { TempProject } from '../support/temp-project';

/**
 * Segments built by `cdp build` on real warehouses (DuckDB, PostgreSQL): the member tables, entries and
 * exits in cdp.segment_membership across builds, cdp.segment_runs, SQL segments, splits that hold across
 * builds, and the compiled tree (what preview runs) giving the saved members.
 */
const targets = [
  { name: 'duckdb', available: async () => true, env: (schema: string) => ({ CDP_WAREHOUSE_SCHEMA: schema }) },
  { name: 'postgres', available: requirePostgres, env: (schema: string) => ({ CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: schema }) },
];

const CONFIG = (cdp: string) => `name: segments_test
warehouse: { type: duckdb }
ingest: { schema: ${cdp} }
identity:
  identifiers:
    - { type: user_id, from: [people.user_id, purchases.user_id] }
  sources:
    purchases: { time: at }
  traits:
    - { name: country, from: people.country }
  computed_traits:
    - { name: orders, from: purchases, function: count }
  events:
    - { from: purchases, event: Purchase, properties: [amount] }
  as_of: "2026-03-10T00:00:00Z"
`;

const PEOPLE_V1 = 'user_id,country\nu1,GB\nu2,FR\nu3,GB\nu4,DE\n';
// u3 moves to France, u2 to Britain: u3 leaves "british", u2 enters
const PEOPLE_V2 = 'user_id,country\nu1,GB\nu2,GB\nu3,FR\nu4,DE\n';
const PURCHASES = 'user_id,amount,at\nu1,10,2026-03-01 10:00:00\nu1,25,2026-03-05 10:00:00\nu2,100,2026-01-01 10:00:00\nu4,5,2026-03-09 10:00:00\n';

const FILES = {
  'seeds/people.csv': PEOPLE_V1,
  'seeds/purchases.csv': PURCHASES,
  'seeds/seeds.yml': 'seeds:\n  - name: purchases\n    config: { column_types: { amount: float, at: timestamp } }\n',
  'segments/british.yaml': 'name: british\nwhere: { trait: { name: country, op: "=", value: GB } }\n',
  'segments/recent_buyers.yaml': 'name: recent_buyers\nwhere: { event: { name: Purchase, within: 30d } }\nsplit: { target: 50, holdout: 50 }\n',
  'segments/british_buyers.yaml': 'name: british_buyers\nwhere: { and: [ { segment: { name: british } }, { segment: { name: big_spenders } } ] }\n',
  'models/big_spenders.sql': 'select profile_id from {{source "cdp" "profiles"}} where orders >= 1',
  'models/big_spenders.yml': 'models:\n  - name: big_spenders\n    config: { materialized: table, segment: true }\n',
};

describe.each(targets)('segment membership on $name', (target) => {
  let ok = false;
  let p: TempProject;
  let ws: Workspace;
  let schema: string;
  let cdp: string;

  beforeAll(async () => {
    ok = await target.available();
    if (!ok) return;
    schema = uniqueSchema('cdp_seg');
    cdp = `${schema}_cdp`;
    p = new TempProject({ 'cdp.yaml': CONFIG(cdp), ...FILES });
    ws = await Workspace.open(p.config({ ...target.env(schema), CDP_LOG_LEVEL: 'silent' }));
  }, 60_000);

  afterAll(async () => {
    await ws?.close();
    p?.cleanup();
    if (ok && target.name === 'postgres') {
      await dropSchema(schema);
      await dropSchema(cdp);
    }
  });

  const rows = (sql: string): Promise<Row[]> => queryAll(ws.warehouse, sql.replaceAll('cdp.', `${cdp}.`));
  const ids = (rs: Row[]) => rs.map((r) => String(r.profile_id_user ?? r.profile_id)).sort();
  /** profile ids of the given user ids */
  const profileOf = async (): Promise<Map<string, string>> =>
    new Map((await rows(`select id_value, profile_id from cdp.identity_graph where id_type = 'user_id'`)).map((r) => [String(r.id_value), String(r.profile_id)]));
  const users = async (profileIds: string[]) => {
    const of = await profileOf();
    const back = new Map([...of].map(([u, pid]) => [pid, u]));
    return profileIds.map((id) => back.get(id)).sort();
  };

  it('builds tree and SQL segments after the profiles, and records entries and exits across builds', async () => {
    if (!ok) return;
    const engine = new ModelEngine(ws);
    const first = await engine.build();
    expect(first.results.filter((r) => r.error).map((r) => r.error)).toEqual([]);
    expect(first.status).toBe("success");
    const order = first.results.filter((r) => r.kind === 'segment' || r.node === 'big_spenders').map((r) => r.node);
    // a segment runs after the segments it names (british_buyers after british and the SQL segment big_spenders)
    expect(order.indexOf('british_buyers')).toBeGreaterThan(order.indexOf('british'));
    expect(order.indexOf('british_buyers')).toBeGreaterThan(order.indexOf('big_spenders'));
    expect(first.results.find((r) => r.node === 'british')).toMatchObject({ status: 'success', rows: 2, summary: '2 members, +2 -0' });

    expect(await users(ids(await rows(`select profile_id from ${schema}.british`)))).toEqual(['u1', 'u3']);
    expect(await users(ids(await rows(`select profile_id from ${schema}.big_spenders`)))).toEqual(['u1', 'u2', 'u4']);
    expect(await users(ids(await rows(`select profile_id from ${schema}.british_buyers`)))).toEqual(['u1']);
    // within 30 days of as_of (2026-03-10): u1 (twice) and u4; u2's purchase is from January
    expect(await users(ids(await rows(`select profile_id from ${schema}.recent_buyers`)))).toEqual(['u1', 'u4']);
    const splitBefore = await rows(`select profile_id, split_group from ${schema}.recent_buyers order by profile_id`);
    expect(splitBefore.every((r) => ['target', 'holdout'].includes(String(r.split_group)))).toBe(true);

    const firstRunAt = (await rows(`select max(run_at) as at from cdp.segment_runs where segment = 'british'`))[0].at;
    await new Promise((r) => setTimeout(r, 20));
    p.write({ 'seeds/people.csv': PEOPLE_V2 });
    const second = await engine.build();
    expect(second.status).toBe('success');
    expect(second.results.find((r) => r.node === 'british')).toMatchObject({ rows: 2, summary: '2 members, +1 -1' });

    expect(await users(ids(await rows(`select profile_id from ${schema}.british`)))).toEqual(['u1', 'u2']);
    const history = await rows(`select profile_id, entered_at, exited_at from cdp.segment_membership where segment = 'british' order by entered_at, profile_id`);
    const of = await profileOf();
    const stay = (u: string) => history.filter((h) => h.profile_id === of.get(u));
    expect(stay('u1')).toHaveLength(1);
    expect(stay('u1')[0].exited_at).toBeNull();
    expect(stay('u3')).toHaveLength(1);
    expect(stay('u3')[0].exited_at).not.toBeNull();
    expect(stay('u2')).toHaveLength(1);
    expect(stay('u2')[0].exited_at).toBeNull();
    expect(String(stay('u2')[0].entered_at)).toBe(String(stay('u3')[0].exited_at));

    // membership at the time of the first build is what the first build saw
    const at = firstRunAt instanceof Date ? firstRunAt.toISOString().replace('T', ' ').replace('Z', '') : String(firstRunAt);
    const then = await queryAll(
      ws.warehouse,
      `select profile_id from ${cdp}.segment_membership where segment = 'british' and entered_at <= cast(? as timestamp) and (exited_at is null or exited_at > cast(? as timestamp))`,
      [at, at],
    );
    expect(await users(ids(then))).toEqual(['u1', 'u3']);

    const runs = await rows(`select size, entered, exited from cdp.segment_runs where segment = 'british' order by run_at`);
    expect(runs.map((r) => [Number(r.size), Number(r.entered), Number(r.exited)])).toEqual([
      [2, 2, 0],
      [2, 1, 1],
    ]);

    // the split groups hold across builds
    expect(await rows(`select profile_id, split_group from ${schema}.recent_buyers order by profile_id`)).toEqual(splitBefore);
    // british_buyers follows british: u2 now qualifies (GB and a buyer)
    expect(await users(ids(await rows(`select profile_id from ${schema}.british_buyers`)))).toEqual(['u1', 'u2']);
  }, 120_000);

  it('the compiled tree (what preview runs) gives the saved members', async () => {
    if (!ok) return;
    const project = ws.project();
    const ctx = await segmentContext(ws.warehouse, project);
    for (const name of ['british', 'recent_buyers', 'british_buyers']) {
      const { sql, params } = compileSegment(project.segments.get(name)!.definition, ctx);
      const preview = ids(await queryAll(ws.warehouse, sql, params));
      expect(preview).toEqual(ids(await rows(`select profile_id from ${schema}.${name}`)));
    }
  });

  it('event properties reach segments typed: an aggregate over amount', async () => {
    if (!ok) return;
    const project = ws.project();
    const ctx = await segmentContext(ws.warehouse, project);
    expect(ctx.events?.properties.get('amount')).toEqual({ column: 'amount', type: 'float' });
    const { sql, params } = compileSegment({ name: 'spent_30', where: { event: { name: 'Purchase', aggregate: { function: 'sum', property: 'amount', op: '>=', value: 30 } } } }, ctx);
    expect(await users(ids(await queryAll(ws.warehouse, sql, params)))).toEqual(['u1', 'u2']);
  });
});
