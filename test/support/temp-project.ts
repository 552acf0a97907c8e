import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../src/config/config.loader';
import type { CdpConfig } from '../../src/config/config.schema';

export const REPO_ROOT = join(__dirname, '..', '..');

/** A throwaway project folder: files given as {relative path: content}. Removed by cleanup(). */
export class TempProject {
  readonly dir: string;

  constructor(files: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'cdp-test-'));
    this.write(files);
  }

  /** A copy of the demo project (cdp.yaml, models/, seeds/) to work on. */
  static demo(): TempProject {
    const p = new TempProject();
    for (const item of ['cdp.yaml', 'models', 'seeds', 'segments']) cpSync(join(REPO_ROOT, item), join(p.dir, item), { recursive: true });
    return p;
  }

  write(files: Record<string, string>): this {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    return this;
  }

  remove(path: string): this {
    rmSync(join(this.dir, path), { recursive: true, force: true });
    return this;
  }

  config(env: NodeJS.ProcessEnv = {}): CdpConfig {
    return loadConfig({ projectDir: this.dir, env });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
