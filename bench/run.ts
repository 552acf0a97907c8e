/** `npm run bench`: every benchmark in turn, each printing its figures and its same-run baseline ratio. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

for (const bench of ['query-stream.bench.ts', 'seed-load.bench.ts']) {
  execFileSync(process.execPath, [...process.execArgv, join(__dirname, bench)], { stdio: 'inherit' });
  console.log();
}
