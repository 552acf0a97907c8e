import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { destinationTypes } from '../../src/destinations/registry';
import { DestinationsService } from '../../src/destinations/destinations.service';
import { FakeServer } from '../support/fake-server';
import { Workspace } from '../../src/workspace/workspace';
import { TempProject } from '../support/temp-project';
import { answer, type Answer, type Json, startApp } from '../support/test-app';

/**
 * The destination API over real HTTP: types, instances from files and the API (secrets encrypted
 * in the control store, never answered), connection tests against a local webhook receiver, a
 * closed port, and the file destination in a temp folder.
 */

const ADMIN_TOKEN = 'test-admin-token';
const HOOK_SECRET = 'whsec_c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1sZWFr';
const HOOK_SECRET_2 = 'whsec_YW5vdGhlci1zZWNyZXQtdGhhdC1tdXN0LW5vdC1sZWFr';
const hasWebhook = destinationTypes.has('webhook');
const hasFile = destinationTypes.has('file');
const withWebhook = hasWebhook ? describe : describe.skip;

type Call = (method: string, path: string, body?: unknown, token?: string | null) => Promise<Answer>;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('destination API', () => {
  let project: TempProject;
  let app: NestFastifyApplication;
  let api: Call;
  let receiver: FakeServer;
  /** every answer body, to check no secret ever appears in one */
  const bodies: string[] = [];

  beforeAll(async () => {
    receiver = await FakeServer.start();
    project = new TempProject({
      'cdp.yaml': 'name: t\nwarehouse: {type: duckdb, path: ":memory:"}\n',
      'destinations/README.md': 'instances',
      'destinations/from_file.yaml': 'type: webhook\ndescription: A file instance\nsettings:\n  url: ${CDP_TEST_HOOK_URL_UNSET}\n',
      'destinations/typo.yaml': 'type: webhok\nsettings: {}\n',
    });
    let base: string;
    ({ app, base } = await startApp(project.config({ CDP_ADMIN_TOKEN: ADMIN_TOKEN, CDP_LOG_LEVEL: 'warn' })));
    api = async (method, path, body, token = ADMIN_TOKEN) => {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await answer(await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
      bodies.push(typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? ''));
      return res;
    };
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    project?.cleanup();
  });

  describe('authentication', () => {
    it.each([
      ['GET', '/api/destinations/types'],
      ['GET', '/api/destinations'],
      ['POST', '/api/destinations'],
      ['GET', '/api/destinations/x'],
      ['PUT', '/api/destinations/x'],
      ['DELETE', '/api/destinations/x'],
      ['POST', '/api/destinations/x/test'],
    ])('%s %s answers 401 without a token or with a wrong one', async (method, path) => {
      for (const token of [null, 'wrong-token']) {
        const res = await api(method, path, method === 'POST' || method === 'PUT' ? {} : undefined, token);
        expect(res.status).toBe(401);
      }
    });
  });

  it('GET /api/destinations/types: each type with its settings and action options as JSON Schema, secrets writeOnly', async () => {
    const res = await api('GET', '/api/destinations/types');
    expect(res.status).toBe(200);
    expect(res.body.map((t: Json) => t.slug)).toEqual([...destinationTypes.keys()].sort());
    for (const t of res.body as Json[]) {
      expect(Object.keys(t)).toEqual(['slug', 'name', 'category', 'description', 'settings', 'actions']);
      expect(t.settings.type).toBe('object');
      for (const a of t.actions) {
        expect(Object.keys(a)).toEqual(['name', 'title', 'description', 'modes', 'batchSize', 'maxBatchSize', 'fields', 'customFields', 'options']);
        expect(a.options.type).toBe('object');
      }
    }
    if (hasWebhook) {
      const webhook = res.body.find((t: Json) => t.slug === 'webhook');
      expect(webhook.settings.properties.secret).toMatchObject({ type: 'string', writeOnly: true });
      expect(webhook.settings.properties.url.writeOnly).toBeUndefined();
      expect(webhook.settings.required).toEqual(['url']);
      expect(webhook.actions[0]).toMatchObject({ name: 'send', modes: expect.arrayContaining(['upsert', 'mirror']), batchSize: 100, maxBatchSize: 1000 });
    }
  });

  it('GET /api/destinations lists file instances with their problems; an unset variable or unknown type does not stop the list', async () => {
    const res = await api('GET', '/api/destinations');
    expect(res.status).toBe(200);
    const byName = new Map((res.body as Json[]).map((d) => [d.name, d]));
    expect(byName.get('typo')).toEqual({
      name: 'typo',
      type: 'webhok',
      origin: 'file',
      path: 'destinations/typo.yaml',
      description: null,
      problems: [expect.stringMatching(/^destinations\/typo\.yaml: type: unknown destination type "webhok"/)],
    });
    if (hasWebhook) {
      expect(byName.get('typo').problems[0]).toContain('(did you mean "webhook"?)');
      expect(byName.get('from_file')).toEqual({
        name: 'from_file',
        type: 'webhook',
        origin: 'file',
        path: 'destinations/from_file.yaml',
        description: 'A file instance',
        problems: ['destinations/from_file.yaml: settings.url: environment variable CDP_TEST_HOOK_URL_UNSET is not set'],
      });
    }
  });

  it('GET /api/destinations/:name: 404 suggests a close name', async () => {
    const res = await api('GET', '/api/destinations/from_fil');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, code: 'DESTINATION_NOT_FOUND', message: 'no destination named "from_fil" (did you mean "from_file"?)' });
    expect((await api('PUT', '/api/destinations/nope', { settings: {} })).status).toBe(404);
    expect((await api('DELETE', '/api/destinations/nope')).status).toBe(404);
    expect((await api('POST', '/api/destinations/nope/test')).status).toBe(404);
  });

  withWebhook('instances created through the API (webhook)', () => {
    it('POST: 201, the secret masked; stored encrypted (absent from the sqlite row); generated key file 0600', async () => {
      const res = await api('POST', '/api/destinations', { name: 'hook', type: 'webhook', description: 'Receiver', settings: { url: receiver.url, secret: HOOK_SECRET } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        name: 'hook',
        type: 'webhook',
        origin: 'api',
        path: null,
        description: 'Receiver',
        problems: [],
        settings: { url: receiver.url, secret: '********' },
        secretFields: ['secret'],
      });
      expect(Date.parse(res.body.createdAt)).toBeGreaterThan(Date.now() - 60_000);

      // the row as the control store holds it, and the database files' bytes
      const row = (await app.get(Workspace).store('destinations').where({ name: 'hook' }).first()) as Record<string, string>;
      expect(row.type).toBe('webhook');
      expect(JSON.parse(row.settings)).toEqual({ url: receiver.url, $description: 'Receiver' });
      expect(row.secrets).toMatch(/^v1:/);
      expect(JSON.stringify(row)).not.toContain(HOOK_SECRET);
      const files = ['control.sqlite', 'control.sqlite-wal'].map((f) => join(project.dir, '.cdp', f)).filter((f) => existsSync(f));
      for (const file of files) expect(readFileSync(file).toString('latin1')).not.toContain(HOOK_SECRET.slice('whsec_'.length));
      expect(statSync(join(project.dir, '.cdp/secret.key')).mode & 0o777).toBe(0o600);
    });

    it('GET list and detail show it; the service resolves the secret for the sync engine', async () => {
      const list = await api('GET', '/api/destinations');
      expect(list.body.find((d: Json) => d.name === 'hook')).toEqual({ name: 'hook', type: 'webhook', origin: 'api', path: null, description: 'Receiver', problems: [] });
      const one = await api('GET', '/api/destinations/hook');
      expect(one.status).toBe(200);
      expect(one.body.settings).toEqual({ url: receiver.url, secret: '********' });
      const resolved = await app.get(DestinationsService).resolve('hook');
      expect(resolved.settings).toEqual({ url: receiver.url, secret: HOOK_SECRET });
      expect(resolved.secrets).toEqual([HOOK_SECRET]);
      expect(resolved.accountKey).toBe('webhook:hook');
    });

    it.each([
      ['a bad url names settings.url', { name: 'h2', type: 'webhook', settings: { url: 'ftp://x' } }, /^settings\.url: url must be an http:\/\/ or https:\/\/ address/],
      ['a missing url names settings.url', { name: 'h2', type: 'webhook', settings: {} }, /^settings\.url: required setting is missing/],
      ['a bad secret names settings.secret, not the value', { name: 'h2', type: 'webhook', settings: { url: 'http://x', secret: 'not-a-secret-value' } }, /^settings\.secret: secret must be a Standard Webhooks secret/],
      ['an unknown type suggests one', { name: 'h2', type: 'webhok', settings: {} }, /^type: unknown destination type "webhok" \(did you mean "webhook"\?\)/],
      ['a bad name', { name: 'has space', type: 'webhook', settings: {} }, /^name: /],
      ['an unknown key', { name: 'h2', type: 'webhook', settings: {}, colour: 'x' }, /colour/],
      ['the name of a route', { name: 'types', type: 'webhook', settings: { url: 'http://x' } }, /^name: "types" is a route/],
    ])('POST 400: %s', async (_what, body, message) => {
      const res = await api('POST', '/api/destinations', body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
      expect(JSON.stringify(res.body)).not.toContain('not-a-secret-value');
    });

    it('POST 409: the name of an API instance or of a file', async () => {
      const again = await api('POST', '/api/destinations', { name: 'hook', type: 'webhook', settings: { url: receiver.url } });
      expect(again.status).toBe(409);
      const file = await api('POST', '/api/destinations', { name: 'from_file', type: 'webhook', settings: { url: receiver.url } });
      expect(file.status).toBe(409);
      expect(file.body.message).toBe('a destination named "from_file" is defined by destinations/from_file.yaml');
    });

    it('PUT replaces settings: a secret left out or sent as the mask keeps its value, a new one replaces it, null clears it', async () => {
      const service = app.get(DestinationsService);
      const put = (settings: Json, extra: Json = {}) => api('PUT', '/api/destinations/hook', { settings, ...extra });

      let res = await put({ url: `${receiver.url}/a` });
      expect(res.status).toBe(200);
      expect(res.body.settings).toEqual({ url: `${receiver.url}/a`, secret: '********' });
      expect(res.body.description).toBe('Receiver');
      expect((await service.resolve('hook')).settings).toEqual({ url: `${receiver.url}/a`, secret: HOOK_SECRET });

      res = await put({ url: receiver.url, secret: '********' }, { description: 'Changed' });
      expect(res.body).toMatchObject({ description: 'Changed', settings: { url: receiver.url, secret: '********' } });
      expect((await service.resolve('hook')).settings.secret).toBe(HOOK_SECRET);

      res = await put({ url: receiver.url, secret: HOOK_SECRET_2 });
      expect(res.body.settings.secret).toBe('********');
      expect((await service.resolve('hook')).settings.secret).toBe(HOOK_SECRET_2);

      res = await put({ url: receiver.url, secret: null });
      expect(res.body.settings).toEqual({ url: receiver.url });
      expect((await service.resolve('hook')).settings.secret).toBeUndefined();

      res = await put({ url: receiver.url, secret: HOOK_SECRET });
      expect(res.status).toBe(200);
    });

    it('PUT 400s: bad settings (the stored ones stay), another type, another name; 409 for a file', async () => {
      const bad = await api('PUT', '/api/destinations/hook', { settings: { url: 'nope' } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/^settings\.url: /);
      expect((await app.get(DestinationsService).resolve('hook')).settings).toEqual({ url: receiver.url, secret: HOOK_SECRET });
      expect((await api('PUT', '/api/destinations/hook', { type: 'file', settings: {} })).body.message).toMatch(/^type: a destination's type cannot change/);
      expect((await api('PUT', '/api/destinations/hook', { name: 'other', settings: {} })).body.message).toMatch(/^name: "other" is not the destination in the URL/);
      const file = await api('PUT', '/api/destinations/from_file', { settings: { url: receiver.url } });
      expect(file.status).toBe(409);
      expect(file.body.message).toBe('destination "from_file" is defined by destinations/from_file.yaml; edit or delete the file');
    });

    it('POST /:name/test: ok against a receiver (the secret signs the ping), a failure for a closed port or a refusing receiver', async () => {
      receiver.requests.length = 0;
      const ok = await api('POST', '/api/destinations/hook/test');
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ ok: true, durationMs: expect.any(Number) });
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.requests[0].headers['webhook-signature']).toMatch(/^v1,/);

      receiver.reply({ status: 401, body: { error: 'bad signature' } });
      const refused = await api('POST', '/api/destinations/hook/test');
      expect(refused.status).toBe(200);
      expect(refused.body).toMatchObject({ ok: false, kind: 'configuration', durationMs: expect.any(Number) });

      const port = await closedPort();
      expect((await api('POST', '/api/destinations', { name: 'closed', type: 'webhook', settings: { url: `http://127.0.0.1:${port}/hook`, secret: HOOK_SECRET } })).status).toBe(201);
      const closed = await api('POST', '/api/destinations/closed/test');
      expect(closed.status).toBe(200);
      expect(closed.body).toMatchObject({ ok: false, kind: 'retryable', error: expect.any(String) });
    });

    it('POST /:name/test of a file instance with an unset variable: not ok, naming the file and key', async () => {
      const res = await api('POST', '/api/destinations/from_file/test');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ok: false,
        durationMs: expect.any(Number),
        kind: 'settings',
        error: 'destinations/from_file.yaml: settings.url: environment variable CDP_TEST_HOOK_URL_UNSET is not set',
      });
    });

    it('DELETE: 204, then 404; a file instance is 409, and so is one a sync uses', async () => {
      project.write({ 'syncs/uses_closed.yaml': 'source: { model: people }\nprimary_key: id\ndestination: closed\nmode: upsert\nmapping: { email: email }\n' });
      const used = await api('DELETE', '/api/destinations/closed');
      expect(used.status).toBe(409);
      expect(used.body.message).toBe('destination "closed" is used by uses_closed (syncs/uses_closed.yaml); delete those syncs or point them at another destination first');
      project.remove('syncs');
      expect((await api('DELETE', '/api/destinations/closed')).status).toBe(204);
      expect((await api('GET', '/api/destinations/closed')).status).toBe(404);
      const file = await api('DELETE', '/api/destinations/from_file');
      expect(file.status).toBe(409);
      expect(file.body.message).toMatch(/edit or delete the file/);
    });
  });

  (hasFile ? describe : describe.skip)('the file destination', () => {
    it('test: ok for a relative path (in the project folder); not ok for a folder that cannot be made', async () => {
      expect((await api('POST', '/api/destinations', { name: 'export', type: 'file', settings: { path: 'exports/out' } })).status).toBe(201);
      const ok = await api('POST', '/api/destinations/export/test');
      expect(ok.body).toEqual({ ok: true, durationMs: expect.any(Number) });
      expect(existsSync(join(project.dir, 'exports/out'))).toBe(true);
      expect((await app.get(DestinationsService).resolve('export')).settings.path).toBe(join(project.dir, 'exports/out'));

      // a path under a regular file cannot be a folder, whoever runs the test (root ignores permissions)
      project.write({ 'not-a-folder': 'x' });
      expect((await api('POST', '/api/destinations', { name: 'blocked', type: 'file', settings: { path: 'not-a-folder/out' } })).status).toBe(201);
      const failed = await api('POST', '/api/destinations/blocked/test');
      expect(failed.status).toBe(200);
      expect(failed.body).toEqual({ ok: false, durationMs: expect.any(Number), kind: 'configuration', error: expect.stringContaining('not-a-folder') });
    });
  });

  it('no answer ever held a secret', () => {
    expect(bodies.length).toBeGreaterThan(10);
    for (const body of bodies) {
      expect(body).not.toContain(HOOK_SECRET);
      expect(body).not.toContain(HOOK_SECRET_2);
    }
  });
});
