/** `npm run bench`: the in-process benchmarks in turn (ingest.bench.ts runs the built service under wrk: run it alone). */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

for (const bench of ['query-stream.bench.ts', 'seed-load.bench.ts']) {
  execFileSync(process.execPath, [...process.execArgv, join(__dirname, bench)], { stdio: 'inherit' });
  console.log();
}
