import type { HttpRequest } from '../destination-definition';
import { dataManagerIdentifiers, type Identifier } from './identifiers';
import type { CustomerMatchOptions, GoogleSettings } from './settings';

/**
 * Requests of the Data Manager API (https://datamanager.googleapis.com/v1), built as plain data.
 * IngestionService: `audienceMembers:ingest` / `audienceMembers:remove`, at most 10,000 members per
 * request and 10 identifiers per member. UserListService: list (filter on display_name) and create
 * user lists under `accountTypes/GOOGLE_ADS/accounts/{customer_id}`.
 */
export const DM_MAX_MEMBERS = 10_000;
export const DM_MAX_IDENTIFIERS = 10;

const account = (id: string) => ({ accountType: 'GOOGLE_ADS', accountId: id });
const parent = (s: GoogleSettings) => `v1/accountTypes/GOOGLE_ADS/accounts/${s.customer_id}`;

/** `login-account` header for the UserListService when acting through a manager account. */
export function dataManagerHeaders(s: GoogleSettings): Record<string, string> {
  return s.login_customer_id ? { 'login-account': `accountTypes/GOOGLE_ADS/accounts/${s.login_customer_id}` } : {};
}

export function destination(s: GoogleSettings, userListId: string): Record<string, unknown> {
  return { ...(s.login_customer_id ? { loginAccount: account(s.login_customer_id) } : {}), operatingAccount: account(s.customer_id), productDestinationId: userListId };
}

const CONSENT = { granted: 'CONSENT_GRANTED', denied: 'CONSENT_DENIED' } as const;

export function dataManagerConsent(o: CustomerMatchOptions): Record<string, string> | undefined {
  const consent: Record<string, string> = {};
  if (o.ad_user_data_consent) consent.adUserData = CONSENT[o.ad_user_data_consent];
  if (o.ad_personalization_consent) consent.adPersonalization = CONSENT[o.ad_personalization_consent];
  return Object.keys(consent).length ? consent : undefined;
}

/** `POST /v1/audienceMembers:ingest` (add) or `:remove`, members in order. */
export function membersRequest(kind: 'add' | 'remove', members: Identifier[][], s: GoogleSettings, o: CustomerMatchOptions, userListId: string): HttpRequest {
  const audienceMembers = members.map((ids) => ({ userData: { userIdentifiers: dataManagerIdentifiers(ids) } }));
  const destinations = [destination(s, userListId)];
  if (kind === 'remove') return { method: 'POST', url: 'v1/audienceMembers:remove', body: { destinations, audienceMembers, encoding: 'HEX' } };
  const consent = dataManagerConsent(o);
  return {
    method: 'POST',
    url: 'v1/audienceMembers:ingest',
    body: {
      destinations,
      audienceMembers,
      ...(consent ? { consent } : {}),
      encoding: 'HEX',
      ...(o.accept_terms_of_service ? { termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' } } : {}),
    },
  };
}

/** AIP-160 string literal: quotes and backslashes escaped. */
const literal = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function findUserListRequest(s: GoogleSettings, name: string, pageToken?: string): HttpRequest {
  return {
    method: 'GET',
    url: `${parent(s)}/userLists`,
    headers: dataManagerHeaders(s),
    params: { filter: `display_name = ${literal(name)}`, pageSize: 50, pageToken },
  };
}

export function createUserListRequest(s: GoogleSettings, name: string, description?: string): HttpRequest {
  return {
    method: 'POST',
    url: `${parent(s)}/userLists`,
    headers: dataManagerHeaders(s),
    body: {
      displayName: name,
      ...(description ? { description } : {}),
      membershipStatus: 'OPEN',
      ingestedUserListInfo: { uploadKeyTypes: ['CONTACT_ID'], contactIdInfo: { dataSourceType: 'DATA_SOURCE_TYPE_FIRST_PARTY' } },
    },
  };
}

/** testConnection: the first user list of the account (proves the token reaches the account). */
export function probeRequest(s: GoogleSettings): HttpRequest {
  return { method: 'GET', url: `${parent(s)}/userLists`, headers: dataManagerHeaders(s), params: { pageSize: 1 } };
}

/** `{userLists:[{name, id, displayName}], nextPageToken}` → the id of the list named exactly `name`. */
export function readUserLists(data: unknown, name: string): { id?: string; nextPageToken?: string } {
  const d = (data ?? {}) as { userLists?: unknown; nextPageToken?: unknown };
  const lists = Array.isArray(d.userLists) ? (d.userLists as Record<string, unknown>[]) : [];
  const found = lists.find((l) => l.displayName === name);
  return { id: found ? userListId(found) : undefined, nextPageToken: typeof d.nextPageToken === 'string' && d.nextPageToken ? d.nextPageToken : undefined };
}

/** A UserList's id: `id` (int64 as text), or the last part of `name`. */
export function userListId(list: Record<string, unknown>): string | undefined {
  if (typeof list.id === 'string' || typeof list.id === 'number') return String(list.id);
  return typeof list.name === 'string' ? /userLists\/(\d+)$/.exec(list.name)?.[1] : undefined;
}
