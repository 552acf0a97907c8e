import { createHash } from 'node:crypto';
import type { HttpRequest, OutgoingRow } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { normalizeEmail } from '../pii';

/** Batch subscribe (`POST /lists/{id}`) and static segment (tag) members: at most 500 per call. */
export const MAILCHIMP_MAX_BATCH = 500;

export const MEMBER_STATUSES = ['subscribed', 'pending', 'transactional'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/** Friendly field names for Mailchimp's default merge tags. */
export const MERGE_ALIASES: Readonly<Record<string, string>> = { first_name: 'FNAME', last_name: 'LNAME', phone: 'PHONE', address: 'ADDRESS', birthday: 'BIRTHDAY' };
/** A merge tag: upper-case letters, digits and `_`, at most 10 characters, starting with a letter. */
export const MERGE_TAG = /^[A-Z][A-Z0-9_]{0,9}$/;

/** One audience member as this adapter sends it. */
export interface Member {
  email: string;
  merge_fields: Record<string, unknown>;
  language?: string;
  vip?: boolean;
}

/** The subscriber hash of the member paths: MD5 of the lowercased email (reference §1.7). */
export const subscriberHash = (email: string): string => createHash('md5').update(email.toLowerCase(), 'utf8').digest('hex');

const plain = (v: unknown): unknown => (v instanceof Date ? v.toISOString().slice(0, 10) : v);

/** The merge tag a mapping field writes: the alias, or the name upper-cased; ConfigurationError when it cannot be one. */
export function mergeTagOf(field: string): string {
  const tag = MERGE_ALIASES[field] ?? field.toUpperCase();
  if (!MERGE_TAG.test(tag)) {
    throw new ConfigurationError(`the mapping field "${field}" cannot be a Mailchimp merge tag (A-Z, 0-9 and _, at most 10 characters, starting with a letter): rename it or map it to merge_fields.<TAG>`);
  }
  return tag;
}

/**
 * The member of one row: `email` checked and lowercased; `language`, `vip` as member fields;
 * `first_name`, `last_name`, `phone`, `address`, `birthday` to FNAME, LNAME, PHONE, ADDRESS, BIRTHDAY;
 * the keys of a `merge_fields` object and any other field to the merge tag of their name
 * (upper-cased). Null values are left out (Mailchimp keeps what it has).
 */
export function memberOf(row: OutgoingRow): { ok: true; member: Member } | { ok: false; error: string } {
  const merge: Record<string, unknown> = {};
  let email: string | undefined;
  let language: string | undefined;
  let vip: boolean | undefined;
  for (const [key, value] of Object.entries(row.fields)) {
    if (value === null || value === undefined) continue;
    if (key === 'email') {
      if (typeof value !== 'string') return { ok: false, error: 'email must be text' };
      const normalized = normalizeEmail(value);
      if (normalized === null) return { ok: false, error: 'email is not an email address' };
      email = normalized;
    } else if (key === 'language') {
      if (typeof value !== 'string') return { ok: false, error: 'language must be text (a language code such as en)' };
      language = value;
    } else if (key === 'vip') {
      if (typeof value === 'boolean') vip = value;
      else if (value === 'true' || value === 1) vip = true;
      else if (value === 'false' || value === 0) vip = false;
      else return { ok: false, error: `vip must be true or false (got ${JSON.stringify(value)})` };
    } else if (key === 'merge_fields' && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      for (const [tag, v] of Object.entries(value as Record<string, unknown>)) if (v !== null && v !== undefined) merge[mergeTagOf(tag)] = plain(v);
    } else {
      merge[mergeTagOf(key)] = plain(value);
    }
  }
  if (email === undefined) return { ok: false, error: 'the row has no email' };
  return { ok: true, member: { email, merge_fields: merge, ...(language !== undefined ? { language } : {}), ...(vip !== undefined ? { vip } : {}) } };
}

const memberBody = (m: Member) => ({
  email_address: m.email,
  ...(Object.keys(m.merge_fields).length > 0 ? { merge_fields: m.merge_fields } : {}),
  ...(m.language !== undefined ? { language: m.language } : {}),
  ...(m.vip !== undefined ? { vip: m.vip } : {}),
});

const list = (listId: string) => `lists/${encodeURIComponent(listId)}`;

/**
 * `POST /lists/{id}` (batch subscribe, ≤ 500): creates the new members with `status`. With
 * `update_existing: false` an existing member is left as it is and comes back in `errors`
 * (ERROR_CONTACT_EXISTS): its status, the person's consent, is never overwritten by a batch.
 */
export const batchSubscribeRequest = (listId: string, members: Member[], status: MemberStatus, skipMergeValidation: boolean): HttpRequest => ({
  method: 'POST',
  url: list(listId),
  params: skipMergeValidation ? { skip_merge_validation: true } : undefined,
  body: { members: members.map((m) => ({ ...memberBody(m), status })), update_existing: false },
});

/** `PUT /lists/{id}/members/{hash}`: upserts one member; `status_if_new` applies only if it is new. */
export const upsertMemberRequest = (listId: string, member: Member, statusIfNew: MemberStatus, skipMergeValidation: boolean): HttpRequest => ({
  method: 'PUT',
  url: `${list(listId)}/members/${subscriberHash(member.email)}`,
  params: skipMergeValidation ? { skip_merge_validation: true } : undefined,
  body: { ...memberBody(member), status_if_new: statusIfNew },
});

/** `DELETE /lists/{id}/members/{hash}`: archives the member (history and consent kept; a later PUT brings it back). */
export const archiveMemberRequest = (listId: string, email: string): HttpRequest => ({ method: 'DELETE', url: `${list(listId)}/members/${subscriberHash(email)}` });

/** `POST /lists/{id}/segments/{tag id}`: tags (static segment members) added and removed, ≤ 500 each. */
export const tagMembersRequest = (listId: string, tagId: number, add: string[], remove: string[]): HttpRequest => ({
  method: 'POST',
  url: `${list(listId)}/segments/${tagId}`,
  body: { members_to_add: add, members_to_remove: remove },
});

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
