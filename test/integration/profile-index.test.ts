import { Logger } from '@nestjs/common';
import { renderProfile } from '../../src/profiles/profile-document';
import { ProfileIndex } from '../../src/profiles/profile-index';
import { ProfilesRepository } from '../../src/profiles/profiles.repository';
import { ProfilesService, readProfile } from '../../src/profiles/profiles.service';
import type { Row } from '../../src/warehouse/warehouse';
import { Workspace } from '../../src/workspace/workspace';
import { JANE_EVENTS_NEWEST_FIRST, PROFILES_PROJECT_YAML, writeProfileFixture } from '../support/profile-tables';
import { TempProject } from '../support/temp-project';

/** The profile index on DuckDB: loading, the event budget, the swap on reload, and the CLI's direct read. */

let project: TempProject;
let ws: Workspace;
let repo: ProfilesRepository;

beforeAll(async () => {
  Logger.overrideLogger(false);
  project = new TempProject({ 'cdp.yaml': PROFILES_PROJECT_YAML });
  ws = await Workspace.open(project.config({ CDP_LOG_LEVEL: 'silent' }));
  await writeProfileFixture(ws.warehouse);
  repo = new ProfilesRepository(ws.warehouse, ws.config);
});

afterAll(async () => {
  await ws?.close();
  project?.cleanup();
});

const parse = (json: Buffer) => JSON.parse(json.toString()) as { profileId: string; traits: Record<string, unknown>; events: { messageId: string }[] };

describe('ProfileIndex.load', () => {
  it('indexes every identifier and profile, and keeps the latest events of each', async () => {
    const index = (await ProfileIndex.load(repo, { eventsPerProfile: 20 }))!;
    expect(index.stats).toMatchObject({ profiles: 2, identifiers: 9, events: 22, profilesWithoutEvents: 0 });
    expect(index.profileIdOf('email', 'bob@example.com')).toBe('p_bob');
    expect(index.profileIdOf('anonymous_id', 'a1')).toBe('p_jane');
    expect(index.profileIdOf('user_id', 'u3')).toBeUndefined();
    expect(index.get('p_jane')).toMatchObject({ allEvents: false });
    expect(index.get('p_jane')!.eventEnds).toHaveLength(20);
    expect(index.get('p_bob')).toMatchObject({ allEvents: true });
  });

  it('keeps events only within the budget; a profile cut short keeps none (a partial list would pass for the latest)', async () => {
    const full = (await ProfileIndex.load(repo, { eventsPerProfile: 20 }))!;
    const bob = full.get('p_bob')!.events!.length;
    // the most recently active profile comes first: p_bob's 2 events (February) fit, p_jane's 21 (January) do not
    const index = (await ProfileIndex.load(repo, { eventsPerProfile: 20, eventBudgetBytes: bob + 50 }))!;
    expect(index.stats).toMatchObject({ profiles: 2, events: 2, profilesWithoutEvents: 1 });
    expect(index.get('p_bob')!.events).toEqual(full.get('p_bob')!.events);
    expect(index.get('p_jane')).toMatchObject({ events: undefined, allEvents: false });
    expect(renderProfile(index.get('p_jane')!, 20).toString()).toMatch(/"events":\[\]\}$/);
  });

  it('answers null while the tables do not exist', async () => {
    const other = new ProfilesRepository(ws.warehouse, { ...ws.config, ingest: { ...ws.config.ingest, schema: 'no_such_schema' } });
    expect(await ProfileIndex.load(other, { eventsPerProfile: 20 })).toBeNull();
  });
});

describe('ProfilesService', () => {
  let service: ProfilesService;

  beforeAll(async () => {
    service = new ProfilesService(ws);
    service.onApplicationBootstrap();
    await service.reload();
  });

  afterAll(async () => {
    await service.onModuleDestroy();
  });

  it('answers from memory: more events than the index keeps come from the warehouse', async () => {
    expect(parse(await service.find({ profileId: 'p_jane' }, 20)).events.map((e) => e.messageId)).toEqual(JANE_EVENTS_NEWEST_FIRST.slice(0, 20));
    expect(parse(await service.find({ type: 'user_id', value: 'u1' }, 25)).events.map((e) => e.messageId)).toEqual(JANE_EVENTS_NEWEST_FIRST);
  });

  it('gives the same answer as the direct read of `cdp profile` without the service', async () => {
    for (const events of [0, 5, 20, 200]) {
      expect((await readProfile(ws, { type: 'email', value: 'jane@example.com' }, events)).toString()).toBe((await service.find({ type: 'email', value: 'jane@example.com' }, events)).toString());
      expect((await readProfile(ws, { profileId: 'p_bob' }, events)).toString()).toBe((await service.find({ profileId: 'p_bob' }, events)).toString());
    }
    await expect(readProfile(ws, { profileId: 'p_nobody' }, 20)).rejects.toThrow('no profile with id "p_nobody"');
    await expect(readProfile(ws, { type: 'email', value: 'x@example.com' }, 20)).rejects.toThrow('no profile with email "x@example.com"');
  });

  it('serves lookups from the old index while a new one loads, then swaps; notifications during a load fold into one more', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const original = ws.warehouse.query.bind(ws.warehouse);
    let loads = 0;
    // the profiles query (the last of a load) stops after its first row until the gate opens: the new index is half-loaded
    const spy = jest.spyOn(ws.warehouse, 'query').mockImplementation((sql, params) => {
      if (!/^select \* from "cdp"\."profiles"/.test(sql)) return original(sql, params);
      loads++;
      return (async function* (): AsyncIterable<Row> {
        let first = true;
        for await (const row of original(sql, params)) {
          yield row;
          if (first) await gate;
          first = false;
        }
      })();
    });
    try {
      await ws.warehouse.execute(`update cdp.profiles set name = 'Jane v2'`);
      ws.notifyProfilesChanged();
      await new Promise((r) => setTimeout(r, 100));
      expect(loads).toBe(1);
      expect(parse(await service.find({ profileId: 'p_jane' }, 0)).traits.name).toBe('Jane');
      ws.notifyProfilesChanged();
      ws.notifyProfilesChanged();
      release();
      await service.reload(); // joins the load in progress and the one more it owes
      expect(parse(await service.find({ profileId: 'p_jane' }, 0)).traits.name).toBe('Jane v2');
      // one more load after the gated one, not two
      expect(loads).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});
