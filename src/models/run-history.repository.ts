import { randomUUID } from 'node:crypto';
import type { ControlStore } from '../store/control-store';

export type InvocationCommand = 'run' | 'test' | 'seed' | 'build' | 'compile';
export type NodeRunStatus = 'success' | 'error' | 'skipped';
export type TestStatus = 'pass' | 'fail' | 'error';

export interface NodeRunRecord {
  node: string;
  nodeType: 'model' | 'seed' | 'identity' | 'segment';
  materialization?: string;
  status: NodeRunStatus;
  startedAt: Date;
  durationMs: number;
  rows?: number | null;
  error?: string | null;
  compiledPath?: string | null;
}

export interface TestRunRecord {
  test: string;
  node: string;
  column?: string;
  status: TestStatus;
  failures?: number | null;
  startedAt: Date;
  durationMs: number;
  error?: string | null;
}

export interface NodeRun extends NodeRunRecord {
  invocationId: string;
}

/** Model, seed and test runs in the control store. The only place that writes their SQL. */
export class RunHistoryRepository {
  constructor(private readonly db: ControlStore) {}

  async startInvocation(command: InvocationCommand, selector: string | undefined, triggeredBy: 'cli' | 'api' | 'realtime'): Promise<string> {
    const id = randomUUID();
    await this.db('invocations').insert({ id, command, selector: selector ?? null, status: 'running', triggered_by: triggeredBy, started_at: new Date() });
    return id;
  }

  async finishInvocation(id: string, status: 'success' | 'error'): Promise<void> {
    await this.db('invocations').where({ id }).update({ status, finished_at: new Date() });
  }

  async recordNodeRun(invocationId: string, r: NodeRunRecord): Promise<void> {
    await this.db('model_runs').insert({
      invocation_id: invocationId,
      node: r.node,
      node_type: r.nodeType,
      materialization: r.materialization ?? null,
      status: r.status,
      started_at: r.startedAt,
      duration_ms: Math.round(r.durationMs),
      rows: r.rows ?? null,
      error: r.error ?? null,
      compiled_path: r.compiledPath ?? null,
    });
  }

  async recordTestRun(invocationId: string, r: TestRunRecord): Promise<void> {
    await this.db('test_runs').insert({
      invocation_id: invocationId,
      test: r.test,
      node: r.node,
      column_name: r.column ?? null,
      status: r.status,
      failures: r.failures ?? null,
      started_at: r.startedAt,
      duration_ms: Math.round(r.durationMs),
      error: r.error ?? null,
    });
  }

  /** The latest run of each named node. */
  async lastRuns(nodes: string[]): Promise<Map<string, NodeRun>> {
    if (nodes.length === 0) return new Map();
    const latestIds = this.db('model_runs').max('id').whereIn('node', nodes).groupBy('node');
    const rows = (await this.db('model_runs').whereIn('id', latestIds)) as DbRow[];
    return new Map(rows.map((r) => [r.node, toNodeRun(r)]));
  }

  async runsOf(node: string, limit = 20): Promise<NodeRun[]> {
    const rows = (await this.db('model_runs').where({ node }).orderBy('id', 'desc').limit(limit)) as DbRow[];
    return rows.map(toNodeRun);
  }

  async testRunsOf(node: string, limit = 50): Promise<(TestRunRecord & { invocationId: string })[]> {
    const rows = (await this.db('test_runs').where({ node }).orderBy('id', 'desc').limit(limit)) as TestDbRow[];
    return rows.map((r) => ({
      invocationId: r.invocation_id,
      test: r.test,
      node: r.node,
      column: r.column_name ?? undefined,
      status: r.status,
      failures: r.failures === null ? null : Number(r.failures),
      startedAt: toDate(r.started_at),
      durationMs: r.duration_ms,
      error: r.error,
    }));
  }
}

interface DbRow {
  invocation_id: string;
  node: string;
  node_type: 'model' | 'seed';
  materialization: string | null;
  status: NodeRunStatus;
  started_at: Date | string | number;
  duration_ms: number;
  rows: number | string | null;
  error: string | null;
  compiled_path: string | null;
}

interface TestDbRow {
  invocation_id: string;
  test: string;
  node: string;
  column_name: string | null;
  status: TestStatus;
  failures: number | string | null;
  started_at: Date | string | number;
  duration_ms: number;
  error: string | null;
}

const toDate = (v: Date | string | number): Date => (v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));

function toNodeRun(r: DbRow): NodeRun {
  return {
    invocationId: r.invocation_id,
    node: r.node,
    nodeType: r.node_type,
    materialization: r.materialization ?? undefined,
    status: r.status,
    startedAt: toDate(r.started_at),
    durationMs: r.duration_ms,
    rows: r.rows === null ? null : Number(r.rows),
    error: r.error,
    compiledPath: r.compiled_path,
  };
}
