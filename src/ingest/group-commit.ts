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
 * Group commit: requests add their rows and wait; a flush writes everything waiting in one
 * transaction, then resolves every request in it. A flush starts as soon as a flush slot is free
 * (no timer), so the batch size follows the load; `slots` flushes may be in flight at once, so the
 * next group fills while the warehouse commits the last. When a flush fails, each request in it is
 * written alone, so one bad row fails only its own request.
 */
export class GroupCommitWriter {
  private waiting: Submission[] = [];
  private waitingRows = 0;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private drained: (() => void)[] = [];

  constructor(
    private readonly write: (rows: unknown[][]) => Promise<void>,
    private readonly maxWaitingRows: number,
    private readonly slots = 1,
  ) {}

  /** Resolves once the rows are committed; rejects with BufferFullError when too much is waiting. */
  submit(rows: unknown[][]): Promise<void> {
    if (this.closed) return Promise.reject(new BufferFullError(5));
    if (this.waitingRows > 0 && this.waitingRows + rows.length > this.maxWaitingRows) return Promise.reject(new BufferFullError(1));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ rows, resolve, reject });
      this.waitingRows += rows.length;
      this.schedule();
    });
  }

  /** Starts a flush on the next turn of the event loop, so requests arriving together go together. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.slots || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.slots || this.waiting.length === 0) return;
    const group = this.waiting;
    this.waiting = [];
    this.waitingRows = 0;
    this.inFlight++;
    try {
      await this.write(group.length === 1 ? group[0].rows : group.flatMap((s) => s.rows));
      for (const s of group) s.resolve();
    } catch (e) {
      if (group.length === 1) group[0].reject(e);
      else await this.writeEachAlone(group);
    } finally {
      this.inFlight--;
      if (this.waiting.length > 0) this.schedule();
      else if (this.inFlight === 0) this.drained.splice(0).forEach((done) => done());
    }
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

  /** Stops taking rows and waits until everything submitted is written. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.waiting.length === 0 && !this.scheduled) return;
    await new Promise<void>((done) => this.drained.push(done));
  }
}
