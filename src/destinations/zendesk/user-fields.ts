import { rowFailed, type HttpClient, type HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { configurationAnswer } from './errors';
import { booleanOf, type Prepared } from './payload';

/** The account's active user fields by key, with their type (text, textarea, checkbox, date, integer, decimal, regexp, dropdown, multiselect, lookup). */
export type UserFieldCatalog = Record<string, string>;

interface UserField {
  key?: unknown;
  type?: unknown;
  active?: unknown;
}

/** `GET /api/v2/user_fields` (offset pages of 100). */
export const userFieldsRequest = (page: number): HttpRequest => ({ method: 'GET', url: 'api/v2/user_fields', params: { page, per_page: 100 } });

/** Every active user field of the account (inactive ones are refused like missing ones: Zendesk would drop their values). */
export async function readUserFields(http: HttpClient): Promise<UserFieldCatalog> {
  const catalog: UserFieldCatalog = {};
  for (let page = 1; page <= 100; page++) {
    const res = await http.request<{ user_fields?: UserField[]; next_page?: unknown }>(userFieldsRequest(page));
    if (res.status !== 200 || !Array.isArray(res.data?.user_fields)) throw configurationAnswer('listing the user fields', res);
    for (const f of res.data.user_fields) if (typeof f.key === 'string' && f.active !== false) catalog[f.key] = typeof f.type === 'string' ? f.type : 'text';
    if (!res.data.next_page) break;
  }
  return catalog;
}

/** A mapping that names a user field the account does not have is a configuration problem: every row would lose it. */
export function checkUserFields(catalog: UserFieldCatalog, used: Iterable<string>): void {
  const missing = [...new Set(used)].filter((key) => catalog[key] === undefined);
  if (missing.length > 0) {
    throw new ConfigurationError(
      `Zendesk has no active user field with the key ${missing.map((k) => `"${k}"`).join(', ')}: create ${missing.length > 1 ? 'them' : 'it'} in Admin Center (People → Configuration → User fields) or fix the mapping`,
    );
  }
}

/** The value Zendesk takes for a user field of `type`: dates as YYYY-MM-DD, checkboxes as booleans, numbers as numbers, multiselect as a list. */
export function userFieldValue(key: string, value: unknown, type: string): Prepared<unknown> {
  if (value === null) return { ok: true, value: null };
  const bad = (what: string) => ({ ok: false as const, result: rowFailed(`user field ${key} is ${what}: ${JSON.stringify(value)} does not fit`) });
  switch (type) {
    case 'checkbox': {
      const b = booleanOf(value);
      return b === undefined ? bad('a checkbox') : { ok: true, value: b };
    }
    case 'integer': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : typeof value === 'bigint' ? Number(value) : value;
      return typeof n === 'number' && Number.isSafeInteger(n) ? { ok: true, value: n } : bad('an integer');
    }
    case 'decimal': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && Number.isFinite(n) ? { ok: true, value: n } : bad('a decimal');
    }
    case 'date': {
      const d = isoDate(value);
      return d === undefined ? bad('a date') : { ok: true, value: d };
    }
    case 'multiselect': {
      const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',').map((s) => s.trim()) : undefined;
      return list && list.every((v) => typeof v === 'string') ? { ok: true, value: list.filter(Boolean) } : bad('a multiselect (a list of option values)');
    }
    default:
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return { ok: true, value: String(value) };
      return bad(`a ${type} field`);
  }
}

/** `YYYY-MM-DD` of a Date, an ISO date/time text, or Unix seconds/milliseconds. */
function isoDate(value: unknown): string | undefined {
  let at: number | undefined;
  if (value instanceof Date) at = value.getTime();
  else if (typeof value === 'number') at = value > 1e11 ? value : value * 1000;
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return value.trim();
    at = Date.parse(value.trim());
  }
  if (at === undefined || Number.isNaN(at)) return undefined;
  return new Date(at).toISOString().slice(0, 10);
}
