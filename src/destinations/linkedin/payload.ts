import { ROW_OK, rowFailed, type HttpRequest, type OutgoingRow, type RowResult } from '../destination-definition';
import { asText, hashed, normalizeEmail } from '../pii';

/**
 * LinkedIn DMP segment users (Matched Audiences streaming API): requests built as plain data, and
 * the per-element answer read back into row results. See ../shared/reference/destinations.md §1.3.
 */

/** Elements per BATCH_CREATE request: LinkedIn documents none; integrations use up to 5,000 (unverified). */
export const LINKEDIN_MAX_ELEMENTS = 5_000;

export type LinkedInIdType = 'SHA256_EMAIL' | 'SHA512_EMAIL' | 'GOOGLE_AID' | 'APPLE_IDFA';

export interface LinkedInUserElement {
  action: 'ADD' | 'REMOVE';
  userIds: { idType: LinkedInIdType; idValue: string }[];
  firstName?: string;
  lastName?: string;
  title?: string;
  company?: string;
  country?: string;
}

export const NO_USER_ID = 'no identifier LinkedIn can match on: map email, google_aid or apple_idfa, or first_name with last_name';

/** The mapped fields and the element key each fills. */
export const LINKEDIN_FIELD_KEYS: Record<string, string> = {
  email: 'userIds SHA256_EMAIL (SHA512_EMAIL when already a SHA-512 hex)',
  google_aid: 'userIds GOOGLE_AID',
  apple_idfa: 'userIds APPLE_IDFA',
  first_name: 'firstName',
  last_name: 'lastName',
  title: 'title',
  company: 'company',
  country: 'country',
};

const SHA512_HEX = /^[0-9a-f]{128}$/i;

/**
 * One row as a users element: the email trimmed, lowercased and SHA-256 hashed (a SHA-256 hex passes
 * through lowercased, a SHA-512 hex goes as SHA512_EMAIL), device ids as they are (trimmed), names and job
 * attributes as plain text. `null` when the row has nothing LinkedIn can match.
 */
export function userElement(row: OutgoingRow): LinkedInUserElement | null {
  const f = row.fields;
  const userIds: LinkedInUserElement['userIds'] = [];
  const emailText = asText(f.email);
  if (emailText !== null && SHA512_HEX.test(emailText)) userIds.push({ idType: 'SHA512_EMAIL', idValue: emailText.toLowerCase() });
  else {
    const email = hashed(f.email, (v) => normalizeEmail(v));
    if (email !== null) userIds.push({ idType: 'SHA256_EMAIL', idValue: email });
  }
  const aid = asText(f.google_aid);
  if (aid !== null) userIds.push({ idType: 'GOOGLE_AID', idValue: aid });
  const idfa = asText(f.apple_idfa);
  if (idfa !== null) userIds.push({ idType: 'APPLE_IDFA', idValue: idfa });
  const element: LinkedInUserElement = { action: row.op === 'remove' ? 'REMOVE' : 'ADD', userIds };
  for (const [field, key] of [['first_name', 'firstName'], ['last_name', 'lastName'], ['title', 'title'], ['company', 'company'], ['country', 'country']] as const) {
    const v = asText(f[field]);
    if (v !== null) element[key] = v;
  }
  if (userIds.length === 0 && (element.firstName === undefined || element.lastName === undefined)) return null;
  return element;
}

export interface LinkedInUsersPlan {
  requests: { request: HttpRequest; indexes: number[] }[];
  failed: Map<number, RowResult>;
}

/** `POST /dmpSegments/{id}/users` with `X-RestLi-Method: BATCH_CREATE`, adds and removes together, split at the element limit. */
export function buildUsersRequests(rows: OutgoingRow[], segmentId: string, maxElements: number = LINKEDIN_MAX_ELEMENTS): LinkedInUsersPlan {
  const failed = new Map<number, RowResult>();
  const elements: { index: number; element: LinkedInUserElement }[] = [];
  rows.forEach((row, index) => {
    if (row.op !== 'add' && row.op !== 'remove') {
      failed.set(index, rowFailed(`LinkedIn DMP segments take add and remove, not ${row.op}`));
      return;
    }
    const element = userElement(row);
    if (element === null) failed.set(index, rowFailed(NO_USER_ID));
    else elements.push({ index, element });
  });
  const requests: LinkedInUsersPlan['requests'] = [];
  for (let start = 0; start < elements.length; start += maxElements) {
    const chunk = elements.slice(start, start + maxElements);
    requests.push({
      indexes: chunk.map((c) => c.index),
      request: { method: 'POST', url: `dmpSegments/${encodeURIComponent(segmentId)}/users`, headers: { 'x-restli-method': 'BATCH_CREATE' }, body: { elements: chunk.map((c) => c.element) } },
    });
  }
  return { requests, failed };
}

/**
 * The result of each element from a BATCH_CREATE answer `{"elements":[{"status":201},{"status":400,
 * "error":{"message":…}}]}`, in request order: 2xx is ok (LinkedIn answers 201 for an id already
 * added or already removed), anything else fails with LinkedIn's status and message. An element the
 * answer does not list is ok (the request as a whole succeeded).
 */
export function elementResults(count: number, data: unknown): RowResult[] {
  const elements = (data as { elements?: unknown } | null)?.elements;
  const list = Array.isArray(elements) ? elements : [];
  return Array.from({ length: count }, (_, i) => {
    const e = list[i] as { status?: unknown; error?: { message?: unknown; serviceErrorCode?: unknown }; message?: unknown } | undefined;
    const status = typeof e?.status === 'number' ? e.status : undefined;
    if (status === undefined || (status >= 200 && status <= 299)) return ROW_OK;
    const message = typeof e?.error?.message === 'string' ? e.error.message : typeof e?.message === 'string' ? e.message : undefined;
    return rowFailed(`LinkedIn rejected this user (${status}${message ? `: ${message}` : ''})`);
  });
}
