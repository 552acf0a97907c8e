import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { errorMessage } from '../errors/cdp-error';
import { IngestService } from '../ingest/ingest.service';
import { ProfilesService } from '../profiles/profiles.service';
import { RealtimeService, type RealtimeStatus } from '../realtime/realtime.service';
import { listSyncs } from '../syncs/sync-catalog';
import { RUN_STATUSES, SyncRunsRepository } from '../syncs/sync-runs.repository';
import { Workspace } from '../workspace/workspace';
import { renderExposition, type MetricFamily, type Sample } from './exposition';

/** `text/plain; version=0.0.4; charset=utf-8`: the text format every Prometheus scraper reads. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** The pipeline's states, and `unknown` when its backlog could not be read (the warehouse did not answer). */
const REALTIME_STATUSES: readonly (RealtimeStatus['status'] | 'unknown')[] = ['off', 'waiting', 'idle', 'running', 'failing', 'unknown'];

/** How long a scrape waits for the warehouse or the control store, as /health does: a scrape must not hang on either. */
const READ_TIMEOUT_MS = 3000;

/**
 * The sync run counts cover the runs started in this window, read through the (sync, started_at)
 * index: a count of the whole history would grow with it (real-time syncs run on every pass).
 */
const SYNC_RUNS_WINDOW_MS = 24 * 3600 * 1000;

let processRegistry: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, event loop delay, GC, handles). They measure the
 * process, so one registry serves every app the process runs (the tests start several, and each
 * collectDefaultMetrics call would add its own event loop and GC observers).
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS).unref()),
  ]);
}

const seconds = (ms: number) => ms / 1000;
const gauge = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, help, type: 'gauge', samples });
const counter = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, help, type: 'counter', samples });

/**
 * GET /metrics: the service's own metrics, read from the services at scrape time, then the
 * process's. A scrape costs the real-time backlog's two small warehouse queries (as /health), the
 * list of syncs, and two index-bound queries of their runs in the control store (see
 * SyncRunsRepository.metricsOverview); everything else is in memory. A part that cannot be read
 * is left out, and cdp_metrics_collect_ok says so, so the rest still reaches Prometheus. No label
 * carries a secret or personal data: only sync names and fixed statuses.
 */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  private readonly syncRuns: SyncRunsRepository;

  constructor(
    private readonly ws: Workspace,
    private readonly realtime: RealtimeService,
    private readonly ingest: IngestService,
    private readonly profiles: ProfilesService,
  ) {
    this.syncRuns = new SyncRunsRepository(ws.store);
    // now rather than at the first scrape: the CPU counters count from their registration
    processMetrics();
  }

  /** The exposition text of one scrape. */
  async render(): Promise<string> {
    const [realtime, syncs, processText] = await Promise.all([this.realtimeFamilies(), this.syncFamilies(), processMetrics().metrics()]);
    const collected = gauge('cdp_metrics_collect_ok', 'Whether this scrape could read each part that needs a query (1), or left its metrics out (0)', [
      { labels: { part: 'realtime_backlog' }, value: realtime.ok ? 1 : 0 },
      { labels: { part: 'syncs' }, value: syncs.ok ? 1 : 0 },
    ]);
    return renderExposition([...realtime.families, ...this.ingestFamilies(), ...this.profileFamilies(), ...syncs.families, collected]) + processText;
  }

  private async realtimeFamilies(): Promise<{ ok: boolean; families: MetricFamily[] }> {
    // the counters and the last pass are in memory: they are shown even when the backlog is not
    const { passes, failures, lastPass } = this.realtime.passStats();
    let status: RealtimeStatus | undefined;
    try {
      status = await within(this.realtime.status(), 'the real-time backlog');
    } catch (e) {
      this.logger.warn(`metrics: could not read the real-time backlog: ${errorMessage(e)}`);
    }
    const current = status?.status ?? 'unknown';
    const families = [
      gauge(
        'cdp_realtime_status',
        'The real-time pipeline: 1 for its current status (off, waiting for a first build, idle, running a pass, failing), unknown when its backlog could not be read',
        REALTIME_STATUSES.map((s) => ({ labels: { status: s }, value: s === current ? 1 : 0 })),
      ),
      gauge('cdp_realtime_events_behind', 'Committed events identity resolution has not read yet', status ? [{ value: status.eventsBehind }] : []),
      gauge('cdp_realtime_lag_seconds', 'How long the oldest event not read yet has waited, in seconds (0 when caught up)', status ? [{ value: status.lagSeconds }] : []),
      counter('cdp_realtime_passes_total', 'Real-time passes run since the service started', [{ value: passes }]),
      counter('cdp_realtime_pass_failures_total', 'Real-time passes that failed since the service started (each is retried after the poll interval)', [{ value: failures }]),
      gauge('cdp_realtime_last_pass_duration_seconds', 'How long the last real-time pass took, in seconds', lastPass ? [{ value: seconds(lastPass.durationMs) }] : []),
      gauge('cdp_realtime_last_pass_timestamp_seconds', 'When the last real-time pass started, in Unix seconds', lastPass ? [{ value: seconds(Date.parse(lastPass.startedAt)) }] : []),
    ];
    return { ok: status !== undefined, families };
  }

  private ingestFamilies(): MetricFamily[] {
    const { accepted, rejected } = this.ingest.counts;
    return [
      counter('cdp_ingest_events_total', 'Events the tracking API accepted and committed since the service started', [{ value: accepted }]),
      counter('cdp_ingest_rejected_total', 'Messages the tracking API refused as invalid since the service started (an invalid batch envelope counts as one)', [{ value: rejected }]),
    ];
  }

  private profileFamilies(): MetricFamily[] {
    const s = this.profiles.indexStats;
    const value = (v: number | undefined): Sample[] => (s ? [{ value: v! }] : []);
    return [
      gauge('cdp_profile_index_loaded', 'Whether the in-memory profile index is loaded (the profile API answers 503 until it is)', [{ value: s ? 1 : 0 }]),
      gauge('cdp_profile_index_profiles', 'Profiles in the index', value(s?.profiles)),
      gauge('cdp_profile_index_identifiers', 'Identifiers in the index', value(s?.identifiers)),
      gauge('cdp_profile_index_events', 'Events the index keeps (the latest of each profile, within its memory budget)', value(s?.events)),
      gauge('cdp_profile_index_bytes', 'Bytes of JSON the index holds outside the V8 heap, with documents that patches replaced', value(s?.bytes)),
      gauge('cdp_profile_index_load_duration_seconds', 'How long the last whole load of the index took, in seconds', value(s && seconds(s.loadMs))),
      gauge('cdp_profile_index_patches', 'Patches (real-time updates of a few profiles) applied since the last whole load', value(s?.patches)),
      gauge('cdp_profile_index_last_patch_duration_seconds', 'How long the last patch took, in seconds', s && s.patches > 0 ? [{ value: seconds(s.patchMs) }] : []),
    ];
  }

  private async syncFamilies(): Promise<{ ok: boolean; families: MetricFamily[] }> {
    let overview: Awaited<ReturnType<SyncRunsRepository['metricsOverview']>> | undefined;
    let names: string[] = [];
    try {
      overview = await within(
        (async () => {
          names = (await listSyncs(this.ws)).map((e) => e.definition.name);
          return this.syncRuns.metricsOverview(names, new Date(Date.now() - SYNC_RUNS_WINDOW_MS));
        })(),
        'the syncs',
      );
    } catch (e) {
      this.logger.warn(`metrics: could not read the syncs and their runs: ${errorMessage(e)}`);
    }
    const counts = new Map(names.map((sync) => [sync, new Map<string, number>(RUN_STATUSES.map((s) => [s, 0]))]));
    for (const c of overview?.counts ?? []) counts.get(c.sync)?.set(c.status, c.runs);
    const families = [
      gauge(
        'cdp_sync_runs_24h',
        'Runs of each sync started in the last 24 hours, by status (planning, running, succeeded, partial, failed)',
        overview ? [...counts].flatMap(([sync, byStatus]) => [...byStatus].map(([status, n]) => ({ labels: { sync, status }, value: n }))) : [],
      ),
      gauge(
        'cdp_sync_last_run_status',
        "1 for the status of each sync's latest run, 0 for the other statuses (no samples for a sync that never ran)",
        [...(overview?.latest ?? [])].flatMap(([sync, run]) =>
          [...new Set([...(counts.get(sync)?.keys() ?? []), run.status])].map((status) => ({ labels: { sync, status }, value: status === run.status ? 1 : 0 })),
        ),
      ),
      gauge(
        'cdp_sync_last_finished_timestamp_seconds',
        "When each sync's last finished run ended, in Unix seconds",
        [...(overview?.lastFinished ?? [])].map(([sync, at]) => ({ labels: { sync }, value: seconds(at.getTime()) })),
      ),
    ];
    return { ok: overview !== undefined, families };
  }
}
