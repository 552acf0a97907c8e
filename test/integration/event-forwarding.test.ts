import { ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { IdentityResolver } from '../../src/identity/identity-resolver';
import { messageSchemas, type MessageType } from '../../src/ingest/messages.schema';
import { RAW_EVENT_COLUMN_NAMES, rawEventsRelation, toRawEventRow } from '../../src/ingest/raw-events';
import { compileMapping } from '../../src/syncs/field-mapping';
import { loadSyncFiles } from '../../src/syncs/sync-catalog';
import { engineOptions, syncSchema, type SyncDefinitionInput } from '../../src/syncs/sync-definition';
import { previewPlan, sourceQuery } from '../../src/syncs/sync-planner';
import { SyncRunner, type SyncTarget } from '../../src/syncs/sync-runner';
import { queryAll } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { memoryLogger, RecordingDestination } from '../support/recording-destination';
import { TempProject } from '../support/temp-project';

/**
 * Event forwarding (`source: { events: ... }`) on real warehouses: events written to raw_events as
 * the tracking API writes them, profiles resolved by identity resolution, then event syncs run by
 * the sync runner into a recording destination. What must hold: the `where` filters, trait
 * enrichment through the identity graph, each message id sent once (duplicate copies, later runs),
 * forward_only as the default start, the cursor bounding what a run reads (a late commit within the
 * lookback still goes), order per profile across batches, a 429 retry and a failed run, preview,
 * and clear errors for bad definitions.
 */
const targets = [
  { name: 'duckdb', available: async () => true, env: (schema: string) => ({ CDP_WAREHOUSE_SCHEMA: schema }) },
  { name: 'postgres', available: requirePostgres, env: (schema: string) => ({ CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: schema }) },
];

const IDENTITY = `identity:
  identifiers:
    - { type: user_id, from: [events.user_id], limit: 1 }
    - { type: email, from: [events.traits.email], limit: 5 }
    - { type: anonymous_id, from: [events.anonymous_id], limit: 100 }
  traits:
    - { name: email, from: [events.traits.email] }
    - { name: plan, from: [events.traits.plan] }
`;

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** One message as a client sends it, with when the API received it and its message id. */
type Msg = { type: MessageType; id: string; at: string; received?: string; source?: string } & Record<string, unknown>;

const MAPPING: SyncDefinitionInput['mapping'] = {
  event: 'event',
  user_id: 'user_id',
  profile_id: 'profile_id',
  timestamp: 'timestamp',
  properties: { column: 'properties', type: 'json' },
  'traits.email': 'email',
  'traits.plan': 'plan',
};

const eventSync = (name: string, extra: Partial<SyncDefinitionInput> = {}, events: Record<string, unknown> = {}): SyncDefinitionInput => ({
  name,
  source: { events: { traits: ['email', 'plan'], ...events } },
  destination: 'recorder',
  mode: 'insert',
  mapping: MAPPING,
  options: { first_sync: 'backfill' },
  ...extra,
});

describe.each(targets)('event forwarding on $name', (target) => {
  let ok = false;
  const opened: { p: TempProject; ws?: Workspace; schema: string; cdp: string }[] = [];

  beforeAll(async () => {
    ok = await target.available();
  });

  afterEach(async () => {
    for (const { p, ws, schema, cdp } of opened.splice(0)) {
      await ws?.close();
      p.cleanup();
      if (target.name === 'postgres') {
        await dropSchema(schema);
        await dropSchema(cdp);
      }
    }
  });

  const test = (name: string, fn: () => Promise<void>) =>
    it(name, async () => {
      if (!ok) return;
      await fn();
    });

  interface Ctx {
    ws: Workspace;
    p: TempProject;
    runner: SyncRunner;
    sleeps: number[];
    send(messages: Msg[]): Promise<void>;
    resolve(): Promise<void>;
    /** message id → profile id, from the identity graph (by user id, else anonymous id) */
    profileOf(userOrAnonymousId: string): Promise<string>;
    t(name: string): string;
  }

  async function project(files: Record<string, string> = {}): Promise<Ctx> {
    const schema = uniqueSchema('evf');
    const cdp = `${schema}_cdp`;
    const p = new TempProject({ 'cdp.yaml': `name: event_forwarding\nwarehouse: { type: duckdb }\ningest: { schema: ${cdp} }\n${IDENTITY}`, ...files });
    const entry: (typeof opened)[number] = { p, schema, cdp };
    opened.push(entry);
    const ws = await Workspace.open(p.config(target.env(schema)));
    entry.ws = ws;
    const sleeps: number[] = [];
    const t = (name: string) => ws.warehouse.dialect.relation({ schema: cdp, name });
    return {
      ws,
      p,
      sleeps,
      t,
      runner: new SyncRunner(ws, memoryLogger(), { sleep: (ms) => (sleeps.push(ms), Promise.resolve()), baseDelayMs: 10 }),
      async send(messages) {
        const rows = messages.map(({ type, id, at: ts, received, source, ...body }) => {
          const m = messageSchemas[type].parse({ type, timestamp: ts, ...body });
          return toRawEventRow(type, m, new Date(received ?? ts), source ?? 'web', id);
        });
        await ws.warehouse.append(rawEventsRelation(cdp), RAW_EVENT_COLUMN_NAMES, rows);
      },
      async resolve() {
        await new IdentityResolver(ws.warehouse, ws.project().identity!.plan).run();
      },
      async profileOf(id) {
        const rows = await queryAll(ws.warehouse, `select profile_id from ${t('identity_graph')} where id_type in ('user_id', 'anonymous_id') and id_value = ?`, [id]);
        expect(rows).toHaveLength(1);
        return String(rows[0].profile_id);
      },
    };
  }

  /** The rows of every call after `from` (all by default), flattened in the order sent. */
  const sent = (dest: RecordingDestination, from = 0): OutgoingRow[] => dest.calls.slice(from).flat();
  const keys = (rows: OutgoingRow[]) => rows.map((r) => r.key);

  test('forwards the events that match `where`, with the traits of the profile found by user id or by anonymous id alone', async () => {
    const c = await project();
    await c.send([
      { type: 'identify', id: 'm-id-1', at: at(0), userId: 'u1', anonymousId: 'a1', traits: { email: 'ann@x.io', plan: 'pro' } },
      { type: 'track', id: 'm-order', at: at(2 * MIN), userId: 'u1', event: 'Order Completed', properties: { plan: 'pro', total: 30 } },
      // no user id: the anonymous id the identify linked finds Ann's profile
      { type: 'track', id: 'm-view-anon', at: at(1 * MIN), anonymousId: 'a1', event: 'Product Viewed', properties: { plan: 'free' }, context: { page: { path: '/p/1' } } },
      // someone identity knows only by an anonymous id: a profile without traits
      { type: 'track', id: 'm-view-other', at: at(3 * MIN), anonymousId: 'a9', event: 'Product Viewed', properties: { plan: 'free' }, context: { page: { path: '/p/2' } } },
      { type: 'page', id: 'm-page', at: at(4 * MIN), anonymousId: 'a1', name: 'Home' },
      { type: 'track', id: 'm-signout', at: at(5 * MIN), userId: 'u1', event: 'Signed Out' },
      { type: 'track', id: 'm-other-source', at: at(6 * MIN), userId: 'u1', event: 'Order Completed', source: 'pos', properties: { plan: 'pro', total: 12 } },
    ]);
    await c.resolve();
    const ann = await c.profileOf('u1');
    expect(await c.profileOf('a1')).toBe(ann);
    const other = await c.profileOf('a9');

    const dest = new RecordingDestination();
    const run = await c.runner.run(dest.target(eventSync('web_funnel', {}, { where: { type: 'track', event: ['Order Completed', 'Product Viewed'], source_id: 'web' } })), c.ws.project(), { trigger: 'manual' });
    expect(run).toMatchObject({ status: 'succeeded', planned: 3, added: 3, succeeded: 3, failed: 0 });
    // in event time: the anonymous view (12:01), the order (12:02), the other view (12:03)
    expect(sent(dest)).toEqual([
      {
        op: 'insert',
        key: 'm-view-anon',
        fields: { event: 'Product Viewed', user_id: null, profile_id: ann, timestamp: expect.anything(), properties: { plan: 'free' }, traits: { email: 'ann@x.io', plan: 'pro' } },
      },
      {
        op: 'insert',
        key: 'm-order',
        fields: { event: 'Order Completed', user_id: 'u1', profile_id: ann, timestamp: expect.anything(), properties: { plan: 'pro', total: 30 }, traits: { email: 'ann@x.io', plan: 'pro' } },
      },
      {
        op: 'insert',
        key: 'm-view-other',
        fields: { event: 'Product Viewed', user_id: null, profile_id: other, timestamp: expect.anything(), properties: { plan: 'free' }, traits: { email: null, plan: null } },
      },
    ]);
    expect(new Date(sent(dest)[1].fields.timestamp as string).toISOString()).toBe(at(2 * MIN));

    // JSON paths: text equality, a number compared as its text, null for a missing value
    const only = async (name: string, where: Record<string, unknown>) => {
      const d = new RecordingDestination();
      expect(await c.runner.run(d.target(eventSync(name, {}, { where })), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded' });
      return keys(sent(d)).sort();
    };
    expect(await only('by_property', { 'properties.plan': 'pro' })).toEqual(['m-order', 'm-other-source']);
    expect(await only('by_number', { 'properties.total': 30 })).toEqual(['m-order']);
    expect(await only('by_context', { 'context.page.path': ['/p/1', '/p/3'] })).toEqual(['m-view-anon']);
    expect(await only('by_type', { type: ['page', 'identify'] })).toEqual(['m-id-1', 'm-page']);
    expect(await only('no_properties', { type: 'track', 'properties.plan': null })).toEqual(['m-signout']);

    // an event identity has not resolved yet goes without a profile
    await c.send([{ type: 'track', id: 'm-new', at: at(7 * MIN), userId: 'u7', event: 'Order Completed' }]);
    const before = dest.calls.length;
    await c.runner.run(dest.target(eventSync('web_funnel', {}, { where: { type: 'track', event: ['Order Completed', 'Product Viewed'], source_id: 'web' } })), c.ws.project(), { trigger: 'manual' });
    expect(sent(dest, before)).toEqual([{ op: 'insert', key: 'm-new', fields: expect.objectContaining({ user_id: 'u7', profile_id: null, traits: { email: null, plan: null } }) }]);
  });

  test('each message id is sent once: the first received copy of duplicates, and never again in later runs', async () => {
    const c = await project();
    await c.send([
      { type: 'track', id: 'm-1', at: at(0), userId: 'u1', event: 'Order Completed', properties: { copy: 1 }, received: at(10_000) },
      // the client retried (its answer was lost): the same message, received later
      { type: 'track', id: 'm-1', at: at(0), userId: 'u1', event: 'Order Completed', properties: { copy: 2 }, received: at(70_000) },
      { type: 'track', id: 'm-2', at: at(MIN), userId: 'u1', event: 'Order Completed', properties: { copy: 1 }, received: at(80_000) },
    ]);
    await c.resolve();
    const dest = new RecordingDestination();
    const sync = eventSync('orders');
    expect(await c.runner.run(dest.target(sync), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 2, succeeded: 2 });
    expect(sent(dest).map((r) => [r.key, r.fields.properties])).toEqual([
      ['m-1', { copy: 1 }],
      ['m-2', { copy: 1 }],
    ]);

    // nothing new: nothing sent
    expect(await c.runner.run(dest.target(sync), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 0, unchanged: 2 });
    // a third copy of m-1 and a new event: only the new one goes
    await c.send([
      { type: 'track', id: 'm-1', at: at(0), userId: 'u1', event: 'Order Completed', properties: { copy: 3 }, received: at(3 * MIN) },
      { type: 'track', id: 'm-3', at: at(2 * MIN), userId: 'u1', event: 'Order Completed', received: at(3 * MIN) },
    ]);
    const before = dest.calls.length;
    expect(await c.runner.run(dest.target(sync), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 1, unchanged: 2 });
    expect(keys(sent(dest, before))).toEqual(['m-3']);
    expect(keys(sent(dest)).sort()).toEqual(['m-1', 'm-2', 'm-3']);
    const snapshot = await queryAll(c.ws.warehouse, `select _cdp_key as k from ${c.t('sync_orders_snapshot')} order by 1`);
    expect(snapshot.map((r) => r.k)).toEqual(['m-1', 'm-2', 'm-3']);
  });

  test('a new event sync starts forward only (history is not replayed); first_sync: backfill sends everything', async () => {
    const c = await project();
    await c.send([
      { type: 'track', id: 'old-1', at: at(-3 * 24 * 60 * MIN), userId: 'u1', event: 'Order Completed' },
      { type: 'track', id: 'old-2', at: at(-1 * MIN), userId: 'u2', event: 'Order Completed' },
    ]);
    await c.resolve();
    const forward = new RecordingDestination();
    const fwd = { ...eventSync('forward'), options: {} };
    expect(engineOptions(syncSchema.parse(fwd)).first_sync).toBe('forward_only');
    expect(await c.runner.run(forward.target(fwd), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 0, succeeded: 0 });
    expect(forward.calls).toEqual([]);
    await c.send([{ type: 'track', id: 'new-1', at: at(MIN), userId: 'u1', event: 'Order Completed' }]);
    expect(await c.runner.run(forward.target(fwd), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 1 });
    expect(keys(sent(forward))).toEqual(['new-1']);

    const backfill = new RecordingDestination();
    expect(await c.runner.run(backfill.target(eventSync('backfill')), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 3 });
    expect(keys(sent(backfill))).toEqual(['old-1', 'old-2', 'new-1']);

    // a full resync of the forward-only sync sends every event again
    const again = forward.calls.length;
    expect(await c.runner.run(forward.target(fwd), c.ws.project(), { trigger: 'manual', fullResync: true })).toMatchObject({ status: 'succeeded', planned: 3 });
    expect(keys(sent(forward, again))).toEqual(['old-1', 'old-2', 'new-1']);
  });

  test('the cursor: a run reads only the events received since the last one minus 10 minutes; a late commit within that still goes; old ids leave the snapshot', async () => {
    const c = await project();
    const d = c.ws.warehouse.dialect;
    await c.send([
      { type: 'track', id: 'e-8d', at: at(-8 * 24 * 60 * MIN), userId: 'u1', event: 'Order Completed' },
      { type: 'track', id: 'e-1h', at: at(-60 * MIN), userId: 'u1', event: 'Order Completed' },
      { type: 'track', id: 'e-2m', at: at(-2 * MIN), userId: 'u1', event: 'Order Completed' },
      { type: 'track', id: 'e-0', at: at(0), userId: 'u1', event: 'Order Completed' },
    ]);
    await c.resolve();
    const dest = new RecordingDestination();
    const sync = eventSync('cursor');
    expect(await c.runner.run(dest.target(sync), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 4 });
    const cursorIs = async (iso: string) =>
      Number((await queryAll(c.ws.warehouse, `select count(*) as n from ${c.t('sync_cursors')} where sync = 'cursor' and received_until = ${d.timestampLiteral(new Date(iso))}`))[0].n);
    expect(await cursorIs(at(0))).toBe(1);

    // committed late: received 5 minutes before the cursor (inside the lookback) and 30 minutes before (outside)
    await c.send([
      { type: 'track', id: 'late-5m', at: at(-5 * MIN), userId: 'u1', event: 'Order Completed' },
      { type: 'track', id: 'late-30m', at: at(-30 * MIN), userId: 'u1', event: 'Order Completed' },
    ]);
    const before = dest.calls.length;
    // the run reads e-2m, e-0 (already sent) and late-5m: neither e-1h nor the 8-day-old event
    expect(await c.runner.run(dest.target(sync), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 1, unchanged: 2 });
    expect(keys(sent(dest, before))).toEqual(['late-5m']);
    // the snapshot forgot the id received more than 7 days behind the cursor
    const snapshot = await queryAll(c.ws.warehouse, `select _cdp_key as k from ${c.t('sync_cursor_snapshot')} order by 1`);
    expect(snapshot.map((r) => r.k)).toEqual(['e-0', 'e-1h', 'e-2m', 'late-5m']);
    expect(await cursorIs(at(0))).toBe(1);

    // the cursor follows the newest event received, whether it matches the filters or not
    await c.send([{ type: 'page', id: 'p-20m', at: at(20 * MIN), anonymousId: 'a1', name: 'Home' }]);
    expect(await c.runner.run(dest.target(eventSync('cursor', {}, { where: { type: 'track' } })), c.ws.project(), { trigger: 'manual' })).toMatchObject({ planned: 0 });
    expect(await cursorIs(at(20 * MIN))).toBe(1);
  });

  test('order per profile: plan rows by event time, one batch at a time, across batches, a 429 retry and a failed run', async () => {
    const c = await project();
    // received in the reverse order of their time, with ids in neither order
    const events: Msg[] = Array.from({ length: 12 }, (_, i) => ({
      type: 'track',
      id: `m-${String((7 * i) % 12).padStart(2, '0')}-${i}`,
      at: at(i * MIN),
      received: at((20 - i) * MIN),
      userId: i % 3 === 0 ? 'u2' : 'u1',
      event: `Step ${i}`,
    }));
    await c.send(events);
    await c.resolve();
    const inTime = events.map((e) => e.id);
    const dest = new RecordingDestination();
    const sync = eventSync('ordered', { options: { first_sync: 'backfill', batch_size: 2 } });
    const target = (): SyncTarget => {
      const t = dest.target(sync);
      // the action would allow four batches in flight: an events sync still sends one at a time
      return { ...t, action: { ...t.action, concurrency: 4 } };
    };
    // the second call is throttled once; the fifth is refused for a bad key, which stops the run
    dest.fault = (_rows, call) => {
      if (call === 2) throw new RetryableError('429 Too Many Requests', 25);
      if (call === 5) throw new ConfigurationError('401 bad key');
      return undefined;
    };
    const r1 = await c.runner.run(target(), c.ws.project(), { trigger: 'manual' });
    expect(r1).toMatchObject({ status: 'failed', planned: 12, succeeded: 6, retries: 1, error: '401 bad key' });
    expect(c.sleeps.length).toBe(1);
    expect(c.sleeps[0]).toBeGreaterThanOrEqual(25);
    // the throttled batch was sent again before the next one
    expect(dest.calls.map(keys)).toEqual([inTime.slice(0, 2), inTime.slice(2, 4), inTime.slice(2, 4), inTime.slice(4, 6), inTime.slice(6, 8)]);

    // the failed run moved no cursor: the next run sends the rest, in order, nothing twice
    dest.fault = undefined;
    const before = dest.calls.length;
    expect(await c.runner.run(target(), c.ws.project(), { trigger: 'manual' })).toMatchObject({ status: 'succeeded', planned: 6, succeeded: 6 });
    expect(dest.calls.slice(before).every((call) => call.length <= 2)).toBe(true);
    const delivered = [...dest.calls.slice(0, 1), ...dest.calls.slice(2, 4), ...dest.calls.slice(before)].flat();
    expect(keys(delivered)).toEqual(inTime);
    for (const user of ['u1', 'u2']) {
      const steps = delivered.filter((r) => r.fields.user_id === user).map((r) => Number(String(r.fields.event).split(' ')[1]));
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
    }
  });

  test('preview: what a run would send, in order, changing nothing', async () => {
    const c = await project();
    await c.send([
      { type: 'track', id: 'b', at: at(2 * MIN), userId: 'u1', event: 'Order Completed' },
      { type: 'track', id: 'a', at: at(MIN), userId: 'u1', event: 'Product Viewed' },
    ]);
    await c.resolve();
    const runner = c.runner;
    const preview = async (input: SyncDefinitionInput) => {
      const def = syncSchema.parse(input);
      const where = `syncs/${def.name}.yaml`;
      const source = await sourceQuery(c.ws.warehouse, c.ws.project(), def.source, where);
      const mapping = compileMapping(def.mapping, source.columns, { skipNulls: false, where });
      return previewPlan(
        c.ws.warehouse,
        { sync: def.name, where, source, primaryKey: def.primary_key, columns: mapping.columns, mode: def.mode, tables: runner.tables(def.name), firstSync: engineOptions(def).first_sync },
        5,
      );
    };
    const backfill = await preview(eventSync('preview'));
    expect(backfill).toMatchObject({ added: 2, planned: 2 });
    expect(backfill.samples.map((s) => [s.change, s.key, s.row.event])).toEqual([
      ['add', 'a', 'Product Viewed'],
      ['add', 'b', 'Order Completed'],
    ]);
    // a new forward-only sync would send nothing
    expect(await preview({ ...eventSync('preview'), options: {} })).toMatchObject({ planned: 0, samples: [] });
    expect(await c.ws.warehouse.describe({ schema: opened.at(-1)!.cdp, name: 'sync_preview_snapshot' })).toBeNull();

    const dest = new RecordingDestination();
    await c.runner.run(dest.target(eventSync('preview')), c.ws.project(), { trigger: 'manual' });
    await c.send([{ type: 'track', id: 'c', at: at(3 * MIN), userId: 'u1', event: 'Order Completed' }]);
    expect(await preview(eventSync('preview'))).toMatchObject({ planned: 1, unchanged: 2, samples: [{ change: 'add', key: 'c' }] });
  });

  test('bad definitions are errors naming the key', async () => {
    const problems = (input: Record<string, unknown>) => {
      const r = syncSchema.safeParse(input);
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    const base = { name: 'bad', source: { events: {} }, destination: 'recorder', mode: 'insert', mapping: { event: 'event' } };
    expect(syncSchema.parse(base).primary_key).toBe('message_id');
    expect(problems({ ...base, source: { events: { where: { foo: 'x' } } } })).toEqual([
      'source.events.where.foo: unknown key; filter on type, event, source_id, properties.<path> or context.<path>',
    ]);
    expect(problems({ ...base, source: { events: { where: { 'properties.order-id': 'x', context: 'y' } } } })).toEqual([
      expect.stringMatching(/^source\.events\.where\.properties\.order-id: a path inside properties is names of letters, digits and _/),
      expect.stringMatching(/^source\.events\.where\.context: a path inside context/),
    ]);
    expect(problems({ ...base, source: { events: { where: { type: { op: 'x' }, event: [] } } } })).toEqual([
      'source.events.where.type: a value (text, number, true/false or null) or a list of 1 to 1000 of them',
      'source.events.where.event: a value (text, number, true/false or null) or a list of 1 to 1000 of them',
    ]);
    expect(problems({ ...base, source: { events: { traits: ['email', 'timestamp', 'email'] } } })).toEqual([
      expect.stringMatching(/^source\.events\.traits\.1: "timestamp" is a column of the event itself/),
      'source.events.traits.2: "email" is listed twice',
    ]);
    expect(problems({ ...base, source: { events: { filter: {} } } })).toEqual(['source.events: Unrecognized key: "filter"']);
    expect(problems({ ...base, mode: 'upsert' })).toEqual(['mode: an events source is sent in mode insert (an event is never updated or removed), not upsert']);
    expect(problems({ ...base, primary_key: 'user_id' })).toEqual([expect.stringMatching(/^primary_key: an events source is keyed by message_id/)]);
    // other sources still need their primary key
    expect(problems({ ...base, source: { model: 'people' } })).toEqual(['primary_key: required: the source column that identifies a row (unique in the source)']);

    if (!ok) return;
    // in a file: the message names the file, the line and the key
    const c = await project({ 'syncs/funnel.yaml': 'source:\n  events:\n    where: { type: track, plan: pro }\ndestination: recorder\nmode: insert\nmapping: { event: event }\n' });
    expect(() => loadSyncFiles(c.ws.config.projectDir)).toThrow(/^syncs\/funnel\.yaml:3:\d+: source\.events\.where\.plan: unknown key; filter on type, event, source_id/);

    // a trait the profiles do not have: the run fails before sending, naming it
    await c.send([{ type: 'identify', id: 'm-1', at: at(0), userId: 'u1', traits: { email: 'a@x.io' } }]);
    await c.resolve();
    const dest = new RecordingDestination();
    const run = await c.runner.run(dest.target(eventSync('bad_trait', {}, { traits: ['email', 'plna'] })), c.ws.project(), { trigger: 'manual' });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^syncs\/bad_trait\.yaml: source\.events\.traits\[1\]: the profiles table has no trait "plna" \(did you mean "plan"\?\)/);
    expect(dest.calls).toEqual([]);
  });
});
