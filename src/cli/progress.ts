import type { JobEvent } from '../models/job-events';

const dots = (s: string, width: number) => s + ' ' + '.'.repeat(Math.max(3, width - s.length)) + ' ';
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const count = (n: number) => n.toLocaleString('en-US');

/** dbt-style progress lines: "3 of 6 START table model stg_orders ..... [RUN]". */
export function printJobEvent(event: JobEvent, out: NodeJS.WriteStream = process.stdout): void {
  if (event.type === 'progress') {
    if (out.isTTY) out.write(`\r\x1b[K      loading ${event.node}: ${count(event.rows)} rows`);
    return;
  }
  const prefix = `${String(event.index).padStart(String(event.total).length)} of ${event.total}`;
  const label = event.what === event.node ? event.node : `${event.what} ${event.node}`;
  if (event.type === 'start') {
    if (!out.isTTY) return; // pipes and CI logs get one line per node, when it ends
    out.write(`${prefix} START ${dots(label, 58)}[RUN]`);
    return;
  }
  if (out.isTTY) out.write('\r\x1b[K'); // the START line becomes the result line
  const detail =
    event.status === 'skipped'
      ? 'SKIP'
      : event.summary
        ? `${event.summary} in ${seconds(event.durationMs)}`
        : event.rows !== undefined && event.rows !== null
          ? `${count(event.rows)} rows in ${seconds(event.durationMs)}`
        : event.failures
          ? `${count(event.failures)} failing rows in ${seconds(event.durationMs)}`
          : `in ${seconds(event.durationMs)}`;
  const word = { success: 'OK   ', pass: 'PASS ', fail: 'FAIL ', error: 'ERROR', skipped: 'SKIP ' }[event.status];
  out.write(`${prefix} ${word} ${dots(label, 58)}[${detail}]\n`);
  if (event.message && event.status !== 'success' && event.status !== 'pass') out.write(`      ${event.message.replace(/\n/g, '\n      ')}\n`);
}
