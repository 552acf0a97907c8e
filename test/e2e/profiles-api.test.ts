import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Workspace } from '../../src/workspace/workspace';
import { JANE_EVENTS_NEWEST_FIRST, PROFILES_PROJECT_YAML, writeProfileFixture } from '../support/profile-tables';
import { TempProject } from '../support/temp-project';
import { answer, type Answer, startApp } from '../support/test-app';

/** The profile API over real HTTP: the Nest app on Fastify, the tables identity resolution writes made by SQL in DuckDB. */

const ADMIN_TOKEN = 'test-admin-token';

describe('profile API', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let base: string;
  let ws: Workspace;

  const get = async (path: string, token: string | null = ADMIN_TOKEN): Promise<Answer> =>
    answer(await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} }));

  /** Runs SQL in the service's warehouse (the service holds the DuckDB file), then tells the service, as identity resolution does. */
  async function rebuild(...statements: string[]): Promise<void> {
    for (const sql of statements) await ws.warehouse.execute(sql);
    ws.notifyProfilesChanged();
  }

  /** GET until `until` holds for the answer (the reload after a notification runs in the background). */
  async function getUntil(path: string, until: (res: Answer) => boolean): Promise<Answer> {
    let res = await get(path);
    for (let i = 0; i < 200 && !until(res); i++) {
      await new Promise((r) => setTimeout(r, 25));
      res = await get(path);
    }
    return res;
  }

  beforeAll(async () => {
    project = new TempProject({ 'cdp.yaml': PROFILES_PROJECT_YAML });
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'warn' })));
    ws = app.get(Workspace);
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  describe('before identity resolution has built the tables', () => {
    it('answers 503 saying profiles have not been built (not a 404 that reads as "no such customer")', async () => {
      // while the first load runs, a 503 with Retry-After: 1 ("the profile index is loading")
      const res = await getUntil('/api/profiles/email/jane@example.com', (r) => !r.headers.get('retry-after'));
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ statusCode: 503, code: 'PROFILES_UNAVAILABLE' });
      expect(res.body.message).toMatch(/profiles have not been built yet: identity resolution writes cdp\.identity_graph and cdp\.profiles/);
      expect((await get('/api/profiles/p_jane')).status).toBe(503);
    });

    it('loads them once identity resolution says they changed', async () => {
      await writeProfileFixture(ws.warehouse);
      ws.notifyProfilesChanged();
      const res = await getUntil('/api/profiles/p_jane', (r) => r.status === 200);
      expect(res.status).toBe(200);
    });
  });

  describe('GET /api/profiles/:profileId', () => {
    it('answers the profile: traits of every type, identities, segments and the latest 20 events, newest first', async () => {
      const res = await get('/api/profiles/p_jane');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const p = res.body;
      expect(Object.keys(p)).toEqual(['profileId', 'firstSeen', 'lastSeen', 'updatedAt', 'traits', 'identities', 'segments', 'events']);
      expect(p).toMatchObject({ profileId: 'p_jane', firstSeen: '2023-11-01T00:00:00.000Z', lastSeen: '2024-01-02T01:00:00.000Z', updatedAt: '2024-03-02T00:00:00.000Z' });
      expect(p.traits).toEqual({ name: 'Jane', orders: 3, lifetime_value: 120.5, is_vip: true, last_order_at: '2024-03-01T10:00:00.000Z', attributes: { plan: 'pro' } });
      expect(p.identities).toEqual([
        { type: 'anonymous_id', value: 'a1', source: 'events', firstSeen: '2024-01-01T03:00:00.000Z', lastSeen: '2024-01-01T21:00:00.000Z' },
        { type: 'anonymous_id', value: 'a2', source: 'events', firstSeen: '2024-01-01T06:00:00.000Z', lastSeen: '2024-01-02T00:00:00.000Z' },
        { type: 'crm_id', value: 'CRM-1', source: 'crm_contacts', firstSeen: '2023-11-01T00:00:00.000Z', lastSeen: '2023-11-01T00:00:00.000Z' },
        { type: 'email', value: 'jane@example.com', source: 'stg_customers', firstSeen: '2023-12-01T00:00:00.000Z', lastSeen: '2024-01-02T00:00:00.000Z' },
        { type: 'phone', value: '+447700900123', source: 'events', firstSeen: '2024-01-01T02:00:00.000Z', lastSeen: '2024-01-01T02:00:00.000Z' },
        { type: 'user_id', value: 'u1', source: 'events', firstSeen: '2024-01-01T01:00:00.000Z', lastSeen: '2024-01-02T01:00:00.000Z' },
      ]);
      expect(p.segments).toEqual([]);
      expect(p.events.map((e: { messageId: string }) => e.messageId)).toEqual(JANE_EVENTS_NEWEST_FIRST.slice(0, 20));
      // the first copy of a message sent twice; context only where the event had one
      expect(p.events[0]).toEqual({ messageId: 'm-jane-25', type: 'track', event: 'Viewed 25', name: null, timestamp: '2024-01-02T01:00:00.000Z', properties: { i: 25 } });
      expect(p.events[1]).toEqual({
        messageId: 'm-jane-24',
        type: 'track',
        event: 'Viewed 24',
        name: null,
        timestamp: '2024-01-02T00:00:00.000Z',
        properties: { i: 24 },
        context: { ip: '192.0.2.1' },
      });
    });

    it('?events=N limits the events; 0 leaves them out; more than the index keeps come from the warehouse', async () => {
      const ids = async (n: number) => ((await get(`/api/profiles/p_jane?events=${n}`)).body.events as { messageId: string }[]).map((e) => e.messageId);
      expect(await ids(3)).toEqual(['m-jane-25', 'm-jane-24', 'm-jane-23']);
      expect(await ids(0)).toEqual([]);
      // 25 events (each message once), above the 20 the index keeps per profile
      expect(await ids(200)).toEqual(JANE_EVENTS_NEWEST_FIRST);
      expect((await get('/api/profiles/p_jane?events=200')).body.events[0].properties).toEqual({ i: 25 });
      // a profile with fewer events than the index keeps answers any N from it
      const bob = await get('/api/profiles/p_bob?events=50');
      expect(bob.body.events).toEqual([
        { messageId: 'm-bob-2', type: 'identify', event: null, name: null, timestamp: '2024-02-01T00:01:00.000Z', properties: null },
        { messageId: 'm-bob-1', type: 'page', event: null, name: 'Home', timestamp: '2024-02-01T00:00:00.000Z', properties: { path: '/' } },
      ]);
      expect(bob.body.traits).toEqual({ name: 'Bob', orders: 0, lifetime_value: 0, is_vip: false, last_order_at: null, attributes: null });
    });

    it('404 names the unknown id', async () => {
      const res = await get('/api/profiles/p_nobody');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'PROFILE_NOT_FOUND', message: 'no profile with id "p_nobody"' });
    });

    it.each([
      ['events=-1', /events: .*>=0/],
      ['events=201', /events: .*<=200/],
      ['events=many', /events: /],
      ['events=2.5', /events: /],
      ['limit=5', /limit: unknown query parameter/],
    ])('400 for ?%s, naming the parameter', async (query, message) => {
      const res = await get(`/api/profiles/p_jane?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
    });
  });

  describe('GET /api/profiles/:idType/:idValue', () => {
    it.each([
      ['user_id', 'u1'],
      ['email', 'jane@example.com'],
      ['phone', '+447700900123'],
      ['anonymous_id', 'a2'],
      ['crm_id', 'CRM-1'],
    ])('finds the profile by %s', async (type, value) => {
      const res = await get(`/api/profiles/${type}/${encodeURIComponent(value)}?events=1`);
      expect(res.status).toBe(200);
      expect(res.body.profileId).toBe('p_jane');
      expect(res.body.events.map((e: { messageId: string }) => e.messageId)).toEqual(['m-jane-25']);
    });

    it.each([
      ['email', ' Jane@Example.COM ', 'lowercased and trimmed'],
      ['phone', '07700 900123', 'a GB national number, read in the default_country of the phone identifier'],
      ['phone', '+44 (0)7700 900-123', 'an international number with punctuation'],
      ['user_id', ' u1 ', 'trimmed'],
    ])('normalizes the value as resolution does: %s %j (%s)', async (type, value) => {
      const res = await get(`/api/profiles/${type}/${encodeURIComponent(value)}`);
      expect(res.status).toBe(200);
      expect(res.body.profileId).toBe('p_jane');
    });

    it('answers the same document as by profile id', async () => {
      expect((await get('/api/profiles/email/jane%40example.com')).body).toEqual((await get('/api/profiles/p_jane')).body);
    });

    it('keeps the case of opaque ids: user_id U1 is not u1', async () => {
      const res = await get('/api/profiles/user_id/U1');
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('no profile with user_id "U1"');
    });

    it('404 names the normalized identifier', async () => {
      const res = await get(`/api/profiles/email/${encodeURIComponent('Nobody@Example.com')}`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'PROFILE_NOT_FOUND', message: 'no profile with email "nobody@example.com"' });
    });

    it('400 for an identifier type the project does not have, naming the ones it has', async () => {
      const res = await get('/api/profiles/twitter/jane');
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('idType: unknown identifier type "twitter"; this project\'s identifier types are user_id, email, phone, anonymous_id, crm_id');
    });

    it('400 for a value that is not an identifier of its type', async () => {
      const res = await get('/api/profiles/email/not-an-email');
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^idValue: "not-an-email" is not a usable email/);
      expect((await get('/api/profiles/phone/12')).status).toBe(400);
    });
  });

  describe('authentication', () => {
    it.each(['/api/profiles/p_jane', '/api/profiles/email/jane@example.com', '/api/profiles/twitter/x?events=-1'])('%s answers 401 without a token or with a wrong one', async (path) => {
      for (const token of [null, 'wrong-token']) {
        const res = await get(path, token);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(JSON.stringify(res.body)).not.toContain('Jane');
      }
    });
  });

  describe('after the tables change', () => {
    it('segments are [] without segment_membership, and the current memberships once it exists', async () => {
      expect((await get('/api/profiles/p_jane')).body.segments).toEqual([]);
      await rebuild(`create table cdp.segment_membership as select * from (values
        ('p_jane', 'vip', timestamp '2024-03-01 00:00:00', null),
        ('p_jane', 'churn_risk', timestamp '2024-01-01 00:00:00', timestamp '2024-02-01 00:00:00'),
        ('p_jane', 'big_spenders', timestamp '2024-02-15 00:00:00', null::timestamp),
        ('p_bob', 'vip', timestamp '2024-03-01 00:00:00', null)
      ) t(profile_id, segment, entered_at, exited_at)`);
      const res = await getUntil('/api/profiles/p_jane', (r) => r.body.segments.length > 0);
      expect(res.body.segments).toEqual([
        { segment: 'big_spenders', enteredAt: '2024-02-15T00:00:00.000Z' },
        { segment: 'vip', enteredAt: '2024-03-01T00:00:00.000Z' },
      ]);
    });

    it('a rebuild with new traits, identifiers and profiles shows after notifyProfilesChanged, and not before', async () => {
      await ws.warehouse.execute(`update cdp.profiles set name = 'Jane Doe', orders = 4 where profile_id = 'p_jane'`);
      await ws.warehouse.execute(`insert into cdp.identity_graph values ('p_jane', 'email', 'jane.doe@example.com', 'events', now()::timestamp, now()::timestamp, 1)`);
      // the service answers from its index until it is told
      await new Promise((r) => setTimeout(r, 100));
      expect((await get('/api/profiles/p_jane')).body.traits.name).toBe('Jane');
      expect((await get('/api/profiles/email/jane.doe@example.com')).status).toBe(404);

      await rebuild();
      const res = await getUntil('/api/profiles/email/jane.doe@example.com', (r) => r.status === 200);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ profileId: 'p_jane', traits: { name: 'Jane Doe', orders: 4 } });
      expect(res.body.identities.map((i: { value: string }) => i.value)).toContain('jane.doe@example.com');
    });

    it('a merge: the absorbed profile is gone (404) and its identifiers find the one that kept its id', async () => {
      await rebuild(`update cdp.identity_graph set profile_id = 'p_jane' where profile_id = 'p_bob'`, `delete from cdp.profiles where profile_id = 'p_bob'`);
      const res = await getUntil('/api/profiles/email/bob@example.com', (r) => r.body.profileId === 'p_jane');
      expect(res.body.profileId).toBe('p_jane');
      expect((await get('/api/profiles/p_bob')).status).toBe(404);
      // bob's events now belong to jane's profile too
      expect(res.body.events[0].messageId).toBe('m-bob-2');
    });

    it('dropped tables answer 503 again', async () => {
      await rebuild('drop table cdp.profiles');
      const res = await getUntil('/api/profiles/p_jane', (r) => r.status === 503);
      expect(res.status).toBe(503);
      expect(res.body.message).toMatch(/profiles have not been built yet/);
    });
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await get('/docs/json', null)).body as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
    expect(doc.paths['/api/profiles/{profileId}']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['profileId', 'events']));
    expect(doc.paths['/api/profiles/{idType}/{idValue}']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['idType', 'idValue', 'events']));
  });
});
