import type { RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful Intercom (REST API 2.14) for destination tests: contacts with their custom
 * attributes, custom data attributes, tags and contact tags, behind the endpoints the `intercom`
 * adapter uses. Use its `handle` with FakeServer (`server.handle(fake.handle)`); scripted replies
 * queued with `server.reply(...)` still go first (throttling, outages).
 *
 * What it does like Intercom:
 * - `Authorization: Bearer <token>` is required (401 error.list otherwise);
 * - a contact's external_id is unique, and so is a user's email: a create or update that would
 *   duplicate one answers 409 "A contact matching those details already exists with id=…";
 * - custom attributes must exist (`GET/POST /data_attributes`) and match their type (400);
 * - `searchLag`: contacts created since the last `index()` are not returned by the search yet
 *   (Intercom: "a contact recently created may not be available when searching for a few minutes").
 *
 * Its answers follow the spec's schemas (test/specs/intercom), so they pass Prism in proxy mode.
 */
export interface FakeIntercomContact {
  id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  phone: string | null;
  name: string | null;
  avatar: string | null;
  owner_id: number | null;
  signed_up_at: number | null;
  last_seen_at: number | null;
  unsubscribed_from_emails: boolean;
  custom_attributes: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

export interface FakeDataAttribute {
  name: string;
  data_type: 'string' | 'integer' | 'float' | 'boolean' | 'date';
  custom: boolean;
  api_writable?: boolean;
}

const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z
const STANDARD_ATTRIBUTES: FakeDataAttribute[] = [
  { name: 'name', data_type: 'string', custom: false },
  { name: 'email', data_type: 'string', custom: false },
  { name: 'external_id', data_type: 'string', custom: false },
];
const WRITABLE = ['external_id', 'email', 'phone', 'name', 'avatar', 'owner_id', 'signed_up_at', 'last_seen_at', 'unsubscribed_from_emails'] as const;

export class FakeIntercom {
  readonly contacts = new Map<string, FakeIntercomContact>();
  readonly tags = new Map<string, { id: string; name: string }>();
  /** contact id → the ids of its tags */
  readonly contactTags = new Map<string, Set<string>>();
  readonly attributes: FakeDataAttribute[] = [...STANDARD_ATTRIBUTES];
  /** created but not searchable yet (with `searchLag`) */
  private readonly unindexed = new Set<string>();
  private seq = 0;

  constructor(
    readonly token: string,
    readonly options: { searchLag?: boolean } = {},
  ) {}

  /** Adds a custom contact attribute (what an admin does in Intercom's settings). */
  defineAttribute(name: string, data_type: FakeDataAttribute['data_type'], api_writable = true): this {
    this.attributes.push({ name, data_type, custom: true, api_writable });
    return this;
  }

  /** Puts a contact in place (state before a test), searchable at once. */
  seed(contact: Partial<FakeIntercomContact> & { role?: 'user' | 'lead' }): FakeIntercomContact {
    const c = this.newContact(contact.role ?? 'user');
    Object.assign(c, contact, { id: contact.id ?? c.id });
    this.contacts.set(c.id, c);
    return c;
  }

  /** Every contact created so far becomes searchable. */
  index(): void {
    this.unindexed.clear();
  }

  /** The contact with this external_id, else this email. */
  find(externalIdOrEmail: string): FakeIntercomContact | undefined {
    const all = [...this.contacts.values()];
    return all.find((c) => c.external_id === externalIdOrEmail) ?? all.find((c) => c.email === externalIdOrEmail);
  }

  /** The external_id (or email) of every contact with the tag of that name, sorted. */
  tagged(tagName: string): string[] {
    const tag = [...this.tags.values()].find((t) => t.name.toLowerCase() === tagName.toLowerCase());
    if (!tag) return [];
    return [...this.contactTags.entries()]
      .filter(([, tags]) => tags.has(tag.id))
      .map(([id]) => this.contacts.get(id))
      .map((c) => c?.external_id ?? c?.email ?? '?')
      .sort();
  }

  readonly handle = (req: RecordedRequest): ScriptedResponse => {
    if (req.headers.authorization !== `Bearer ${this.token}`) return error(401, 'unauthorized', 'Access Token Invalid');
    const body = (req.json ?? {}) as Record<string, unknown>;
    const route = `${req.method} ${req.path}`;
    let m: RegExpExecArray | null;
    if (route === 'GET /me') return ok(ME);
    if (route === 'GET /data_attributes') return ok({ type: 'list', data: this.attributes.map((a, i) => attributeJson(a, i)) });
    if (route === 'POST /data_attributes') return this.createAttribute(body);
    if (route === 'POST /contacts/search') return this.search(body);
    if (route === 'POST /contacts') return this.create(body);
    if ((m = /^PUT \/contacts\/([^/]+)$/.exec(route))) return this.update(decodeURIComponent(m[1]), body);
    if ((m = /^GET \/contacts\/([^/]+)$/.exec(route))) {
      const c = this.contacts.get(decodeURIComponent(m[1]));
      return c ? ok(contactJson(c)) : error(404, 'not_found', 'User Not Found');
    }
    if (route === 'GET /tags') return ok({ type: 'list', data: [...this.tags.values()].map((t) => ({ type: 'tag', ...t })) });
    if (route === 'POST /tags') return this.createTag(body);
    if ((m = /^POST \/contacts\/([^/]+)\/tags$/.exec(route))) return this.tag(decodeURIComponent(m[1]), body);
    if ((m = /^DELETE \/contacts\/([^/]+)\/tags\/([^/]+)$/.exec(route))) return this.untag(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    return error(404, 'not_found', `no route ${route} in the fake`);
  };

  private createAttribute(body: Record<string, unknown>): ScriptedResponse {
    const name = body.name;
    if (typeof name !== 'string' || body.model !== 'contact') return error(400, 'parameter_invalid', 'name and model are required');
    if (this.attributes.some((a) => a.name === name)) return error(400, 'parameter_invalid', `You already have '${name}' in your people data. To save this as new people data, use a different name.`);
    const attribute: FakeDataAttribute = { name, data_type: body.data_type as FakeDataAttribute['data_type'], custom: true };
    this.attributes.push(attribute);
    return ok(attributeJson(attribute, this.attributes.length - 1));
  }

  private search(body: Record<string, unknown>): ScriptedResponse {
    const query = body.query as { field?: unknown; operator?: unknown; value?: unknown } | undefined;
    if (!query || typeof query.field !== 'string' || (query.operator !== 'IN' && query.operator !== '=')) return error(400, 'parameter_invalid', 'the fake knows single IN and = filters');
    const values = (Array.isArray(query.value) ? query.value : [query.value]).map(String);
    if (query.field === 'email') values.forEach((v, i) => (values[i] = v.toLowerCase()));
    const field = query.field as keyof FakeIntercomContact;
    const matches = [...this.contacts.values()].filter((c) => {
      if (this.unindexed.has(c.id)) return false;
      const v = c[field];
      if (typeof v !== 'string' && typeof v !== 'number') return false;
      return values.includes(field === 'email' ? String(v).toLowerCase() : String(v));
    });
    const pagination = (body.pagination ?? {}) as { per_page?: number; starting_after?: string };
    const perPage = Math.min(150, pagination.per_page ?? 50);
    const from = pagination.starting_after ? Number(Buffer.from(pagination.starting_after, 'base64').toString()) : 0;
    const page = matches.slice(from, from + perPage);
    const more = from + perPage < matches.length;
    return ok({
      type: 'list',
      data: page.map(contactJson),
      total_count: matches.length,
      pages: {
        type: 'pages',
        page: Math.floor(from / perPage) + 1,
        per_page: perPage,
        total_pages: Math.ceil(matches.length / perPage),
        ...(more ? { next: { per_page: perPage, starting_after: Buffer.from(String(from + perPage)).toString('base64') } } : {}),
      },
    });
  }

  private create(body: Record<string, unknown>): ScriptedResponse {
    const role = body.role ?? 'user';
    if (role !== 'user' && role !== 'lead') return error(400, 'parameter_invalid', 'role must be user or lead');
    if (body.email === undefined && body.external_id === undefined && body.role === undefined) return error(400, 'parameter_not_found', 'An email, external_id or role is required');
    const clash = this.clash(undefined, role, body);
    if (clash) return clash;
    const invalid = this.invalidAttributes(body.custom_attributes);
    if (invalid) return invalid;
    const c = this.newContact(role);
    this.apply(c, body);
    this.contacts.set(c.id, c);
    if (this.options.searchLag) this.unindexed.add(c.id);
    return ok(contactJson(c));
  }

  private update(id: string, body: Record<string, unknown>): ScriptedResponse {
    const c = this.contacts.get(id);
    if (!c) return error(404, 'not_found', 'User Not Found');
    const clash = this.clash(id, body.role ?? c.role, body);
    if (clash) return clash;
    const invalid = this.invalidAttributes(body.custom_attributes);
    if (invalid) return invalid;
    this.apply(c, body);
    c.updated_at += 1;
    return ok(contactJson(c));
  }

  /** 409 when another contact holds the external_id, or another user the email. */
  private clash(self: string | undefined, role: unknown, body: Record<string, unknown>): ScriptedResponse | undefined {
    for (const other of this.contacts.values()) {
      if (other.id === self) continue;
      const sameExternal = body.external_id !== undefined && body.external_id !== null && other.external_id === body.external_id;
      const sameUserEmail = role === 'user' && other.role === 'user' && typeof body.email === 'string' && other.email === body.email;
      if (sameExternal || sameUserEmail) return error(409, 'conflict', `A contact matching those details already exists with id=${other.id}`);
    }
    return undefined;
  }

  private invalidAttributes(custom: unknown): ScriptedResponse | undefined {
    if (custom === undefined || custom === null) return undefined;
    for (const [name, value] of Object.entries(custom as Record<string, unknown>)) {
      const a = this.attributes.find((x) => x.custom && x.name === name);
      if (!a) return error(400, 'parameter_invalid', `Custom attribute '${name}' does not exist`);
      if (value === null) continue;
      const fits =
        a.data_type === 'string'
          ? typeof value === 'string'
          : a.data_type === 'boolean'
            ? typeof value === 'boolean'
            : a.data_type === 'float'
              ? typeof value === 'number'
              : typeof value === 'number' && Number.isInteger(value);
      if (!fits) return error(400, 'parameter_invalid', `Custom attribute '${name}' must be a ${a.data_type}`);
    }
    return undefined;
  }

  private apply(c: FakeIntercomContact, body: Record<string, unknown>): void {
    for (const key of WRITABLE) if (body[key] !== undefined) (c as unknown as Record<string, unknown>)[key] = body[key];
    if (typeof body.role === 'string') c.role = body.role as 'user' | 'lead';
    if (body.custom_attributes && typeof body.custom_attributes === 'object') Object.assign(c.custom_attributes, body.custom_attributes);
  }

  private createTag(body: Record<string, unknown>): ScriptedResponse {
    if (typeof body.name !== 'string' || body.name === '') return error(400, 'parameter_invalid', 'invalid tag parameters');
    const name = body.name;
    let tag = [...this.tags.values()].find((t) => t.name.toLowerCase() === name.toLowerCase());
    if (!tag) {
      tag = { id: String(100 + this.tags.size), name };
      this.tags.set(tag.id, tag);
    }
    return ok({ type: 'tag', ...tag });
  }

  private tag(contactId: string, body: Record<string, unknown>): ScriptedResponse {
    if (!this.contacts.has(contactId)) return error(404, 'not_found', 'User Not Found');
    const tag = typeof body.id === 'string' || typeof body.id === 'number' ? this.tags.get(String(body.id)) : undefined;
    if (!tag) return error(404, 'not_found', 'Resource Not Found');
    const set = this.contactTags.get(contactId) ?? new Set<string>();
    set.add(tag.id);
    this.contactTags.set(contactId, set);
    return ok({ type: 'tag', ...tag, applied_at: NOW, applied_by: { type: 'admin', id: ME.id } });
  }

  private untag(contactId: string, tagId: string): ScriptedResponse {
    if (!this.contacts.has(contactId)) return error(404, 'not_found', 'User Not Found');
    const tag = this.tags.get(tagId);
    if (!tag) return error(404, 'not_found', 'Resource Not Found');
    this.contactTags.get(contactId)?.delete(tagId);
    return ok({ type: 'tag', ...tag, applied_at: NOW, applied_by: { type: 'admin', id: ME.id } });
  }

  private newContact(role: 'user' | 'lead'): FakeIntercomContact {
    this.seq += 1;
    return {
      id: `6762f0${this.seq.toString(16).padStart(18, '0')}`,
      role,
      external_id: null,
      email: null,
      phone: null,
      name: null,
      avatar: null,
      owner_id: null,
      signed_up_at: null,
      last_seen_at: null,
      unsubscribed_from_emails: false,
      custom_attributes: {},
      created_at: NOW,
      updated_at: NOW,
    };
  }
}

const ME = {
  type: 'admin',
  id: '991267459',
  name: 'Ada Admin',
  email: 'ada@example.com',
  app: { type: 'app', id_code: 'abc123def', name: 'Test workspace', created_at: NOW, identity_verification: false },
};

const ok = (body: unknown): ScriptedResponse => ({ status: 200, body });

/** Intercom's error body. */
export const intercomError = (status: number, code: string, message: string, headers: Record<string, string> = {}): ScriptedResponse => ({
  status,
  headers,
  body: { type: 'error.list', request_id: 'b3d41080-5b35-42b8-8584-31e4660d355f', errors: [{ code, message }] },
});
const error = intercomError;

/** A contact as Intercom answers it (the fields the spec types; `avatar` is an object there). */
export function contactJson(c: FakeIntercomContact): Record<string, unknown> {
  return {
    type: 'contact',
    id: c.id,
    workspace_id: 'abc123def',
    external_id: c.external_id,
    role: c.role,
    email: c.email ?? '',
    phone: c.phone,
    name: c.name,
    avatar: c.avatar ? { type: 'avatar', image_url: c.avatar } : null,
    owner_id: c.owner_id,
    has_hard_bounced: false,
    marked_email_as_spam: false,
    unsubscribed_from_emails: c.unsubscribed_from_emails,
    created_at: c.created_at,
    updated_at: c.updated_at,
    signed_up_at: c.signed_up_at,
    last_seen_at: c.last_seen_at,
    custom_attributes: c.custom_attributes,
  };
}

function attributeJson(a: FakeDataAttribute, i: number): Record<string, unknown> {
  return {
    type: 'data_attribute',
    ...(a.custom ? { id: 1000 + i } : {}),
    model: 'contact',
    name: a.name,
    full_name: a.custom ? `custom_attributes.${a.name}` : a.name,
    label: a.name,
    data_type: a.data_type,
    api_writable: a.api_writable ?? true,
    custom: a.custom,
    archived: false,
  };
}
