/**
 * Segment preview on DuckDB: `POST /api/segments/preview` (count and a sample of 10 profiles) over
 * PROFILES profiles and ~EVENTS_PER_PROFILE events each (cdp.profiles, cdp.profile_events, made by SQL
 * here as identity resolution writes them), through the HTTP API of `cdp serve`, for four
 * trees: trait conditions only, an event count in a window with a `not`, an aggregate over a property,
 * and the demo's cart-abandoner tree with its split. Baseline, same run: the same count written by hand
 * as one SQL statement, run directly on the warehouse (no HTTP, no compiler).
 *
 * Usage: npx tsx bench/segment-preview.bench.ts [profiles=100000] [repeats=7]
 * Needs `npm run build` (the service runs as `node bin/cdp.js serve`, as users run it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { loadConfig } from '../src/config/config.loader';
import { queryValue } from '../src/warehouse/warehouse';
import { Workspace } from '../src/workspace/workspace';
import { stopChild, waitFor } from './support/wrk';

const ROOT = join(__dirname, '..');

const PROFILES = Number(process.argv[2] ?? 100_000);
const REPEATS = Number(process.argv[3] ?? 7);
const EVENTS_PER_PROFILE = 20;
const ADMIN = 'bench-admin-token';
const AS_OF = '2024-12-01T00:00:00Z';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const CONFIG = `name: bench
warehouse: { type: duckdb, path: w.duckdb }
identity:
  identifiers:
    - { type: user_id, from: [events.user_id] }
  as_of: "${AS_OF}"
`;

/** cdp.profiles and cdp.profile_events for PROFILES profiles, by SQL. */
const DATA_SQL = (n: number) => [
  `create or replace table cdp.profiles as
   select 'p' || lpad(i::varchar, 7, '0') as profile_id,
          timestamp '2024-01-01' + (i % 300) * interval 1 day as first_seen,
          timestamp '2024-11-01' + (i % 1000) * interval 1 minute as last_seen,
          case when i % 5 = 0 then null else 'customer' || i || '@example.com' end as email,
          (['GB', 'FR', 'DE', 'US', 'NL'])[1 + i % 5] as country,
          (i % 17)::integer as orders,
          round((i % 1000) * 1.37, 2)::double as lifetime_value,
          timestamp '2024-06-01' + (i % 180) * interval 1 day as first_order_at,
          timestamp '2024-11-29 06:00:00' as updated_at
   from range(${n}) t(i)`,
  `create or replace table cdp.profile_events as
   select 'p' || lpad((e % ${n})::varchar, 7, '0') as profile_id,
          (['Product Viewed', 'Product Viewed', 'Page Viewed', 'Order Completed', 'Signed In'])[1 + (hash(e) % 5)::integer] as event,
          timestamp '${AS_OF.replace('T', ' ').replace('Z', '')}' - (hash(e * 7) % (120 * 86400))::integer * interval 1 second as occurred_at,
          'events' as source,
          round((hash(e * 13) % 50000) / 100.0, 2)::double as revenue,
          'SKU' || (hash(e * 17) % 500) as product_id
   from range(${n * EVENTS_PER_PROFILE}) t(e)`,
];

const TREES: { name: string; body: unknown; sql: string }[] = [
  {
    name: 'traits: country in [GB, FR] and orders >= 3 and email is set',
    body: { where: { and: [{ trait: { name: 'country', op: 'in', value: ['GB', 'FR'] } }, { trait: { name: 'orders', op: '>=', value: 3 } }, { trait: { name: 'email', op: 'is_set' } }] } },
    sql: `select count(*) from cdp.profiles where country in ('GB', 'FR') and orders >= 3 and email is not null and email <> ''`,
  },
  {
    name: 'events: Product Viewed >= 2 in 7d and not Order Completed in 7d',
    body: { where: { and: [{ event: { name: 'Product Viewed', count: { gte: 2 }, within: '7d' } }, { not: { event: { name: 'Order Completed', within: '7d' } } }] } },
    sql: `select count(*) from cdp.profiles p
      where (select count(*) from cdp.profile_events e where e.profile_id = p.profile_id and e.event = 'Product Viewed' and e.occurred_at >= timestamp '2024-11-24' and e.occurred_at <= timestamp '2024-12-01') >= 2
        and not exists (select 1 from cdp.profile_events e where e.profile_id = p.profile_id and e.event = 'Order Completed' and e.occurred_at >= timestamp '2024-11-24' and e.occurred_at <= timestamp '2024-12-01')`,
  },
  {
    name: 'aggregate: sum(revenue) of Order Completed over 90d >= 500',
    body: { where: { event: { name: 'Order Completed', within: '90d', aggregate: { function: 'sum', property: 'revenue', op: '>=', value: 500 } } } },
    sql: `select count(*) from (select profile_id from cdp.profile_events where event = 'Order Completed' and occurred_at >= timestamp '2024-09-02' and occurred_at <= timestamp '2024-12-01' group by profile_id having sum(revenue) >= 500)`,
  },
  {
    name: 'cart abandoners with a 90/10 split',
    body: {
      name: 'cart_abandoners',
      where: {
        and: [
          { event: { name: 'Product Viewed', count: { gte: 2 }, within: '7d' } },
          { not: { event: { name: 'Order Completed', within: '7d' } } },
          { trait: { name: 'email', op: 'is_set' } },
        ],
      },
      split: { target: 90, holdout: 10 },
    },
    sql: `select count(*) from cdp.profiles p
      where email is not null and email <> ''
        and (select count(*) from cdp.profile_events e where e.profile_id = p.profile_id and e.event = 'Product Viewed' and e.occurred_at >= timestamp '2024-11-24' and e.occurred_at <= timestamp '2024-12-01') >= 2
        and not exists (select 1 from cdp.profile_events e where e.profile_id = p.profile_id and e.event = 'Order Completed' and e.occurred_at >= timestamp '2024-11-24' and e.occurred_at <= timestamp '2024-12-01')`,
  },
];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-seg-'));
  writeFileSync(join(dir, 'cdp.yaml'), CONFIG);
  const config = loadConfig({ projectDir: dir, env: {} });
  const base = new Map<string, { ms: number[]; count: number }>();
  try {
    // the data, and the baseline: each tree's count written by hand, run in-process on the warehouse
    const ws = await Workspace.open(config);
    let t0 = performance.now();
    await ws.warehouse.ensureSchema('cdp');
    for (const sql of DATA_SQL(PROFILES)) await ws.warehouse.execute(sql);
    const events = Number(await queryValue(ws.warehouse, 'select count(*) from cdp.profile_events'));
    console.log(`data: ${PROFILES.toLocaleString('en-US')} profiles, ${events.toLocaleString('en-US')} events (${((performance.now() - t0) / 1000).toFixed(1)} s, not measured)`);
    for (const tree of TREES) {
      const ms: number[] = [];
      let count = 0;
      for (let i = 0; i <= REPEATS; i++) {
        t0 = performance.now();
        count = Number(await queryValue(ws.warehouse, tree.sql));
        if (i > 0) ms.push(performance.now() - t0); // the first round warms caches
      }
      base.set(tree.name, { ms, count });
    }
    await ws.close();

    // the service, as users run it (`cdp serve`; DuckDB lets one process hold the file)
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cdp.js'), '-p', dir, 'serve'], {
      env: { ...process.env, PORT: '0', CDP_ADMIN_TOKEN: ADMIN, CDP_LOG_LEVEL: 'warn', CI: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [, url] = await waitFor(child, /serving .* on (http:\/\/localhost:\d+)/);
      console.log(`segment preview on DuckDB, POST /api/segments/preview (count + 10 sampled profiles), median of ${REPEATS}`);
      for (const tree of TREES) {
        const api: number[] = [];
        let count = 0;
        for (let i = 0; i <= REPEATS; i++) {
          t0 = performance.now();
          const res = await fetch(`${url}/api/segments/preview`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
            body: JSON.stringify(tree.body),
          });
          const body = (await res.json()) as { count: number; sample: unknown[] };
          if (res.status !== 200) throw new Error(`${tree.name}: ${res.status} ${JSON.stringify(body)}`);
          if (i > 0) api.push(performance.now() - t0);
          count = body.count;
        }
        const b = base.get(tree.name)!;
        if (count !== b.count) throw new Error(`${tree.name}: preview counted ${count}, the hand-written SQL ${b.count}`);
        console.log(
          `  ${tree.name}: ${count.toLocaleString('en-US')} members; preview ${median(api).toFixed(0)} ms (max ${Math.max(...api).toFixed(0)}), hand-written count ${median(b.ms).toFixed(0)} ms, ratio ${(median(api) / median(b.ms)).toFixed(2)}x`,
        );
      }
    } finally {
      await stopChild(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
