import type { HttpClient, HttpRequest, HttpResponse } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';

/** LinkedIn asks for a 5 s wait after creating a segment before adding members (DMP Segment Users docs). */
export const SEGMENT_READY_DELAY_MS = 5_000;
const PAGE_SIZE = 100;
const MAX_PAGES = 100;

export interface DmpSegment {
  id: number | string;
  name?: string;
  type?: string;
  account?: string;
}

/** `GET /dmpSegments?q=account&account=urn:li:sponsoredAccount:…`: one page of the account's segments. */
export const findSegmentsRequest = (account: string, start: number): HttpRequest => ({
  method: 'GET',
  url: 'dmpSegments',
  params: { q: 'account', account, start, count: PAGE_SIZE },
});

/** `POST /dmpSegments`: an empty USER segment of the account, streamed to LinkedIn. */
export const createSegmentRequest = (account: string, name: string, sourcePlatform: string): HttpRequest => ({
  method: 'POST',
  url: 'dmpSegments',
  body: { name, account, type: 'USER', sourcePlatform, accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }] },
});

/** `GET /dmpSegments/{id}`: checks a configured segment exists. */
export const getSegmentRequest = (id: string): HttpRequest => ({ method: 'GET', url: `dmpSegments/${encodeURIComponent(id)}` });

/**
 * The segment for this run: the configured `segment_id` (checked), or the account's USER segment
 * named `segment_name`, created when there is none (then `ready_at` is 5 s later: users sent
 * earlier may be lost). Two segments with the name, or a COMPANY one, is a configuration error.
 */
export async function ensureSegment(
  http: HttpClient,
  account: string,
  o: { segment_id?: string; segment_name?: string; sourcePlatform?: string },
  now: () => number = Date.now,
): Promise<{ segment_id: string; created: boolean; ready_at?: number }> {
  if (o.segment_id) {
    const res = await http.request<DmpSegment>(getSegmentRequest(o.segment_id));
    if (res.status !== 200 || res.data?.id === undefined) throw failed(`reading DMP segment ${o.segment_id}`, res);
    checkUserSegment(res.data);
    return { segment_id: String(res.data.id), created: false };
  }
  const name = o.segment_name ?? '';
  const found: DmpSegment[] = [];
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new ConfigurationError(`the ad account has more than ${MAX_PAGES * PAGE_SIZE} DMP segments: set segment_id instead of segment_name`);
    const res = await http.request<{ elements?: DmpSegment[]; paging?: { total?: number } }>(findSegmentsRequest(account, page * PAGE_SIZE));
    if (res.status !== 200 || !Array.isArray(res.data?.elements)) throw failed(`listing the DMP segments of ${account}`, res);
    const elements = res.data.elements;
    found.push(...elements.filter((s) => s.name === name));
    const total = res.data.paging?.total;
    if (elements.length < PAGE_SIZE || (typeof total === 'number' && (page + 1) * PAGE_SIZE >= total)) break;
  }
  if (found.length > 1) throw new ConfigurationError(`${found.length} LinkedIn DMP segments are named "${name}" (${found.map((s) => s.id).join(', ')}): set segment_id`);
  if (found.length === 1) {
    checkUserSegment(found[0]);
    return { segment_id: String(found[0].id), created: false };
  }
  if (!o.sourcePlatform) throw new ConfigurationError(`no LinkedIn DMP segment is named "${name}" and source_platform is not set: set the partner source platform LinkedIn gave you to create segments, or set segment_id`);
  const res = await http.request(createSegmentRequest(account, name, o.sourcePlatform));
  const id = res.status === 201 || res.status === 200 ? createdId(res) : undefined;
  if (id === undefined) throw failed(`creating the DMP segment "${name}"`, res);
  return { segment_id: id, created: true, ready_at: now() + SEGMENT_READY_DELAY_MS };
}

/** Rest.li answers a create with the new id in `x-restli-id` (and `location`); some answers also carry it in the body. */
export function createdId(res: HttpResponse): string | undefined {
  const header = res.headers['x-restli-id'] ?? res.headers['x-linkedin-id'];
  if (header) return header;
  const location = res.headers.location?.split('?')[0].split('/').filter(Boolean).at(-1);
  if (location) return decodeURIComponent(location);
  const body = res.data as { id?: unknown } | null;
  return typeof body?.id === 'number' || typeof body?.id === 'string' ? String(body.id) : undefined;
}

function checkUserSegment(s: DmpSegment): void {
  if (s.type !== undefined && !s.type.startsWith('USER')) {
    throw new ConfigurationError(`LinkedIn DMP segment ${s.id} ("${s.name ?? ''}") is a ${s.type} segment; this action writes users`);
  }
}

function failed(what: string, res: HttpResponse): ConfigurationError {
  const m = vendorMessage(res.data);
  return new ConfigurationError(`LinkedIn: ${what} failed (${res.status}${m ? `: ${m}` : ''})`);
}
