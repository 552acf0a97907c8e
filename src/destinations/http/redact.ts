/** What replaces a secret wherever it would appear in a log line or an error message. */
export const REDACTED = '[redacted]';

/** Query-string keys whose values are credentials (`?api_key=…`, `?access_token=…`, `?sig=…`). */
const SECRET_KEY = /(key|token|secret|password|passwd|signature|^sig$|auth|credential|session)/i;

/**
 * Replaces every known secret value (and its URL-encoded form) by `[redacted]`. Built once per HTTP
 * client from the instance's secrets and the auth headers; `redact` is applied to every string that
 * leaves the client (log fields, error messages).
 */
export class Redactor {
  private readonly values: string[];

  constructor(secrets: Iterable<string>) {
    const all = new Set<string>();
    for (const s of secrets) {
      if (!s) continue;
      all.add(s);
      all.add(encodeURIComponent(s));
    }
    // longest first, so a secret containing another is replaced whole
    this.values = [...all].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }

  /** Every string inside a value (a parsed response body) redacted; other values unchanged. */
  redactDeep(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactDeep(v)]));
    return value;
  }

  /** A URL for a log line: secret-looking query values and every known secret replaced. */
  redactUrl(url: string): string {
    return this.redact(redactQuery(url));
  }
}

/** Replaces the values of secret-looking query-string keys, leaving the rest of the URL as it was. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const [query, hash = ''] = url.slice(q + 1).split(/(?=#)/);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    const key = decodeURIComponentSafe(pair.slice(0, eq));
    return SECRET_KEY.test(key) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}${hash}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
