/**
 * Seed loading: the demo seed (20 CSV files, 42,481 rows) through `cdp seed`'s loader into DuckDB,
 * against the same-run baseline of DuckDB's own read_csv of the same files into a table.
 * Usage: tsx bench/seed-load.bench.ts [repeats]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.loader';
import { loadProject } from '../src/models/project';
import { loadSeed } from '../src/seeds/seed-loader';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb.warehouse';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const repeats = Number(process.argv[2] ?? 5);
  const root = join(__dirname, '..');
  const config = loadConfig({ projectDir: root, env: {} });
  const project = loadProject(config);
  const seed = project.seeds.get('online_retail')!;
  const ours: number[] = [];
  const baseline: number[] = [];
  let rows = 0;
  for (let i = 0; i < repeats; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-'));
    const wh = await DuckDbWarehouse.open({ path: join(dir, 'w.duckdb') });
    await wh.ensureSchema('analytics');
    let t0 = performance.now();
    rows = await loadSeed(wh, project, seed);
    ours.push(performance.now() - t0);
    t0 = performance.now();
    await wh.execute(`create or replace table analytics.baseline as select * from read_csv([${seed.files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}], header = true, all_varchar = true)`);
    baseline.push(performance.now() - t0);
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const o = median(ours);
  const b = median(baseline);
  console.log(`seed-load: online_retail (${seed.files.length} files, ${rows.toLocaleString('en-US')} rows) into DuckDB, median of ${repeats}`);
  console.log(`  cdp seed loader            ${o.toFixed(0).padStart(6)} ms   ${Math.round(rows / (o / 1000)).toLocaleString('en-US')} rows/s`);
  console.log(`  baseline: DuckDB read_csv  ${b.toFixed(0).padStart(6)} ms   ${Math.round(rows / (b / 1000)).toLocaleString('en-US')} rows/s`);
  console.log(`  ratio loader/baseline: ${(o / b).toFixed(2)}x`);
}

void main();
