/** Progress of a job, for the CLI's lines and the API's answer. */
export type JobEvent =
  | { type: 'start'; index: number; total: number; node: string; what: string }
  | { type: 'done'; index: number; total: number; node: string; what: string; status: 'success' | 'error' | 'skipped' | 'pass' | 'fail'; durationMs: number; rows?: number | null; failures?: number | null; message?: string; summary?: string }
  | { type: 'progress'; node: string; rows: number };

export type JobListener = (event: JobEvent) => void;

export interface NodeResult {
  node: string;
  kind: 'model' | 'seed' | 'identity' | 'segment' | 'test';
  /** view | table | incremental | seed | identity | segment | the test kind */
  what: string;
  status: 'success' | 'error' | 'skipped' | 'pass' | 'fail';
  durationMs: number;
  rows?: number | null;
  failures?: number | null;
  /** what the node did, in words (identity: profiles, identifiers, merges, blocked links) */
  summary?: string;
  error?: string;
  compiledPath?: string;
}

export interface JobResult {
  invocationId: string;
  command: string;
  status: 'success' | 'error';
  results: NodeResult[];
  /** how long the job waited for the warehouse (other jobs' and sync runs' steps) before it started */
  queuedMs?: number;
}
