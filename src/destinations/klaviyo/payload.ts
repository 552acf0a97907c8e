import { rowFailed, type HttpRequest, type OutgoingRow, type RowResult } from '../destination-definition';
import { isObject } from '../events/event-fields';

/** Bulk import: at most 10,000 profiles per job (Klaviyo's Bulk Import Profiles reference). */
export const KLAVIYO_MAX_IMPORT = 10_000;
/** Bulk import: at most 5 MB per request and 100 KB per profile (same reference). */
export const KLAVIYO_MAX_IMPORT_BYTES = 5_000_000;
export const KLAVIYO_MAX_PROFILE_BYTES = 100_000;
/** Remove Profiles from List: at most 1,000 profile ids per call. */
export const KLAVIYO_MAX_REMOVE = 1_000;
/** Get Profiles: `page[size]` is at most 100, so an `any(...)` lookup takes at most 100 values. */
export const KLAVIYO_LOOKUP = 100;
/** Get Errors for Bulk Import Profiles Job: `page[size]` is at most 100. */
export const KLAVIYO_ERRORS_PAGE = 100;

export const JSON_API = 'application/vnd.api+json';

/** The identifiers of a profile, in the order a profile is looked up by. */
export const KLAVIYO_IDENTIFIERS = ['email', 'phone_number', 'external_id'] as const;
export type KlaviyoIdentifier = (typeof KLAVIYO_IDENTIFIERS)[number];
/** The other profile attributes Klaviyo takes as they are (strings); any other field goes to `properties`. */
export const KLAVIYO_ATTRIBUTES = ['first_name', 'last_name', 'organization', 'title', 'locale', 'image'] as const;
type KlaviyoAttribute = (typeof KLAVIYO_ATTRIBUTES)[number];
/** The keys of the profile's `location` object. */
export const KLAVIYO_LOCATION = ['address1', 'address2', 'city', 'region', 'zip', 'country', 'timezone', 'ip', 'latitude', 'longitude'] as const;

export type ProfileAttributes = Partial<Record<KlaviyoIdentifier | KlaviyoAttribute, string>> & {
  location?: Record<string, string | number>;
  properties?: Record<string, unknown>;
};

/** One profile of an import job: its attributes, and its Klaviyo id when the adapter looked it up (mode update). */
export interface ImportProfile {
  id?: string;
  attributes: ProfileAttributes;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/** A JSON:API request (Klaviyo wants `application/vnd.api+json`). */
export const jsonApi = (method: HttpRequest['method'], url: string, body: unknown): HttpRequest => ({
  method,
  url,
  headers: { 'content-type': JSON_API, accept: JSON_API },
  body: JSON.stringify(body),
});

const text = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v).trim() || undefined : undefined);

type Prepared = { ok: true; profile: ProfileAttributes } | { ok: false; result: RowResult };
const failed = (error: string): Prepared => ({ ok: false, result: rowFailed(error) });

/**
 * The profile of one row: identifiers checked (email shape, phone E.164), the standard attributes as
 * text, `location.*` in the location object, and every other field (and the keys of a `properties`
 * object) in the custom `properties`. A row needs one identifier; a profile over Klaviyo's 100 KB
 * fails alone.
 */
export function profileOf(row: OutgoingRow): Prepared {
  const profile: ProfileAttributes = {};
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row.fields)) {
    if (key === 'properties' && isObject(value)) Object.assign(properties, value);
    else if (key === 'location' && isObject(value)) {
      const location = locationOf(value);
      if (typeof location === 'string') return failed(location);
      if (Object.keys(location).length > 0) profile.location = location;
    } else if ((KLAVIYO_IDENTIFIERS as readonly string[]).includes(key) || (KLAVIYO_ATTRIBUTES as readonly string[]).includes(key)) {
      const v = text(value);
      if (v !== undefined) profile[key as KlaviyoIdentifier | KlaviyoAttribute] = v;
    } else if (value !== undefined) properties[key] = value;
  }
  if (profile.email !== undefined) {
    profile.email = profile.email.toLowerCase();
    if (!EMAIL.test(profile.email)) return failed('email is not an email address');
  }
  if (profile.phone_number !== undefined) {
    const phone = profile.phone_number.replace(/[\s().-]/g, '');
    if (!E164.test(phone)) return failed('phone_number must be E.164 (+ and country code)');
    profile.phone_number = phone;
  }
  if (!KLAVIYO_IDENTIFIERS.some((k) => profile[k] !== undefined)) return failed('the row has no email, phone_number or external_id');
  if (Object.keys(properties).length > 0) profile.properties = properties;
  const size = Buffer.byteLength(JSON.stringify(profile));
  if (size > KLAVIYO_MAX_PROFILE_BYTES) return failed(`the profile is ${size} bytes; Klaviyo takes at most ${KLAVIYO_MAX_PROFILE_BYTES} per profile`);
  return { ok: true, profile };
}

/** The `location` object: known keys only (a typo is an error, not a silently dropped value). */
function locationOf(value: Record<string, unknown>): Record<string, string | number> | string {
  const out: Record<string, string | number> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(KLAVIYO_LOCATION as readonly string[]).includes(key)) return `location.${key} is not a Klaviyo location field (${KLAVIYO_LOCATION.join(', ')})`;
    if ((key === 'latitude' || key === 'longitude') && typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else {
      const t = text(v);
      if (t !== undefined) out[key] = t;
    }
  }
  return out;
}

/** `POST /api/profile-bulk-import-jobs`: upserts the profiles (by id when given), and adds them to the list when there is one. */
export const importJobRequest = (profiles: ImportProfile[], listId?: string): HttpRequest =>
  jsonApi('POST', 'api/profile-bulk-import-jobs', {
    data: {
      type: 'profile-bulk-import-job',
      attributes: { profiles: { data: profiles.map((p) => ({ type: 'profile', ...(p.id ? { id: p.id } : {}), attributes: p.attributes })) } },
      ...(listId ? { relationships: { lists: { data: [{ type: 'list', id: listId }] } } } : {}),
    },
  });

/** `GET /api/profile-bulk-import-jobs/{id}`: the job's status and counts. */
export const jobRequest = (jobId: string): HttpRequest => ({
  method: 'GET',
  url: `api/profile-bulk-import-jobs/${encodeURIComponent(jobId)}`,
  headers: { accept: JSON_API },
});

/** `GET /api/profile-bulk-import-jobs/{id}/import-errors`: the first page of the job's row errors (100 a page). */
export const importErrorsRequest = (jobId: string): HttpRequest => ({
  method: 'GET',
  url: `api/profile-bulk-import-jobs/${encodeURIComponent(jobId)}/import-errors`,
  headers: { accept: JSON_API },
  params: { 'page[size]': KLAVIYO_ERRORS_PAGE },
});

/**
 * The next page from a `links.next` URL. Klaviyo's links are absolute (`https://a.klaviyo.com/api/…`):
 * the request keeps their path and query but goes to the instance's base URL, so a test's fake (or a
 * proxy) in `base_url` sees every page.
 */
export function nextPageRequest(next: string): HttpRequest | undefined {
  if (!URL.canParse(next)) return undefined;
  const url = new URL(next);
  return { method: 'GET', url: `${url.pathname.replace(/^\/+/, '')}${url.search}`, headers: { accept: JSON_API } };
}

/** `GET /api/profiles?filter=any(<identifier>,[...])`: up to 100 profiles, with the identifier (to match them to rows). */
export const lookupRequest = (identifier: KlaviyoIdentifier, values: string[]): HttpRequest => ({
  method: 'GET',
  url: 'api/profiles',
  headers: { accept: JSON_API },
  params: { filter: `any(${identifier},[${values.map((v) => JSON.stringify(v)).join(',')}])`, 'fields[profile]': identifier, 'page[size]': KLAVIYO_LOOKUP },
});

/** `DELETE /api/lists/{id}/relationships/profiles`: up to 1,000 profile ids. */
export const removeRequest = (listId: string, profileIds: string[]): HttpRequest =>
  jsonApi('DELETE', `api/lists/${encodeURIComponent(listId)}/relationships/profiles`, { data: profileIds.map((id) => ({ type: 'profile', id })) });

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Import jobs for the profiles: at most 10,000 profiles and 5 MB each (with room for the envelope). */
export function importChunks<T extends { profile: ImportProfile }>(items: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  const budget = KLAVIYO_MAX_IMPORT_BYTES - 1_000;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item.profile.attributes)) + 64;
    if (current.length > 0 && (current.length >= KLAVIYO_MAX_IMPORT || bytes + size > budget)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The identifier a profile is looked up by: email, then phone_number, then external_id. */
export const firstIdentifier = (p: ProfileAttributes): KlaviyoIdentifier | undefined => KLAVIYO_IDENTIFIERS.find((k) => p[k] !== undefined);
