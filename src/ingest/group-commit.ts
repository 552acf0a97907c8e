import { CdpError } from '../errors/cdp-error';

export class BufferFullError extends CdpError {
  constructor(readonly retryAfterSeconds: number) {
    super('INGEST_BUSY', `the event buffer is full; retry after ${retryAfterSeconds} s`);
  }
}

interface Submission {
  rows: unknown[][];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: requests add their rows and wait; one flush writes everything waiting in a single
 * transaction, then resolves every request in it. A new flush starts as soon as the previous one has
 * finished (no timer), so the batch size follows the load. When a flush fails, each request in it is
 * written alone, so one bad row fails only its own request.
 */
export class GroupCommitWriter {
  private waiting: Submission[] = [];
  private waitingRows = 0;
  private flushing = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;

  constructor(
    private readonly write: (rows: unknown[][]) => Promise<void>,
    private readonly maxWaitingRows: number,
  ) {}

  /** Resolves once the rows are committed; throws BufferFullError when too much is waiting. */
  submit(rows: unknown[][]): Promise<void> {
    if (this.closed) return Promise.reject(new BufferFullError(5));
    if (this.waitingRows > 0 && this.waitingRows + rows.length > this.maxWaitingRows) return Promise.reject(new BufferFullError(1));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ rows, resolve, reject });
      this.waitingRows += rows.length;
      if (!this.flushing) {
        this.flushing = true;
        this.idle = new Promise((r) => (this.markIdle = r));
        setImmediate(() => void this.flushLoop());
      }
    });
  }

  get pendingRows(): number {
    return this.waitingRows;
  }

  private async flushLoop(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      this.waitingRows = 0;
      try {
        await this.write(group.length === 1 ? group[0].rows : group.flatMap((s) => s.rows));
        for (const s of group) s.resolve();
      } catch (e) {
        if (group.length === 1) group[0].reject(e);
        else await this.writeEachAlone(group);
      }
    }
    this.flushing = false;
    this.markIdle();
  }

  private async writeEachAlone(group: Submission[]): Promise<void> {
    for (const s of group) {
      try {
        await this.write(s.rows);
        s.resolve();
      } catch (e) {
        s.reject(e);
      }
    }
  }

  /** Stops taking rows and waits for what is waiting to be written. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle;
  }
}
