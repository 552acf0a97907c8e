import type { ActionContext, HttpRequest, HttpResponse } from '../destination-definition';
import { sfRequest } from './auth';
import { unexpectedAnswer } from './errors';
import { dataPath, type SalesforceSettings } from './settings';

/** Values per SOQL query: at most 200, and the `IN (...)` list kept under ~8,000 characters (URLs stay short). */
const MAX_VALUES = 200;
const MAX_CHARS = 8_000;

type Ctx = Pick<ActionContext<SalesforceSettings>, 'http' | 'settings' | 'logger'>;
type QueryAnswer = { records?: Record<string, unknown>[]; done?: boolean; nextRecordsUrl?: string };

/** A SOQL string literal: backslash and quote escaped, line breaks as escapes. */
export const soqlString = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;

export const lookupRequest = (s: SalesforceSettings, object: string, field: string, values: string[]): HttpRequest => ({
  method: 'GET',
  url: dataPath(s, 'query'),
  params: { q: `SELECT Id, ${field} FROM ${object} WHERE ${field} IN (${values.map(soqlString).join(', ')})` },
});

/**
 * The Ids of the records whose external id is one of `values` (`GET /query?q=SELECT Id, … WHERE … IN
 * (…)`, following `nextRecordsUrl`). Keys are lowercased: External ID fields match case-insensitively
 * unless marked case-sensitive. A value no record has is absent.
 */
export async function lookupIds(ctx: Ctx, object: string, field: string, values: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const groups: string[][] = [];
  let group: string[] = [];
  let chars = 0;
  for (const v of new Set(values)) {
    const length = soqlString(v).length + 2;
    if (group.length > 0 && (group.length >= MAX_VALUES || chars + length > MAX_CHARS)) {
      groups.push(group);
      group = [];
      chars = 0;
    }
    group.push(v);
    chars += length;
  }
  if (group.length > 0) groups.push(group);
  for (const g of groups) {
    let req: HttpRequest | undefined = lookupRequest(ctx.settings, object, field, g);
    while (req) {
      const res: HttpResponse<QueryAnswer> = await sfRequest<QueryAnswer>(ctx, req);
      if (res.status !== 200 || !Array.isArray(res.data?.records)) throw unexpectedAnswer(`looking up ${object} records by ${field}`, res);
      for (const r of res.data.records) {
        const key = Object.entries(r).find(([k]) => k.toLowerCase() === field.toLowerCase())?.[1];
        if (typeof r.Id === 'string' && (typeof key === 'string' || typeof key === 'number')) found.set(String(key).toLowerCase(), r.Id);
      }
      req = res.data.done === false && typeof res.data.nextRecordsUrl === 'string' ? { method: 'GET', url: res.data.nextRecordsUrl } : undefined;
    }
  }
  return found;
}
