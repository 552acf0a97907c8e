import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CdpConfig } from '../config/config.schema';

/**
 * DuckDB lets one process write a database file. While the service runs it writes
 * .cdp/service.json (owner-only) with its URL and a token made for this run, and the CLI sends
 * its jobs there instead of opening the file itself.
 */
export interface RunningService {
  pid: number;
  url: string;
  token: string;
  startedAt: string;
}

export const serviceFilePath = (config: CdpConfig) => join(config.projectDir, '.cdp', 'service.json');

export function writeServiceFile(config: CdpConfig, service: RunningService): void {
  const path = serviceFilePath(config);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(service, null, 2), { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function removeServiceFile(config: CdpConfig, pid = process.pid): void {
  const path = serviceFilePath(config);
  try {
    const current = JSON.parse(readFileSync(path, 'utf8')) as RunningService;
    if (current.pid === pid) rmSync(path, { force: true });
  } catch {
    // nothing to remove
  }
}

/** The running service for this project, if its file exists, its process lives and it answers. */
export async function findRunningService(config: CdpConfig): Promise<RunningService | undefined> {
  const path = serviceFilePath(config);
  if (!existsSync(path)) return undefined;
  let service: RunningService;
  try {
    service = JSON.parse(readFileSync(path, 'utf8')) as RunningService;
    process.kill(service.pid, 0);
  } catch {
    return undefined; // stale file from a process that is gone
  }
  try {
    const res = await fetch(new URL('/health', service.url), { signal: AbortSignal.timeout(3000) });
    return res.status < 500 || res.status === 503 ? service : undefined;
  } catch {
    return undefined;
  }
}
