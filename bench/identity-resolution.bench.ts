/**
 * Full identity resolution on DuckDB, end to end as `cdp build` runs it (IdentityResolver): extract and
 * normalize identifiers from a source table, link, connected components, limits, stable ids, the
 * graph and the profiles table; against the same-run baseline of an in-memory union-find in Node over
 * the same links (read into memory before timing; its time covers only the unions).
 *
 * The data: 1,000,000 synthetic persons (see identity-components.bench.ts for the generator): a user
 * id each, 1-3 emails, 0-2 phones, 1-5 anonymous ids, ~3.7M identifiers; one record per identifier,
 * carrying it and its person's user id. 3% of persons share their first anonymous id with another
 * person: with `user_id` limited to 1 per profile, those components are split by the limit step.
 * Then an incremental run after 1,000 new records shows what revisiting only touched components costs.
 *
 * Usage: npx tsx bench/identity-resolution.bench.ts [persons] [repeats]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.loader';
import { IDENTITY_TABLES, IdentityResolver, type IdentityRunResult } from '../src/identity/identity-resolver';
import { loadProject } from '../src/models/project';
import { queryValue } from '../src/warehouse/warehouse';
import { Workspace } from '../src/workspace/workspace';
import { generateSql, unionFind } from './identity-components.bench';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => n.toLocaleString('en-US');

const CONFIG = `name: bench
warehouse: { type: duckdb, path: w.duckdb }
identity:
  identifiers:
    - { type: user_id, from: [records.user_id], limit: 1 }
    - { type: email, from: [records.email], limit: 5 }
    - { type: phone, from: [records.phone], normalize: trim, limit: 3 }
    - { type: anonymous_id, from: [records.anonymous_id], limit: 100 }
  sources:
    records: { time: ts }
`;

async function main() {
  const persons = Number(process.argv[2] ?? 1_000_000);
  const repeats = Number(process.argv[3] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-idr-'));
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'cdp.yaml'), CONFIG);
  writeFileSync(join(dir, 'models', 'records.sql'), '-- created by the benchmark\nselect 1 as id\n');
  const ws = await Workspace.open(loadConfig({ projectDir: dir, env: {} }));
  const wh = ws.warehouse;
  try {
    const plan = loadProject(ws.config).identity!.plan;
    const records = wh.dialect.relation(plan.sources.get('records')!.relation);
    await wh.ensureSchema('bench');
    await wh.ensureSchema('analytics');
    let t0 = performance.now();
    await wh.execute(generateSql(persons));
    // one record per link of the generator: the identifier (a) in its type's column, the person's user id (b)
    await wh.execute(`create or replace table ${records} as
select b as user_id,
  case when a like 'e:%' then replace(substr(a, 3), ':', '.') || '@bench.example' end as email,
  case when a like 'p:%' then a end as phone,
  case when a like 'a:%' then a end as anonymous_id,
  timestamp '2026-01-01' + to_seconds(cast(hash(a, b) % 31536000 as bigint)) as ts
from bench.edges`);
    const recordCount = Number(await queryValue(wh, `select count(*) from ${records}`));
    await wh.execute('checkpoint');
    console.log(`generated ${fmt(persons)} persons, ${fmt(recordCount)} records (${((performance.now() - t0) / 1000).toFixed(1)} s, not measured)`);

    const full: number[] = [];
    const checkpoints: number[] = [];
    let result: IdentityRunResult | undefined;
    for (let i = 0; i < repeats; i++) {
      for (const table of Object.values(IDENTITY_TABLES)) await wh.execute(`drop table if exists ${wh.dialect.relation(plan.relation(table))}`);
      await wh.execute('checkpoint'); // the previous run's tables are gone from the file before this one starts
      t0 = performance.now();
      result = await new IdentityResolver(wh, plan).run();
      full.push((performance.now() - t0) / 1000);
      // what the run wrote is in the file already (DuckDB writes large inserts straight to it); the checkpoint that follows is shown apart
      t0 = performance.now();
      await wh.execute('checkpoint');
      checkpoints.push((performance.now() - t0) / 1000);
      console.log(`    phases (s): ${Object.entries(result.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`).join(', ')}`);
      console.log(`  run ${i + 1}: full resolution ${full[i].toFixed(2)} s (${fmt(result.identifiers)} identifiers, ${fmt(result.profiles)} profiles, ${fmt(result.blocked)} links blocked by limits, ${result.rounds} rounds), then checkpoint ${checkpoints[i].toFixed(2)} s`);
    }
    // the baseline's links are read after the runs: 2.7M pairs of strings in Node's heap would tax them (garbage collection)
    const links: [string, string][] = [];
    for await (const row of wh.query('select a, b from bench.edges')) links.push([String(row.a), String(row.b)]);
    const baseline: number[] = [];
    for (let i = 0; i < repeats; i++) {
      t0 = performance.now();
      unionFind(links);
      baseline.push((performance.now() - t0) / 1000);
      console.log(`  union-find ${i + 1}: ${baseline[i].toFixed(2)} s`);
    }
    links.length = 0;
    if (!result) return;

    // incremental: 1,000 new records, half of them linking two existing persons
    await wh.execute(`insert into ${records}
select 'u:' || (hash(range) % ${persons}), null, null, 'a:new:' || range, timestamp '2027-01-01' from range(1000)
union all select 'u:' || (hash(range + 1) % ${persons}), (hash(range + 2) % ${persons}) || '.0@bench.example', null, null, timestamp '2027-01-01' from range(500)`);
    t0 = performance.now();
    const inc = await new IdentityResolver(wh, plan).run();
    const incSeconds = (performance.now() - t0) / 1000;

    const f = median(full);
    const b = median(baseline);
    console.log(`identity resolution on DuckDB, median of ${repeats}`);
    console.log(`  full resolution (extract, link, components, limits, ids, graph, profiles): ${f.toFixed(2)} s`);
    console.log(`  checkpoint after it (not counted): ${median(checkpoints).toFixed(2)} s`);
    console.log(`  in-memory union-find over the same links (Node): ${b.toFixed(2)} s`);
    console.log(`  ratio full / union-find: ${(f / b).toFixed(1)}x`);
    console.log(
      `  incremental after 1,500 new records: ${incSeconds.toFixed(2)} s (${fmt(inc.newLinks)} new links, ${fmt(inc.recomputed)} identifiers recomputed, ${fmt(inc.merges)} merges, ${inc.mode})`,
    );
  } finally {
    await ws.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
