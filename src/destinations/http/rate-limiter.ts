import type { RateLimit } from '../destination-definition';

/**
 * A token bucket: `requests` tokens, refilled evenly over `perMs`. `take()` reserves a token at
 * once (the count may go below zero) and resolves when that token is due, so callers queue fairly
 * in call order and wait rather than fail.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly limit: RateLimit,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = limit.requests;
    this.last = clock();
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    const now = this.clock();
    const msPerToken = this.limit.perMs / this.limit.requests;
    this.tokens = Math.min(this.limit.requests, this.tokens + (now - this.last) / msPerToken);
    this.last = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return Promise.resolve();
    const waitMs = Math.ceil(-this.tokens * msPerToken);
    return new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

const budgets = new Map<string, RateLimiter>();

/**
 * The process-wide budget for one account (`<slug>:<account key>`): every client of that account,
 * whatever the sync, takes from the same limiter. The first client's limit sets it.
 */
export function sharedRateLimiter(key: string, limit: RateLimit): RateLimiter {
  let limiter = budgets.get(key);
  if (!limiter) {
    limiter = new RateLimiter(limit);
    budgets.set(key, limiter);
  }
  return limiter;
}
