import { Workspace } from '../../src/workspace/workspace';
import { buildOnce } from '../support/build';
import { cdp, ServedProject } from '../support/cli';
import { PROFILES_PROJECT_YAML, writeProfileFixture } from '../support/profile-tables';
import { TempProject } from '../support/temp-project';

/** `cdp profile` from the built CLI, in child processes: on its own, and through a running `cdp serve`. */

let project: TempProject;
let server: ServedProject | undefined;

beforeAll(async () => {
  buildOnce();
  project = new TempProject({ 'cdp.yaml': PROFILES_PROJECT_YAML });
}, 120000);

afterAll(() => {
  server?.kill();
  project?.cleanup();
});

it('before identity resolution has run, says profiles have not been built', async () => {
  const { code, stdout, stderr } = await cdp(['profile', 'email:jane@example.com', '-p', project.dir]);
  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toMatch(/^error: profiles have not been built yet: identity resolution writes cdp\.identity_graph and cdp\.profiles/);
});

describe('with the profile tables built', () => {
  let json: string;

  beforeAll(async () => {
    const ws = await Workspace.open(project.config());
    try {
      await writeProfileFixture(ws.warehouse);
    } finally {
      await ws.close();
    }
  });

  it('prints the profile of an identifier, its value normalized, for a terminal', async () => {
    const { code, stdout, stderr } = await cdp(['profile', 'email: Jane@Example.COM', '--events', '2', '-p', project.dir]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'profile p_jane',
        '  first seen 2023-11-01 00:00:00, last seen 2024-01-02 01:00:00, updated 2024-03-02 00:00:00 (UTC)',
        '',
        'traits',
        '  name            Jane',
        '  orders          3',
        '  lifetime_value  120.5',
        '  is_vip          true',
        '  last_order_at   2024-03-01 10:00:00',
        '  attributes      {"plan":"pro"}',
        '',
        'identities (6)',
        '  anonymous_id  a1                events         2024-01-01 03:00:00 .. 2024-01-01 21:00:00',
        '  anonymous_id  a2                events         2024-01-01 06:00:00 .. 2024-01-02 00:00:00',
        '  crm_id        CRM-1             crm_contacts   2023-11-01 00:00:00 .. 2023-11-01 00:00:00',
        '  email         jane@example.com  stg_customers  2023-12-01 00:00:00 .. 2024-01-02 00:00:00',
        '  phone         +447700900123     events         2024-01-01 02:00:00 .. 2024-01-01 02:00:00',
        '  user_id       u1                events         2024-01-01 01:00:00 .. 2024-01-02 01:00:00',
        '',
        'segments: none',
        '',
        'latest events (2)',
        '  2024-01-02 01:00:00  track  Viewed 25  {"i":25}',
        '  2024-01-02 00:00:00  track  Viewed 24  {"i":24}',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the JSON of the API; a profile id works as well as an identifier', async () => {
    const byPhone = await cdp(['profile', 'phone:07700 900123', '--json', '-p', project.dir]);
    expect(byPhone.code).toBe(0);
    json = byPhone.stdout;
    const profile = JSON.parse(json);
    expect(profile).toMatchObject({ profileId: 'p_jane', traits: { name: 'Jane' }, segments: [] });
    expect(profile.events).toHaveLength(20);
    const byId = await cdp(['profile', 'p_jane', '--json', '-p', project.dir]);
    expect(byId.stdout).toBe(json);
  });

  it.each([
    [['profile', 'email:nobody@example.com'], 'error: no profile with email "nobody@example.com"'],
    [['profile', 'twitter:jane'], 'error: idType: unknown identifier type "twitter"; this project\'s identifier types are user_id, email, phone, anonymous_id, crm_id'],
    [['profile', 'p_jane', '--events', '-1'], 'error: --events: Too small: expected number to be >=0'],
  ])('cdp %j exits 1 saying why', async (args, message) => {
    const { code, stdout, stderr } = await cdp([...args, '-p', project.dir]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe(message);
  });

  it('with `cdp serve` running, asks the service (which holds the DuckDB file) and prints the same', async () => {
    server = new ServedProject(project.dir);
    await server.ready();
    const res = await cdp(['profile', 'phone:+44 7700 900123', '--json', '-p', project.dir]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(json);
    expect(server.stdout).toContain('"url":"/api/profiles/phone/%2B447700900123?events=20"');
    const missing = await cdp(['profile', 'user_id:u9', '-p', project.dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: no profile with user_id "u9"\n');
    await server.stop('SIGTERM');
  });
});
