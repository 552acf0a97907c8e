import { createHash } from 'node:crypto';
import type { HttpRequest } from '../destination-definition';
import { ID_TYPES, type IdType, type TikTokIds } from './identifiers';
import type { TikTokSettings } from './settings';

/**
 * Requests of the TikTok API for Business customer-file audience endpoints, built as plain data
 * (paths relative to `{base_url}` = `https://business-api.tiktok.com/open_api/v1.3`; the specs in
 * test/specs/tiktok describe them without that prefix). Every id goes in the body or the query as
 * text (the spec types them as strings).
 */
export const LIST_PAGE_SIZE = 100;

export function listRequest(s: TikTokSettings, page: number): HttpRequest {
  return { method: 'GET', url: 'dmp/custom_audience/list/', params: { advertiser_id: s.advertiser_id, page, page_size: LIST_PAGE_SIZE } };
}

/** A MULTIPLE_TYPES customer file: the id types present in the batch as the header line, then one line per person. */
export function customerFile(rows: TikTokIds[]): string {
  const columns = ID_TYPES.filter((t) => rows.some((r) => r[t]));
  return [columns.join(','), ...rows.map((r) => columns.map((c: IdType) => r[c] ?? '').join(','))].join('\n') + '\n';
}

export const md5Hex = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

/** `POST dmp/custom_audience/file/upload/` as multipart/form-data: advertiser_id, calculate_type, file_signature (MD5 of the file), file. */
export function uploadRequest(s: TikTokSettings, file: string, fileName: string): HttpRequest {
  const signature = md5Hex(file);
  const boundary = `----cdp${signature}`;
  const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const body = Buffer.concat([
    Buffer.from(part('advertiser_id', s.advertiser_id) + part('calculate_type', 'MULTIPLE_TYPES') + part('file_signature', signature)),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.from(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { method: 'POST', url: 'dmp/custom_audience/file/upload/', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body, timeoutMs: 120_000 };
}

export function createRequest(s: TikTokSettings, name: string, filePath: string): HttpRequest {
  return {
    method: 'POST',
    url: 'dmp/custom_audience/create/',
    body: { advertiser_id: s.advertiser_id, custom_audience_name: name, calculate_type: 'MULTIPLE_TYPES', file_paths: [filePath] },
  };
}

export function updateRequest(s: TikTokSettings, audienceId: string, action: 'APPEND' | 'REMOVE', filePath: string): HttpRequest {
  return { method: 'POST', url: 'dmp/custom_audience/update/', body: { advertiser_id: s.advertiser_id, custom_audience_id: audienceId, action, file_paths: [filePath] } };
}

/** `data.list[]` of the list endpoint → the audience named `name`, and whether there are more pages. */
export function readList(data: unknown, name: string, page: number): { id?: string; more: boolean } {
  const d = ((data as { data?: unknown } | undefined)?.data ?? {}) as { list?: unknown; page_info?: { total_page?: unknown } };
  const list = Array.isArray(d.list) ? (d.list as Record<string, unknown>[]) : [];
  const found = list.find((a) => a.name === name);
  const id = found?.audience_id ?? found?.custom_audience_id;
  const totalPages = Number(d.page_info?.total_page ?? 0);
  return { id: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined, more: list.length > 0 && page < totalPages };
}

/** A field of the envelope's `data` as text (`file_path`, `custom_audience_id`, ...). */
export function dataField(data: unknown, ...keys: string[]): string | undefined {
  const d = ((data as { data?: unknown } | undefined)?.data ?? {}) as Record<string, unknown>;
  for (const k of keys) if (typeof d[k] === 'string' || typeof d[k] === 'number') return String(d[k]);
  return undefined;
}
