/**
 * A short, human-readable reason from a vendor's answer body, whatever its shape: the text itself,
 * or the first string found under the usual keys (`message`, `error`, `error_description`, `detail`,
 * `title`, `errors[0]…`), else the JSON cut to 300 characters. Never throws on odd bodies.
 */
export function vendorMessage(data: unknown): string {
  const found = pick(data, 0);
  const text = found ?? (data === undefined || data === null || data === '' ? '' : safeJson(data));
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}

const KEYS = ['message', 'error_description', 'error', 'detail', 'title', 'errors', 'msg', 'reason'];

function pick(data: unknown, depth: number): string | undefined {
  if (typeof data === 'string') return data;
  if (depth > 3 || !data || typeof data !== 'object') return undefined;
  if (Array.isArray(data)) return data.length > 0 ? pick(data[0], depth + 1) : undefined;
  for (const key of KEYS) {
    const v = (data as Record<string, unknown>)[key];
    if (v === undefined || v === null) continue;
    const found = pick(v, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function safeJson(data: unknown): string {
  try {
    return JSON.stringify(data) ?? '';
  } catch {
    return '';
  }
}
