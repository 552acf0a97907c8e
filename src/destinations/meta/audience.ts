import type { HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { unexpectedAnswer } from './errors';

export const CUSTOMER_FILE_SOURCES = ['USER_PROVIDED_ONLY', 'PARTNER_PROVIDED_ONLY', 'BOTH_USER_AND_PARTNER_PROVIDED'] as const;
export type CustomerFileSource = (typeof CUSTOMER_FILE_SOURCES)[number];

const PAGE_SIZE = 500;
const MAX_PAGES = 100;
const FLAGGED = 471;

export interface AudienceSummary {
  id: string;
  name?: string;
  subtype?: string;
  operation_status?: { code?: number; description?: string };
}

/** `GET /act_{id}/customaudiences`: one page of the account's audiences (id, name, subtype, status). */
export const listAudiencesRequest = (adAccount: string, after?: string): HttpRequest => ({
  method: 'GET',
  url: `${adAccount}/customaudiences`,
  params: { fields: 'id,name,subtype,operation_status', limit: PAGE_SIZE, after },
});

/** `POST /act_{id}/customaudiences`: a customer-file audience (`subtype: CUSTOM`). */
export const createAudienceRequest = (adAccount: string, name: string, source: CustomerFileSource): HttpRequest => ({
  method: 'POST',
  url: `${adAccount}/customaudiences`,
  body: { name, subtype: 'CUSTOM', customer_file_source: source, description: 'Synced by composable-cdp' },
});

/** `GET /{audience_id}`: checks a configured audience exists and can be written. */
export const getAudienceRequest = (audienceId: string): HttpRequest => ({
  method: 'GET',
  url: encodeURIComponent(audienceId),
  params: { fields: 'id,name,subtype,operation_status' },
});

/**
 * The audience id for this run: the configured `audience_id` (checked), or the CUSTOM audience of
 * the account named `audience_name`, created when there is none. Two audiences with the name, or
 * one that is not a customer-file audience, is a configuration error (set `audience_id`).
 */
export async function ensureAudience(http: HttpClient, adAccount: string, o: { audience_id?: string; audience_name?: string; customer_file_source: CustomerFileSource }): Promise<{ audience_id: string; created: boolean }> {
  if (o.audience_id) {
    const res = await http.request<AudienceSummary>(getAudienceRequest(o.audience_id));
    if (res.status !== 200 || typeof res.data?.id !== 'string') throw asConfiguration(unexpectedAnswer(`Meta audience ${o.audience_id}`, res));
    checkUsable(res.data);
    return { audience_id: res.data.id, created: false };
  }
  const name = o.audience_name ?? '';
  const found: AudienceSummary[] = [];
  let after: string | undefined;
  for (let page = 0; ; page++) {
    if (page >= MAX_PAGES) throw new ConfigurationError(`the ad account has more than ${MAX_PAGES * PAGE_SIZE} audiences: set audience_id instead of audience_name`);
    const res = await http.request<{ data?: AudienceSummary[]; paging?: { cursors?: { after?: string }; next?: string } }>(listAudiencesRequest(adAccount, after));
    if (res.status !== 200 || !Array.isArray(res.data?.data)) throw asConfiguration(unexpectedAnswer(`listing the audiences of ${adAccount}`, res));
    found.push(...res.data.data.filter((a) => a.name === name));
    after = res.data.paging?.cursors?.after;
    if (!res.data.paging?.next || !after) break;
  }
  if (found.length > 1) throw new ConfigurationError(`${found.length} Meta audiences are named "${name}" (${found.map((a) => a.id).join(', ')}): set audience_id`);
  if (found.length === 1) {
    checkUsable(found[0]);
    return { audience_id: found[0].id, created: false };
  }
  const res = await http.request<{ id?: string }>(createAudienceRequest(adAccount, name, o.customer_file_source));
  if (res.status !== 200 || typeof res.data?.id !== 'string') throw asConfiguration(unexpectedAnswer(`creating the Meta audience "${name}"`, res));
  return { audience_id: res.data.id, created: true };
}

function checkUsable(a: AudienceSummary): void {
  if (a.subtype !== undefined && a.subtype !== 'CUSTOM') {
    throw new ConfigurationError(`Meta audience ${a.id} ("${a.name ?? ''}") is a ${a.subtype} audience, not a customer-file (CUSTOM) one`);
  }
  if (a.operation_status?.code === FLAGGED) {
    throw new ConfigurationError(`Meta audience ${a.id} is flagged (operation_status 471): resolve its restrictions in Audience Manager`);
  }
}

/** Finding or creating the audience is configuration: a rejected request there is not a batch to bisect. */
function asConfiguration(e: Error): Error {
  return e instanceof ConfigurationError ? e : new ConfigurationError(e.message);
}
