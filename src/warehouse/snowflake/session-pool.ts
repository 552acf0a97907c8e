import { WarehouseError } from '../warehouse-error';

interface Idle<C> {
  session: C;
  since: number;
}

interface Waiter<C> {
  resolve: (session: C) => void;
  reject: (e: unknown) => void;
}

export interface SessionPoolOptions<C> {
  /** opens (logs in) a session; its errors reach the caller that asked for one */
  open: () => Promise<C>;
  /** ends a session (the driver deletes it on the server); never throws */
  close: (session: C) => Promise<void>;
  /** whether an idle session can still be used */
  alive: (session: C) => boolean;
  max: number;
  /**
   * An idle session older than this is closed instead of reused: Snowflake expires an idle
   * session's master token after 4 hours, and a fresh login costs one round trip.
   */
  maxIdleMs: number;
}

/**
 * Snowflake sessions for one warehouse: a transaction, a temporary stage and a streamed result each
 * need one session to themselves, so every call takes one here and gives it back. (The driver's own
 * createPool rewraps login errors as bare Errors, which would lose Snowflake's error codes.)
 */
export class SessionPool<C> {
  private readonly idle: Idle<C>[] = [];
  private readonly waiters: Waiter<C>[] = [];
  /** sessions open or being opened */
  private size = 0;
  private closed = false;

  constructor(private readonly options: SessionPoolOptions<C>) {}

  async acquire(): Promise<C> {
    if (this.closed) throw new WarehouseError('the Snowflake warehouse is closed');
    while (this.idle.length) {
      const { session, since } = this.idle.pop()!;
      if (Date.now() - since < this.options.maxIdleMs && this.options.alive(session)) return session;
      this.discard(session);
    }
    if (this.size < this.options.max) return this.open();
    return new Promise<C>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Gives a session back; `reusable: false` closes it (its state is unknown after a failed rollback). */
  release(session: C, reusable = true): void {
    if (!reusable || this.closed) {
      this.discard(session);
      this.serveWaiter();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(session);
    else this.idle.push({ session, since: Date.now() });
  }

  /** Closes the idle sessions now and the others as they come back. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new WarehouseError('the Snowflake warehouse is closed'));
    const idle = this.idle.splice(0);
    this.size -= idle.length;
    await Promise.all(idle.map((i) => this.options.close(i.session)));
  }

  private async open(): Promise<C> {
    this.size++;
    try {
      return await this.options.open();
    } catch (e) {
      this.size--;
      throw e;
    }
  }

  private discard(session: C): void {
    this.size--;
    void this.options.close(session);
  }

  /** A session was closed: a caller waiting for one gets a new one. */
  private serveWaiter(): void {
    if (this.closed || this.size >= this.options.max) return;
    const waiter = this.waiters.shift();
    if (waiter) this.open().then(waiter.resolve, waiter.reject);
  }
}
