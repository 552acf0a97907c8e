import { defineDestination, ROW_OK, rowFailed, type ActionContext, type HttpClient, type HttpRequest, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError } from '../destination-errors';
import { checked, classifyTikTok } from './errors';
import { prepareIds, type TikTokIds } from './identifiers';
import { createRequest, customerFile, dataField, listRequest, md5Hex, readList, updateRequest, uploadRequest } from './requests';
import { audienceOptions, tiktokSettings, type AudienceOptions, type TikTokSettings } from './settings';

type Ctx = ActionContext<TikTokSettings, AudienceOptions>;

/** TikTok customer file audiences (TikTok API for Business, `dmp/custom_audience/*`): README.md. */
export const tiktok = defineDestination<TikTokSettings>({
  slug: 'tiktok',
  name: 'TikTok Audiences',
  category: 'ads',
  description: 'Adds and removes people in a TikTok customer file audience (hashed emails, phones and mobile ad ids).',
  settings: tiktokSettings,
  // TikTok's limits are per app and endpoint and not published as numbers; stay well under them
  rateLimit: { requests: 10, perMs: 1000 },
  accountKey: (s) => s.advertiser_id,
  baseUrl: (s) => s.base_url,
  headers: (s) => ({ 'Access-Token': s.access_token }),
  classify: classifyTikTok,

  async testConnection({ settings, http }) {
    checked(await http.request({ ...listRequest(settings, 1), params: { advertiser_id: settings.advertiser_id, page: 1, page_size: 1 } }), 'listing audiences');
  },

  actions: {
    audience: {
      title: 'Customer file audience',
      description: 'Keeps a TikTok customer file audience in step with a segment: each batch is uploaded as a hashed customer file and appended to (or removed from) the audience.',
      modes: ['audience'],
      options: audienceOptions,
      fields: {
        email: { description: 'email address, plain or SHA-256 hex', identifier: true },
        phone: { description: 'phone number, E.164 or national with country_code; plain or SHA-256 hex', identifier: true },
        idfa: { description: 'iOS advertising id (IDFA), plain or SHA-256 hex', identifier: true },
        gaid: { description: 'Android advertising id (GAID), plain or SHA-256 hex', identifier: true },
        country_code: { description: 'ISO 3166-1 alpha-2 country for national phone numbers' },
      },
      batchSize: 10_000,
      maxBatchSize: 50_000,
      ensure: (ctx) => ensureAudience(ctx as Ctx),
      performBatch: (rows, ctx) => performBatch(rows, ctx as Ctx),
    },
  },
});

/**
 * The audience of the sync: `audience_id` as given, else the audience named `audience_name` (paging
 * through `dmp/custom_audience/list/`). TikTok creates a customer file audience only from a file, so
 * a missing one is created by the first batch that adds people.
 */
async function ensureAudience(ctx: Ctx): Promise<Record<string, unknown>> {
  const { settings: s, options: o, http } = ctx;
  if (o.audience_id) return { audience_id: o.audience_id };
  const name = o.audience_name ?? ctx.sync.name;
  for (let page = 1; page <= 1000; page++) {
    const res = await http.request(listRequest(s, page));
    checked(res, 'listing audiences');
    const { id, more } = readList(res.data, name, page);
    if (id) return { audience_id: id };
    if (!more) break;
  }
  return {};
}

async function performBatch(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const groups: Record<'add' | 'remove', { index: number; ids: TikTokIds }[]> = { add: [], remove: [] };
  rows.forEach((row, index) => {
    if (row.op !== 'add' && row.op !== 'remove') {
      results[index] = rowFailed(`TikTok audiences only add and remove people (got ${row.op})`);
      return;
    }
    const prepared = prepareIds(row.fields, ctx.options.default_country);
    if (!prepared.ok) results[index] = rowFailed(prepared.error);
    else groups[row.op].push({ index, ids: prepared.ids });
  });
  for (const kind of ['add', 'remove'] as const) {
    const members = groups[kind];
    if (members.length === 0) continue;
    const state = ctx.state.audience_id;
    const audienceId = typeof state === 'string' || typeof state === 'number' ? String(state) : undefined;
    if (kind === 'remove' && !audienceId) continue; // no audience yet: nobody to remove
    const file = customerFile(members.map((m) => m.ids));
    const filePath = await upload(ctx.http, ctx.settings, file, `${ctx.sync.name}-${kind}-${md5Hex(file).slice(0, 12)}.csv`);
    if (audienceId) {
      await send(ctx.http, updateRequest(ctx.settings, audienceId, kind === 'add' ? 'APPEND' : 'REMOVE', filePath), `${kind === 'add' ? 'appending to' : 'removing from'} audience ${audienceId}`);
    } else {
      const name = ctx.options.audience_name ?? ctx.sync.name;
      const created = await send(ctx.http, createRequest(ctx.settings, name, filePath), `creating audience "${name}"`);
      const id = dataField(created, 'custom_audience_id', 'audience_id');
      if (!id) throw new BatchRejectedError(`TikTok did not return the id of the created audience "${name}"`);
      ctx.state.audience_id = id;
      ctx.logger.info({ destination: 'tiktok', audience: id, name }, 'created TikTok customer file audience');
    }
  }
  return results;
}

async function upload(http: HttpClient, s: TikTokSettings, file: string, fileName: string): Promise<string> {
  const data = await send(http, uploadRequest(s, file, fileName), 'uploading the customer file');
  const path = dataField(data, 'file_path');
  if (!path) throw new BatchRejectedError('TikTok did not return the file_path of the uploaded customer file');
  return path;
}

async function send(http: HttpClient, req: HttpRequest, what: string): Promise<unknown> {
  const res = await http.request(req);
  checked(res, what);
  return res.data;
}
