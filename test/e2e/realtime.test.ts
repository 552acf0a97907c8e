import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RealtimeService } from '../../src/realtime/realtime.service';
import { queryAll } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { FakeServer, type RecordedRequest } from '../support/fake-server';
import { TempProject } from '../support/temp-project';
import { apiClient, createSource, startApp, type ApiCall, type CreatedSource } from '../support/test-app';
import { webIdentityYaml } from '../support/web-identity';

/**
 * The real-time path over real HTTP: events posted to the tracking API go through identity
 * resolution and a `realtime: true` segment as they commit, and a `schedule: realtime` sync sends
 * the entry and then the exit to a webhook receiver, each within seconds of the event. /health
 * shows the pipeline caught up.
 */

const ADMIN_TOKEN = 'test-admin-token';
const SECRET = 'whsec_cmVhbHRpbWUtc2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr';
/** the issue's target: p99 under 5 s from the client's send to the destination */
const TARGET_MS = 5_000;

interface Operation {
  op: string;
  key: string;
  fields: Record<string, unknown>;
}

describe('real time: an event to a segment entry and exit at the destination', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: ApiCall;
  let base: string;
  let source: CreatedSource;
  let hook: FakeServer;
  let ws: Workspace;
  const received: { at: number; op: Operation }[] = [];

  const track = async (path: 'identify' | 'track', body: Record<string, unknown>) => {
    const res = await fetch(`${base}/v1/${path}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  };

  /** Waits until the receiver got an operation matching `match`; returns when it arrived. */
  const arrival = async (match: (op: Operation) => boolean, timeoutMs = 30_000): Promise<number> => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const hit = received.find((r) => match(r.op));
      if (hit) return hit.at;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching operation within ${timeoutMs} ms; received ${JSON.stringify(received.map((r) => r.op))}`);
  };

  /** Polls `probe` until it gives a value; returns it and when it came. */
  const until = async <T,>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<{ value: T; at: number }> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return { value, at: Date.now() };
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no answer within ${timeoutMs} ms`);
  };

  beforeAll(async () => {
    hook = await FakeServer.start();
    hook.handle((req: RecordedRequest) => {
      for (const op of (req.json as { data: { operations: Operation[] } }).data.operations) received.push({ at: Date.now(), op });
      return { status: 200 };
    });
    process.env.CDP_TEST_RT_HOOK_SECRET = SECRET;
    project = new TempProject({
      'cdp.yaml': [
        'name: rt',
        'warehouse: { type: duckdb }',
        ...webIdentityYaml(),
        'realtime: { debounce_ms: 20, poll_seconds: 1 }',
      ].join('\n'),
      'segments/viewed_not_bought.yaml': [
        'name: viewed_not_bought',
        'realtime: true',
        'where:',
        '  and:',
        '    - event: { name: Product Viewed, count: { gte: 1 } }',
        '    - not: { event: { name: Order Completed } }',
        '    - trait: { name: email, op: is_set }',
      ].join('\n'),
      'destinations/hook.yaml': `type: webhook\nsettings:\n  url: ${hook.url}/hooks/cdp\n  secret: \${CDP_TEST_RT_HOOK_SECRET}\n`,
      'syncs/reminders.yaml': [
        'source: { segment: viewed_not_bought }',
        'primary_key: profile_id',
        'destination: hook',
        'mode: audience',
        'mapping:',
        '  email: email',
        'schedule: realtime',
      ].join('\n'),
    });
    const config = project.config();
    config.adminToken = ADMIN_TOKEN;
    config.log_level = 'error';
    ({ app, base } = await startApp(config));
    api = apiClient(base, ADMIN_TOKEN);
    ws = app.get(Workspace);
    source = await createSource(base, ADMIN_TOKEN, 'web');
    // the profiles exist once a build has run; the pipeline keeps them fresh from then on
    await track('identify', { userId: 'u0', traits: { email: 'u0@shop.io' } });
    expect((await api('GET', '/health')).body.realtime).toMatchObject({ status: 'waiting', eventsBehind: 0 });
    const build = await api('POST', '/api/models/build', {});
    expect(build.body.status).toBe('success');
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await hook?.close();
    project?.cleanup();
    delete process.env.CDP_TEST_RT_HOOK_SECRET;
  });

  it('a product view enters the segment and reaches the destination within the target; an order takes it out', async () => {
    const viewedAt = Date.now();
    await track('identify', { userId: 'u1', traits: { email: 'Ada@Shop.io' } });
    await track('track', { userId: 'u1', event: 'Product Viewed', properties: { product_id: 'p1' } });
    const added = await arrival((op) => op.op === 'add' && op.fields.email === 'ada@shop.io');
    expect(added - viewedAt).toBeLessThan(TARGET_MS);
    const profileId = received.find((r) => r.op.op === 'add')!.op.key;
    // the profile API shows the event's effect within the same target: the trait, the segment, the event
    const shown = await until(async () => {
      const res = await api('GET', '/api/profiles/user_id/u1');
      const body = res.body as { profileId: string; traits: Record<string, unknown>; segments: { segment: string }[]; events: { event: string }[] };
      return res.status === 200 && body.segments.some((x) => x.segment === 'viewed_not_bought') && body.events.some((e) => e.event === 'Product Viewed') ? body : undefined;
    });
    expect(shown.at - viewedAt).toBeLessThan(TARGET_MS);
    expect(shown.value).toMatchObject({ profileId, traits: { email: 'ada@shop.io' } });

    const orderedAt = Date.now();
    await track('track', { userId: 'u1', event: 'Order Completed', properties: { order_id: 'o1' } });
    const removed = await arrival((op) => op.op === 'remove' && op.key === profileId);
    expect(removed - orderedAt).toBeLessThan(TARGET_MS);
    const left = await until(async () => {
      const res = await api('GET', `/api/profiles/${profileId}`);
      const body = res.body as { segments: { segment: string }[]; events: { event: string }[] };
      return res.status === 200 && body.segments.length === 0 && body.events.some((e) => e.event === 'Order Completed') ? body : undefined;
    });
    expect(left.at - orderedAt).toBeLessThan(TARGET_MS);

    // the membership history has the stay, entered and exited
    const stays = await queryAll(ws.warehouse, `select entered_at, exited_at from cdp.segment_membership where segment = 'viewed_not_bought' and profile_id = ?`, [profileId]);
    expect(stays).toHaveLength(1);
    expect(stays[0].exited_at).not.toBeNull();
    // the sync ran on the pipeline's passes, with the realtime trigger
    const runs = await api('GET', '/api/syncs/reminders/runs');
    expect((runs.body as { trigger: string }[]).some((r) => r.trigger === 'realtime')).toBe(true);
  }, 60_000);

  it('/health shows the pipeline caught up after the events, with its last pass', async () => {
    await app.get(RealtimeService).idle();
    const health = await api('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.realtime).toMatchObject({ status: 'idle', eventsBehind: 0, lagSeconds: 0, segments: ['viewed_not_bought'], lastPass: { status: 'success', nodes: ['identity', 'viewed_not_bought'] } });
    expect(health.body.realtime.passes).toBeGreaterThanOrEqual(2);
  });

  it('a burst of events from many people: every entry arrives once, none is lost between passes', async () => {
    const people = Array.from({ length: 25 }, (_, i) => `b${i}`);
    await Promise.all(
      people.map(async (p) => {
        await track('identify', { userId: p, traits: { email: `${p}@shop.io` } });
        await track('track', { userId: p, event: 'Product Viewed' });
      }),
    );
    for (const p of people) await arrival((op) => op.op === 'add' && op.fields.email === `${p}@shop.io`);
    const adds = received.filter((r) => r.op.op === 'add' && String(r.op.fields.email).startsWith('b'));
    expect(new Set(adds.map((r) => r.op.fields.email)).size).toBe(25);
    expect(adds).toHaveLength(25);
  }, 60_000);
});
