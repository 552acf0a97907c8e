/**
 * What the `events` actions (braze, customerio, iterable, klaviyo) read from an event row the same
 * way: object fields that may arrive as JSON text, and the event's time in any of the forms a
 * warehouse or a mapping gives it.
 */

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** An object field: an object as it is, or JSON text of one (a warehouse JSON column read as text); `false` for anything else. */
export function objectField(value: unknown): Record<string, unknown> | undefined | false {
  if (value === undefined || value === null) return undefined;
  if (isObject(value)) return value;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (isObject(parsed)) return parsed;
    } catch {
      // not JSON: fall through
    }
  }
  return false;
}

/**
 * When the event happened: a Date, ISO 8601 text, or epoch seconds (milliseconds above 1e11), as a
 * number or digits. `undefined` when absent, `null` when unreadable.
 */
export function eventTime(value: unknown): Date | undefined | null {
  if (value === undefined || value === null || value === '') return undefined;
  let at: number;
  if (value instanceof Date) at = value.getTime();
  else if (typeof value === 'number' || typeof value === 'bigint' || (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value))) {
    const n = Number(value);
    at = n > 1e11 ? n : n * 1000;
  } else if (typeof value === 'string') at = Date.parse(value);
  else return null;
  return Number.isFinite(at) && !Number.isNaN(at) ? new Date(at) : null;
}
