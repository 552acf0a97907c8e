import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse } from 'yaml';
import { queryAll } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { DEMO_SEGMENTS } from '../support/demo';
import { dropSchema, POSTGRES_URL, requirePostgres, uniqueSchema } from '../support/postgres';
import { TempProject } from '../support/temp-project';
import { apiClient, type ApiCall, type Json, startApp } from '../support/test-app';

/**
 * The segment API over real HTTP on the demo project (built once: seeds, models, identity, the demo
 * segments): definitions from files, the API and SQL models; previews; API segments built by the
 * model engine; history, members at a time, overlap and breakdown from the warehouse.
 */

const ADMIN_TOKEN = 'test-admin-token';
/** the demo's tree segments and its SQL segment, by name */
const ALL_DEMO_SEGMENTS = [...DEMO_SEGMENTS, 'at_churn_risk'].sort();

type Call = ApiCall;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every member now, through the members API (paged). */
async function allMembers(api: Call, name: string, at?: string): Promise<{ profileId: string; splitGroup: string | null }[]> {
  const out: { profileId: string; splitGroup: string | null }[] = [];
  for (let offset = 0; ; offset += 1000) {
    const res = await api('GET', `/api/segments/${name}/members?limit=1000&offset=${offset}${at ? `&at=${encodeURIComponent(at)}` : ''}`);
    expect(res.status).toBe(200);
    out.push(...(res.body.members as { profileId: string; splitGroup: string | null }[]));
    if (res.body.members.length < 1000) return out;
  }
}

describe('segment API (DuckDB, demo project)', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: Call;
  let ws: Workspace;

  /** profile ids from SQL over the service's warehouse (reads run beside it) */
  const idsWhere = async (where: string): Promise<string[]> =>
    (await queryAll(ws.warehouse, `select profile_id from cdp.profiles where ${where} order by profile_id`)).map((r) => String(r.profile_id));
  const build = async (...select: string[]): Promise<Json> => {
    const res = await api('POST', '/api/models/build', select.length ? { select } : {});
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    return res.body;
  };

  beforeAll(async () => {
    project = TempProject.demo();
    let base: string;
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'warn' })));
    api = apiClient(base, ADMIN_TOKEN);
    ws = app.get(Workspace);
    await build();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  describe('authentication', () => {
    it.each([
      ['GET', '/api/segments'],
      ['POST', '/api/segments'],
      ['POST', '/api/segments/preview'],
      ['GET', '/api/segments/overlap?names=cart_abandoners,new_customers'],
      ['GET', '/api/segments/cart_abandoners'],
      ['PUT', '/api/segments/cart_abandoners'],
      ['DELETE', '/api/segments/cart_abandoners'],
      ['GET', '/api/segments/cart_abandoners/size-history'],
      ['GET', '/api/segments/cart_abandoners/members'],
      ['GET', '/api/segments/cart_abandoners/breakdown?trait=country'],
    ])('%s %s answers 401 without a token or with a wrong one', async (method, path) => {
      for (const token of [null, 'wrong-token']) {
        const res = await api(method, path, method === 'POST' || method === 'PUT' ? {} : undefined, token);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    });
  });

  describe('GET /api/segments', () => {
    it('lists the 4 demo segments (files and the SQL model) with their size and last build', async () => {
      const res = await api('GET', '/api/segments');
      expect(res.status).toBe(200);
      const list = res.body as Json[];
      expect(list.map((s) => s.name)).toEqual(ALL_DEMO_SEGMENTS);
      const byName = new Map(list.map((s) => [s.name as string, s]));
      expect(byName.get('cart_abandoners')).toMatchObject({
        kind: 'tree',
        origin: 'file',
        path: 'segments/cart_abandoners.yaml',
        description: 'Viewed 2+ products in the last 7 days, no order completed in those 7 days, has an email.',
        realtime: true,
        split: { target: 90, holdout: 10 },
      });
      expect(byName.get('high_value_customers')).toMatchObject({ kind: 'tree', origin: 'file', realtime: false, split: null });
      expect(byName.get('at_churn_risk')).toMatchObject({ kind: 'sql', origin: 'model', path: 'models/segments/at_churn_risk.sql', realtime: false, split: null });
      for (const s of list) {
        expect(Object.keys(s)).toEqual(['name', 'kind', 'origin', 'path', 'description', 'realtime', 'split', 'size', 'lastBuiltAt']);
        expect(s.size).toEqual(expect.any(Number));
        expect(Date.parse(s.lastBuiltAt)).toBeGreaterThan(Date.now() - 10 * 60_000);
        // the size of the latest build is the current members
        expect((await allMembers(api, s.name)).length).toBe(s.size);
      }
      // the demo data has members in each (a segment of nobody would show little)
      for (const name of ALL_DEMO_SEGMENTS) expect(byName.get(name).size).toBeGreaterThan(0);
    });

    it('sizes match hand-written SQL: new customers are those whose first order is at most 7 days before as_of', async () => {
      const list = (await api('GET', '/api/segments')).body as Json[];
      const expected = await idsWhere(`first_order_at >= timestamp '2010-12-17 00:00:00' and first_order_at <= timestamp '2010-12-24 00:00:00'`);
      expect(list.find((s) => s.name === 'new_customers').size).toBe(expected.length);
      expect((await allMembers(api, 'new_customers')).map((m) => m.profileId)).toEqual(expected);
    });
  });

  describe('GET /api/segments/:name', () => {
    it('a tree segment, with its definition as written in the file', async () => {
      const res = await api('GET', '/api/segments/cart_abandoners');
      expect(res.status).toBe(200);
      const file = parse(readFileSync(join(project.dir, 'segments/cart_abandoners.yaml'), 'utf8'));
      expect(res.body).toMatchObject({ name: 'cart_abandoners', kind: 'tree', origin: 'file', relation: '"analytics"."cart_abandoners"', definition: file });
    });

    it('a SQL segment: its model, no definition', async () => {
      const res = await api('GET', '/api/segments/at_churn_risk');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'at_churn_risk', kind: 'sql', path: 'models/segments/at_churn_risk.sql', relation: '"analytics"."at_churn_risk"', definition: null });
    });

    it('404 names the segment and suggests a close one', async () => {
      const res = await api('GET', '/api/segments/cart_abandoner');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ statusCode: 404, code: 'SEGMENT_NOT_FOUND', message: 'no segment named "cart_abandoner" (did you mean "cart_abandoners"?)' });
      // a model is not a segment
      expect((await api('GET', '/api/segments/customer_summary')).status).toBe(404);
    });
  });

  describe('POST /api/segments/preview', () => {
    it('counts a definition and shows a sample of its members with their traits, by profile id; saves nothing', async () => {
      const where = { trait: { name: 'orders', op: '>=', value: 3 } };
      const expected = await idsWhere('orders >= 3');
      const res = await api('POST', '/api/segments/preview', { where });
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(expected.length);
      expect(res.body.split).toBeUndefined();
      expect(res.body.sample.map((p: Json) => p.profileId)).toEqual(expected.slice(0, 10));
      const first = res.body.sample[0];
      expect(Object.keys(first)).toEqual(['profileId', 'splitGroup', 'firstSeen', 'lastSeen', 'traits']);
      expect(first.splitGroup).toBeNull();
      expect(first.traits.orders).toBeGreaterThanOrEqual(3);
      expect(first.traits).toHaveProperty('country');
      expect(first.traits).not.toHaveProperty('profile_id');
      expect((await api('GET', '/api/segments')).body.map((s: Json) => s.name)).toEqual(ALL_DEMO_SEGMENTS);
    });

    it('sample size from the query or the body (body wins), 0 to 100', async () => {
      const where = { trait: { name: 'orders', op: '>=', value: 1 } };
      expect((await api('POST', '/api/segments/preview?sample=3', { where })).body.sample).toHaveLength(3);
      expect((await api('POST', '/api/segments/preview?sample=3', { where, sample: 5 })).body.sample).toHaveLength(5);
      expect((await api('POST', '/api/segments/preview?sample=0', { where })).body.sample).toEqual([]);
      expect((await api('POST', '/api/segments/preview', { where, sample: 100 })).body.sample).toHaveLength(100);
      const tooMany = await api('POST', '/api/segments/preview?sample=101', { where });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.message).toMatch(/^sample: /);
      expect((await api('POST', '/api/segments/preview', { where, sample: 101 })).status).toBe(400);
    });

    it('split counts for cart_abandoners equal its saved membership per group', async () => {
      const definition = parse(readFileSync(join(project.dir, 'segments/cart_abandoners.yaml'), 'utf8'));
      const res = await api('POST', '/api/segments/preview', { ...definition, sample: 100 });
      expect(res.status).toBe(200);
      const members = await allMembers(api, 'cart_abandoners');
      const byGroup = (group: string) => members.filter((m) => m.splitGroup === group).length;
      expect(res.body.count).toBe(members.length);
      expect(res.body.split).toEqual({ target: byGroup('target'), holdout: byGroup('holdout') });
      expect(res.body.split.target + res.body.split.holdout).toBe(res.body.count);
      // the sample carries each member's group, as saved
      const saved = new Map(members.map((m) => [m.profileId, m.splitGroup]));
      for (const p of res.body.sample) expect(p.splitGroup).toBe(saved.get(p.profileId));
    });

    it('a hostile string is a bound value: it matches nothing and drops nothing', async () => {
      const res = await api('POST', '/api/segments/preview', { where: { trait: { name: 'country', op: '=', value: "x'; drop table cdp.profiles; --" } } });
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(0);
      expect((await idsWhere('true')).length).toBeGreaterThan(0);
    });

    it('400 naming the path for an unknown trait, and for an operator the trait type does not take', async () => {
      const unknown = await api('POST', '/api/segments/preview', { where: { and: [{ trait: { name: 'email', op: 'is_set' } }, { trait: { name: 'ordrs', op: '>=', value: 3 } }] } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toBe('where.and[1].trait.name: unknown trait "ordrs" (did you mean "orders"?)');
      const wrongOp = await api('POST', '/api/segments/preview', { where: { trait: { name: 'country', op: '>', value: 'GB' } } });
      expect(wrongOp.status).toBe(400);
      expect(wrongOp.body.message).toBe('where.trait.op: ">" needs a number, date or timestamp trait; "country" is string');
    });
  });

  describe('POST /api/segments, PUT and DELETE', () => {
    const frequent = { name: 'frequent_buyers', description: 'Three or more orders.', where: { trait: { name: 'orders', op: '>=', value: 3 } } };

    it('creates an API segment (201); after a build its members are what the preview showed', async () => {
      const preview = await api('POST', '/api/segments/preview', { ...frequent, sample: 100 });
      const created = await api('POST', '/api/segments', frequent);
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        name: 'frequent_buyers',
        kind: 'tree',
        origin: 'api',
        path: 'api',
        description: 'Three or more orders.',
        realtime: false,
        split: null,
        size: null,
        lastBuiltAt: null,
        relation: '"analytics"."frequent_buyers"',
        definition: frequent,
      });
      // stored in the control store
      const [row] = await ws.store('segments').where({ name: 'frequent_buyers' });
      expect(JSON.parse(row.definition)).toEqual(frequent);

      const result = await build('frequent_buyers');
      expect(result.results.map((r: Json) => [r.node, r.kind, r.status])).toEqual([['frequent_buyers', 'segment', 'success']]);
      const segment = (await api('GET', '/api/segments/frequent_buyers')).body;
      expect(segment.size).toBe(preview.body.count);
      expect(segment.lastBuiltAt).toEqual(expect.any(String));
      const members = (await allMembers(api, 'frequent_buyers')).map((m) => m.profileId);
      expect(members).toEqual(await idsWhere('orders >= 3'));
      expect(members.slice(0, 100)).toEqual(preview.body.sample.map((p: Json) => p.profileId));
      expect((await api('GET', '/api/segments')).body.map((s: Json) => s.name)).toEqual([...ALL_DEMO_SEGMENTS, 'frequent_buyers'].sort());
    });

    it('a full build builds the API segments with the file segments', async () => {
      const result = await build();
      expect(result.results.filter((r: Json) => r.kind === 'segment').map((r: Json) => r.node).sort()).toEqual([...DEMO_SEGMENTS, 'frequent_buyers'].sort());
    });

    it('409 for a name that exists: a file segment, an API segment, a SQL segment, a model', async () => {
      const where = frequent.where;
      const cases: [string, string][] = [
        ['frequent_buyers', 'a segment named "frequent_buyers" exists (created through the API)'],
        ['cart_abandoners', 'a segment named "cart_abandoners" exists: segments/cart_abandoners.yaml'],
        ['at_churn_risk', 'a segment named "at_churn_risk" exists: the SQL segment models/segments/at_churn_risk.sql'],
        ['customer_summary', '"customer_summary" is the name of the model models/marts/customer_summary.sql'],
      ];
      for (const [name, message] of cases) {
        const res = await api('POST', '/api/segments', { name, where });
        expect({ name, status: res.status, message: res.body.message }).toEqual({ name, status: 409, message });
      }
    });

    it('400 with the exact message for an unknown trait, a wrong operator type and a malformed body; nothing is saved', async () => {
      const cases: [unknown, string][] = [
        [{ name: 'bad_one', where: { trait: { name: 'ordrs', op: '>=', value: 3 } } }, 'where.trait.name: unknown trait "ordrs" (did you mean "orders"?)'],
        [{ name: 'bad_one', where: { trait: { name: 'country', op: 'within_last', value: '7d' } } }, 'where.trait.op: "within_last" needs a date or timestamp trait; "country" is string'],
        [{ name: 'bad_one', where: { trait: { name: 'orders', op: '=', value: 'many' } } }, expect.stringMatching(/^where\.trait\.value: "orders" is (integer|bigint), so the value must be /)],
        [{ name: 'bad_one', where: { event: { name: 'Order Placed', where: [{ property: 'revenu', op: '>', value: 1 }] } } }, 'where.event.where[0].property: unknown event property "revenu" (did you mean "revenue"?)'],
        [{ name: 'bad_one', where: { segment: { name: 'nobody' } } }, 'where.segment.name: unknown segment "nobody"'],
        [{ name: 'bad_one' }, 'where: required'],
        [{ name: 'overlap', where: { trait: { name: 'orders', op: 'is_set' } } }, 'name: "overlap" is a route of this API (GET /api/segments/overlap); choose another name'],
        [{ name: 'Bad Name', where: { trait: { name: 'orders', op: 'is_set' } } }, 'name: a name: lower-case letters, digits and _, starting with a letter'],
        [{ name: 'bad_one', where: { trait: { name: 'orders', op: 'is_set' } }, colour: 'red' }, 'body: unknown key "colour" (allowed here: name, description, realtime, where, split)'],
      ];
      for (const [body, message] of cases) {
        const res = await api('POST', '/api/segments', body);
        expect({ body, status: res.status, message: res.body.message }).toEqual({ body, status: 400, message });
      }
      const notJson = await api('POST', '/api/segments', '{"name": ');
      expect(notJson.status).toBe(400);
      expect(await ws.store('segments').where({ name: 'bad_one' })).toEqual([]);
    });

    it('PUT replaces an API segment; the name in the body, if any, must be the one in the URL', async () => {
      const res = await api('PUT', '/api/segments/frequent_buyers', { where: { trait: { name: 'orders', op: '>=', value: 4 } }, description: 'Four or more orders.' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'frequent_buyers', origin: 'api', description: 'Four or more orders.', definition: { name: 'frequent_buyers', where: { trait: { value: 4 } } } });
      const renamed = await api('PUT', '/api/segments/frequent_buyers', { ...frequent, name: 'other_name' });
      expect(renamed.status).toBe(400);
      expect(renamed.body.message).toMatch(/^name: "other_name" is not the segment in the URL \("frequent_buyers"\)/);
      const bad = await api('PUT', '/api/segments/frequent_buyers', { where: { trait: { name: 'ordrs', op: '>=', value: 3 } } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toBe('where.trait.name: unknown trait "ordrs" (did you mean "orders"?)');
      expect((await api('PUT', '/api/segments/nobody_here', frequent)).status).toBe(404);
      // back to the first definition
      expect((await api('PUT', '/api/segments/frequent_buyers', frequent)).status).toBe(200);
    });

    it('PUT and DELETE answer 409 for file and SQL segments: edit the file', async () => {
      const where = frequent.where;
      for (const [name, path] of [
        ['cart_abandoners', 'segments/cart_abandoners.yaml'],
        ['at_churn_risk', 'models/segments/at_churn_risk.sql'],
      ]) {
        for (const res of [await api('PUT', `/api/segments/${name}`, { where }), await api('DELETE', `/api/segments/${name}`)]) {
          expect(res.status).toBe(409);
          expect(res.body.message).toBe(`segment "${name}" is defined in ${path}; edit the file`);
        }
      }
      expect((await api('DELETE', '/api/segments/nobody_here')).status).toBe(404);
    });

    it('a segment another segment uses cannot be deleted; a cycle is a 400', async () => {
      const user = { name: 'frequent_gb', where: { and: [{ segment: { name: 'frequent_buyers' } }, { trait: { name: 'country', op: '=', value: 'United Kingdom' } }] } };
      expect((await api('POST', '/api/segments', user)).status).toBe(201);
      const del = await api('DELETE', '/api/segments/frequent_buyers');
      expect(del.status).toBe(409);
      expect(del.body.message).toBe('segment "frequent_buyers" is used by "frequent_gb"; change it first');
      const cycle = await api('PUT', '/api/segments/frequent_buyers', { where: { segment: { name: 'frequent_gb' } } });
      expect(cycle.status).toBe(400);
      expect(cycle.body.message).toMatch(/cycle: .*frequent_buyers.*frequent_gb|cycle: .*frequent_gb.*frequent_buyers/);
      expect((await api('DELETE', '/api/segments/frequent_gb')).status).toBe(204);
    });

    it('segments another replica saved in the shared control store show at the next request', async () => {
      const definition = { name: 'from_elsewhere', where: { trait: { name: 'orders', op: '>=', value: 10 } } };
      await ws.store('segments').insert({ name: definition.name, definition: JSON.stringify(definition), created_at: new Date(), updated_at: new Date() });
      expect((await api('GET', '/api/segments/from_elsewhere')).body).toMatchObject({ origin: 'api', definition });
      await build('from_elsewhere');
      expect((await api('GET', '/api/segments/from_elsewhere')).body.size).toBe((await idsWhere('orders >= 10')).length);
      expect((await api('DELETE', '/api/segments/from_elsewhere')).status).toBe(204);
    });

    it('DELETE removes an API segment (204); its history stays in the warehouse', async () => {
      expect((await api('POST', '/api/segments', { name: 'short_lived', where: frequent.where })).status).toBe(201);
      // a preview naming a segment that was never built has no members to read
      const unbuilt = await api('POST', '/api/segments/preview', { where: { segment: { name: 'short_lived' } } });
      expect(unbuilt.status).toBe(409);
      expect(unbuilt.body.message).toBe('segment "short_lived" has not been built yet; build it first (POST /api/models/build)');
      await build('short_lived');
      expect((await api('POST', '/api/segments/preview', { where: { segment: { name: 'short_lived' } } })).body.count).toBe((await idsWhere('orders >= 3')).length);
      const del = await api('DELETE', '/api/segments/short_lived');
      expect(del.status).toBe(204);
      expect((await api('GET', '/api/segments/short_lived')).status).toBe(404);
      expect(await ws.store('segments').where({ name: 'short_lived' })).toEqual([]);
      const runs = await queryAll(ws.warehouse, `select count(*) as n from cdp.segment_runs where segment = 'short_lived'`);
      expect(runs[0].n).toBe(1);
      // a build no longer knows it
      const result = await api('POST', '/api/models/build', { select: ['short_lived'] });
      expect(result.status).toBe(400);
      expect(result.body.message).toMatch(/short_lived/);
    });
  });

  describe('history, members at a time, overlap, breakdown', () => {
    const twoOrders = { name: 'repeat_buyers', where: { trait: { name: 'orders', op: '>=', value: 2 } } };

    it('size-history records entries and exits across builds; members?at= gives the membership of that time', async () => {
      expect((await api('POST', '/api/segments', twoOrders)).status).toBe(201);
      await build('repeat_buyers');
      const first = await allMembers(api, 'repeat_buyers');
      await sleep(20);
      const between = new Date().toISOString();
      await sleep(20);
      // narrower: 5 or more orders
      expect((await api('PUT', '/api/segments/repeat_buyers', { where: { trait: { name: 'orders', op: '>=', value: 5 } } })).status).toBe(200);
      await build('repeat_buyers');
      const second = await allMembers(api, 'repeat_buyers');

      expect(first.map((m) => m.profileId)).toEqual(await idsWhere('orders >= 2'));
      expect(second.map((m) => m.profileId)).toEqual(await idsWhere('orders >= 5'));
      expect(second.length).toBeLessThan(first.length);

      const history = await api('GET', '/api/segments/repeat_buyers/size-history');
      expect(history.status).toBe(200);
      expect(history.body.map((h: Json) => ({ size: h.size, entered: h.entered, exited: h.exited }))).toEqual([
        { size: first.length, entered: first.length, exited: 0 },
        { size: second.length, entered: 0, exited: first.length - second.length },
      ]);
      const [t1, t2] = history.body.map((h: Json) => h.at as string);
      expect(Date.parse(t1)).toBeLessThan(Date.parse(between));
      expect(Date.parse(t2)).toBeGreaterThan(Date.parse(between));

      // members at a time between the builds: the first membership; before the first build: nobody
      expect(await allMembers(api, 'repeat_buyers', between)).toEqual(first);
      expect(await allMembers(api, 'repeat_buyers', t2)).toEqual(second);
      expect(await allMembers(api, 'repeat_buyers', '2020-01-01')).toEqual([]);
      const page = await api('GET', `/api/segments/repeat_buyers/members?at=${encodeURIComponent(between)}&limit=2&offset=1`);
      expect(page.body).toMatchObject({ segment: 'repeat_buyers', at: between, total: first.length });
      expect(page.body.members.map((m: Json) => m.profileId)).toEqual(first.slice(1, 3).map((m) => m.profileId));
      expect(page.body.members[0]).toEqual({ profileId: first[1].profileId, splitGroup: null, enteredAt: t1 });

      // from / to
      expect((await api('GET', `/api/segments/repeat_buyers/size-history?from=${encodeURIComponent(between)}`)).body.map((h: Json) => h.at)).toEqual([t2]);
      expect((await api('GET', `/api/segments/repeat_buyers/size-history?to=${encodeURIComponent(between)}`)).body.map((h: Json) => h.at)).toEqual([t1]);
      expect((await api('GET', '/api/segments/repeat_buyers/size-history?from=2999-01-01')).body).toEqual([]);
    });

    it('400 for a bad time or page, 404 for an unknown segment', async () => {
      for (const path of ['size-history?from=yesterday', 'members?at=2024-13-01', 'members?limit=0', 'members?limit=10001', 'members?offset=-1', 'members?page=2']) {
        const res = await api('GET', `/api/segments/repeat_buyers/${path}`);
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
      }
      expect((await api('GET', '/api/segments/repeat_buyers/size-history?from=yesterday')).body.message).toBe(
        'from: an ISO date or timestamp such as 2024-01-31 or 2024-01-31T12:00:00Z',
      );
      for (const path of ['size-history', 'members', 'breakdown?trait=country']) {
        const res = await api('GET', `/api/segments/repeat_buyer/${path}`);
        expect(res.status).toBe(404);
        expect(res.body.message).toBe('no segment named "repeat_buyer" (did you mean "repeat_buyers"?)');
      }
    });

    it('overlap: sizes and pairwise counts equal those computed from /members', async () => {
      const names = ['cart_abandoners', 'high_value_customers', 'at_churn_risk', 'frequent_buyers'];
      const members = new Map<string, Set<string>>();
      for (const name of names) members.set(name, new Set((await allMembers(api, name)).map((m) => m.profileId)));
      const res = await api('GET', `/api/segments/overlap?names=${names.join(',')}`);
      expect(res.status).toBe(200);
      expect(res.body.segments).toEqual(names.map((name) => ({ name, size: members.get(name)!.size })));
      const expected = [];
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const [a, b] = [members.get(names[i])!, members.get(names[j])!];
          expected.push({ a: names[i], b: names[j], both: [...a].filter((id) => b.has(id)).length });
        }
      }
      expect(res.body.pairs).toEqual(expected);
      // some pair overlaps (frequent buyers and high-value customers), so the join is tested
      expect(expected.some((p) => p.both > 0)).toBe(true);
      // ids= is an alias
      expect((await api('GET', `/api/segments/overlap?ids=${names.join(',')}`)).body).toEqual(res.body);
    });

    it('overlap: 400 for fewer than two names or an unknown one', async () => {
      const cases: [string, string][] = [
        ['', 'names: two or more segment names, comma separated (?names=a,b)'],
        ['?names=cart_abandoners', 'names: two or more segment names, comma separated (?names=a,b)'],
        ['?names=cart_abandoners,cart_abandoners', 'names: two or more segment names, comma separated (?names=a,b)'],
        ['?names=cart_abandoners,new_customer', 'names: no segment named "new_customer" (did you mean "new_customers"?)'],
        ['?names=a,b&colour=red', 'colour: unknown query parameter'],
      ];
      for (const [query, message] of cases) {
        const res = await api('GET', `/api/segments/overlap${query}`);
        expect({ query, status: res.status, message: res.body.message }).toEqual({ query, status: 400, message });
      }
    });

    it('breakdown by country: counts per value, descending, summing to the size', async () => {
      const segment = (await api('GET', '/api/segments/frequent_buyers')).body;
      const res = await api('GET', '/api/segments/frequent_buyers/breakdown?trait=country');
      expect(res.status).toBe(200);
      const rows = res.body as { value: unknown; count: number }[];
      expect(rows.reduce((sum, r) => sum + r.count, 0)).toBe(segment.size);
      expect(rows.map((r) => r.count)).toEqual([...rows.map((r) => r.count)].sort((a, b) => b - a));
      expect(rows.length).toBeLessThanOrEqual(51);
      const hand = await queryAll(
        ws.warehouse,
        `select country, count(*) as n from cdp.profiles where profile_id in (select profile_id from analytics.frequent_buyers) group by country order by n desc, country`,
      );
      expect(rows).toEqual(hand.map((r) => ({ value: r.country, count: r.n })));
    });

    it('breakdown: over 50 values, the rest summed as (other); nulls as null', async () => {
      // every member has its own customer id: 50 values of 1, and the rest as (other)
      const segment = (await api('GET', '/api/segments/frequent_buyers')).body;
      expect(segment.size).toBeGreaterThan(50);
      const res = await api('GET', '/api/segments/frequent_buyers/breakdown?trait=customer_id');
      expect(res.status).toBe(200);
      const rows = res.body as { value: unknown; count: number }[];
      expect(rows).toHaveLength(51);
      expect(rows.slice(0, 50).every((r) => r.count === 1 && typeof r.value === 'string')).toBe(true);
      expect(rows[50]).toEqual({ value: '(other)', count: segment.size - 50 });
      // most frequent buyers left no phone number
      const phones = (await api('GET', '/api/segments/frequent_buyers/breakdown?trait=phone')).body as { value: unknown; count: number }[];
      const [unset] = await queryAll(ws.warehouse, `select count(*) as n from cdp.profiles where phone is null and profile_id in (select profile_id from analytics.frequent_buyers)`);
      expect(Number(unset.n)).toBeGreaterThan(0);
      expect(phones[0]).toEqual({ value: null, count: Number(unset.n) });
      expect(phones.reduce((sum, r) => sum + r.count, 0)).toBe(segment.size);
    });

    it('breakdown: 400 for an unknown trait, with a suggestion; names are checked, not spliced', async () => {
      const res = await api('GET', '/api/segments/frequent_buyers/breakdown?trait=contry');
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('trait: unknown trait "contry" (did you mean "country"?)');
      const hostile = await api('GET', `/api/segments/frequent_buyers/breakdown?trait=${encodeURIComponent('country" from x; --')}`);
      expect(hostile.status).toBe(400);
      expect((await api('GET', '/api/segments/frequent_buyers/breakdown')).status).toBe(400);
    });
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await api('GET', '/docs/json', undefined, null)).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/segments')).sort()).toEqual([
      '/api/segments',
      '/api/segments/overlap',
      '/api/segments/preview',
      '/api/segments/{name}',
      '/api/segments/{name}/breakdown',
      '/api/segments/{name}/members',
      '/api/segments/{name}/size-history',
    ]);
    // the recursive condition tree is documented as an object: no references outside the document
    expect(JSON.stringify(doc)).not.toContain('#/definitions/');
  });
});

describe('segment API before the profiles are built', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: Call;

  beforeAll(async () => {
    project = TempProject.demo();
    let base: string;
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'warn' })));
    api = apiClient(base, ADMIN_TOKEN);
  });

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
  });

  it('lists the segments, never built', async () => {
    const res = await api('GET', '/api/segments');
    expect(res.status).toBe(200);
    expect(res.body.map((s: Json) => [s.name, s.size, s.lastBuiltAt])).toEqual(ALL_DEMO_SEGMENTS.map((name) => [name, null, null]));
    expect((await api('GET', '/api/segments/new_customers/size-history')).body).toEqual([]);
    expect((await api('GET', '/api/segments/new_customers/members')).body).toMatchObject({ total: 0, members: [] });
  });

  it('creating or previewing answers 503: the definition is checked against the profiles', async () => {
    for (const path of ['/api/segments', '/api/segments/preview']) {
      const res = await api('POST', path, { name: 'early', where: { trait: { name: 'orders', op: '>=', value: 1 } } });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'PROFILES_UNAVAILABLE' });
      expect(res.body.message).toMatch(/^"cdp"\."profiles" does not exist yet: segments are checked against the profiles/);
    }
  });
});

describe('segment history on PostgreSQL', () => {
  let ok = false;
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: Call;
  let schema: string;

  beforeAll(async () => {
    ok = await requirePostgres();
    if (!ok) return;
    schema = uniqueSchema('cdp_segapi');
    project = new TempProject({
      'cdp.yaml': `name: segapi
warehouse: { type: duckdb }
ingest: { schema: ${schema}_cdp }
identity:
  identifiers:
    - { type: user_id, from: [people.user_id] }
  traits:
    - { name: country, from: people.country }
    - { name: orders, from: people.orders }
`,
      'seeds/people.csv': 'user_id,country,orders\nu1,GB,1\nu2,FR,3\nu3,GB,5\nu4,,7\n',
      'seeds/seeds.yml': 'seeds:\n  - name: people\n    config: { column_types: { orders: integer } }\n',
    });
    let base: string;
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'warn', CDP_WAREHOUSE_URL: POSTGRES_URL, CDP_WAREHOUSE_SCHEMA: schema })));
    api = apiClient(base, ADMIN_TOKEN);
    expect((await api('POST', '/api/models/build', {})).body.status).toBe('success');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    project?.cleanup();
    if (ok) {
      await dropSchema(schema);
      await dropSchema(`${schema}_cdp`);
    }
  });

  it('records entries and exits across two builds; members at a time, overlap and breakdown', async () => {
    if (!ok) return;
    const count = async (name: string, at?: string) => (await allMembers(api, name, at)).length;
    expect((await api('POST', '/api/segments', { name: 'buyers', where: { trait: { name: 'orders', op: '>=', value: 3 } } })).status).toBe(201);
    expect((await api('POST', '/api/segments', { name: 'british', where: { trait: { name: 'country', op: '=', value: 'GB' } } })).status).toBe(201);
    const preview = await api('POST', '/api/segments/preview', { where: { trait: { name: 'orders', op: '>=', value: 3 } } });
    expect(preview.body.count).toBe(3);
    expect((await api('POST', '/api/models/build', { select: ['buyers', 'british'] })).body.status).toBe('success');
    await sleep(20);
    const between = new Date().toISOString();
    await sleep(20);
    expect((await api('PUT', '/api/segments/buyers', { where: { trait: { name: 'orders', op: '>=', value: 6 } } })).status).toBe(200);
    expect((await api('POST', '/api/models/build', { select: ['buyers'] })).body.status).toBe('success');

    const history = (await api('GET', '/api/segments/buyers/size-history')).body as Json[];
    expect(history.map((h) => [h.size, h.entered, h.exited])).toEqual([
      [3, 3, 0],
      [1, 0, 2],
    ]);
    expect(await count('buyers', between)).toBe(3);
    expect(await count('buyers')).toBe(1);
    const overlap = await api('GET', '/api/segments/overlap?names=buyers,british');
    expect(overlap.body).toEqual({ segments: [{ name: 'buyers', size: 1 }, { name: 'british', size: 2 }], pairs: [{ a: 'buyers', b: 'british', both: 0 }] });
    const breakdown = await api('GET', '/api/segments/british/breakdown?trait=orders');
    expect(breakdown.body).toEqual([
      { value: 1, count: 1 },
      { value: 5, count: 1 },
    ]);
    const nulls = await api('GET', '/api/segments/buyers/breakdown?trait=country');
    expect(nulls.body).toEqual([{ value: null, count: 1 }]);
  });
});
