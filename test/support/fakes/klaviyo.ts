import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful Klaviyo (revision 2026-07-15) for contract and end-to-end tests: it keeps
 * profiles, lists and their members, and bulk import jobs, and answers the endpoints the adapter
 * uses with bodies that satisfy Klaviyo's spec (Prism validates them in proxy mode):
 *
 * - `GET /api/lists?filter=equals(name,"…")`, `POST /api/lists`;
 * - `POST /api/profile-bulk-import-jobs` → 202 `queued`; `GET …/{id}` answers `queued`, then
 *   `processing`, and `complete` from poll `pollsUntilComplete` on: only then are the profiles
 *   upserted (by id, else email, phone_number, external_id) and added to the job's lists;
 * - `GET …/{id}/import-errors` (cursor pages of `errorsPageSize`, `links.next`): one error per profile
 *   the fake rejects (`rejectProfile`: by default an email on a `.invalid` domain), with
 *   `source.pointer` `/data` and the profile as sent in `original_payload`, like Klaviyo's;
 * - `GET /api/profiles?filter=any(<identifier>,[…])` / `equals(…)`;
 * - `DELETE /api/lists/{id}/relationships/profiles` → 204.
 *
 *   const klaviyo = new FakeKlaviyo();
 *   upstream.handle(klaviyo.handle);
 *   ... run a sync ...
 *   expect(klaviyo.members('vip')).toEqual(['a@example.com']);
 *
 * Requests without `Authorization: Klaviyo-API-Key …` get 401; without `revision`, 400. What the fake
 * finds wrong in a request that Prism would let through is kept in `violations`.
 */
export interface FakeKlaviyoProfile {
  id: string;
  email?: string;
  phone_number?: string;
  external_id?: string;
  first_name?: string;
  last_name?: string;
  organization?: string;
  title?: string;
  locale?: string;
  image?: string;
  location?: Record<string, unknown>;
  properties: Record<string, unknown>;
}

interface FakeJob {
  id: string;
  status: 'queued' | 'processing' | 'complete' | 'cancelled';
  polls: number;
  created_at: string;
  profiles: { id?: string; attributes: Record<string, unknown> }[];
  listIds: string[];
  errors: { id: string; detail: string; payload: Record<string, unknown> }[];
  completed: number;
}

const HOST = 'https://a.klaviyo.com';
const JSON_API = { 'content-type': 'application/vnd.api+json' };
const IDENTIFIERS = ['email', 'phone_number', 'external_id'] as const;
const ATTRIBUTES = ['email', 'phone_number', 'external_id', 'first_name', 'last_name', 'organization', 'title', 'locale', 'image'] as const;
const NOW = '2026-07-15T00:00:00+00:00';

export class FakeKlaviyo {
  readonly profiles = new Map<string, FakeKlaviyoProfile>();
  readonly lists = new Map<string, { id: string; name: string; members: Set<string> }>();
  readonly jobs = new Map<string, FakeJob>();
  /** what the fake found wrong in requests (beyond Prism's checks) */
  readonly violations: string[] = [];
  /** a job is `complete` at this poll (1: the first GET); before it, `queued` then `processing` */
  pollsUntilComplete = 2;
  /** import errors per page at most (Klaviyo: `page[size]`, default 20, max 100) */
  errorsPageSize = 100;
  /** Klaviyo's reason to reject a profile of an import job, or undefined to take it */
  rejectProfile: (attributes: Record<string, unknown>) => string | undefined = (a) =>
    typeof a.email === 'string' && a.email.endsWith('.invalid') ? `Invalid email address: ${a.email}` : undefined;

  private seq = 0;

  readonly handle: FakeHandler = (req) => this.route(req);

  /** Adds a list as if made in Klaviyo's app; returns its id. */
  addList(name: string): string {
    const id = this.nextId('L');
    this.lists.set(id, { id, name, members: new Set() });
    return id;
  }

  /** Adds a profile as if it were already in the account; returns it. */
  addProfile(attributes: Omit<FakeKlaviyoProfile, 'id' | 'properties'> & { properties?: Record<string, unknown> }): FakeKlaviyoProfile {
    const profile: FakeKlaviyoProfile = { ...attributes, id: this.nextId('01P'), properties: { ...(attributes.properties ?? {}) } };
    this.profiles.set(profile.id, profile);
    return profile;
  }

  /** The profile with this identifier value, if any. */
  profile(value: string, by: (typeof IDENTIFIERS)[number] = 'email'): FakeKlaviyoProfile | undefined {
    return [...this.profiles.values()].find((p) => p[by] === value);
  }

  /** The emails (else ids) of the members of a list, by list name or id, sorted. */
  members(list: string): string[] {
    const found = this.lists.get(list) ?? [...this.lists.values()].find((l) => l.name === list);
    if (!found) return [];
    return [...found.members].map((id) => this.profiles.get(id)?.email ?? id).sort();
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}${String(this.seq).padStart(6, '0')}`;
  }

  private route(req: RecordedRequest): ScriptedResponse {
    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || !/^Klaviyo-API-Key \S+$/.test(auth)) return error(401, 'not_authenticated', 'Missing or invalid private key.');
    if (!req.headers.revision) return error(400, 'invalid', 'The revision header is required.');
    const path = req.path.replace(/\/+$/, '');
    let m: RegExpExecArray | null;
    if (path === '/api/lists' && req.method === 'GET') return this.findLists(req);
    if (path === '/api/lists' && req.method === 'POST') return this.createList(req);
    if (path === '/api/profile-bulk-import-jobs' && req.method === 'POST') return this.createJob(req);
    if ((m = /^\/api\/profile-bulk-import-jobs\/([^/]+)$/.exec(path)) && req.method === 'GET') return this.getJob(decodeURIComponent(m[1]));
    if ((m = /^\/api\/profile-bulk-import-jobs\/([^/]+)\/import-errors$/.exec(path)) && req.method === 'GET') return this.importErrors(decodeURIComponent(m[1]), req);
    if (path === '/api/profiles' && req.method === 'GET') return this.findProfiles(req);
    if ((m = /^\/api\/lists\/([^/]+)\/relationships\/profiles$/.exec(path)) && req.method === 'DELETE') return this.removeMembers(decodeURIComponent(m[1]), req);
    this.violations.push(`${req.method} ${req.path}: not an endpoint the fake knows`);
    return error(404, 'not_found', `${req.method} ${req.path} not found`);
  }

  private jsonApiBody(req: RecordedRequest): Record<string, unknown> | undefined {
    if (req.headers['content-type'] !== 'application/vnd.api+json') this.violations.push(`${req.method} ${req.path}: content-type ${req.headers['content-type']} (Klaviyo wants application/vnd.api+json)`);
    const body = req.json as { data?: unknown } | undefined;
    return body && typeof body.data === 'object' && body.data !== null ? (body) : undefined;
  }

  private findLists(req: RecordedRequest): ScriptedResponse {
    const name = equalsFilter(req.query.filter, 'name');
    const lists = [...this.lists.values()].filter((l) => name === undefined || l.name === name);
    return ok(200, { data: lists.map(listResource), links: { self: `${HOST}/api/lists` } });
  }

  private createList(req: RecordedRequest): ScriptedResponse {
    const body = this.jsonApiBody(req) as { data?: { type?: string; attributes?: { name?: unknown } } } | undefined;
    const name = body?.data?.attributes?.name;
    if (body?.data?.type !== 'list' || typeof name !== 'string' || name === '') return error(400, 'invalid', 'A list needs a name.');
    const id = this.addList(name);
    return ok(201, { data: listResource(this.lists.get(id)!) });
  }

  private createJob(req: RecordedRequest): ScriptedResponse {
    const body = this.jsonApiBody(req) as
      | { data?: { type?: string; attributes?: { profiles?: { data?: unknown } }; relationships?: { lists?: { data?: { id?: string }[] } } } }
      | undefined;
    const data = body?.data;
    const profiles = data?.attributes?.profiles?.data;
    if (data?.type !== 'profile-bulk-import-job' || !Array.isArray(profiles) || profiles.length === 0) return error(400, 'invalid', 'profiles are required', '/data/attributes/profiles');
    if (profiles.length > 10_000) return error(400, 'invalid', 'At most 10000 profiles per job.', '/data/attributes/profiles/data');
    const listIds = (data.relationships?.lists?.data ?? []).map((l) => String(l.id));
    for (const id of listIds) if (!this.lists.has(id)) return error(404, 'not_found', `List ${id} does not exist.`);
    const job: FakeJob = {
      id: this.nextId('JOB'),
      status: 'queued',
      polls: 0,
      created_at: NOW,
      profiles: (profiles as { id?: string; attributes?: Record<string, unknown> }[]).map((p) => ({ id: p.id, attributes: p.attributes ?? {} })),
      listIds,
      errors: [],
      completed: 0,
    };
    this.jobs.set(job.id, job);
    return ok(202, { data: jobResource(job) });
  }

  private getJob(id: string): ScriptedResponse {
    const job = this.jobs.get(id);
    if (!job) return error(404, 'not_found', `Import job ${id} does not exist.`);
    job.polls += 1;
    if (job.status === 'queued' || job.status === 'processing') {
      if (job.polls >= this.pollsUntilComplete) this.process(job);
      else job.status = job.polls === 1 ? 'queued' : 'processing';
    }
    return ok(200, { data: jobResource(job) });
  }

  /** Upserts the job's profiles and adds them to its lists; rejected profiles become import errors. */
  private process(job: FakeJob): void {
    for (const sent of job.profiles) {
      const reason = this.rejectProfile(sent.attributes);
      if (reason) {
        job.errors.push({ id: this.nextId('ERR'), detail: reason, payload: sent.attributes });
        continue;
      }
      const profile = this.upsert(sent);
      for (const listId of job.listIds) this.lists.get(listId)?.members.add(profile.id);
      job.completed += 1;
    }
    job.status = 'complete';
  }

  private upsert(sent: { id?: string; attributes: Record<string, unknown> }): FakeKlaviyoProfile {
    const a = sent.attributes;
    let profile = sent.id ? this.profiles.get(sent.id) : undefined;
    for (const key of IDENTIFIERS) if (!profile && typeof a[key] === 'string') profile = this.profile(a[key], key);
    if (!profile) {
      profile = { id: this.nextId('01P'), properties: {} };
      this.profiles.set(profile.id, profile);
    }
    for (const key of ATTRIBUTES) if (typeof a[key] === 'string') profile[key] = a[key];
    if (a.location && typeof a.location === 'object') profile.location = { ...(profile.location ?? {}), ...(a.location) };
    if (a.properties && typeof a.properties === 'object') Object.assign(profile.properties, a.properties);
    return profile;
  }

  private importErrors(id: string, req: RecordedRequest): ScriptedResponse {
    const job = this.jobs.get(id);
    if (!job) return error(404, 'not_found', `Import job ${id} does not exist.`);
    const size = Math.min(this.errorsPageSize, Number(req.query['page[size]'] ?? 20));
    const start = Number(req.query['page[cursor]'] ?? 0);
    const page = job.errors.slice(start, start + size);
    const self = `${HOST}/api/profile-bulk-import-jobs/${id}/import-errors`;
    const next = start + size < job.errors.length ? `${self}?page%5Bsize%5D=${size}&page%5Bcursor%5D=${start + size}` : undefined;
    return ok(200, {
      data: page.map((e) => ({
        type: 'import-error',
        id: e.id,
        attributes: { code: 'invalid', title: 'Invalid input.', detail: e.detail, source: { pointer: '/data' }, original_payload: e.payload },
      })),
      links: { self, ...(next ? { next } : {}) },
    });
  }

  private findProfiles(req: RecordedRequest): ScriptedResponse {
    const filter = req.query.filter ?? '';
    const m = /^any\((email|phone_number|external_id),(\[.*\])\)$/.exec(filter);
    const key = (m?.[1] ?? /^equals\((email|phone_number|external_id),/.exec(filter)?.[1]) as (typeof IDENTIFIERS)[number] | undefined;
    if (!key) return error(400, 'invalid', `Unsupported filter ${filter}`);
    const values: unknown = m ? JSON.parse(m[2]) : [equalsFilter(filter, key)];
    if (!Array.isArray(values) || values.length > 100) return error(400, 'invalid', 'any() takes at most 100 values');
    const found = [...this.profiles.values()].filter((p) => values.includes(p[key]));
    const fields = (req.query['fields[profile]'] ?? '').split(',').filter(Boolean);
    return ok(200, {
      data: found.map((p) => ({ type: 'profile', id: p.id, attributes: Object.fromEntries(fields.map((f) => [f, (p as unknown as Record<string, unknown>)[f] ?? null])), links: { self: `${HOST}/api/profiles/${p.id}` } })),
      links: { self: `${HOST}/api/profiles` },
    });
  }

  private removeMembers(listId: string, req: RecordedRequest): ScriptedResponse {
    const list = this.lists.get(listId);
    if (!list) return error(404, 'not_found', `List ${listId} does not exist.`);
    const body = this.jsonApiBody(req) as { data?: { type?: string; id?: string }[] } | undefined;
    const data = body?.data;
    if (!Array.isArray(data) || data.length > 1000) return error(400, 'invalid', 'data: 1 to 1000 profiles');
    for (const p of data) list.members.delete(String(p.id));
    return { status: 204 };
  }
}

function equalsFilter(filter: string | undefined, field: string): string | undefined {
  const m = new RegExp(`^equals\\(${field},(".*")\\)$`).exec(filter ?? '');
  return m ? (JSON.parse(m[1]) as string) : undefined;
}

function ok(status: number, body: unknown): ScriptedResponse {
  return { status, headers: JSON_API, body };
}

function error(status: number, code: string, detail: string, pointer?: string): ScriptedResponse {
  return { status, headers: JSON_API, body: { errors: [{ id: 'fake-error', status, code, title: 'Error', detail, ...(pointer ? { source: { pointer } } : {}) }] } };
}

function listResource(l: { id: string; name: string }) {
  return { type: 'list', id: l.id, attributes: { name: l.name }, links: { self: `${HOST}/api/lists/${l.id}` } };
}

function jobResource(job: FakeJob) {
  const done = job.status === 'complete';
  return {
    type: 'profile-bulk-import-job',
    id: job.id,
    attributes: {
      status: job.status,
      created_at: job.created_at,
      total_count: job.profiles.length,
      completed_count: job.completed,
      failed_count: job.errors.length,
      completed_at: done ? NOW : null,
      started_at: job.status === 'queued' ? null : NOW,
      expires_at: null,
    },
    links: { self: `${HOST}/api/profile-bulk-import-jobs/${job.id}` },
  };
}
