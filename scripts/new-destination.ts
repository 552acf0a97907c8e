/**
 * Scaffolds a destination: `npm run new:destination -- <slug> [--name "Acme CRM"] [--category crm]
 * [--register] [--root <dir>]`. Writes `src/destinations/<slug>/index.ts` (a working minimal
 * definition) and `test/contract/<slug>.test.ts` (a test against the fake server), then prints the
 * lines to add to `src/destinations/registry.ts`, or adds them with `--register`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DESTINATION_CATEGORIES, type DestinationCategory } from '../src/destinations/destination-definition';

/** A slug: lower-case words joined by `-` or `_` (`google-ads`, `customer_io`). */
const SLUG = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;
/** Folders under src/destinations that are not destinations. */
const RESERVED = new Set(['http', 'registry', 'destination-definition', 'destination-errors']);

export class ScaffoldError extends Error {}

export interface ScaffoldOptions {
  slug: string;
  /** the repository root (default: this script's repository) */
  root?: string;
  name?: string;
  category?: DestinationCategory;
  /** add the destination to registry.ts instead of printing the lines */
  register?: boolean;
}

export interface ScaffoldResult {
  files: string[];
  /** the lines for registry.ts (already added with `register`) */
  registryLines: string[];
}

export function scaffoldDestination(opts: ScaffoldOptions): ScaffoldResult {
  const { slug } = opts;
  const root = resolve(opts.root ?? join(__dirname, '..'));
  if (!SLUG.test(slug) || slug.length > 40) throw new ScaffoldError(`bad slug "${slug}": lower-case letters and digits, words joined by - or _ (e.g. acme-crm)`);
  if (RESERVED.has(slug)) throw new ScaffoldError(`"${slug}" is reserved`);
  const folder = join(root, 'src', 'destinations', slug);
  const testFile = join(root, 'test', 'contract', `${slug}.test.ts`);
  if (existsSync(folder)) throw new ScaffoldError(`destination "${slug}" exists already (${folder})`);
  if (existsSync(testFile)) throw new ScaffoldError(`${testFile} exists already`);
  const category = opts.category ?? 'generic';
  if (!DESTINATION_CATEGORIES.includes(category)) throw new ScaffoldError(`category must be one of ${DESTINATION_CATEGORIES.join(', ')}`);

  const names = { slug, id: identifier(slug), name: opts.name ?? titleCase(slug), category };
  mkdirSync(folder, { recursive: true });
  mkdirSync(join(root, 'test', 'contract'), { recursive: true });
  writeFileSync(join(folder, 'index.ts'), definitionTemplate(names));
  writeFileSync(testFile, testTemplate(names));

  const registryLines = [`import { ${names.id} } from './${slug}';`, `const definitions: DestinationDefinition[] = [..., ${names.id}];`];
  if (opts.register) register(join(root, 'src', 'destinations', 'registry.ts'), names.id, slug);
  return { files: [join(folder, 'index.ts'), testFile], registryLines };
}

/** Adds the import after the last import and the definition to the `definitions` list. */
function register(registryFile: string, id: string, slug: string): void {
  const text = readFileSync(registryFile, 'utf8');
  const list = /(const definitions: DestinationDefinition\[\] = \[)([^\]]*)(\];)/;
  const imports = [...text.matchAll(/^import .*;$/gm)];
  if (!list.test(text) || imports.length === 0) throw new ScaffoldError(`cannot find where to add ${id} in ${registryFile}; add it by hand`);
  const last = imports[imports.length - 1];
  const at = last.index + last[0].length;
  const withImport = `${text.slice(0, at)}\nimport { ${id} } from './${slug}';${text.slice(at)}`;
  writeFileSync(registryFile, withImport.replace(list, (_m, open: string, items: string, close: string) => `${open}${items.trim() ? `${items.trim()}, ` : ''}${id}${close}`));
}

const identifier = (slug: string) => slug.replace(/[-_]([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const titleCase = (slug: string) => slug.split(/[-_]/).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');

type Names = { slug: string; id: string; name: string; category: string };

function definitionTemplate({ slug, id, name, category }: Names): string {
  return `import { z } from 'zod';
import { defineDestination, ROW_OK } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';

const settings = z.object({
  api_key: z.string().min(1).meta({ writeOnly: true }).describe('the API key'),
  base_url: z.url().default('https://api.example.com').describe('the API base URL'),
});
type Settings = z.infer<typeof settings>;

/** ${name}: TODO say what a sync to it does. */
export const ${id} = defineDestination<Settings>({
  slug: '${slug}',
  name: '${name.replace(/'/g, "\\'")}',
  category: '${category}',
  description: 'TODO: one line for the catalogue.',
  settings,
  rateLimit: { requests: 10, perMs: 1000 },
  baseUrl: (s) => s.base_url,
  headers: (s) => ({ authorization: \`Bearer \${s.api_key}\` }),

  async testConnection({ http }) {
    const res = await http.request({ method: 'GET', url: '/me' });
    if (res.status !== 200) throw new ConfigurationError(\`${name} answered \${res.status} to GET /me\`);
  },

  actions: {
    upsert: {
      title: 'Upsert records',
      description: 'Creates or updates one record per row.',
      modes: ['upsert', 'update', 'insert'],
      options: z.object({}),
      fields: { email: { description: "the record's email", type: 'string', identifier: true } },
      customFields: true,
      batchSize: 100,
      async performBatch(rows, { http }) {
        const res = await http.request({ method: 'POST', url: '/records/batch', body: { records: rows.map((r) => ({ id: r.key, ...r.fields })) } });
        if (res.status === 400 || res.status === 422) throw new BatchRejectedError(\`${name} rejected the batch (\${res.status})\`);
        if (res.status < 200 || res.status > 299) throw new ConfigurationError(\`${name} answered \${res.status}\`);
        return rows.map(() => ROW_OK);
      },
    },
  },
});
`;
}

function testTemplate({ slug, id }: Names): string {
  return `import { BatchRejectedError, ConfigurationError } from '../../src/destinations/destination-errors';
import { ${id} } from '../../src/destinations/${slug}';
import { FakeServer } from '../support/fake-server';
import { actionContext, testContext } from './harness';

let server: FakeServer;
beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const settings = () => ({ api_key: 'test-key-123456', base_url: server.url });

describe('${slug}', () => {
  it('sends the exact request', async () => {
    server.reply({ status: 200, body: {} });
    const ctx = actionContext(${id}, 'upsert', { settings: settings() });
    const results = await ${id}.actions.upsert.performBatch([{ op: 'upsert', key: 'p_1', fields: { email: 'ada@example.com' } }], ctx);
    expect(results).toEqual([{ ok: true }]);
    expect(server.last).toMatchObject({ method: 'POST', path: '/records/batch', json: { records: [{ id: 'p_1', email: 'ada@example.com' }] } });
    expect(server.last.headers.authorization).toBe('Bearer test-key-123456');
  });

  it('maps a whole-batch 400 to BatchRejectedError', async () => {
    server.reply({ status: 400, body: { message: 'bad' } });
    const ctx = actionContext(${id}, 'upsert', { settings: settings() });
    await expect(${id}.actions.upsert.performBatch([{ op: 'upsert', key: 'p_1', fields: {} }], ctx)).rejects.toBeInstanceOf(BatchRejectedError);
  });

  it('testConnection fails on bad credentials', async () => {
    server.reply({ status: 401, body: { message: 'invalid key' } });
    await expect(${id}.testConnection!(testContext(${id}, settings()))).rejects.toBeInstanceOf(ConfigurationError);
  });
});
`;
}

function main(argv: string[]): void {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--register') flags.set('register', true);
    else if (arg.startsWith('--')) flags.set(arg.slice(2), argv[++i] ?? '');
    else positional.push(arg);
  }
  if (positional.length !== 1) throw new ScaffoldError('usage: npm run new:destination -- <slug> [--name "Acme CRM"] [--category crm] [--register] [--root <dir>]');
  const str = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
  const result = scaffoldDestination({
    slug: positional[0],
    root: str('root'),
    name: str('name'),
    category: str('category') as DestinationCategory | undefined,
    register: flags.get('register') === true,
  });
  for (const f of result.files) console.log(`created ${f}`);
  if (flags.get('register') === true) console.log('added to src/destinations/registry.ts');
  else console.log(`add to src/destinations/registry.ts:\n  ${result.registryLines.join('\n  ')}`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  }
}
