import { rowFailed, type HttpRequest, type OutgoingRow, type RowResult } from '../destination-definition';

/** Bulk import: at most 10,000 profiles per job (Klaviyo's Bulk Import Profiles reference). */
export const KLAVIYO_MAX_IMPORT = 10_000;
/** Remove Profiles from List: at most 1,000 profile ids per call. */
export const KLAVIYO_MAX_REMOVE = 1_000;
/** Get Profiles: `page[size]` is at most 100, so an `any(...)` lookup takes at most 100 values. */
export const KLAVIYO_LOOKUP = 100;

export const JSON_API = 'application/vnd.api+json';

/** The profile attributes Klaviyo takes as they are; any other field goes to `properties`. */
export const KLAVIYO_IDENTIFIERS = ['email', 'phone_number', 'external_id'] as const;
export type KlaviyoIdentifier = (typeof KLAVIYO_IDENTIFIERS)[number];
const NAMES = ['first_name', 'last_name'] as const;

export interface ProfileAttributes {
  email?: string;
  phone_number?: string;
  external_id?: string;
  first_name?: string;
  last_name?: string;
  properties?: Record<string, unknown>;
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

/** The profile of one row: identifiers checked (email shape, phone E.164), custom fields under `properties`. */
export function profileOf(row: OutgoingRow): { ok: true; profile: ProfileAttributes } | { ok: false; result: RowResult } {
  const profile: ProfileAttributes = {};
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row.fields)) {
    if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) Object.assign(properties, value);
    else if ((KLAVIYO_IDENTIFIERS as readonly string[]).includes(key) || (NAMES as readonly string[]).includes(key)) {
      const v = text(value);
      if (v !== undefined) profile[key as KlaviyoIdentifier] = v;
    } else if (value !== undefined) properties[key] = value;
  }
  if (profile.email !== undefined) {
    profile.email = profile.email.toLowerCase();
    if (!EMAIL.test(profile.email)) return { ok: false, result: rowFailed('email is not an email address') };
  }
  if (profile.phone_number !== undefined) {
    const phone = profile.phone_number.replace(/[\s().-]/g, '');
    if (!E164.test(phone)) return { ok: false, result: rowFailed('phone_number must be E.164 (+ and country code)') };
    profile.phone_number = phone;
  }
  if (!KLAVIYO_IDENTIFIERS.some((k) => profile[k] !== undefined)) return { ok: false, result: rowFailed('the row has no email, phone_number or external_id') };
  if (Object.keys(properties).length > 0) profile.properties = properties;
  return { ok: true, profile };
}

/** `POST /api/profile-bulk-import-jobs`: upserts the profiles and adds them to the list. */
export const importJobRequest = (profiles: ProfileAttributes[], listId: string): HttpRequest =>
  jsonApi('POST', 'api/profile-bulk-import-jobs', {
    data: {
      type: 'profile-bulk-import-job',
      attributes: { profiles: { data: profiles.map((attributes) => ({ type: 'profile', attributes })) } },
      relationships: { lists: { data: [{ type: 'list', id: listId }] } },
    },
  });

/** `GET /api/profiles?filter=any(<identifier>,[...])`: the ids of up to 100 profiles. */
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
