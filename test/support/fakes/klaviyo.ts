import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful Klaviyo (revision 2026-07-15) for contract and end-to-end tests: it keeps
 * profiles, lists and their members, bulk import jobs, and events, and answers the endpoints the
 * adapter uses with bodies that satisfy Klaviyo's spec (Prism validates them in proxy mode):
 *
 * - `GET /api/lists?filter=equals(name,"…")`, `POST /api/lists`;
 * - `POST /api/profile-bulk-import-jobs` → 202 `queued`; `GET …/{id}` answers `queued`, then
 *   `processing`, and `complete` from poll `pollsUntilComplete` on: only then are the profiles
 *   upserted (by id, else email, phone_number, external_id) and added to the job's lists;
 * - `GET …/{id}/import-errors` (cursor pages of `errorsPageSize`, `links.next`): one error per profile
 *   the fake rejects (`rejectProfile`: by default an email on a `.invalid` domain), with
 *   `source.pointer` `/data` and the profile as sent in `original_payload`, like Klaviyo's;
 * - `GET /api/profiles?filter=any(<identifier>,[…])` / `equals(…)`;
 * - `DELETE /api/lists/{id}/relationships/profiles` → 204;
 * - `POST /api/event-bulk-create-jobs` → 202 with no body (the spec's answer; there is no job to
 *   poll). The events spec is not among the spec files the repository holds (../shared/specs/klaviyo
 *   has profiles and lists only), so the fake checks the body against the spec's
 *   `EventsBulkCreateJob` schema itself (`violations`) and answers as Klaviyo documents: the whole job
 *   is validated first, and a 400 with JSON:API errors pointing at the entry or event at fault
 *   processes nothing (a profile `rejectProfile` rejects, a time before 1990, a unique_id repeated
 *   for a profile and metric in the job). Accepted events upsert their profile (traits included) and
 *   are recorded in `events`, one per profile, metric and unique_id (a known one is dropped).
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

/** One event as Klaviyo holds it, in the order received. */
export interface FakeKlaviyoEvent {
  /** the profile's id */
  profile: string;
  metric: string;
  unique_id?: string;
  time?: string;
  value?: number;
  value_currency?: string;
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
  /** events recorded, in the order received (one per profile, metric and unique_id) */
  readonly events: FakeKlaviyoEvent[] = [];
  /** events received again with a known profile, metric and unique_id (dropped) */
  duplicates = 0;
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

  /** The events of the profile with this identifier value (email by default), in order. */
  eventsOf(value: string, by: (typeof IDENTIFIERS)[number] = 'email'): FakeKlaviyoEvent[] {
    const profile = this.profile(value, by);
    return profile ? this.events.filter((e) => e.profile === profile.id) : [];
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
    if (path === '/api/event-bulk-create-jobs' && req.method === 'POST') return this.createEvents(req);
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

  /**
   * Bulk Create Events. The body is checked against the spec's schema (violations), then validated
   * whole: any error → 400 pointing at it, nothing recorded; else every event is recorded and 202.
   */
  private createEvents(req: RecordedRequest): ScriptedResponse {
    const body = this.jsonApiBody(req) as { data?: { type?: unknown; attributes?: Record<string, unknown> } } | undefined;
    const where = 'POST /api/event-bulk-create-jobs';
    const base = '/data/attributes/events-bulk-create/data';
    if (Buffer.byteLength(req.rawBody) > 5_000_000) return error(413, 'too_large', 'The maximum allowed payload size is 5MB.');
    if (body?.data?.type !== 'event-bulk-create-job') this.violations.push(`${where}: data.type must be event-bulk-create-job`);
    const entries = (body?.data?.attributes?.['events-bulk-create'] as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(entries)) {
      this.violations.push(`${where}: data.attributes.events-bulk-create.data must be an array`);
      return error(400, 'invalid', 'events-bulk-create is required', '/data/attributes/events-bulk-create');
    }
    type Entry = { type?: unknown; attributes?: { profile?: { data?: { type?: unknown; id?: unknown; attributes?: Record<string, unknown> } }; events?: { data?: unknown } } };
    type Event = { type?: unknown; attributes?: Record<string, unknown> & { metric?: { data?: { type?: unknown; attributes?: { name?: unknown } } } } };
    const problems: { detail: string; pointer: string }[] = [];
    const seen = new Set<string>();
    let total = 0;
    (entries as Entry[]).forEach((entry, i) => {
      if (entry?.type !== 'event-bulk-create') this.violations.push(`${where}: ${base}/${i}/type must be event-bulk-create`);
      const profile = entry?.attributes?.profile?.data;
      if (profile?.type !== 'profile' || !profile.attributes || typeof profile.attributes !== 'object') this.violations.push(`${where}: ${base}/${i}/attributes/profile/data needs type profile and attributes`);
      const attributes = profile?.attributes ?? {};
      if (!profile?.id && !['email', 'phone_number', 'external_id', 'anonymous_id'].some((k) => typeof attributes[k] === 'string')) {
        problems.push({ detail: 'A profile identifier is required.', pointer: `${base}/${i}/attributes/profile/data/attributes` });
      }
      const rejected = this.rejectProfile(attributes);
      if (rejected) problems.push({ detail: rejected, pointer: `${base}/${i}/attributes/profile/data/attributes/email` });
      const events = entry?.attributes?.events?.data;
      if (!Array.isArray(events) || events.length === 0) return void this.violations.push(`${where}: ${base}/${i}/attributes/events/data must be a non-empty array`);
      total += events.length;
      (events as Event[]).forEach((event, j) => {
        const at = `${base}/${i}/attributes/events/data/${j}`;
        const a = event?.attributes;
        if (event?.type !== 'event' || !a) return void this.violations.push(`${where}: ${at} needs type event and attributes`);
        const name = a.metric?.data?.attributes?.name;
        if (a.metric?.data?.type !== 'metric' || typeof name !== 'string') this.violations.push(`${where}: ${at}/attributes/metric/data needs type metric and a name`);
        if (typeof name === 'string' && name.length >= 128) problems.push({ detail: 'Metric names must be less than 128 characters.', pointer: `${at}/attributes/metric/data/attributes/name` });
        if (!a.properties || typeof a.properties !== 'object' || Array.isArray(a.properties)) this.violations.push(`${where}: ${at}/attributes/properties is required (an object)`);
        else if (Object.keys(a.properties).length > 400) problems.push({ detail: 'At most 400 properties.', pointer: `${at}/attributes/properties` });
        if (a.time !== undefined && a.time !== null) {
          const t = typeof a.time === 'string' ? Date.parse(a.time) : NaN;
          if (Number.isNaN(t)) this.violations.push(`${where}: ${at}/attributes/time must be a date-time`);
          else if (t < Date.UTC(1990, 0, 1)) problems.push({ detail: 'The time must be after the year 1990.', pointer: `${at}/attributes/time` });
        }
        if (a.value !== undefined && a.value !== null && typeof a.value !== 'number') this.violations.push(`${where}: ${at}/attributes/value must be a number`);
        for (const key of Object.keys(a)) if (!['properties', 'time', 'value', 'value_currency', 'backfill', 'metric', 'unique_id'].includes(key)) this.violations.push(`${where}: ${at}/attributes/${key} is not in the schema`);
        if (typeof a.unique_id === 'string') {
          const key = JSON.stringify([this.profileKey(attributes), name, a.unique_id]);
          if (seen.has(key)) problems.push({ detail: 'unique_id is repeated for the same profile and metric.', pointer: `${at}/attributes/unique_id` });
          seen.add(key);
        }
      });
    });
    if (total > 1_000) return error(400, 'invalid', 'Accepts up to 1,000 events per request.', '/data/attributes/events-bulk-create/data');
    if (problems.length > 0) {
      return { status: 400, headers: JSON_API, body: { errors: problems.map((p, n) => ({ id: `e${n}`, status: 400, code: 'invalid', title: 'Invalid input.', detail: p.detail, source: { pointer: p.pointer } })) } };
    }
    for (const entry of entries as Entry[]) {
      const sent = entry.attributes!.profile!.data!;
      const profile = this.upsert({ id: typeof sent.id === 'string' ? sent.id : undefined, attributes: sent.attributes ?? {} });
      for (const event of entry.attributes!.events!.data as Event[]) {
        const a = event.attributes!;
        const metric = a.metric!.data!.attributes!.name as string;
        const uniqueId = typeof a.unique_id === 'string' ? a.unique_id : undefined;
        if (uniqueId !== undefined && this.events.some((e) => e.profile === profile.id && e.metric === metric && e.unique_id === uniqueId)) {
          this.duplicates += 1;
          continue;
        }
        this.events.push({
          profile: profile.id,
          metric,
          ...(uniqueId !== undefined ? { unique_id: uniqueId } : {}),
          ...(typeof a.time === 'string' ? { time: a.time } : {}),
          ...(typeof a.value === 'number' ? { value: a.value } : {}),
          ...(typeof a.value_currency === 'string' ? { value_currency: a.value_currency } : {}),
          properties: a.properties as Record<string, unknown>,
        });
      }
    }
    return { status: 202 };
  }

  /** Which profile an entry names, for unique_id checks within a job: its first identifier. */
  private profileKey(attributes: Record<string, unknown>): string {
    for (const key of IDENTIFIERS) if (typeof attributes[key] === 'string') return `${key}:${String(attributes[key])}`;
    return '';
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
