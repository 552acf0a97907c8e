import type { RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful Zendesk Support (users and job statuses) for destination tests, hand-rolled
 * because Zendesk's OpenAPI cannot be loaded by Prism (reference §2). Use its `handle` with
 * FakeServer (`server.handle(fake.handle)`); scripted replies queued with `server.reply(...)` go first.
 *
 * - Auth: `Basic base64({email}/token:{api_token})` or `Bearer {oauth_token}`, else 401.
 * - `POST /api/v2/users/create_or_update_many`: the body is checked against the documented request
 *   (`{users: [1..100 user objects]}`, known properties with their types, each user with an email or
 *   external_id); a body that breaks it is answered 400 and recorded in `violations` (tests assert
 *   there are none, as Prism does for specs). A valid one starts a job (`queued`).
 * - `GET /api/v2/job_statuses/{id}`: the job is `working` until it has been polled `pollsUntilDone`
 *   times, then `completed`: its users are created or updated (matched by external_id, then email)
 *   and `results` hold one entry per user in order (`{index, id, status: Created|Updated}` or
 *   `{index, status: Failed, error, details}`). A new user needs a name; `failUser` scripts more refusals.
 * - `GET /api/v2/users/me`, `GET /api/v2/user_fields` (offset pages).
 */
export interface FakeZendeskUser {
  id: number;
  email: string | null;
  external_id: string | null;
  name: string;
  role: 'end-user' | 'agent' | 'admin';
  phone: string | null;
  alias: string | null;
  details: string | null;
  notes: string | null;
  locale: string | null;
  time_zone: string | null;
  organization_id: number | null;
  tags: string[];
  verified: boolean;
  user_fields: Record<string, unknown>;
}

export interface FakeUserField {
  key: string;
  type: string;
  active?: boolean;
}

interface FakeJob {
  id: string;
  users: Record<string, unknown>[];
  polls: number;
  status: 'queued' | 'working' | 'completed' | 'failed';
  results: Record<string, unknown>[] | null;
}

/** The user properties the create_or_update_many request documents, with their JSON types. */
const USER_PROPERTIES: Record<string, (v: unknown) => boolean> = {
  email: (v) => typeof v === 'string',
  external_id: (v) => typeof v === 'string' || typeof v === 'number',
  name: (v) => typeof v === 'string' || v === null,
  phone: (v) => typeof v === 'string' || v === null,
  alias: (v) => typeof v === 'string' || v === null,
  details: (v) => typeof v === 'string' || v === null,
  notes: (v) => typeof v === 'string' || v === null,
  locale: (v) => typeof v === 'string' || v === null,
  time_zone: (v) => typeof v === 'string' || v === null,
  organization_id: (v) => (typeof v === 'number' && Number.isInteger(v)) || v === null,
  tags: (v) => Array.isArray(v) && v.every((t) => typeof t === 'string'),
  verified: (v) => typeof v === 'boolean',
  role: (v) => v === 'end-user' || v === 'agent' || v === 'admin',
  user_fields: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export class FakeZendesk {
  readonly users = new Map<number, FakeZendeskUser>();
  readonly userFields: FakeUserField[] = [];
  readonly jobs = new Map<string, FakeJob>();
  /** request bodies that broke the documented contract (answered 400) */
  readonly violations: string[] = [];
  /** polls a job answers `working` before it completes */
  pollsUntilDone = 1;
  /** leave `index` out of the results (Zendesk's order is the users' order) */
  omitIndex = false;
  /** a refusal for one user of a job: `{error, details}` */
  failUser?: (user: Record<string, unknown>) => { error: string; details: string } | undefined;
  private seq = 1000;
  private jobSeq = 0;

  constructor(readonly auth: { email: string; apiToken: string } | { oauthToken: string }) {}

  defineUserField(key: string, type: string, active = true): this {
    this.userFields.push({ key, type, active });
    return this;
  }

  /** Puts a user in place (state before a test). */
  seed(user: Partial<FakeZendeskUser>): FakeZendeskUser {
    const u = this.newUser();
    Object.assign(u, user);
    this.users.set(u.id, u);
    return u;
  }

  /** The user with this external_id, else this email. */
  find(externalIdOrEmail: string): FakeZendeskUser | undefined {
    const all = [...this.users.values()];
    return all.find((u) => u.external_id === externalIdOrEmail) ?? all.find((u) => u.email === externalIdOrEmail);
  }

  /** Jobs not completed yet (Zendesk allows 30 per account). */
  get queuedJobs(): number {
    return [...this.jobs.values()].filter((j) => j.status === 'queued' || j.status === 'working').length;
  }

  readonly handle = (req: RecordedRequest): ScriptedResponse => {
    if (!this.authorized(req.headers.authorization)) return { status: 401, body: { error: "Couldn't authenticate you" } };
    const route = `${req.method} ${req.path.replace(/\.json$/, '')}`;
    let m: RegExpExecArray | null;
    if (route === 'GET /api/v2/users/me') return ok({ user: { id: 1, name: 'Ada Admin', email: 'admin@example.com', role: 'admin' } });
    if (route === 'GET /api/v2/user_fields') return this.listUserFields(req.query);
    if (route === 'POST /api/v2/users/create_or_update_many') return this.startJob(req.json);
    if ((m = /^GET \/api\/v2\/job_statuses\/([^/]+)$/.exec(route))) return this.poll(decodeURIComponent(m[1]));
    return { status: 404, body: { error: 'InvalidEndpoint', description: `Not found: ${route}` } };
  };

  private authorized(header: string | undefined): boolean {
    if ('oauthToken' in this.auth) return header === `Bearer ${this.auth.oauthToken}`;
    return header === `Basic ${Buffer.from(`${this.auth.email}/token:${this.auth.apiToken}`).toString('base64')}`;
  }

  private listUserFields(query: Record<string, string>): ScriptedResponse {
    const page = Number(query.page ?? 1);
    const perPage = Math.min(100, Number(query.per_page ?? 100));
    const slice = this.userFields.slice((page - 1) * perPage, page * perPage);
    const more = page * perPage < this.userFields.length;
    return ok({
      user_fields: slice.map((f, i) => ({ id: 7000 + i, key: f.key, type: f.type, title: f.key, active: f.active ?? true })),
      next_page: more ? `https://example.zendesk.com/api/v2/user_fields.json?page=${page + 1}&per_page=${perPage}` : null,
      previous_page: page > 1 ? `https://example.zendesk.com/api/v2/user_fields.json?page=${page - 1}&per_page=${perPage}` : null,
      count: this.userFields.length,
    });
  }

  /** The documented request shape; the first problem found, or undefined. */
  private check(body: unknown): string | undefined {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the body is not a JSON object';
    const keys = Object.keys(body);
    if (keys.length !== 1 || keys[0] !== 'users') return `the body must be {"users": [...]}, got keys ${keys.join(', ')}`;
    const users = (body as { users: unknown }).users;
    if (!Array.isArray(users) || users.length === 0) return 'users must be a non-empty array';
    if (users.length > 100) return `users holds ${users.length} users; the limit is 100`;
    for (const [i, u] of users.entries()) {
      if (!u || typeof u !== 'object' || Array.isArray(u)) return `users[${i}] is not an object`;
      for (const [k, v] of Object.entries(u as Record<string, unknown>)) {
        const fits = USER_PROPERTIES[k];
        if (!fits) return `users[${i}].${k} is not a user property`;
        if (!fits(v)) return `users[${i}].${k} has the wrong type (${JSON.stringify(v)})`;
      }
      const user = u as Record<string, unknown>;
      if (user.email === undefined && user.external_id === undefined) return `users[${i}] has neither email nor external_id`;
    }
    return undefined;
  }

  private startJob(body: unknown): ScriptedResponse {
    const problem = this.check(body);
    if (problem) {
      this.violations.push(`POST /api/v2/users/create_or_update_many: ${problem}`);
      return { status: 400, body: { error: 'InvalidPayload', description: problem } };
    }
    this.jobSeq += 1;
    const job: FakeJob = { id: `8b726e606741012ffc2d782bcb78${String(this.jobSeq).padStart(4, '0')}`, users: (body as { users: Record<string, unknown>[] }).users, polls: 0, status: 'queued', results: null };
    this.jobs.set(job.id, job);
    return ok({ job_status: this.jobJson(job) });
  }

  private poll(id: string): ScriptedResponse {
    const job = this.jobs.get(id);
    if (!job) return { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
    job.polls += 1;
    if (job.status === 'queued' || job.status === 'working') {
      if (job.polls >= this.pollsUntilDone) this.complete(job);
      else job.status = 'working';
    }
    return ok({ job_status: this.jobJson(job) });
  }

  private complete(job: FakeJob): void {
    job.results = job.users.map((u, index) => {
      const at = this.omitIndex ? {} : { index };
      const email = typeof u.email === 'string' ? u.email : undefined;
      const refused = this.failUser?.(u);
      if (refused) return { ...at, status: 'Failed', ...refused };
      if (email !== undefined && !EMAIL.test(email)) return { ...at, status: 'Failed', error: 'UserUpdateError', details: `Email: ${email} is not properly formatted` };
      const externalId = typeof u.external_id === 'string' || typeof u.external_id === 'number' ? String(u.external_id) : undefined;
      const existing = (externalId !== undefined ? [...this.users.values()].find((x) => x.external_id === externalId) : undefined) ?? (email ? [...this.users.values()].find((x) => x.email === email) : undefined);
      if (!existing && (typeof u.name !== 'string' || u.name === '')) return { ...at, status: 'Failed', error: 'UserCreateError', details: 'Name: is too short (minimum is 1 character)' };
      const user = existing ?? this.newUser();
      for (const [k, v] of Object.entries(u)) {
        if (k === 'user_fields') Object.assign(user.user_fields, v);
        else if (k === 'external_id') user.external_id = externalId ?? null;
        else (user as unknown as Record<string, unknown>)[k] = v;
      }
      this.users.set(user.id, user);
      return { ...at, id: user.id, status: existing ? 'Updated' : 'Created', ...(user.email ? { email: user.email } : {}), ...(user.external_id ? { external_id: user.external_id } : {}) };
    });
    job.status = 'completed';
  }

  private jobJson(job: FakeJob): Record<string, unknown> {
    return {
      id: job.id,
      url: `https://example.zendesk.com/api/v2/job_statuses/${job.id}.json`,
      job_type: 'Create or update many users',
      total: job.users.length,
      progress: job.status === 'completed' ? job.users.length : 0,
      status: job.status,
      message: job.status === 'completed' ? `Completed at ${new Date(0).toISOString()}` : null,
      results: job.results,
    };
  }

  private newUser(): FakeZendeskUser {
    this.seq += 1;
    return {
      id: this.seq,
      email: null,
      external_id: null,
      name: '',
      role: 'end-user',
      phone: null,
      alias: null,
      details: null,
      notes: null,
      locale: null,
      time_zone: null,
      organization_id: null,
      tags: [],
      verified: false,
      user_fields: {},
    };
  }
}

const ok = (body: unknown): ScriptedResponse => ({ status: 200, body });

/** A job status answer (for scripted replies). */
export const jobStatus = (id: string, status: string, results: Record<string, unknown>[] | null = null, message: string | null = null): ScriptedResponse =>
  ok({ job_status: { id, url: `https://example.zendesk.com/api/v2/job_statuses/${id}.json`, total: results?.length ?? 0, progress: 0, status, message, results } });
