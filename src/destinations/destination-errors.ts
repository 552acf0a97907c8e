/**
 * The error classes a destination throws. They carry behaviour: the sync engine decides what to do
 * from the class alone, never from a message. Never throw a bare Error from an adapter.
 */

/** Try again later: throttling (429 and each vendor's own signal), 5xx, timeouts, dropped connections. */
export class RetryableError extends Error {
  constructor(
    message: string,
    /** how long the vendor asked to wait (Retry-After, retryDelay, ...), if it said */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

/** Bad settings or credentials, a missing list, a revoked token: stop the run and tell the user. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/**
 * This row is rejected (invalid email, unknown record, ...): record it with the vendor's reason and
 * go on. performBatch reports row errors as results; it throws RowError only when a single-row call
 * is rejected.
 */
export class RowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowError';
  }
}

/**
 * The vendor rejected the whole batch without saying which rows are at fault (a 400 for the whole
 * payload). The engine bisects the batch to isolate the bad rows; a batch of one becomes a row error.
 */
export class BatchRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchRejectedError';
  }
}

export type DestinationError = RetryableError | ConfigurationError | RowError | BatchRejectedError;

export function isDestinationError(e: unknown): e is DestinationError {
  return e instanceof RetryableError || e instanceof ConfigurationError || e instanceof RowError || e instanceof BatchRejectedError;
}
