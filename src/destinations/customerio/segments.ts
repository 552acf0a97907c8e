import type { HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { asConfiguration, unexpectedAnswer } from './errors';
import { appUrl, type CustomerioSettings } from './settings';

interface SegmentResource {
  id?: unknown;
  name?: unknown;
  type?: unknown;
}

/** App API requests go to the App host with the App API key as a Bearer token (not the Track Basic auth). */
const appRequest = (s: CustomerioSettings, req: Omit<HttpRequest, 'url'> & { path: string }): HttpRequest => ({
  method: req.method,
  url: `${appUrl(s)}/${req.path}`,
  headers: { authorization: `Bearer ${s.app_api_key ?? ''}` },
  body: req.body,
});

/** `GET /v1/segments` (App API): every segment of the workspace, manual and data-driven. */
export const listSegmentsRequest = (s: CustomerioSettings): HttpRequest => appRequest(s, { method: 'GET', path: 'v1/segments' });

/** `POST /v1/segments` (App API): a new, empty manual segment. */
export const createSegmentRequest = (s: CustomerioSettings, name: string): HttpRequest =>
  appRequest(s, { method: 'POST', path: 'v1/segments', body: { segment: { name, description: 'Kept in step by composable-cdp' } } });

/**
 * The manual segment of this run: `segment_id` as given; else the manual segment named
 * `segment_name`, created when there is none. Only the App API lists and creates segments, so finding
 * one by name needs `app_api_key`. Two manual segments with the name, or only a data-driven one
 * (people cannot be added to those through the API), stop the run.
 */
export async function ensureSegment(http: HttpClient, s: CustomerioSettings, o: { segment_id?: number; segment_name: string }): Promise<{ segment_id: number; created: boolean }> {
  if (o.segment_id !== undefined) return { segment_id: o.segment_id, created: false };
  if (!s.app_api_key) {
    throw new ConfigurationError(`no Customer.io segment for "${o.segment_name}": set segment_id (a manual segment), or app_api_key in the destination settings to find or create it by name`);
  }
  const found = await http.request<{ segments?: SegmentResource[] }>(listSegmentsRequest(s));
  if (found.status !== 200 || !Array.isArray(found.data?.segments)) throw asConfiguration(unexpectedAnswer('listing segments', found));
  const named = found.data.segments.filter((seg) => seg.name === o.segment_name && typeof seg.id === 'number');
  const manual = named.filter((seg) => seg.type === 'manual');
  if (manual.length > 1) throw new ConfigurationError(`${manual.length} Customer.io manual segments are named "${o.segment_name}" (${manual.map((m) => String(m.id)).join(', ')}): set segment_id`);
  if (manual.length === 1) return { segment_id: manual[0].id as number, created: false };
  if (named.length > 0) throw new ConfigurationError(`the Customer.io segment "${o.segment_name}" is data-driven; people can only be added to manual segments (set segment_id or another segment_name)`);
  const created = await http.request<{ segment?: SegmentResource }>(createSegmentRequest(s, o.segment_name));
  if (created.status !== 200 && created.status !== 201) throw asConfiguration(unexpectedAnswer(`creating the segment "${o.segment_name}"`, created));
  const id = created.data?.segment?.id;
  if (typeof id !== 'number') throw new ConfigurationError(`Customer.io created the segment "${o.segment_name}" but sent no id back`);
  return { segment_id: id, created: true };
}
