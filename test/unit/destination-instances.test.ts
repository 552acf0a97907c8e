/**
 * Destination instances: files destinations/*.yaml (errors naming the file and line, unknown types
 * with a suggestion, ${ENV} resolved at use, not at listing), API instances in the control store
 * (secrets encrypted), settings schemas (secret and path fields), masking.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { defineDestination, type DestinationDefinition } from '../../src/destinations/destination-definition';
import {
  DestinationInstances,
  DestinationInvalidError,
  DestinationNotFoundError,
  loadDestinationFiles,
  resolveDestination,
  resolveEnvReferences,
} from '../../src/destinations/destination-instances';
import { maskSecrets, pathFields, secretFields, SECRET_MASK, secretValues, toJsonSchema, validateSettings } from '../../src/destinations/settings-schema';
import { openControlStore, type ControlStore } from '../../src/store/control-store';
import { SecretBox, SecretsUnreadableError } from '../../src/store/secrets';
import { TempProject } from '../support/temp-project';

const noActions = {};
const klaviyo = defineDestination({
  slug: 'klaviyo',
  name: 'Klaviyo',
  category: 'email',
  description: 'fake',
  settings: z
    .object({
      api_key: z.string().min(10).meta({ writeOnly: true }),
      private_token: z.string().meta({ writeOnly: true }).optional(),
      region: z.enum(['us', 'eu']).default('us'),
      list_prefix: z.string().optional(),
    })
    .strict(),
  accountKey: (s) => `acct-${s.api_key.slice(-4)}`,
  actions: noActions,
});
const file = defineDestination({
  slug: 'file',
  name: 'File',
  category: 'generic',
  description: 'fake',
  settings: z.object({ path: z.string().min(1).meta({ format: 'path' }), format: z.enum(['csv', 'jsonl']).default('jsonl') }).strict(),
  actions: noActions,
});
const smtp = defineDestination({
  slug: 'smtp',
  name: 'SMTP',
  category: 'email',
  description: 'fake',
  settings: z.object({ host: z.string(), port: z.number().int(), tls: z.boolean().default(true), password: z.string().default('').meta({ writeOnly: true }) }).strict(),
  actions: noActions,
});
const TYPES = new Map<string, DestinationDefinition>([klaviyo, file, smtp].map((d) => [d.slug, d as DestinationDefinition]));

const temps: TempProject[] = [];
const stores: ControlStore[] = [];
afterEach(async () => {
  temps.splice(0).forEach((t) => t.cleanup());
  await Promise.all(stores.splice(0).map((s) => s.destroy()));
});

function project(files: Record<string, string>): TempProject {
  const t = new TempProject(files);
  temps.push(t);
  return t;
}

async function instancesOf(files: Record<string, string>, env: NodeJS.ProcessEnv = {}, box = new SecretBox(randomBytes(32))) {
  const t = project(files);
  const store = await openControlStore('sqlite::memory:', t.dir);
  stores.push(store);
  return { t, store, instances: new DestinationInstances({ config: { projectDir: t.dir }, store, types: TYPES, env, secrets: box }) };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('settings schemas', () => {
  it('secret fields: writeOnly anywhere in the wrappers (optional, default)', () => {
    expect(secretFields(klaviyo.settings)).toEqual(['api_key', 'private_token']);
    expect(secretFields(smtp.settings)).toEqual(['password']);
    expect(secretFields(file.settings)).toEqual([]);
    expect(secretFields(z.object({ a: z.string().optional().meta({ writeOnly: true }), b: z.string().nullable().default(null) }))).toEqual(['a']);
  });

  it('path fields: format path', () => {
    expect(pathFields(file.settings)).toEqual(['path']);
    expect(pathFields(klaviyo.settings)).toEqual([]);
  });

  it('JSON Schema marks the secrets writeOnly', () => {
    const json = toJsonSchema(klaviyo.settings) as { properties: Record<string, Record<string, unknown>>; required: string[] };
    expect(json.properties.api_key).toMatchObject({ type: 'string', writeOnly: true });
    expect(json.properties.private_token).toMatchObject({ writeOnly: true });
    expect(json.properties.region).toMatchObject({ enum: ['us', 'eu'], default: 'us' });
    expect(json.properties.region.writeOnly).toBeUndefined();
    expect(json.required).toEqual(['api_key']);
  });

  it.each([
    { id: 'set secret', input: { api_key: 'sk_123456789', region: 'us' }, expected: { api_key: SECRET_MASK, region: 'us' } },
    { id: 'unset secret', input: { private_token: '', region: 'eu' }, expected: { private_token: '', region: 'eu' } },
    { id: 'env reference shown', input: { api_key: '${KLAVIYO_API_KEY}' }, expected: { api_key: '${KLAVIYO_API_KEY}' } },
    { id: 'reference with a default masked', input: { api_key: '${K:-sk_default_secret}' }, expected: { api_key: SECRET_MASK } },
    { id: 'text around a reference masked', input: { api_key: 'Bearer ${K}' }, expected: { api_key: SECRET_MASK } },
  ])('masking: $id', ({ input, expected }) => {
    expect(maskSecrets(input, secretFields(klaviyo.settings))).toEqual(expected);
  });

  it('secret values for redaction: strings of the secret fields only', () => {
    expect(secretValues({ api_key: 'sk_123456789', region: 'us', private_token: 'tok_abcdef' }, ['api_key', 'private_token'])).toEqual(['sk_123456789', 'tok_abcdef']);
  });

  it('problems name settings.<key>, never the value', () => {
    const result = validateSettings(klaviyo.settings, { api_key: 'short', region: 'mars', colour: 'blue' });
    expect(result.ok).toBe(false);
    const problems = (result as { problems: string[] }).problems;
    expect(problems).toEqual([
      expect.stringMatching(/^settings\.api_key: Too small/),
      expect.stringMatching(/^settings\.region: Invalid option/),
      'settings.colour: unknown setting (allowed: api_key, private_token, region, list_prefix)',
    ]);
    expect(problems.join()).not.toContain('short');
    expect(validateSettings(klaviyo.settings, {})).toEqual({ ok: false, problems: ['settings.api_key: required setting is missing (expected string)'] });
  });
});

describe('destinations/*.yaml', () => {
  it('reads each file as an instance named after the file; README and other files are ignored', () => {
    const t = project({
      'destinations/README.md': '# instances',
      'destinations/klaviyo_main.yaml': 'name: klaviyo_main\ntype: klaviyo\ndescription: Main account\nsettings:\n  api_key: ${KLAVIYO_API_KEY}\n',
      'destinations/export.yml': 'type: file\nsettings: { path: out/export.jsonl }\n',
    });
    expect(loadDestinationFiles(t.dir)).toEqual([
      { name: 'export', type: 'file', settings: { path: 'out/export.jsonl' }, origin: 'file', path: 'destinations/export.yml' },
      { name: 'klaviyo_main', type: 'klaviyo', description: 'Main account', settings: { api_key: '${KLAVIYO_API_KEY}' }, origin: 'file', path: 'destinations/klaviyo_main.yaml' },
    ]);
    expect(loadDestinationFiles(project({}).dir)).toEqual([]);
  });

  it.each([
    { id: 'bad YAML', content: 'type: file\nsettings: { path: [\n', error: /^destinations\/x\.yaml:\d+:\d+: invalid YAML: / },
    { id: 'unknown key', content: 'type: file\nsetings:\n  path: a\n', error: /^destinations\/x\.yaml:3:3: setings: unknown key$/ },
    { id: 'settings not a mapping', content: 'type: file\nsettings: [a]\n', error: /^destinations\/x\.yaml:2:11: settings: Invalid input: expected record/ },
    { id: 'no type', content: 'settings: {}\n', error: /^destinations\/x\.yaml(:\d+:\d+)?: type: Invalid input: expected string/ },
    { id: 'name differs from the file', content: 'name: y\ntype: file\n', error: /^destinations\/x\.yaml: name: "y" differs from the file name; name the file y\.yaml$/ },
  ])('a broken file ($id) is listed with its error (file:line), not thrown', async ({ content, error }) => {
    const { instances } = await instancesOf({ 'destinations/x.yaml': content, 'destinations/ok.yaml': 'type: file\nsettings: { path: a.jsonl }\n' });
    const list = await instances.list();
    expect(list.map((i) => i.name)).toEqual(['ok', 'x']);
    expect(list[1].error).toMatch(error);
    expect(instances.problemsOf(list[1])).toEqual([expect.stringMatching(error)]);
    expect(instances.problemsOf(list[0])).toEqual([]);
    const e = await rejection(instances.resolve('x'));
    expect(e).toBeInstanceOf(DestinationInvalidError);
    expect(e.message).toMatch(error);
  });

  it('two files for one name: the second is an error', () => {
    const t = project({ 'destinations/a.yaml': 'type: file\n', 'destinations/a.yml': 'type: file\n' });
    const list = loadDestinationFiles(t.dir);
    expect(list).toHaveLength(2);
    expect(list[1].error).toBe('destinations/a.yml: a second file for destination "a" (destinations/a.yaml); remove one');
  });

  it('an unknown type names the file and key and suggests a close slug', async () => {
    const { instances } = await instancesOf({ 'destinations/k.yaml': 'type: klavio\nsettings: { api_key: sk_123456789 }\n' });
    const [k] = await instances.list();
    const expected = 'destinations/k.yaml: type: unknown destination type "klavio" (did you mean "klaviyo"?) (known: file, klaviyo, smtp)';
    expect(instances.problemsOf(k)).toEqual([expected]);
    expect((await rejection(instances.resolve('k'))).message).toBe(expected);
  });

  it('settings its type rejects are problems per instance in the list', async () => {
    const { instances } = await instancesOf({
      'destinations/a.yaml': 'type: klaviyo\nsettings: { api_key: short, region: mars }\n',
      'destinations/b.yaml': 'type: file\nsettings: { path: b.jsonl }\n',
    });
    const [a, b] = await instances.list();
    expect(instances.problemsOf(a)).toEqual([expect.stringMatching(/^destinations\/a\.yaml: settings\.api_key: Too small/), expect.stringMatching(/^destinations\/a\.yaml: settings\.region: Invalid option/)]);
    expect(instances.problemsOf(b)).toEqual([]);
    const e = (await rejection(instances.resolve('a'))) as DestinationInvalidError;
    expect(e.problems).toHaveLength(2);
    expect(e.code).toBe('DESTINATION_INVALID');
  });
});

describe('${ENV} references: resolved at use', () => {
  const FILES = {
    'destinations/klaviyo_main.yaml': 'name: klaviyo_main\ntype: klaviyo\nsettings:\n  api_key: ${KLAVIYO_API_KEY}\n  region: ${KLAVIYO_REGION:-eu}\n',
    'destinations/export.yaml': 'type: file\nsettings:\n  path: ${EXPORT_DIR:-out}/export.jsonl\n',
  };

  it('an unset variable does not stop the listing; using the instance is an error naming file, key and variable', async () => {
    const { instances } = await instancesOf(FILES, {});
    const list = await instances.list();
    expect(list.map((i) => i.name)).toEqual(['export', 'klaviyo_main']);
    const message = 'destinations/klaviyo_main.yaml: settings.api_key: environment variable KLAVIYO_API_KEY is not set';
    expect(instances.problemsOf(list[1])).toEqual([message]); // reported once: not also as a missing setting
    const e = await rejection(instances.resolve('klaviyo_main'));
    expect(e).toBeInstanceOf(DestinationInvalidError);
    expect(e.message).toBe(message);
    // the other instance is usable
    expect((await instances.resolve('export')).settings.path).toBe(join(instances.projectDir, 'out/export.jsonl'));
  });

  it('set variables (and defaults) give the settings; secrets listed for redaction; the account key', async () => {
    const { instances } = await instancesOf(FILES, { KLAVIYO_API_KEY: 'pk_live_abcdef123456', EXPORT_DIR: '/data/exports' });
    const k = await instances.resolve('klaviyo_main');
    expect(k.settings).toEqual({ api_key: 'pk_live_abcdef123456', region: 'eu' });
    expect(k.secrets).toEqual(['pk_live_abcdef123456']);
    expect(k.accountKey).toBe('klaviyo:acct-3456');
    expect(k.definition.slug).toBe('klaviyo');
    expect(k.instance).toMatchObject({ name: 'klaviyo_main', origin: 'file', path: 'destinations/klaviyo_main.yaml' });
    // absolute paths stay; the default account key is the instance name
    const f = await instances.resolve('export');
    expect(f.settings).toEqual({ path: '/data/exports/export.jsonl', format: 'jsonl' });
    expect(f.accountKey).toBe('file:export');
  });

  it('an empty variable counts as unset; a whole reference reads as a number or boolean when the field wants one', () => {
    expect(resolveEnvReferences({ a: '${A}' }, { A: '' }).problems).toEqual([{ key: 'a', message: 'settings.a: environment variable A is not set' }]);
    const r = resolveEnvReferences({ host: '${H}', port: '${P}', tls: '${T}', password: '${PW}' }, { H: 'smtp.local', P: '2525', T: 'false', PW: '12345678' }, smtp.settings);
    expect(r).toEqual({ settings: { host: 'smtp.local', port: 2525, tls: false, password: '12345678' }, problems: [] });
    // nested values name their path
    expect(resolveEnvReferences({ headers: { 'x-key': '${K}' }, list: ['${L}'] }, {}).problems.map((p) => p.message)).toEqual([
      'settings.headers.x-key: environment variable K is not set',
      'settings.list[0]: environment variable L is not set',
    ]);
  });

  it('an unknown name: 404 error suggesting a close one', async () => {
    const { instances } = await instancesOf(FILES, {});
    const e = await rejection(instances.resolve('klaviyo_mian'));
    expect(e).toBeInstanceOf(DestinationNotFoundError);
    expect(e.message).toBe('no destination named "klaviyo_mian" (did you mean "klaviyo_main"?)');
  });
});

describe('API instances (control store)', () => {
  it('secrets are decrypted at use; a file of the same name wins', async () => {
    const box = new SecretBox(randomBytes(32));
    const { instances, t } = await instancesOf({}, {}, box);
    await instances.repo.create({ name: 'crm', type: 'klaviyo', description: 'CRM', settings: { region: 'eu' }, secrets: box.encrypt({ api_key: 'pk_secret_0987654321' }, 'crm') });
    const crm = await instances.resolve('crm');
    expect(crm.settings).toEqual({ api_key: 'pk_secret_0987654321', region: 'eu' });
    expect(crm.secrets).toEqual(['pk_secret_0987654321']);
    expect(crm.instance).toMatchObject({ name: 'crm', origin: 'api', description: 'CRM' });
    expect(crm.instance.path).toBeUndefined();

    t.write({ 'destinations/crm.yaml': 'type: file\nsettings: { path: crm.jsonl }\n' });
    expect((await instances.list()).map((i) => [i.name, i.origin])).toEqual([['crm', 'file']]);
    expect((await instances.resolve('crm')).definition.slug).toBe('file');
  });

  it('resolveDestination: the same, outside Nest, from { config, store } (a Workspace)', async () => {
    const box = new SecretBox(randomBytes(32));
    const { t, store } = await instancesOf({ 'destinations/out.yaml': 'type: file\nsettings: { path: exports }\n' }, {}, box);
    const resolved = await resolveDestination({ config: { projectDir: t.dir }, store, types: TYPES, secrets: box }, 'out');
    expect(resolved.settings).toEqual({ path: join(t.dir, 'exports'), format: 'jsonl' });
    expect(resolved.secrets).toEqual([]);
  });

  it('secrets saved under another key: a problem in the list, an error at use, neither with the value', async () => {
    const { instances } = await instancesOf({});
    await instances.repo.create({ name: 'crm', type: 'klaviyo', settings: {}, secrets: new SecretBox(randomBytes(32)).encrypt({ api_key: 'pk_secret_0987654321' }, 'crm') });
    const [crm] = await instances.list();
    expect(instances.problemsOf(crm)).toEqual([expect.stringMatching(/^secrets of destination "crm" cannot be decrypted: CDP_SECRET_KEY changed\?/)]);
    const e = await rejection(instances.resolve('crm'));
    expect(e).toBeInstanceOf(SecretsUnreadableError);
    expect(e.message).not.toContain('pk_secret');
  });
});
