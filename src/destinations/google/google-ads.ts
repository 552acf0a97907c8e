import type { HttpRequest } from '../destination-definition';
import { googleAdsIdentifiers, type Identifier } from './identifiers';
import type { CustomerMatchOptions, GoogleSettings } from './settings';

/**
 * Requests of the legacy path, the Google Ads API REST (`{google_ads_url}/{version}`), built as plain
 * data: OfflineUserDataJobService (create a CUSTOMER_MATCH_USER_LIST job → `:addOperations` in
 * chunks → `:run`), GoogleAdsService search and UserListService mutate for the list. A request holds
 * at most 100,000 identifiers (we send 10,000, Google's recommendation); a UserData at most 20.
 */
export const ADS_IDENTIFIERS_PER_REQUEST = 10_000;
export const ADS_MAX_IDENTIFIERS = 20;

const v = (s: GoogleSettings) => s.google_ads_version;

/** `developer-token` always, `login-customer-id` through a manager account. */
export function googleAdsHeaders(s: GoogleSettings): Record<string, string> {
  return { ...(s.developer_token ? { 'developer-token': s.developer_token } : {}), ...(s.login_customer_id ? { 'login-customer-id': s.login_customer_id } : {}) };
}

/** GAQL string literal: single quotes and backslashes escaped. */
const gaql = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function searchUserListRequest(s: GoogleSettings, name: string): HttpRequest {
  return {
    method: 'POST',
    url: `${v(s)}/customers/${s.customer_id}/googleAds:search`,
    body: { query: `SELECT user_list.resource_name, user_list.id, user_list.name FROM user_list WHERE user_list.name = ${gaql(name)} AND user_list.type = 'CRM_BASED'` },
  };
}

export function createUserListRequest(s: GoogleSettings, name: string, description?: string): HttpRequest {
  return {
    method: 'POST',
    url: `${v(s)}/customers/${s.customer_id}/userLists:mutate`,
    body: {
      operations: [
        {
          create: {
            name,
            ...(description ? { description } : {}),
            membershipStatus: 'OPEN',
            membershipLifeSpan: 10000,
            crmBasedUserList: { uploadKeyType: 'CONTACT_INFO', dataSourceType: 'FIRST_PARTY' },
          },
        },
      ],
    },
  };
}

export const userListResourceName = (s: GoogleSettings, id: string) => `customers/${s.customer_id}/userLists/${id}`;

export function createJobRequest(s: GoogleSettings, o: CustomerMatchOptions, userListId: string): HttpRequest {
  const consent: Record<string, string> = {};
  if (o.ad_user_data_consent) consent.adUserData = o.ad_user_data_consent.toUpperCase();
  if (o.ad_personalization_consent) consent.adPersonalization = o.ad_personalization_consent.toUpperCase();
  return {
    method: 'POST',
    url: `${v(s)}/customers/${s.customer_id}/offlineUserDataJobs:create`,
    body: {
      job: {
        type: 'CUSTOMER_MATCH_USER_LIST',
        customerMatchUserListMetadata: { userList: userListResourceName(s, userListId), ...(Object.keys(consent).length ? { consent } : {}) },
      },
    },
  };
}

export function addOperationsRequest(s: GoogleSettings, job: string, kind: 'create' | 'remove', members: Identifier[][]): HttpRequest {
  return {
    method: 'POST',
    url: `${v(s)}/${job}:addOperations`,
    body: { enablePartialFailure: true, operations: members.map((ids) => ({ [kind]: { userIdentifiers: googleAdsIdentifiers(ids) } })) },
  };
}

export function runJobRequest(s: GoogleSettings, job: string): HttpRequest {
  return { method: 'POST', url: `${v(s)}/${job}:run`, body: {} };
}

export function probeRequest(s: GoogleSettings): HttpRequest {
  return { method: 'POST', url: `${v(s)}/customers/${s.customer_id}/googleAds:search`, body: { query: 'SELECT customer.id FROM customer LIMIT 1' } };
}

/** search results → the list id: `results[0].userList.id` or the id in its resource name. */
export function readSearch(data: unknown): string | undefined {
  const results = (data as { results?: unknown } | undefined)?.results;
  if (!Array.isArray(results)) return undefined;
  for (const r of results as { userList?: Record<string, unknown> }[]) {
    const list = r.userList ?? {};
    if (typeof list.id === 'string' || typeof list.id === 'number') return String(list.id);
    const id = typeof list.resourceName === 'string' ? /userLists\/(\d+)$/.exec(list.resourceName)?.[1] : undefined;
    if (id) return id;
  }
  return undefined;
}

/** `{results:[{resourceName}]}` of a mutate → the id. */
export function readMutate(data: unknown): string | undefined {
  const results = (data as { results?: unknown } | undefined)?.results;
  const name = Array.isArray(results) ? (results[0] as { resourceName?: unknown } | undefined)?.resourceName : undefined;
  return typeof name === 'string' ? /userLists\/(\d+)$/.exec(name)?.[1] : undefined;
}

/** Chunks of members holding at most `maxIdentifiers` identifiers each (a member is never split). */
export function chunkByIdentifiers<T extends { identifiers: Identifier[] }>(members: T[], maxIdentifiers: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let count = 0;
  for (const m of members) {
    if (current.length > 0 && count + m.identifiers.length > maxIdentifiers) {
      chunks.push(current);
      current = [];
      count = 0;
    }
    current.push(m);
    count += m.identifiers.length;
  }
  if (current.length) chunks.push(current);
  return chunks;
}
