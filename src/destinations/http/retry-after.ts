/**
 * How long a vendor asked us to wait, in ms: `Retry-After` as delta-seconds or an HTTP date, or
 * failing that an `X-RateLimit-Reset`/`RateLimit-Reset` header (epoch seconds when it looks like a
 * timestamp, delta-seconds otherwise). Undefined when the answer says nothing usable.
 */
export function retryAfterMs(headers: Record<string, string>, now: number = Date.now()): number | undefined {
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined) {
    const parsed = parseRetryAfter(retryAfter, now);
    if (parsed !== undefined) return parsed;
  }
  const reset = headers['x-ratelimit-reset'] ?? headers['ratelimit-reset'];
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset.trim())) {
    const n = Number(reset);
    // anything past 2001-09-09 in seconds is an epoch timestamp, not a delay
    return n > 1e9 ? Math.max(0, Math.ceil(n * 1000 - now)) : Math.ceil(n * 1000);
  }
  return undefined;
}

/** `Retry-After: 120` → 120000; `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT` → ms from now (≥ 0). */
export function parseRetryAfter(value: string, now: number = Date.now()): number | undefined {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
