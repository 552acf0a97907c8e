import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningService } from '../../src/server/service-file';
import { REPO_ROOT } from './temp-project';

/** The built CLI (bin/cdp.js -> dist/; see buildOnce in ./build), run in child processes as a user runs it. */
export const CDP = join(REPO_ROOT, 'bin', 'cdp.js');

/** The environment of a user's shell, without the variables that would point cdp elsewhere. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CDP_') && k !== 'PORT') env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}

/** How a `cdp` child ended and everything it printed. */
export interface CdpExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `cdp <args>` to the end (asynchronously: a service child may be writing to its pipes meanwhile). */
export function cdp(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CdpExit> {
  const timeoutMs = opts.timeoutMs ?? 30000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CDP, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cdp ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A `cdp serve -p <dir>` child process (PORT=0, plus `env`) and everything it printed. */
export class ServedProject {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly dir: string,
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(process.execPath, [CDP, 'serve', '-p', dir], { cwd: dir, env: cleanEnv({ PORT: '0', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get serviceFile(): string {
    return join(this.dir, '.cdp', 'service.json');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until this process (not an earlier one) wrote .cdp/service.json and printed where it listens. */
  async ready(timeoutMs = 20000): Promise<RunningService> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!this.running) throw new Error(`cdp serve exited early\n${this.stdout}\n${this.stderr}`);
      if (existsSync(this.serviceFile) && /cdp is serving/.test(this.stdout)) {
        const service = JSON.parse(readFileSync(this.serviceFile, 'utf8')) as RunningService;
        if (service.pid === this.child.pid) return service;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`cdp serve did not write ${this.serviceFile} in ${timeoutMs} ms\n${this.stdout}\n${this.stderr}`);
  }

  /** Sends `signal` and waits for the exit (rejects after timeoutMs). */
  async stop(signal: NodeJS.Signals, timeoutMs = 15000) {
    this.child.kill(signal);
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`cdp serve did not stop on ${signal}`)), timeoutMs).unref());
    return Promise.race([this.exited, timer]);
  }

  /** Last resort for afterAll: this child only, by its pid. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}
