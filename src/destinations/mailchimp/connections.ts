import type { HttpClient, HttpRequest, HttpResponse } from '../destination-definition';

/** Mailchimp allows 10 simultaneous connections per account; the 11th is answered 429 (or a bare 403). */
export const MAILCHIMP_MAX_CONNECTIONS = 10;

/**
 * A counting semaphore: at most `max` calls of `run` in flight, the others wait in call order.
 * Mailchimp limits concurrency, not a request rate, so this (not the shared token bucket) is what
 * keeps an account under its limit.
 */
export class ConnectionSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  /** Calls in flight now. */
  get inUse(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot straight to the next waiter, so `active` never dips while others queue. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}

const accounts = new Map<string, ConnectionSlots>();

/** The process-wide slots of one Mailchimp account: every sync and connection test of it shares them. */
export function accountConnections(account: string): ConnectionSlots {
  let slots = accounts.get(account);
  if (!slots) {
    slots = new ConnectionSlots(MAILCHIMP_MAX_CONNECTIONS);
    accounts.set(account, slots);
  }
  return slots;
}

/** The HTTP client with each request holding one of the account's slots while it is in flight. */
export function withConnectionLimit(http: HttpClient, slots: ConnectionSlots): HttpClient {
  return { request: <T>(req: HttpRequest): Promise<HttpResponse<T>> => slots.run(() => http.request<T>(req)) };
}
