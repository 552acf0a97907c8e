import { Logger } from '@nestjs/common';
import { renderProfile } from '../../src/profiles/profile-document';
import { ProfileIndex } from '../../src/profiles/profile-index';
import { PROFILE_IDS_PER_QUERY, ProfilesRepository } from '../../src/profiles/profiles.repository';
import { ProfilesService } from '../../src/profiles/profiles.service';
import type { BindValue, Row } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { JANE_EVENTS_NEWEST_FIRST, PROFILES_PROJECT_YAML, writeProfileFixture } from '../support/profile-tables';
import { TempProject } from '../support/temp-project';

/**
 * The profile index following real-time passes on DuckDB: a patch of the listed profiles (identity
 * changes, merges, traits, memberships, events), its accounting, and the service folding the
 * notifications that arrive while a load or patch runs. Every test starts from the fixture.
 */

let project: TempProject;
let ws: Workspace;
let repo: ProfilesRepository;

/** Every identifier of the fixture, and one the tests add. */
const IDENTIFIERS: [string, string][] = [
  ['user_id', 'u1'],
  ['email', 'jane@example.com'],
  ['phone', '+447700900123'],
  ['anonymous_id', 'a1'],
  ['anonymous_id', 'a2'],
  ['crm_id', 'CRM-1'],
  ['user_id', 'u2'],
  ['email', 'bob@example.com'],
  ['anonymous_id', 'b1'],
  ['email', 'bob2@example.com'],
];

beforeAll(async () => {
  Logger.overrideLogger(false);
  project = new TempProject({ 'cdp.yaml': PROFILES_PROJECT_YAML });
  ws = await Workspace.open(project.config({ CDP_LOG_LEVEL: 'silent' }));
  repo = new ProfilesRepository(ws.warehouse, ws.config);
});

beforeEach(async () => {
  await ws.warehouse.execute('drop table if exists cdp.segment_membership');
  await ws.warehouse.execute('delete from cdp.raw_events');
  await writeProfileFixture(ws.warehouse);
});

afterAll(async () => {
  await ws?.close();
  project?.cleanup();
});

interface Answer {
  profileId: string;
  traits: Record<string, unknown>;
  identities: { type: string; value: string }[];
  segments: { segment: string }[];
  events: { messageId: string }[];
}

const load = async (options: Partial<Parameters<typeof ProfileIndex.load>[1]> = {}) => (await ProfileIndex.load(repo, { eventsPerProfile: 20, ...options }))!;
const answer = (index: ProfileIndex, profileId: string): Answer | undefined => {
  const doc = index.get(profileId);
  return doc && (JSON.parse(renderProfile(doc, 20).toString()) as Answer);
};

/** The patched index answers every profile and identifier as a fresh load does, with the same counts. */
async function expectSameAsFreshLoad(patched: ProfileIndex): Promise<void> {
  const fresh = await load();
  for (const id of ['p_jane', 'p_bob']) expect(answer(patched, id)).toEqual(answer(fresh, id));
  for (const [type, value] of IDENTIFIERS) expect([type, value, patched.profileIdOf(type, value)]).toEqual([type, value, fresh.profileIdOf(type, value)]);
  const counts = ({ profiles, identifiers, events, eventBytes, liveBytes, profilesWithoutEvents }: ProfileIndex['stats']) => ({ profiles, identifiers, events, eventBytes, liveBytes, profilesWithoutEvents });
  expect(counts(patched.stats)).toEqual(counts(fresh.stats));
}

describe('ProfileIndex.patch', () => {
  it('a profile gains an identifier (and the events under it); the other profile keeps its very document', async () => {
    const index = await load();
    const jane = index.get('p_jane');
    await ws.warehouse.execute(`insert into cdp.identity_graph values
      ('p_bob', 'email', 'bob2@example.com', 'events', timestamp '2024-03-01 00:00:00', timestamp '2024-03-01 00:00:00', 2),
      ('p_bob', 'anonymous_id', 'b2', 'events', timestamp '2024-03-01 00:00:00', timestamp '2024-03-01 00:00:00', 2)`);
    await ws.warehouse.execute(`insert into cdp.raw_events (message_id, type, event, anonymous_id, "timestamp", received_at, properties)
      values ('m-bob-3', 'track', 'Signed up', 'b2', timestamp '2024-03-01 00:00:00', timestamp '2024-03-01 00:00:00', '{}')`);
    // a patch reads only what it is told about: until then the index answers as loaded
    expect(index.profileIdOf('email', 'bob2@example.com')).toBeUndefined();

    expect(await index.patch(repo, ['p_bob'])).toBe(true);
    expect(index.profileIdOf('email', 'bob2@example.com')).toBe('p_bob');
    expect(answer(index, 'p_bob')!.identities.map((i) => i.value)).toEqual(['b1', 'b2', 'bob2@example.com', 'bob@example.com', 'u2']);
    expect(answer(index, 'p_bob')!.events.map((e) => e.messageId)).toEqual(['m-bob-3', 'm-bob-2', 'm-bob-1']);
    expect(index.get('p_jane')).toBe(jane);
    expect(index.stats).toMatchObject({ profiles: 2, identifiers: 11, patches: 1 });
    await expectSameAsFreshLoad(index);
  });

  it('two profiles merge: the merged-away id is gone and its identifiers answer the survivor', async () => {
    const index = await load();
    await ws.warehouse.execute(`update cdp.identity_graph set profile_id = 'p_jane' where profile_id = 'p_bob'`);
    await ws.warehouse.execute(`delete from cdp.profiles where profile_id = 'p_bob'`);

    expect(await index.patch(repo, ['p_bob', 'p_jane'])).toBe(true);
    expect(index.get('p_bob')).toBeUndefined();
    for (const [type, value] of [['email', 'bob@example.com'], ['user_id', 'u2'], ['anonymous_id', 'b1'], ['user_id', 'u1']]) expect(index.profileIdOf(type, value)).toBe('p_jane');
    // bob's events now belong to jane's profile, the newest first
    expect(answer(index, 'p_jane')!.events.map((e) => e.messageId).slice(0, 3)).toEqual(['m-bob-2', 'm-bob-1', 'm-jane-25']);
    expect(index.stats).toMatchObject({ profiles: 1, identifiers: 9 });
    await expectSameAsFreshLoad(index);
  });

  it('a listed profile that no longer exists takes its identifiers with it, even when the survivor is not listed', async () => {
    const index = await load();
    await ws.warehouse.execute(`update cdp.identity_graph set profile_id = 'p_jane' where profile_id = 'p_bob'`);
    await ws.warehouse.execute(`delete from cdp.profiles where profile_id = 'p_bob'`);

    await index.patch(repo, ['p_bob']);
    expect(index.get('p_bob')).toBeUndefined();
    // not p_bob any more; p_jane's document is not patched, so they answer no one until it is
    expect(index.profileIdOf('email', 'bob@example.com')).toBeUndefined();
    expect(index.profileIdOf('user_id', 'u1')).toBe('p_jane');
    expect(index.stats).toMatchObject({ profiles: 1, identifiers: 6 });
    await index.patch(repo, ['p_jane']);
    await expectSameAsFreshLoad(index);
  });

  it('a trait change, a membership change and new events show after the patch', async () => {
    const index = await load();
    const before = { ...index.stats };
    await ws.warehouse.execute(`update cdp.profiles set name = 'Jane v2', orders = 4 where profile_id = 'p_jane'`);
    await ws.warehouse.execute(`create table cdp.segment_membership as select * from (values
      ('p_jane', 'vip', timestamp '2024-03-01 00:00:00', null::timestamp),
      ('p_jane', 'churned', timestamp '2024-01-01 00:00:00', timestamp '2024-02-01 00:00:00')
    ) t(profile_id, segment, entered_at, exited_at)`);
    await ws.warehouse.execute(`insert into cdp.raw_events (message_id, type, event, user_id, "timestamp", received_at, properties)
      values ('m-jane-26', 'track', 'Ordered', 'u1', timestamp '2024-03-02 00:00:00', timestamp '2024-03-02 00:00:00', '{"total":10}')`);

    await index.patch(repo, ['p_jane']);
    const jane = answer(index, 'p_jane')!;
    expect(jane.traits).toMatchObject({ name: 'Jane v2', orders: 4 });
    expect(jane.segments.map((s) => s.segment)).toEqual(['vip']);
    expect(jane.events.map((e) => e.messageId)).toEqual(['m-jane-26', ...JANE_EVENTS_NEWEST_FIRST.slice(0, 19)]);
    // the replaced document stays in the arena as garbage: all bytes grow by the new document, live ones by the difference
    const doc = index.get('p_jane')!;
    expect(index.stats.bytes - before.bytes).toBe(doc.head.length + doc.events!.length);
    expect(index.stats.bytes - index.stats.liveBytes).toBeGreaterThan(before.bytes - before.liveBytes);
    await expectSameAsFreshLoad(index);
  });

  it('a patched profile keeps its events past the budget; too far past it, or with more garbage than live bytes, a whole load is due', async () => {
    const full = await load();
    const bob = full.get('p_bob')!.events!.length;
    // p_jane (less recently active) keeps no events at the load
    const index = await load({ eventBudgetBytes: bob + 50 });
    expect(index.stats).toMatchObject({ events: 2, profilesWithoutEvents: 1 });
    expect(index.compactionDue()).toBe(false);

    await index.patch(repo, ['p_jane']);
    expect(index.get('p_jane')!.eventEnds).toHaveLength(20);
    expect(index.stats).toMatchObject({ events: 22, profilesWithoutEvents: 0, eventBytes: full.stats.eventBytes });
    expect(index.compactionDue()).toBe(true);

    // garbage: due once the replaced bytes pass the live ones, and the slack
    const small = await load({ garbageSlackBytes: 0 });
    const live = small.stats.liveBytes;
    await small.patch(repo, ['p_jane', 'p_bob']);
    expect(small.stats.bytes - small.stats.liveBytes).toBeGreaterThanOrEqual(live);
    await small.patch(repo, ['p_jane', 'p_bob']);
    expect(small.stats.bytes - small.stats.liveBytes).toBeGreaterThan(small.stats.liveBytes);
    expect(small.compactionDue()).toBe(true);
    const withSlack = await load();
    for (let i = 0; i < 3; i++) await withSlack.patch(repo, ['p_jane', 'p_bob']);
    expect(withSlack.compactionDue()).toBe(false);
  });

  it('declines (changing nothing) when the trait columns changed: every head would', async () => {
    const index = await load();
    const jane = index.get('p_jane');
    await ws.warehouse.execute(`alter table cdp.profiles add column tier varchar`);
    expect(await index.patch(repo, ['p_jane'])).toBe(false);
    expect(index.get('p_jane')).toBe(jane);
    expect(index.stats.patches).toBe(0);
  });

  it('changes nothing until it has read everything: a lookup meanwhile answers the index before the patch', async () => {
    const index = await load();
    await ws.warehouse.execute(`update cdp.identity_graph set profile_id = 'p_jane' where profile_id = 'p_bob'`);
    await ws.warehouse.execute(`delete from cdp.profiles where profile_id = 'p_bob'`);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const spy = gateQueries(/^select \* from "cdp"\."profiles"/, gate);
    try {
      const patching = index.patch(repo, ['p_bob', 'p_jane']);
      await until(() => spy.count > 0);
      expect(index.get('p_bob')).toBeDefined();
      expect(index.profileIdOf('email', 'bob@example.com')).toBe('p_bob');
      release();
      await patching;
      expect(index.get('p_bob')).toBeUndefined();
      expect(index.profileIdOf('email', 'bob@example.com')).toBe('p_jane');
    } finally {
      spy.restore();
    }
  });

  it('binds a short list of ids, stages a long one (appended, never SQL text); ids that are no profile change nothing', async () => {
    const index = await load();
    const jane = index.get('p_jane');
    const odd = Array.from({ length: PROFILE_IDS_PER_QUERY * 2 }, (_, i) => `p_o'brien ${i}`);
    const queries: { sql: string; params: BindValue[] }[] = [];
    const appended: unknown[][] = [];
    const original = ws.warehouse.query.bind(ws.warehouse);
    const originalAppend = ws.warehouse.append.bind(ws.warehouse);
    const spy = jest.spyOn(ws.warehouse, 'query').mockImplementation((sql, params) => {
      queries.push({ sql, params: params ?? [] });
      return original(sql, params);
    });
    const appendSpy = jest.spyOn(ws.warehouse, 'append').mockImplementation((rel, columns, rows) => {
      appended.push(...(rows as unknown[][]));
      return originalAppend(rel, columns, rows);
    });
    try {
      await index.patch(repo, [...odd, 'p_bob']);
      await index.patch(repo, ['p_bob', "p_o'brien 1"]);
    } finally {
      spy.mockRestore();
      appendSpy.mockRestore();
    }
    for (const q of queries) expect(q.sql).not.toContain("o'brien");
    // the long list: profiles, identities, memberships (no table here: no query) and events (their
    // identifiers' earliest first_seen, then the events from it on), each one query over the staged ids
    expect(queries.filter((q) => /in \(select profile_id from .*_profile_ids_/.test(q.sql))).toHaveLength(4);
    expect(appended.length).toBe(3 * (odd.length + 1));
    // the short one: bound
    const bound = queries.filter((q) => / in \(\?/.test(q.sql));
    expect(bound).toHaveLength(4);
    for (const q of bound) expect(q.params.filter((p) => typeof p === 'string')).toEqual(['p_bob', "p_o'brien 1"]);
    expect(index.get('p_jane')).toBe(jane);
    expect(index.stats).toMatchObject({ profiles: 2, identifiers: 9 });
  });
});

describe('ProfilesService following notifications', () => {
  let service: ProfilesService;
  let profileQueries: { filtered: boolean; params: BindValue[] }[];
  let spy: ReturnType<typeof gateQueries> | undefined;

  beforeAll(() => {
    service = new ProfilesService(ws);
    service.onApplicationBootstrap();
  });

  beforeEach(async () => {
    await service.reload();
    profileQueries = [];
  });

  afterEach(() => spy?.restore());

  afterAll(async () => {
    await service.onModuleDestroy();
  });

  const name = async (profileId: string) => JSON.parse((await service.find({ profileId }, 0)).toString()).traits.name as string;
  /** Joins the load or patch in progress and whatever it owes (a refresh with no ids asks for nothing). */
  const settled = () => service.refresh([]);

  const record = (sql: string, params: BindValue[]) => profileQueries.push({ filtered: / in \(\?/.test(sql), params });
  /** Records every profiles query (filtered: a patch's), holding none. */
  const recordOnly = () =>
    gateQueries(/^select \* from "cdp"\."profiles"/, Promise.resolve(), (sql, params) => {
      record(sql, params);
      return false;
    });

  /** Holds the profile rows of the first load (filtered: a patch) at its first row until the gate opens; records every profiles query. */
  function holdFirst(filtered: boolean): () => void {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    spy = gateQueries(/^select \* from "cdp"\."profiles"/, gate, (sql, params) => {
      record(sql, params);
      return profileQueries.length === 1 && profileQueries[0].filtered === filtered;
    });
    return release;
  }

  it('patches the listed profiles: a lookup shows a change within the patch, no whole load', async () => {
    spy = recordOnly();
    await ws.warehouse.execute(`update cdp.profiles set name = 'Jane v2'`);
    ws.notifyProfilesChanged(['p_jane']);
    await settled();
    expect(await name('p_jane')).toBe('Jane v2');
    // only p_jane was read, so p_bob still answers as loaded
    expect(await name('p_bob')).toBe('Bob');
    expect(profileQueries).toEqual([{ filtered: true, params: ['p_jane'] }]);
  });

  it('notifications during a whole load fold into exactly one patch of the union of their ids', async () => {
    const release = holdFirst(false);
    ws.notifyProfilesChanged();
    await until(() => profileQueries.length === 1);
    await ws.warehouse.execute(`update cdp.profiles set name = name || ' v2'`);
    ws.notifyProfilesChanged(['p_jane']);
    ws.notifyProfilesChanged(['p_bob', 'p_jane']);
    release();
    await settled();
    expect(profileQueries).toEqual([
      { filtered: false, params: [] },
      { filtered: true, params: ['p_jane', 'p_bob'] },
    ]);
    expect([await name('p_jane'), await name('p_bob')]).toEqual(['Jane v2', 'Bob v2']);
  });

  it('a whole load asked among ids wins: exactly one more whole load, no patch', async () => {
    const release = holdFirst(false);
    ws.notifyProfilesChanged();
    await until(() => profileQueries.length === 1);
    ws.notifyProfilesChanged(['p_jane']);
    ws.notifyProfilesChanged();
    ws.notifyProfilesChanged(['p_bob']);
    release();
    await settled();
    expect(profileQueries).toEqual([
      { filtered: false, params: [] },
      { filtered: false, params: [] },
    ]);
  });

  it('notifications during a patch fold into one more patch; never two at once', async () => {
    const release = holdFirst(true);
    ws.notifyProfilesChanged(['p_jane']);
    await until(() => profileQueries.length === 1);
    ws.notifyProfilesChanged(['p_bob']);
    ws.notifyProfilesChanged(['p_jane']);
    await new Promise((r) => setTimeout(r, 50));
    // the second patch waits for the first
    expect(profileQueries).toHaveLength(1);
    release();
    await settled();
    expect(profileQueries).toEqual([
      { filtered: true, params: ['p_jane'] },
      { filtered: true, params: ['p_bob', 'p_jane'] },
    ]);
  });

  it('a patch of more than a fifth of the profiles (and than one query of ids) is a whole load', async () => {
    spy = recordOnly();
    ws.notifyProfilesChanged(['p_jane', ...Array.from({ length: PROFILE_IDS_PER_QUERY }, (_, i) => `p_gone_${i}`)]);
    await settled();
    expect(profileQueries).toEqual([{ filtered: false, params: [] }]);
  });

  it('a patch that cannot do (the trait columns changed) or fails becomes a whole load', async () => {
    spy = recordOnly();
    await ws.warehouse.execute(`alter table cdp.profiles add column tier varchar default 'gold'`);
    ws.notifyProfilesChanged(['p_jane']);
    await settled();
    expect(profileQueries).toEqual([{ filtered: false, params: [] }]);
    expect(JSON.parse((await service.find({ profileId: 'p_bob' }, 0)).toString()).traits.tier).toBe('gold');
    spy.restore();

    // the identities query of a patch fails once
    const original = ws.warehouse.query.bind(ws.warehouse);
    profileQueries = [];
    let failed = false;
    const failing = jest.spyOn(ws.warehouse, 'query').mockImplementation((sql, params) => {
      if (/^select \* from "cdp"\."profiles"/.test(sql)) record(sql, params ?? []);
      if (!failed && /from "cdp"\."identity_graph" where profile_id in/.test(sql)) {
        failed = true;
        throw new Error('connection reset');
      }
      return original(sql, params);
    });
    try {
      await ws.warehouse.execute(`update cdp.profiles set name = 'Jane v3'`);
      ws.notifyProfilesChanged(['p_jane']);
      await settled();
    } finally {
      failing.mockRestore();
    }
    expect(failed).toBe(true);
    expect(profileQueries.map((q) => q.filtered)).toEqual([false]);
    expect(await name('p_jane')).toBe('Jane v3');
  });
});

/**
 * Spies on the warehouse's queries matching `pattern`: each is counted, handed to `hold` (when
 * given), and, when it answers true (or always, without `hold`), stops after its first row until
 * `gate` settles.
 */
function gateQueries(pattern: RegExp, gate: Promise<void>, hold?: (sql: string, params: BindValue[]) => boolean) {
  const original = ws.warehouse.query.bind(ws.warehouse);
  const state = { count: 0, restore: () => mock.mockRestore() };
  const mock = jest.spyOn(ws.warehouse, 'query').mockImplementation((sql, params) => {
    if (!pattern.test(sql)) return original(sql, params);
    state.count++;
    if (hold && !hold(sql, params ?? [])) return original(sql, params);
    return (async function* (): AsyncIterable<Row> {
      let first = true;
      for await (const row of original(sql, params)) {
        yield row;
        if (first) await gate;
        first = false;
      }
    })();
  });
  return state;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
