import { randomUUID } from 'node:crypto';
import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful SendGrid Marketing Campaigns API (contacts, lists, field definitions), for
 * contract and end-to-end tests: the endpoints the `sendgrid` destination uses, answering in the
 * shapes of SendGrid's published spec (so it can sit behind Prism in proxy mode), keeping what
 * SendGrid would hold. Upserts and deletes are asynchronous jobs: `pendingPolls` status reads say
 * `pending` before the job is applied and reports `completed`, `errored` (some contacts failed:
 * an errors CSV at `results.errors_url`) or `failed`.
 *
 * A contact fails in a job when its email's domain ends in `.invalid`, or when a Number custom
 * field gets something that is not a number.
 *
 *   const sg = new SendGridFake({ filesUrl: server.url });
 *   server.handle(sg.handler);
 *   ... sg.contact('ada@example.com')?.custom_fields, sg.listMembers('vip') ...
 */
export interface FakeContact {
  id: string;
  email: string;
  fields: Record<string, unknown>;
  custom_fields: Record<string, unknown>;
  list_ids: Set<string>;
  created_at: string;
  updated_at: string;
}

export interface FakeJob {
  id: string;
  type: 'upsert' | 'delete';
  polls: number;
  requested: number;
  /** applied when the job completes */
  apply: () => { errors: { email: string; error: string }[] };
  outcome?: { status: 'completed' | 'errored' | 'failed'; errored: number; created: number; updated: number; deleted: number };
  errorsCsv?: string;
}

export interface SendGridFakeOptions {
  /** where the errors files are served (the fake server's own URL, not the Prism front) */
  filesUrl: string;
  /** status reads that answer `pending` before a job is done (default 1) */
  pendingPolls?: number;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const ok = (body: unknown, status = 200): ScriptedResponse => ({ status, headers: JSON_TYPE, body });
export const sendgridError = (status: number, message: string, field?: string): ScriptedResponse => ({ status, headers: JSON_TYPE, body: { errors: [{ message, ...(field ? { field } : {}) }] } });

export class SendGridFake {
  readonly contacts = new Map<string, FakeContact>();
  readonly lists = new Map<string, { id: string; name: string }>();
  readonly customFields: { id: string; name: string; field_type: 'Text' | 'Number' | 'Date' }[] = [
    { id: 'e1_T', name: 'plan', field_type: 'Text' },
    { id: 'e2_N', name: 'lifetime_value', field_type: 'Number' },
    { id: 'e3_D', name: 'signed_up_at', field_type: 'Date' },
  ];
  readonly jobs = new Map<string, FakeJob>();
  private clock = Date.parse('2026-07-01T00:00:00Z');

  constructor(readonly options: SendGridFakeOptions) {}

  /** The contact with this email (any case). */
  contact(email: string): FakeContact | undefined {
    return [...this.contacts.values()].find((c) => c.email === email.toLowerCase());
  }

  /** Every contact's email, sorted. */
  emails(): string[] {
    return [...this.contacts.values()].map((c) => c.email).sort();
  }

  /** Emails of the contacts in the list with that name, sorted. */
  listMembers(name: string): string[] {
    const list = [...this.lists.values()].find((l) => l.name === name);
    return list ? [...this.contacts.values()].filter((c) => c.list_ids.has(list.id)).map((c) => c.email).sort() : [];
  }

  seedList(name: string): string {
    const id = randomUUID();
    this.lists.set(id, { id, name });
    return id;
  }

  readonly handler: FakeHandler = (req) => this.route(req);

  private route(req: RecordedRequest): ScriptedResponse {
    const { method, path } = req;
    if (method === 'GET' && path.startsWith('/errors/')) return this.errorsFile(path.slice('/errors/'.length).replace(/\.csv$/, ''));
    if (method === 'PUT' && path === '/v3/marketing/contacts') return this.upsert(req.json as UpsertBody);
    if (method === 'DELETE' && path === '/v3/marketing/contacts') return this.deleteContacts(req.query.ids ?? '');
    if (method === 'POST' && path === '/v3/marketing/contacts/search/emails') return this.search((req.json as { emails?: string[] })?.emails ?? []);
    if (method === 'GET' && path === '/v3/marketing/field_definitions') return this.fieldDefinitions();
    if (method === 'GET' && path === '/v3/marketing/lists') return ok({ result: [...this.lists.values()].map((l) => this.listView(l)), _metadata: { self: 'https://api.sendgrid.com/v3/marketing/lists?page_size=1000' } });
    if (method === 'POST' && path === '/v3/marketing/lists') {
      const id = this.seedList((req.json as { name: string }).name);
      return ok(this.listView(this.lists.get(id)!), 201);
    }
    let m = /^\/v3\/marketing\/contacts\/imports\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) return this.jobStatus(m[1]);
    m = /^\/v3\/marketing\/lists\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const list = this.lists.get(m[1]);
      return list ? ok(this.listView(list)) : { status: 404, headers: JSON_TYPE, body: [{ message: 'list not found' }] }; // the spec's shape for this 404
    }
    m = /^\/v3\/marketing\/lists\/([^/]+)\/contacts$/.exec(path);
    if (method === 'DELETE' && m) return this.removeFromList(m[1], (req.query.contact_ids ?? '').split(',').filter(Boolean));
    return sendgridError(404, `no route ${method} ${path}`);
  }

  private now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private listView(l: { id: string; name: string }) {
    return { id: l.id, name: l.name, contact_count: [...this.contacts.values()].filter((c) => c.list_ids.has(l.id)).length, _metadata: { self: `https://api.sendgrid.com/v3/marketing/lists/${l.id}` } };
  }

  private fieldDefinitions(): ScriptedResponse {
    return ok({
      custom_fields: this.customFields,
      reserved_fields: [
        { name: 'first_name', field_type: 'Text' },
        { name: 'last_name', field_type: 'Text' },
        { name: 'email', field_type: 'Text' },
        { name: 'city', field_type: 'Text' },
        { name: 'created_at', field_type: 'Date', read_only: true },
      ],
      _metadata: { self: 'https://api.sendgrid.com/v3/marketing/field_definitions' },
    });
  }

  private newJob(type: FakeJob['type'], requested: number, apply: FakeJob['apply']): string {
    const id = randomUUID();
    this.jobs.set(id, { id, type, polls: 0, requested, apply });
    return id;
  }

  private upsert(body: UpsertBody): ScriptedResponse {
    const contacts = body?.contacts ?? [];
    if (contacts.length === 0) return sendgridError(400, 'contacts is required', 'contacts');
    const listIds = body.list_ids ?? [];
    const missing = listIds.find((id) => !this.lists.has(id));
    if (missing) return sendgridError(404, `list ${missing} not found`, 'list_ids');
    const jobId = this.newJob('upsert', contacts.length, () => {
      const errors: { email: string; error: string }[] = [];
      for (const c of contacts) {
        const email = String(c.email ?? '').toLowerCase();
        const error = this.invalid(email, c.custom_fields ?? {});
        if (error) {
          errors.push({ email, error });
          continue;
        }
        const existing = this.contact(email);
        const { email: _e, custom_fields: custom, ...fields } = c;
        const at = this.now();
        const contact: FakeContact = existing ?? { id: randomUUID(), email, fields: {}, custom_fields: {}, list_ids: new Set(), created_at: at, updated_at: at };
        contact.fields = { ...contact.fields, ...fields };
        contact.custom_fields = { ...contact.custom_fields, ...(custom ?? {}) };
        for (const id of listIds) contact.list_ids.add(id);
        contact.updated_at = at;
        this.contacts.set(contact.id, contact);
      }
      return { errors };
    });
    return ok({ job_id: jobId }, 202);
  }

  private invalid(email: string, custom: Record<string, unknown>): string | undefined {
    if (/\.invalid$/.test(email)) return 'email domain does not accept mail';
    for (const [id, value] of Object.entries(custom)) {
      const field = this.customFields.find((f) => f.id === id);
      if (!field) return `custom field ${id} does not exist`;
      if (field.field_type === 'Number' && typeof value !== 'number') return `custom field ${field.name} must be a number`;
    }
    return undefined;
  }

  private deleteContacts(idsParam: string): ScriptedResponse {
    const ids = idsParam.split(',').filter(Boolean);
    if (ids.length === 0) return sendgridError(400, 'ids or delete_all_contacts is required', 'ids');
    const jobId = this.newJob('delete', ids.length, () => {
      for (const id of ids) this.contacts.delete(id);
      return { errors: [] };
    });
    return ok({ job_id: jobId }, 202);
  }

  private jobStatus(id: string): ScriptedResponse {
    const job = this.jobs.get(id);
    if (!job) return sendgridError(404, 'job not found');
    job.polls += 1;
    if (!job.outcome && job.polls <= (this.options.pendingPolls ?? 1)) return ok({ id, status: 'pending', job_type: job.type, results: { requested_count: job.requested }, started_at: '2026-07-01T00:00:00Z' });
    if (!job.outcome) {
      const { errors } = job.apply();
      const status = errors.length === 0 ? 'completed' : errors.length === job.requested ? 'failed' : 'errored';
      job.outcome = { status, errored: errors.length, created: 0, updated: job.type === 'upsert' ? job.requested - errors.length : 0, deleted: job.type === 'delete' ? job.requested : 0 };
      if (errors.length > 0) job.errorsCsv = ['email,error', ...errors.map((e) => `${e.email},"${e.error.replace(/"/g, '""')}"`)].join('\n');
    }
    const o = job.outcome;
    return ok({
      id,
      status: o.status,
      job_type: job.type,
      results: {
        requested_count: job.requested,
        created_count: o.created,
        updated_count: o.updated,
        deleted_count: o.deleted,
        errored_count: o.errored,
        ...(job.errorsCsv ? { errors_url: `${this.options.filesUrl}/errors/${id}.csv` } : {}),
      },
      started_at: '2026-07-01T00:00:00Z',
      finished_at: '2026-07-01T00:00:05Z',
    });
  }

  private errorsFile(jobId: string): ScriptedResponse {
    const csv = this.jobs.get(jobId)?.errorsCsv;
    return csv ? { status: 200, headers: { 'content-type': 'text/csv' }, body: csv } : { status: 404, body: 'not found' };
  }

  private search(emails: string[]): ScriptedResponse {
    const result: Record<string, unknown> = {};
    let found = 0;
    for (const e of emails) {
      const c = this.contact(e);
      if (c) found += 1;
      result[e.toLowerCase()] = c ? { contact: this.view(c) } : { error: 'contact not found' };
    }
    return found === 0 ? sendgridError(404, 'No contacts found') : ok({ result });
  }

  private removeFromList(listId: string, ids: string[]): ScriptedResponse {
    if (!this.lists.has(listId) || ids.some((id) => !this.contacts.has(id))) return { status: 404, headers: JSON_TYPE, body: { errors: [{ message: 'list or contact not found' }] } };
    for (const id of ids) this.contacts.get(id)!.list_ids.delete(listId);
    return ok({ job_id: randomUUID() }, 202);
  }

  private view(c: FakeContact) {
    return {
      id: c.id,
      email: c.email,
      ...Object.fromEntries(Object.entries(c.fields).filter(([, v]) => typeof v === 'string')),
      alternate_emails: [],
      list_ids: [...c.list_ids],
      segment_ids: [],
      custom_fields: c.custom_fields,
      created_at: c.created_at,
      updated_at: c.updated_at,
      _metadata: { self: `https://api.sendgrid.com/v3/marketing/contacts/${c.id}` },
    };
  }
}

interface UpsertBody {
  list_ids?: string[];
  contacts?: ({ email?: string; custom_fields?: Record<string, unknown> } & Record<string, unknown>)[];
}
