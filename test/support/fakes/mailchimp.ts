import { createHash } from 'node:crypto';
import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful Mailchimp Marketing API 3.0 (one audience), for contract and end-to-end tests:
 * the endpoints the `mailchimp` destination uses, served under `/3.0`, keeping what Mailchimp would
 * hold (members by subscriber hash with status, merge fields, archived flag; merge field
 * definitions; tags as static segments). It answers like Mailchimp: problem+json errors, batch
 * subscribe `errors` (ERROR_CONTACT_EXISTS for an existing member when `update_existing` is false),
 * and a 429 past `connectionLimit` requests in flight at once.
 *
 *   const mc = new MailchimpFake('a1b2c3d4e5', { latencyMs: 5 });
 *   server.handle(mc.handler);               // settings.base_url = `${server.url}/3.0`
 *   ... mc.member('ada@example.com')?.merge_fields, mc.tagged('vip'), mc.maxInFlight ...
 */
export interface FakeMember {
  email: string;
  status: string;
  merge_fields: Record<string, unknown>;
  language?: string;
  vip?: boolean;
  archived: boolean;
}

export interface FakeMergeField {
  merge_id: number;
  tag: string;
  name: string;
  type: string;
}

export interface FakeSegment {
  id: number;
  name: string;
  /** subscriber hashes */
  members: Set<string>;
}

export interface MailchimpFakeOptions {
  /** answer each request after this long (to have requests overlap) */
  latencyMs?: number;
  /** simultaneous requests allowed before 429 (Mailchimp: 10) */
  connectionLimit?: number;
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const PROBLEM_TYPE = { 'content-type': 'application/problem+json; charset=utf-8' };
const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;

export const md5 = (email: string): string => createHash('md5').update(email.toLowerCase()).digest('hex');

export function problem(status: number, title: string, detail: string, errors?: { field: string; message: string }[]): ScriptedResponse {
  return { status, headers: PROBLEM_TYPE, body: { type: 'https://mailchimp.com/developer/marketing/docs/errors/', title, status, detail, instance: `req-${status}`, ...(errors ? { errors } : {}) } };
}

const ok = (body: unknown, status = 200): ScriptedResponse => ({ status, headers: JSON_TYPE, body });

export class MailchimpFake {
  readonly members = new Map<string, FakeMember>();
  readonly mergeFields: FakeMergeField[] = [
    { merge_id: 1, tag: 'FNAME', name: 'First Name', type: 'text' },
    { merge_id: 2, tag: 'LNAME', name: 'Last Name', type: 'text' },
    { merge_id: 3, tag: 'ADDRESS', name: 'Address', type: 'address' },
    { merge_id: 4, tag: 'PHONE', name: 'Phone Number', type: 'phone' },
    { merge_id: 5, tag: 'BIRTHDAY', name: 'Birthday', type: 'birthday' },
  ];
  readonly segments = new Map<number, FakeSegment>();
  /** the most requests that were in flight at once */
  maxInFlight = 0;
  private inFlight = 0;
  private nextId = 1001;

  constructor(
    readonly listId = 'a1b2c3d4e5',
    readonly options: MailchimpFakeOptions = {},
  ) {}

  /** The member with this email (any case), archived or not. */
  member(email: string): FakeMember | undefined {
    return this.members.get(md5(email));
  }

  /** Emails of the audience's members that are not archived, sorted. */
  activeEmails(): string[] {
    return [...this.members.values()].filter((m) => !m.archived).map((m) => m.email).sort();
  }

  /** Emails carrying the tag, sorted. */
  tagged(name: string): string[] {
    const seg = [...this.segments.values()].find((s) => s.name === name);
    return seg ? [...seg.members].map((h) => this.members.get(h)?.email ?? h).sort() : [];
  }

  /** Adds a member as if it were there already (a person who unsubscribed, ...). */
  seed(email: string, status = 'subscribed', mergeFields: Record<string, unknown> = {}): void {
    this.members.set(md5(email), { email: email.toLowerCase(), status, merge_fields: mergeFields, archived: false });
  }

  /** Adds a tag (static segment). */
  seedTag(name: string, emails: string[] = []): number {
    const id = this.nextId++;
    this.segments.set(id, { id, name, members: new Set(emails.map(md5)) });
    return id;
  }

  readonly handler: FakeHandler = async (req) => {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.inFlight > (this.options.connectionLimit ?? 10)) return problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.');
      if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
      return this.route(req);
    } finally {
      this.inFlight -= 1;
    }
  };

  private route(req: RecordedRequest): ScriptedResponse {
    const m = /^\/3\.0\/lists\/([^/]+)(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?)?$/.exec(req.path);
    if (!m) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    const [, listId, collection, id, sub] = m;
    if (listId !== this.listId) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    const key = `${req.method} ${collection ?? ''}${id ? '/:id' : ''}${sub ? `/${sub}` : ''}`;
    switch (key) {
      case 'GET ':
        return ok({ id: this.listId, name: 'Newsletter' });
      case 'POST ':
        return this.batchSubscribe(req.json as BatchBody);
      case 'GET merge-fields':
        return ok({ merge_fields: this.mergeFields.map((f) => ({ ...f, list_id: this.listId })), list_id: this.listId, total_items: this.mergeFields.length });
      case 'POST merge-fields':
        return this.createMergeField(req.json as { tag?: string; name?: string; type?: string });
      case 'PUT members/:id':
        return this.putMember(id, req.json as MemberBody & { status_if_new?: string });
      case 'DELETE members/:id':
        return this.archive(id);
      case 'GET segments':
        return ok({ segments: [...this.segments.values()].map((s) => ({ id: s.id, name: s.name })), list_id: this.listId, total_items: this.segments.size });
      case 'POST segments':
        return this.createSegment(req.json as { name?: string; static_segment?: string[] });
      case 'POST segments/:id':
        return this.tagMembers(Number(id), req.json as { members_to_add?: string[]; members_to_remove?: string[] });
      default:
        return problem(405, 'Method Not Allowed', `${req.method} is not allowed on ${req.path}`);
    }
  }

  /** A member body's problem, if any: the email's shape, or merge tags the audience lacks. */
  private invalid(body: MemberBody): string | undefined {
    if (typeof body.email_address !== 'string' || !EMAIL.test(body.email_address) || /fake/.test(body.email_address)) {
      return `${String(body.email_address)} looks fake or invalid, please enter a real email address.`;
    }
    const unknown = Object.keys(body.merge_fields ?? {}).filter((tag) => !this.mergeFields.some((f) => f.tag === tag));
    if (unknown.length > 0) return `Your merge fields were invalid: ${unknown.join(', ')} is not a merge field of this audience.`;
    return undefined;
  }

  private write(existing: FakeMember | undefined, body: MemberBody, status: string): FakeMember {
    const member: FakeMember = {
      email: (body.email_address as string).toLowerCase(),
      status,
      merge_fields: { ...(existing?.merge_fields ?? {}), ...(body.merge_fields ?? {}) },
      language: body.language ?? existing?.language,
      vip: body.vip ?? existing?.vip,
      archived: false,
    };
    this.members.set(md5(member.email), member);
    return member;
  }

  private batchSubscribe(body: BatchBody): ScriptedResponse {
    if (!Array.isArray(body?.members)) return problem(400, 'Invalid Resource', 'The resource submitted could not be validated.', [{ field: 'members', message: 'Required' }]);
    if (body.members.length > 500) return problem(400, 'Invalid Resource', 'You may add at most 500 members per request.');
    const created: FakeMember[] = [];
    const updated: FakeMember[] = [];
    const errors: { email_address: string; error: string; error_code: string; field?: string; field_message?: string }[] = [];
    for (const m of body.members) {
      const invalid = this.invalid(m);
      if (invalid) {
        errors.push({ email_address: String(m.email_address), error: invalid, error_code: 'ERROR_GENERIC' });
        continue;
      }
      const existing = this.members.get(md5(m.email_address as string));
      if (existing && !existing.archived) {
        if (!body.update_existing) {
          errors.push({ email_address: existing.email, error: `${existing.email} is already a list member. Use PUT to insert or update list members.`, error_code: 'ERROR_CONTACT_EXISTS' });
          continue;
        }
        updated.push(this.write(existing, m, m.status ?? existing.status));
      } else {
        created.push(this.write(existing, m, m.status ?? 'subscribed'));
      }
    }
    return ok({ new_members: created.map(view), updated_members: updated.map(view), errors, total_created: created.length, total_updated: updated.length, error_count: errors.length });
  }

  private putMember(hash: string, body: MemberBody & { status_if_new?: string; status?: string }): ScriptedResponse {
    const invalid = this.invalid(body);
    if (invalid) return problem(400, 'Invalid Resource', invalid);
    if (md5(body.email_address as string) !== hash) return problem(400, 'Invalid Resource', 'The subscriber hash does not match the email address.');
    const existing = this.members.get(hash);
    const status = existing && !existing.archived ? (body.status ?? existing.status) : (body.status ?? body.status_if_new);
    if (!status) return problem(400, 'Invalid Resource', 'The resource submitted could not be validated.', [{ field: 'status_if_new', message: 'Required for a new member' }]);
    return ok(view(this.write(existing, body, status)));
  }

  private archive(hash: string): ScriptedResponse {
    const existing = this.members.get(hash);
    if (!existing || existing.archived) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    existing.archived = true;
    for (const seg of this.segments.values()) seg.members.delete(hash);
    return { status: 204 };
  }

  private createMergeField(body: { tag?: string; name?: string; type?: string }): ScriptedResponse {
    if (!body?.tag || !body.name || !body.type) return problem(400, 'Invalid Resource', 'The resource submitted could not be validated.');
    if (this.mergeFields.some((f) => f.tag === body.tag)) return problem(400, 'Invalid Resource', `A Merge Field with the tag "${body.tag}" already exists for this list.`);
    const field = { merge_id: this.mergeFields.length + 1, tag: body.tag, name: body.name, type: body.type };
    this.mergeFields.push(field);
    return ok({ ...field, list_id: this.listId });
  }

  private createSegment(body: { name?: string; static_segment?: string[] }): ScriptedResponse {
    if (!body?.name || !Array.isArray(body.static_segment)) return problem(400, 'Invalid Resource', 'The resource submitted could not be validated.');
    const id = this.seedTag(body.name, body.static_segment);
    return ok({ id, name: body.name, type: 'static', member_count: body.static_segment.length, list_id: this.listId });
  }

  private tagMembers(id: number, body: { members_to_add?: string[]; members_to_remove?: string[] }): ScriptedResponse {
    const seg = this.segments.get(id);
    if (!seg) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    const add = body?.members_to_add ?? [];
    const remove = body?.members_to_remove ?? [];
    if (add.length > 500 || remove.length > 500) return problem(400, 'Invalid Resource', 'At most 500 members may be added or removed per request.');
    const added: string[] = [];
    const removed: string[] = [];
    const notInList: string[] = [];
    const notTagged: string[] = [];
    for (const email of add) {
      const member = this.members.get(md5(email));
      if (!member || member.archived) notInList.push(email);
      else {
        seg.members.add(md5(email));
        added.push(member.email);
      }
    }
    for (const email of remove) {
      if (seg.members.delete(md5(email))) removed.push(email.toLowerCase());
      else notTagged.push(email);
    }
    const errors = [
      ...(notInList.length ? [{ email_addresses: notInList, error: 'Email addresses do not belong to the list' }] : []),
      ...(notTagged.length ? [{ email_addresses: notTagged, error: 'Email address is not a member of this segment' }] : []),
    ];
    return ok({
      members_added: added.map((email) => ({ email_address: email })),
      members_removed: removed.map((email) => ({ email_address: email })),
      errors,
      total_added: added.length,
      total_removed: removed.length,
      error_count: errors.reduce((n, e) => n + e.email_addresses.length, 0),
    });
  }
}

interface MemberBody {
  email_address?: unknown;
  status?: string;
  merge_fields?: Record<string, unknown>;
  language?: string;
  vip?: boolean;
}
interface BatchBody {
  members?: MemberBody[];
  update_existing?: boolean;
}

const view = (m: FakeMember) => ({ id: md5(m.email), email_address: m.email, status: m.status, merge_fields: m.merge_fields });
