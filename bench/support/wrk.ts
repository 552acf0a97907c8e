/** What the HTTP benchmarks share: starting and stopping server processes, and wrk runs. */
import { execFileSync, type ChildProcess } from 'node:child_process';

/** Resolves with the match once the child's stdout matches `pattern`; rejects if it exits first. */
export function waitFor(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

/** SIGTERM, and the exit. */
export const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Throws a clear error when wrk is not installed. */
export function requireWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the load generator is wrk: apt-get install wrk');
  }
}

export interface WrkRun {
  /** answered requests, and how many of them were not 2xx/3xx (plus timeouts) */
  requests: number;
  errors: number;
  /** latency percentiles, ms */
  p50: number;
  p99: number;
}

const ms = (v: string, unit: string) => Number(v) * (unit === 's' ? 1000 : unit === 'us' ? 0.001 : 1);

/** wrk (C, one thread) drives the load: it leaves the most CPU to the server on a 2-core machine. */
export function runWrk(url: string, options: { connections: number; seconds: number; script: string; env: NodeJS.ProcessEnv }): WrkRun {
  const out = execFileSync('wrk', ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '-s', options.script, url], {
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
  });
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors: .*?timeout (\d+)/.exec(out)?.[1] ?? 0);
  const [, p50v, p50u] = /50%\s+([\d.]+)(us|ms|s)/.exec(out) ?? [];
  const [, p99v, p99u] = /99%\s+([\d.]+)(us|ms|s)/.exec(out) ?? [];
  return { requests, errors, p50: ms(p50v, p50u), p99: ms(p99v, p99u) };
}
