import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from './temp-project';

/**
 * This jest process (its pid and start time) and the newest source it builds from. Jest gives every
 * test file its own module registry, so a module-level flag would build once per suite; a stamp file
 * naming the process builds once per run (per worker without --runInBand). The next run is another
 * process, and a changed source (jest --watch keeps the process) also builds again.
 */
const THIS_PROCESS = `${process.pid}@${Math.round(performance.timeOrigin)}`;
const STAMP = join(tmpdir(), `cdp-test-build-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`);

function fingerprint(): string {
  const src = join(REPO_ROOT, 'src');
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).map((f) => join(src, f));
  const newest = Math.max(...[...files, join(REPO_ROOT, 'tsconfig.build.json')].map((f) => statSync(f).mtimeMs));
  return `${THIS_PROCESS} ${newest} ${files.length}`;
}

function readStamp(): string | undefined {
  try {
    return readFileSync(STAMP, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * `npm run build` (bin/cdp.js runs dist/), at most once per jest process: suites that spawn the
 * compiled CLI call it in beforeAll (with a 120 s timeout). A failed build throws and stamps nothing.
 */
export function buildOnce(): void {
  const current = fingerprint();
  if (readStamp() === current) return;
  execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'pipe' });
  writeFileSync(STAMP, current);
}
