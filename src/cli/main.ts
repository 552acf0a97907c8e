#!/usr/bin/env node
import 'reflect-metadata';
import { existsSync, openAsBlob } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../config/config.loader';
import type { CdpConfig } from '../config/config.schema';
import { errorMessage } from '../errors/cdp-error';
import type { JobResult } from '../models/job-events';
import { ModelEngine, type JobOptions } from '../models/model-engine';
import { Workspace } from '../workspace/workspace';
import { printJobEvent } from './progress';
import { findRunningService, type RunningService } from '../server/service-file';
import { createAdminToken } from '../auth/admin-token';
import { compileSelection } from '../models/compiler';
import { loadProject } from '../models/project';
import { dialectFor } from '../warehouse/dialects';
import { modelSchema } from '../warehouse/warehouse.factory';
import { FILE_FORMATS, LOAD_MODES, loadOptionsSchema, type LoadOptions, type LoadResponse } from '../loads/loads.schemas';
import { DEFAULT_EVENTS, MAX_EVENTS, profileQuerySchema, type Profile } from '../profiles/profiles.schemas';
import type { ProfileRef } from '../profiles/profile-ref';

type JobCommand = 'run' | 'test' | 'seed' | 'build' | 'compile';

const program = new Command()
  .name('cdp')
  .description('Warehouse-native customer data platform: SQL models, seeds, data tests and the service.')
  .option('-p, --project-dir <dir>', 'project folder holding cdp.yaml (default: CDP_PROJECT_DIR or the current folder)')
  .showHelpAfterError();

const selectOption = () => new Option('-s, --select <selectors...>', 'models and seeds to include: name, +name (with ancestors), name+ (with descendants), tag:x, path:dir');

function jobCommand(name: JobCommand, description: string, extra: (c: Command) => Command = (c) => c) {
  return extra(program.command(name).description(description).addOption(selectOption()))
    .option('--vars <json>', 'override vars from cdp.yaml, as JSON: \'{"lapsed_after_days": 30}\'')
    .action(async (opts: { select?: string[]; fullRefresh?: boolean; vars?: string }) => {
      const config = loadConfig({ projectDir: program.opts<{ projectDir?: string }>().projectDir });
      const options: JobOptions = { select: opts.select, fullRefresh: opts.fullRefresh, vars: parseVars(opts.vars), triggeredBy: 'cli', onEvent: (e) => printJobEvent(e) };
      if (name === 'compile' && (config.warehouse.type === 'bigquery' || config.warehouse.type === 'snowflake')) {
        // These warehouses compile without a connection; incremental models compile as full builds.
        const { models, tests } = await compileSelection(loadProject(config), dialectFor(config.warehouse.type), options.select, async () => false, options.vars);
        return printCompiled(config, config.warehouse.type, models.map((m) => m.compiledPath), tests.length);
      }
      const service = await findRunningService(config);
      if (service) {
        process.stdout.write(`the service is running (pid ${service.pid}, ${service.url}); sending the ${name} to it\n`);
        const result = await remoteJob(service, name, options);
        return finish(name, result);
      }
      const ws = await Workspace.open(config);
      try {
        const engine = new ModelEngine(ws);
        if (name === 'compile') {
          const { models, tests } = await engine.compile(options);
          return printCompiled(config, ws.warehouse.dialect.name, models.map((m) => m.compiledPath), tests.length);
        }
        let built: string[] = [];
        const unsubscribe = ws.onBuilt((nodes) => built.push(...nodes));
        const result = await engine[name](options);
        unsubscribe();
        finish(name, result);
        if (name === 'run' || name === 'build') {
          built = [...new Set(built)];
          const { SyncsService } = await import('../syncs/syncs.service');
          const { runAfterSyncs } = await import('./sync-command');
          if (!(await runAfterSyncs(new SyncsService(ws), built))) process.exitCode = 1;
        }
      } finally {
        await ws.close();
      }
    });
}

jobCommand('compile', 'render models and data tests to target/compiled/<dialect>/ without running them', (c) =>
  c.option('--full-refresh', 'compile incremental models as a full rebuild'),
);
jobCommand('run', 'build the selected models in the warehouse, in dependency order', (c) => c.option('--full-refresh', 'rebuild incremental models from scratch'));
jobCommand('test', 'run the data tests (unique, not_null, accepted_values, relationships) of the selected models');
jobCommand('seed', 'load the CSV files under seeds/ into warehouse tables');
jobCommand('build', 'seed, run and test the selection in dependency order (what npm start does)', (c) =>
  c.option('--full-refresh', 'rebuild incremental models from scratch'),
);

program
  .command('serve')
  .description('start the HTTP service (REST API under /api, OpenAPI docs at /docs)')
  .option('--port <port>', 'port to listen on (default: PORT or server.port in cdp.yaml)')
  .action(async (opts: { port?: string }) => {
    const config = loadConfig({ projectDir: program.opts<{ projectDir?: string }>().projectDir });
    if (opts.port) config.server.port = Number(opts.port);
    const { serve } = await import('../server/serve');
    await serve(config);
  });

program
  .command('load <file>')
  .description('load a CSV, TSV, JSON, NDJSON or Parquet file into a warehouse table (column types inferred)')
  .requiredOption('--table <name>', 'the table: name (in warehouse.schema) or schema.name; created if missing')
  .addOption(
    new Option('--mode <mode>', 'append: add the rows (same columns as the table); replace: the table becomes the file; upsert: replace rows by --key')
      .choices(LOAD_MODES)
      .default('append'),
  )
  .option('--key <columns>', 'upsert: the key column(s), comma-separated')
  .addOption(new Option('--format <format>', 'the file format (default: from the extension)').choices(FILE_FORMATS))
  .action(async (file: string, opts: { table: string; mode: string; key?: string; format?: string }) => {
    const config = loadConfig({ projectDir: program.opts<{ projectDir?: string }>().projectDir });
    const parsed = loadOptionsSchema.safeParse({ table: opts.table, mode: opts.mode, key: opts.key, format: opts.format, filename: file.length <= 255 ? file : basename(file) });
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
    const { loadFile, formatFromName } = await import('../loads/file-loader');
    const options = { ...parsed.data, format: parsed.data.format ?? formatFromName(file) };
    const path = resolve(file);
    if (!existsSync(path)) throw new Error(`${file}: no such file`);
    if (!options.format) throw new Error(`${file}: unknown file type; name it .csv, .tsv, .json, .ndjson, .jsonl or .parquet, or give --format`);
    const service = await findRunningService(config);
    let result: LoadResponse;
    if (service) {
      process.stdout.write(`the service is running (pid ${service.pid}, ${service.url}); sending the load to it\n`);
      result = await remoteLoad(service, path, options);
    } else {
      const ws = await Workspace.open(config);
      try {
        const where = modelSchema(config.warehouse);
        result = { ...(await loadFile(ws.warehouse, { ...options, path, schema: where.schema, database: where.database, displayName: file })), mode: options.mode };
      } finally {
        await ws.close();
      }
    }
    process.stdout.write(`loaded ${result.rows.toLocaleString('en-US')} rows into ${result.table} (${result.mode})\n`);
    process.stdout.write(`columns: ${result.columns.map((c) => `${c.name} ${c.type}`).join(', ')}\n`);
  });

program
  .command('profile <lookup>')
  .description('show a profile: traits, identities, segments and latest events, by type:value (email:jane@example.com, user_id:42) or by profile id')
  .option('--events <n>', `how many of the latest events to show (0 to ${MAX_EVENTS})`, String(DEFAULT_EVENTS))
  .option('--json', 'print the JSON the API answers (GET /api/profiles/...)')
  .action(async (lookup: string, opts: { events: string; json?: boolean }) => {
    const config = loadConfig({ projectDir: program.opts<{ projectDir?: string }>().projectDir });
    const query = profileQuerySchema.safeParse({ events: opts.events });
    if (!query.success) throw new Error(query.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
    const { ProfileRefs } = await import('../profiles/profile-ref');
    const ref = new ProfileRefs(config).parse(lookup);
    const service = await findRunningService(config);
    let json: string;
    if (service) {
      json = await remoteProfile(service, ref, query.data.events);
    } else {
      const { readProfile } = await import('../profiles/profiles.service');
      const ws = await Workspace.open(config);
      try {
        json = (await readProfile(ws, ref, query.data.events)).toString();
      } finally {
        await ws.close();
      }
    }
    const profile = JSON.parse(json) as Profile;
    const { profileText } = await import('../profiles/profile-text');
    process.stdout.write(`${opts.json ? JSON.stringify(profile, null, 2) : profileText(profile)}\n`);
  });

program
  .command('sync [name]')
  .description('run a sync now (every enabled one with --all), with a progress bar; --plan shows what it would send and sends nothing')
  .option('--plan', 'print what would be added, changed and removed, with samples; send nothing')
  .option('--full-resync', 'forget what was sent and send every row again')
  .option('--all', 'run every enabled sync, one after another')
  .option('--sample <n>', 'rows shown per kind of change with --plan', '3')
  .action(async (name: string | undefined, opts: { plan?: boolean; fullResync?: boolean; all?: boolean; sample: string }) => {
    const config = loadConfig({ projectDir: program.opts<{ projectDir?: string }>().projectDir });
    if (!name && !opts.all) throw new Error('name a sync (cdp sync cart_abandoners_to_file) or give --all');
    const sample = Number(opts.sample);
    if (!Number.isInteger(sample) || sample < 0 || sample > 100) throw new Error('--sample: a whole number from 0 to 100');
    const cli = await import('./sync-command');
    const service = await findRunningService(config);
    const ws = service ? undefined : await Workspace.open(config);
    try {
      const { SyncsService } = await import('../syncs/syncs.service');
      const local = ws ? new SyncsService(ws) : undefined;
      const names = name ? [name] : local ? (await local.list()).filter((s) => s.enabled).map((s) => s.name) : await remoteSyncNames(service!);
      if (service) process.stdout.write(`the service is running (pid ${service.pid}, ${service.url}); sending the sync to it\n`);
      for (const n of names) {
        if (opts.plan) {
          process.stdout.write(cli.planText(local ? await local.plan(n, sample) : await cli.planRemote(service!, n, sample)));
          continue;
        }
        const run = local ? await cli.runSyncHere(local, n, opts.fullResync ?? false) : await cli.runSyncRemote(service!, n, opts.fullResync ?? false);
        if (run.status !== 'succeeded') process.exitCode = 1;
      }
    } finally {
      await ws?.close();
    }
  });

program
  .command('token')
  .description('create a new admin API token and print it once (for the REST API)')
  .option('--name <name>', 'a label for the token', 'cli')
  .action(async (opts: { name: string }) => {
    const config = loadConfig({ projectDir: program.opts<{ projectDir?: string }>().projectDir });
    const { openControlStore } = await import('../store/control-store');
    const store = await openControlStore(config.control_store.url, config.projectDir);
    try {
      const token = await createAdminToken(store, opts.name);
      process.stdout.write(`${token}\n`);
      process.stderr.write('store it now: it is shown once and kept only as a hash\n');
    } finally {
      await store.destroy();
    }
  });

function printCompiled(config: CdpConfig, dialect: string, models: string[], tests: number): void {
  for (const path of models) process.stdout.write(`compiled ${path}\n`);
  process.stdout.write(`${models.length} models and ${tests} tests compiled for ${dialect} into ${config.paths.target}/compiled/${dialect}/\n`);
}

function parseVars(json: string | undefined): Record<string, unknown> | undefined {
  if (!json) return undefined;
  try {
    const v: unknown = JSON.parse(json);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Error(`--vars: expected a JSON object such as '{"lapsed_after_days": 30}', got ${json}`);
}

function finish(command: string, result: JobResult | undefined): void {
  if (!result) return;
  const by = (s: string) => result.results.filter((r) => r.status === s).length;
  const parts = [`${by('success') + by('pass')} ok`, by('error') && `${by('error')} errors`, by('fail') && `${by('fail')} failed tests`, by('skipped') && `${by('skipped')} skipped`].filter(Boolean);
  process.stdout.write(`\n${command} ${result.status === 'success' ? 'finished' : 'finished with problems'}: ${parts.join(', ')}\n`);
  if (result.status !== 'success') process.exitCode = 1;
}

async function remoteJob(service: RunningService, command: JobCommand, options: JobOptions): Promise<JobResult | undefined> {
  const path = { run: '/api/models/run', test: '/api/models/test', seed: '/api/seeds/run', build: '/api/models/build', compile: '/api/models/compile' }[command];
  const response = await fetch(new URL(path, service.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ select: options.select, fullRefresh: options.fullRefresh, vars: options.vars }),
  });
  const body = (await response.json()) as JobResult & { message?: string; compiled?: { models: string[]; tests: string[] } };
  if (!response.ok) throw new Error(body.message ?? `the service answered ${response.status}`);
  if (command === 'compile') {
    for (const p of body.compiled?.models ?? []) process.stdout.write(`compiled ${p}\n`);
    process.stdout.write(`${body.compiled?.models.length ?? 0} models and ${body.compiled?.tests.length ?? 0} tests compiled by the service\n`);
    return undefined;
  }
  body.results.forEach((r, i) => {
    const what = r.kind === 'test' ? 'test' : r.what;
    printJobEvent({ type: 'done', index: i + 1, total: body.results.length, node: r.node, what, status: r.status, durationMs: r.durationMs, rows: r.rows, failures: r.failures, message: r.error });
  });
  return body;
}

/** `cdp load` while the service runs: the file's bytes go to POST /api/loads (the service holds the DuckDB file). */
async function remoteLoad(service: RunningService, path: string, options: LoadOptions): Promise<LoadResponse> {
  const url = new URL('/api/loads', service.url);
  for (const [name, value] of Object.entries(options)) if (value !== undefined) url.searchParams.set(name, String(value));
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/octet-stream' },
    body: await openAsBlob(path),
  });
  const body = (await response.json()) as LoadResponse & { message?: string };
  if (!response.ok) throw new Error(body.message ?? `the service answered ${response.status}`);
  return body;
}

/**
 * `cdp profile` while the service runs: it answers from its index (the same JSON as without it).
 * A service that has just started answers 503 with Retry-After while its index loads: wait for it.
 */
async function remoteProfile(service: RunningService, ref: ProfileRef, events: number): Promise<string> {
  const path = 'profileId' in ref ? [ref.profileId] : [ref.type, ref.value];
  const url = new URL(`/api/profiles/${path.map(encodeURIComponent).join('/')}?events=${events}`, service.url);
  for (const until = Date.now() + 60_000; ; ) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${service.token}` } });
    const body = await response.text();
    if (response.ok) return body;
    const retryAfter = Number(response.headers.get('retry-after'));
    if (response.status === 503 && retryAfter > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, retryAfter * 1000));
      continue;
    }
    throw new Error((JSON.parse(body) as { message?: string }).message ?? `the service answered ${response.status}`);
  }
}

async function remoteSyncNames(service: RunningService): Promise<string[]> {
  const response = await fetch(new URL('/api/syncs', service.url), { headers: { authorization: `Bearer ${service.token}` } });
  const body = (await response.json()) as { name: string; enabled: boolean }[] & { message?: string };
  if (!response.ok) throw new Error(body.message ?? `the service answered ${response.status}`);
  return body.filter((s) => s.enabled).map((s) => s.name);
}

export function main(argv = process.argv): void {
  // `cdp run | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  program.parseAsync(argv).catch((e: unknown) => {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    process.exitCode = 1;
  });
}

export type { CdpConfig };

if (require.main === module) main();
