import { rowFailed, type HttpRequest, type OutgoingRow, type RowResult } from '../destination-definition';
import { asText, normalizeEmail } from '../pii';

/** `create_or_update_many` takes at most 100 users a request (Zendesk's Users API reference). */
export const ZENDESK_MAX_USERS = 100;

/** User properties sent as they are (text); any other mapped field is a user field (`user_fields`). */
const TEXT_PROPERTIES = ['name', 'phone', 'alias', 'details', 'notes', 'locale', 'time_zone'] as const;

/** One user of a `create_or_update_many` request; `user_fields` values raw until typed by the catalog. */
export interface ZendeskUser {
  email?: string;
  external_id?: string;
  name?: string | null;
  phone?: string | null;
  alias?: string | null;
  details?: string | null;
  notes?: string | null;
  locale?: string | null;
  time_zone?: string | null;
  organization_id?: number | null;
  tags?: string[];
  verified?: boolean;
  user_fields?: Record<string, unknown>;
}

export type Prepared<T> = { ok: true; value: T } | { ok: false; result: RowResult };
const failed = (error: string): { ok: false; result: RowResult } => ({ ok: false, result: rowFailed(error) });

/**
 * The user of one row: `email` trimmed, lowercased and checked, `external_id` as text (Zendesk
 * matches existing users on one of them: a row needs one), `organization_id` an integer, `tags` a
 * list (a text is split on commas and spaces), `verified` a boolean. The keys of a `user_fields`
 * object and every other field are user fields, typed later against the account's field catalog.
 * `role` is never sent: create_or_update would demote an agent matched by email.
 */
export function userOf(row: OutgoingRow): Prepared<ZendeskUser> {
  const user: ZendeskUser = {};
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row.fields)) {
    if (value === undefined) continue;
    if (key === 'user_fields' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) fields[k] = v;
    } else if (key === 'email') {
      const text = asText(value);
      if (text === null) continue;
      const email = normalizeEmail(text);
      if (email === null) return failed('email is not an email address');
      user.email = email;
    } else if (key === 'external_id') {
      const id = asText(value);
      if (id !== null) user.external_id = id;
    } else if ((TEXT_PROPERTIES as readonly string[]).includes(key)) {
      user[key as (typeof TEXT_PROPERTIES)[number]] = value === null ? null : (asText(value) ?? null);
    } else if (key === 'organization_id') {
      if (value === null) user.organization_id = null;
      else {
        const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : typeof value === 'bigint' ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isSafeInteger(n)) return failed('organization_id must be the id of a Zendesk organization (an integer)');
        user.organization_id = n;
      }
    } else if (key === 'tags') {
      const tags = tagsOf(value);
      if (tags === undefined) return failed('tags must be a list of tags or a text of tags separated by commas or spaces');
      user.tags = tags;
    } else if (key === 'verified') {
      const b = booleanOf(value);
      if (b === undefined) return failed('verified must be true or false');
      user.verified = b;
    } else {
      fields[key] = value;
    }
  }
  if (user.email === undefined && user.external_id === undefined) return failed('the row has no email or external_id');
  if (Object.keys(fields).length > 0) user.user_fields = fields;
  return { ok: true, value: user };
}

function tagsOf(value: unknown): string[] | undefined {
  if (value === null) return [];
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value) && value.every((t) => typeof t === 'string' || typeof t === 'number')) return value.map(String).filter(Boolean);
  return undefined;
}

export function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 1 || value === '1') return true;
  if (value === 'false' || value === 0 || value === '0') return false;
  return undefined;
}

/** `POST /api/v2/users/create_or_update_many`: a background job creating or updating ≤ 100 users. */
export const createOrUpdateManyRequest = (users: ZendeskUser[]): HttpRequest => ({ method: 'POST', url: 'api/v2/users/create_or_update_many', body: { users } });

/** `GET /api/v2/job_statuses/{id}`. */
export const jobStatusRequest = (id: string): HttpRequest => ({ method: 'GET', url: `api/v2/job_statuses/${encodeURIComponent(id)}` });
