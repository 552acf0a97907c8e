import { IdentityResolver, type IdentityRunResult } from '../../src/identity/identity-resolver';
import { messageSchemas, type MessageType } from '../../src/ingest/messages.schema';
import { RAW_EVENT_COLUMN_NAMES, rawEventsRelation, toRawEventRow } from '../../src/ingest/raw-events';
import { ModelEngine } from '../../src/models/model-engine';
import { queryAll, type Row } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { TempProject } from '../support/temp-project';

/**
 * Identity resolution end to end on real warehouses (DuckDB in-process, PostgreSQL): raw events as
 * the tracking API writes them plus CRM and web seeds, resolved by `cdp build` (the identity step of
 * the DAG) or by the resolver directly, then read back from cdp.identity_graph / profiles / merges.
 */
interface Target {
  name: 'duckdb' | 'postgres';
  available(): Promise<boolean>;
  env(schema: string): NodeJS.ProcessEnv;
}

const targets: Target[] = [
  { name: 'duckdb', available: async () => true, env: (schema) => ({ CDP_WAREHOUSE_SCHEMA: schema }) },
  { name: 'postgres', available: requirePostgres, env: (schema) => ({ CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: schema }) },
];

const IDENTITY = `
identity:
  identifiers:
    - { type: user_id, from: [events.user_id, crm.customer_id], limit: 1 }
    - { type: email, from: [events.traits.email, events.context.traits.email, crm.email], limit: 5 }
    - { type: phone, from: [events.traits.phone, crm.phone], default_country: GB, limit: 3 }
    - { type: anonymous_id, from: [events.anonymous_id], limit: 100 }
  ignore: [ "test@example.com", { pattern: "^0+$" }, { pattern: "@mailinator\\\\.com$" } ]
  priority: [user_id, email, phone, anonymous_id]
  sources:
    crm: { time: updated_at }
  traits:
    - { name: first_name, from: [crm.first_name, events.traits.first_name], rule: priority }
    - { name: plan, from: [events.traits.plan], rule: latest }
    - { name: signup_plan, from: [events.traits.plan], rule: first }
  computed_traits:
    - { name: orders, from: events, function: count, where: { event: "Order Completed" } }
    - { name: revenue, from: events, function: sum, column: properties.revenue, where: { event: "Order Completed" } }
    - { name: orders_7d, from: events, function: count, where: { event: "Order Completed" }, window: 7d }
    - { name: last_product, from: events, function: last, column: properties.product_id, where: { event: [Product Viewed, Order Completed] } }
    - { name: crm_rows, from: crm, function: count }
  as_of: "2026-03-10T00:00:00Z"
`;

const CRM_HEADER = 'customer_id,email,phone,first_name,updated_at';

type Msg = { type: MessageType; at: string; received?: string; id?: string } & Record<string, unknown>;

describe.each(targets)('identity resolution on $name', (target) => {
  let ok = false;
  const opened: { p: TempProject; ws?: Workspace; schema: string }[] = [];

  beforeAll(async () => {
    ok = await target.available();
  });

  afterEach(async () => {
    for (const { p, ws, schema } of opened.splice(0)) {
      await ws?.close();
      p.cleanup();
      if (target.name === 'postgres') {
        await dropSchema(schema);
        await dropSchema(`${schema}_cdp`);
      }
    }
  });

  const test = (name: string, fn: () => Promise<void>, timeout?: number) =>
    it(
      name,
      async () => {
        if (!ok) return;
        await fn();
      },
      timeout,
    );

  interface Ctx {
    ws: Workspace;
    p: TempProject;
    cdp: string;
    engine: ModelEngine;
    send(messages: Msg[]): Promise<void>;
    resolve(full?: boolean): Promise<IdentityRunResult>;
    rows(sql: string): Promise<Row[]>;
    t(name: string): string;
    /** identifier -> profile id */
    graph(): Promise<Map<string, string>>;
    /** sets of identifiers that share a profile, sorted */
    partition(): Promise<string[][]>;
  }

  async function project(crm: string[] = [], identity = IDENTITY): Promise<Ctx> {
    const schema = uniqueSchema('cdp_id');
    const cdp = `${schema}_cdp`;
    const p = new TempProject({
      'cdp.yaml': `name: identity_test\nwarehouse: { type: duckdb }\ningest: { schema: ${cdp} }\n${identity}`,
      'seeds/crm.csv': [CRM_HEADER, ...crm].join('\n') + '\n',
      'seeds/crm.yml': 'seeds:\n  - name: crm\n    config: { column_types: { customer_id: string, phone: string, updated_at: timestamp } }\n',
    });
    const entry: (typeof opened)[number] = { p, schema };
    opened.push(entry);
    const ws = await Workspace.open(p.config(target.env(schema)));
    entry.ws = ws;
    const d = ws.warehouse.dialect;
    let n = 0;
    const t = (name: string) => d.relation({ schema: cdp, name });
    const ctx: Ctx = {
      ws,
      p,
      cdp,
      engine: new ModelEngine(ws),
      async send(messages) {
        const rows = messages.map(({ type, at, received, id, ...body }) => {
          const m = messageSchemas[type].parse({ type, timestamp: at, ...body });
          return toRawEventRow(type, m, new Date(received ?? at), 'test', id ?? `m${++n}`);
        });
        await ws.warehouse.append(rawEventsRelation(cdp), RAW_EVENT_COLUMN_NAMES, rows);
      },
      resolve: async (full) => {
        const project = ws.project();
        return new IdentityResolver(ws.warehouse, project.identity!.plan).run({ full });
      },
      rows: (sql) => queryAll(ws.warehouse, sql),
      t,
      async graph() {
        const rows = await queryAll(ws.warehouse, `select id_type, id_value, profile_id from ${t('identity_graph')}`);
        return new Map(rows.map((r) => [`${String(r.id_type)}:${String(r.id_value)}`, String(r.profile_id)]));
      },
      async partition() {
        const groups = new Map<string, string[]>();
        for (const [node, pid] of await ctx.graph()) groups.set(pid, [...(groups.get(pid) ?? []), node]);
        return [...groups.values()].map((g) => g.sort()).sort((a, b) => a[0].localeCompare(b[0]));
      },
    };
    // the CRM seed must exist before resolution reads it
    const seeded = await ctx.engine.seed();
    expect(seeded.status).toBe('success');
    return ctx;
  }

  test('merges one customer across the CRM, the website and the app, with normalized identifiers', async () => {
    const c = await project(['u1,Jane.Doe@Example.com,07700 900123,Jane,2026-01-01 00:00:00', 'u2,bob@example.org,,Bob,2026-01-02 00:00:00']);
    await c.send([
      // web: anonymous browsing, then a sign-up form with the email typed differently
      { type: 'page', at: '2026-03-01T10:00:00Z', anonymousId: 'a1', name: 'Home' },
      { type: 'identify', at: '2026-03-01T10:05:00Z', anonymousId: 'a1', traits: { email: '  jane.doe@EXAMPLE.com ', plan: 'free' } },
      // app: logged in on a phone, with the phone number in international form
      { type: 'identify', at: '2026-03-02T08:00:00Z', anonymousId: 'a2', userId: 'u1', traits: { phone: '+44 7700 900-123', plan: 'pro' } },
      { type: 'track', at: '2026-03-05T08:00:00Z', anonymousId: 'a2', event: 'Order Completed', properties: { revenue: 30.5, product_id: 'p9' } },
      { type: 'track', at: '2026-02-01T08:00:00Z', userId: 'u1', event: 'Order Completed', properties: { revenue: 10, product_id: 'p1' } },
      // someone else entirely
      { type: 'track', at: '2026-03-03T08:00:00Z', anonymousId: 'a3', event: 'Product Viewed', properties: { product_id: 'p3' } },
    ]);
    const build = await c.engine.build();
    expect(build.results.find((r) => r.node === 'identity')).toMatchObject({ status: 'success', what: 'identity', rows: 3 });

    expect(await c.partition()).toEqual([
      ['anonymous_id:a1', 'anonymous_id:a2', 'email:jane.doe@example.com', 'phone:+447700900123', 'user_id:u1'],
      ['anonymous_id:a3'],
      ['email:bob@example.org', 'user_id:u2'],
    ]);
    const graph = await c.graph();
    const jane = graph.get('user_id:u1')!;
    const profiles = await c.rows(`select * from ${c.t('profiles')} order by profile_id`);
    const janeRow = profiles.find((r) => r.profile_id === jane)!;
    expect(janeRow).toMatchObject({ first_name: 'Jane', plan: 'pro', signup_plan: 'free', last_product: 'p9', crm_rows: 1 });
    expect(Number(janeRow.orders)).toBe(2);
    expect(Number(janeRow.revenue)).toBeCloseTo(40.5, 6);
    expect(Number(janeRow.orders_7d)).toBe(1);
    const sources = await c.rows(`select id_type, source from ${c.t('identity_graph')} where profile_id = '${jane}' order by id_type`);
    expect(sources.map((r) => `${String(r.id_type)}:${String(r.source)}`)).toEqual([
      'anonymous_id:events',
      'anonymous_id:events',
      'email:crm',
      'phone:crm',
      'user_id:crm',
    ]);
  });
});
