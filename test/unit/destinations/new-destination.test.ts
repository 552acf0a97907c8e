import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { scaffoldDestination, ScaffoldError } from '../../../scripts/new-destination';

const REPO = join(__dirname, '..', '..', '..');
let root: string;

/**
 * A copy of what generated files import (the contract, the HTTP client, the fake server and the
 * contract harness) in a folder inside the repository, so zod, axios and the jest types resolve
 * from its node_modules. `.scratch/` is git- and lint-ignored.
 */
beforeEach(() => {
  mkdirSync(join(REPO, '.scratch'), { recursive: true });
  root = mkdtempSync(join(REPO, '.scratch', 'scaffold-'));
  for (const path of ['src/destinations/destination-definition.ts', 'src/destinations/destination-errors.ts', 'src/destinations/http', 'src/destinations/registry.ts', 'test/support/fake-server.ts', 'test/contract/harness.ts']) {
    cpSync(join(REPO, path), join(root, path), { recursive: true });
  }
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function typeErrors(files: string[]): string[] {
  const { config } = ts.readConfigFile(join(REPO, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, REPO);
  const program = ts.createProgram(files, { ...options, noEmit: true, rootDir: undefined });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('new:destination scaffold', () => {
  it('writes a definition and a contract test that contain the slug and type-check', () => {
    const result = scaffoldDestination({ slug: 'acme-crm', root, name: 'Acme CRM', category: 'crm' });
    const [definition, test] = result.files;
    expect(result.files).toEqual([join(root, 'src/destinations/acme-crm/index.ts'), join(root, 'test/contract/acme-crm.test.ts')]);
    expect(readFileSync(definition, 'utf8')).toContain("slug: 'acme-crm'");
    expect(readFileSync(definition, 'utf8')).toContain("category: 'crm'");
    expect(readFileSync(test, 'utf8')).toContain("from '../../src/destinations/acme-crm'");
    expect(result.registryLines[0]).toBe("import { acmeCrm } from './acme-crm';");
    expect(typeErrors(result.files)).toEqual([]);
  });

  it('adds itself to registry.ts with --register', () => {
    scaffoldDestination({ slug: 'acme', root, register: true });
    const registry = readFileSync(join(root, 'src/destinations/registry.ts'), 'utf8');
    expect(registry).toContain("import { acme } from './acme';");
    expect(registry).toMatch(/const definitions: DestinationDefinition\[\] = \[[^\]]*, acme\];/);
  });

  it.each([
    { id: 'upper case', slug: 'Acme', message: /bad slug/ },
    { id: 'spaces', slug: 'acme crm', message: /bad slug/ },
    { id: 'path', slug: '../acme', message: /bad slug/ },
    { id: 'reserved', slug: 'http', message: /reserved/ },
  ])('refuses a bad slug: $id', ({ slug, message }) => {
    expect(() => scaffoldDestination({ slug, root })).toThrow(message);
  });

  it('refuses an existing slug and leaves its files alone', () => {
    scaffoldDestination({ slug: 'acme', root });
    const before = readFileSync(join(root, 'src/destinations/acme/index.ts'), 'utf8');
    expect(() => scaffoldDestination({ slug: 'acme', root })).toThrow(ScaffoldError);
    expect(readFileSync(join(root, 'src/destinations/acme/index.ts'), 'utf8')).toBe(before);
  });

  it('runs as a command (tsx), printing the registry lines', () => {
    const out = execFileSync(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'scripts/new-destination.ts'), 'beta_mail', '--root', root], { encoding: 'utf8' });
    expect(out).toContain("import { betaMail } from './beta_mail';");
    expect(existsSync(join(root, 'test/contract/beta_mail.test.ts'))).toBe(true);
    expect(() => execFileSync(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'scripts/new-destination.ts'), 'beta_mail', '--root', root], { stdio: 'pipe' })).toThrow(/exists already/);
  });
});
