/**
 * Streaming query results: time and peak memory to read N rows through Warehouse.query (streams)
 * against the same-run baseline of reading the whole result at once (DuckDB runAndReadAll).
 * Each mode runs in its own process so peaks do not mix. Usage: tsx bench/query-stream.bench.ts [rows] [repeats]
 */
import { execFileSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb.warehouse';

const SQL = (n: number) => `select i as id, 'customer-' || i as email, i * 1.5 as revenue, now() as seen_at from range(${n}) t(i)`;

async function measure(mode: 'stream' | 'all', rows: number): Promise<{ ms: number; peakMb: number; count: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const base = process.memoryUsage().rss;
  const t0 = performance.now();
  let count = 0;
  if (mode === 'stream') {
    const wh = await DuckDbWarehouse.open({ path: ':memory:' });
    for await (const row of wh.query(SQL(rows))) if (row.id !== undefined) count++;
    await wh.close();
  } else {
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    const reader = await c.runAndReadAll(SQL(rows));
    count = reader.getRowObjectsJS().length;
    c.closeSync();
    instance.closeSync();
  }
  const ms = performance.now() - t0;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms, peakMb: (peak - base) / 2 ** 20, count };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const [mode, rowsArg] = process.argv.slice(2);
  if (mode === 'stream' || mode === 'all') {
    process.stdout.write(JSON.stringify(await measure(mode, Number(rowsArg))));
    return;
  }
  const rows = Number(process.argv[2] ?? 2_000_000);
  const repeats = Number(process.argv[3] ?? 3);
  const run = (m: string) => JSON.parse(execFileSync(process.execPath, [...process.execArgv, __filename, m, String(rows)], { encoding: 'utf8' })) as { ms: number; peakMb: number; count: number };
  const results: Record<string, { ms: number[]; peakMb: number[] }> = { stream: { ms: [], peakMb: [] }, all: { ms: [], peakMb: [] } };
  for (let i = 0; i < repeats; i++) {
    for (const m of ['stream', 'all']) {
      const r = run(m);
      if (r.count !== rows) throw new Error(`${m} read ${r.count} rows, expected ${rows}`);
      results[m].ms.push(r.ms);
      results[m].peakMb.push(r.peakMb);
    }
  }
  const s = { ms: median(results.stream.ms), mb: median(results.stream.peakMb) };
  const a = { ms: median(results.all.ms), mb: median(results.all.peakMb) };
  console.log(`query-stream: ${rows.toLocaleString('en-US')} rows x 4 columns, DuckDB in-process, median of ${repeats}`);
  console.log(`  Warehouse.query (streaming)   ${s.ms.toFixed(0).padStart(6)} ms   peak +${s.mb.toFixed(0)} MB RSS   ${Math.round(rows / (s.ms / 1000)).toLocaleString('en-US')} rows/s`);
  console.log(`  baseline: runAndReadAll       ${a.ms.toFixed(0).padStart(6)} ms   peak +${a.mb.toFixed(0)} MB RSS`);
  console.log(`  ratio stream/baseline: time ${(s.ms / a.ms).toFixed(2)}x, peak memory ${(s.mb / a.mb).toFixed(2)}x`);
}

void main();
