import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A stateful fake of the Iterable API endpoints the `iterable` destination calls (users bulk update
 * and delete, lists, list subscribe and unsubscribe, bulk event tracking), behaving as the published
 * spec and Iterable's docs describe a hybrid project: users are found by email or userId, each
 * unique. It keeps what Iterable would hold (users with their data fields, static lists with their
 * members, events one per id in the order received) and answers in the spec's shapes, so Prism
 * (proxy mode) validates its answers too.
 *
 *   const fake = new IterableFake('api-key');
 *   server.handle(fake.handler);
 *   ... run a sync against server (or Prism in front of it) ...
 *   fake.user('ada@example.com')?.dataFields; fake.members(listId); fake.eventsOf('ada@example.com')
 *
 * Failures it reports per user, like Iterable: malformed emails (invalidEmails), empty or too long
 * userIds (invalidUserIds), GDPR-forgotten users (`forgotten`), a data field whose type would
 * change (invalidData…), an email or userId that belongs to another user (conflict…), unknown users
 * on unsubscribe (notFound…).
 */
export interface IterableUserRecord {
  email?: string;
  userId?: string;
  dataFields: Record<string, unknown>;
}

/** One event as Iterable holds it (one per id: a known id updates the event in place), in the order first received. */
export interface IterableEventRecord {
  /** the user's email, else `userId:<id>` */
  user: string;
  id: string;
  eventName: string;
  createdAt?: number;
  dataFields: Record<string, unknown>;
}

export interface IterableListRecord {
  id: number;
  name: string;
  listType: 'Standard' | 'Dynamic' | 'Suppression' | 'Internal';
  createdAt: number;
  members: Set<IterableUserRecord>;
}

interface ApiUser {
  email?: unknown;
  userId?: unknown;
  dataFields?: unknown;
  preferUserId?: unknown;
  mergeNestedObjects?: unknown;
}

type Failures = Record<string, string[]>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const json = (status: number, body: unknown): ScriptedResponse => ({ status, body });
const apiResponse = (status: number, code: string, msg: string) => json(status, { code, msg, params: {} });
const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export class IterableFake {
  readonly users: IterableUserRecord[] = [];
  readonly lists = new Map<number, IterableListRecord>();
  /** emails and userIds forgotten under GDPR: updates to them fail */
  readonly forgotten = new Set<string>();
  /** every user deleted, as `email` or `userId:<id>` */
  readonly deleted: string[] = [];
  /** events tracked, one per id, in the order first received */
  readonly events: IterableEventRecord[] = [];
  /** events received again with a known id (updated in place, not added) */
  eventUpdates = 0;
  /** event names the project refuses (trackBulk lists them in `disallowedEventNames`) */
  readonly disallowedEventNames = new Set<string>();
  private nextListId = 1001;

  constructor(readonly apiKey: string) {}

  readonly handler: FakeHandler = (req) => this.answer(req);

  /** The user with this email (any case) or userId. */
  user(emailOrUserId: string): IterableUserRecord | undefined {
    return this.users.find((u) => u.email === emailOrUserId.toLowerCase() || u.userId === emailOrUserId);
  }

  /** The events of a user (by email or userId), in order. */
  eventsOf(emailOrUserId: string): IterableEventRecord[] {
    const user = this.user(emailOrUserId);
    const key = user?.email ?? (user?.userId !== undefined ? `userId:${user.userId}` : undefined);
    return key === undefined ? [] : this.events.filter((e) => e.user === key);
  }

  /** A static list (or another type), as if made in Iterable's UI. */
  addList(name: string, listType: IterableListRecord['listType'] = 'Standard'): number {
    const id = this.nextListId++;
    this.lists.set(id, { id, name, listType, createdAt: 1_700_000_000, members: new Set() });
    return id;
  }

  /** The members of a list, each as its email or else `userId:<id>`, sorted. */
  members(listId: number): string[] {
    return [...(this.lists.get(listId)?.members ?? [])].map((u) => u.email ?? `userId:${u.userId}`).sort();
  }

  private answer(req: RecordedRequest): ScriptedResponse {
    if (req.headers['api-key'] !== this.apiKey) return apiResponse(401, 'BadApiKey', 'Invalid API key');
    const body = (req.json ?? {}) as Record<string, unknown>;
    if (req.method === 'GET' && req.path === '/api/lists') {
      return json(200, { lists: [...this.lists.values()].map(({ id, name, listType, createdAt }) => ({ id, name, listType, createdAt })) });
    }
    if (req.method === 'POST' && req.path === '/api/lists') {
      if (typeof body.name !== 'string' || body.name === '') return apiResponse(400, 'BadParams', 'name is required');
      return json(200, { listId: this.addList(body.name) });
    }
    if (req.method === 'POST' && req.path === '/api/users/bulkUpdate') {
      if (!Array.isArray(body.users)) return apiResponse(400, 'BadParams', 'users is required');
      return this.bulk(body.users as ApiUser[], (u, failures) => this.upsert(u, failures));
    }
    if (req.method === 'POST' && (req.path === '/api/lists/subscribe' || req.path === '/api/lists/unsubscribe')) {
      const list = this.lists.get(Number(body.listId));
      if (!list || list.listType !== 'Standard') return apiResponse(400, 'BadParams', `no static list ${String(body.listId)}`);
      if (!Array.isArray(body.subscribers)) return apiResponse(400, 'BadParams', 'subscribers is required');
      if (req.path === '/api/lists/subscribe') {
        return this.bulk(body.subscribers as ApiUser[], (u, failures) => {
          const user = this.upsert(u, failures);
          if (user) list.members.add(user);
          return user;
        });
      }
      return this.bulk(body.subscribers as ApiUser[], (u, failures) => {
        const user = this.find(u);
        if (!user) return void fail(failures, u, 'notFound');
        list.members.delete(user);
        return user;
      });
    }
    if (req.method === 'POST' && req.path === '/api/events/trackBulk') {
      if (!Array.isArray(body.events)) return apiResponse(400, 'BadParams', 'events is required');
      return this.trackBulk(body.events as (ApiUser & Record<string, unknown>)[]);
    }
    const byEmail = /^\/api\/users\/([^/]+)$/.exec(req.path);
    const byUserId = /^\/api\/users\/byUserId\/([^/]+)$/.exec(req.path);
    if (req.method === 'DELETE' && (byEmail || byUserId)) {
      const value = decodeURIComponent((byUserId ?? byEmail)![1]);
      const user = byUserId ? this.users.find((u) => u.userId === value) : this.users.find((u) => u.email === value.toLowerCase());
      if (!user) return byUserId ? apiResponse(400, 'UnknownUserIdError', `No user exists with userId ${value}`) : apiResponse(400, 'UnknownEmailError', `No user exists with email ${value}`);
      this.users.splice(this.users.indexOf(user), 1);
      for (const list of this.lists.values()) list.members.delete(user);
      this.deleted.push(byUserId ? `userId:${value}` : value);
      return apiResponse(200, 'Success', 'User deletion queued');
    }
    return apiResponse(400, 'BadParams', `the fake does not serve ${req.method} ${req.path}`);
  }

  /** Runs `apply` per user and answers the bulk shape (`UserBulkUpdateListResponse`). */
  private bulk(users: ApiUser[], apply: (u: ApiUser, failures: Failures) => IterableUserRecord | undefined): ScriptedResponse {
    const failures: Failures = {};
    let successCount = 0;
    for (const u of users) {
      const before = Object.values(failures).flat().length;
      if (!this.valid(u, failures)) continue;
      const user = apply(u, failures);
      if (user && Object.values(failures).flat().length === before) successCount += 1;
    }
    const failedUpdates = Object.fromEntries(Object.entries(failures).filter(([, v]) => v.length > 0));
    const failCount = users.length - successCount;
    return json(200, { successCount, failCount, failedUpdates, createdFields: [], filteredOutFields: [] });
  }

  /**
   * Tracks events in order (the spec's BulkTrackResponse): an event for an unknown email creates the
   * user, one for an unknown userId fails (notFoundUserIds); a disallowed name fails; an event whose
   * id Iterable already has is updated in place.
   */
  private trackBulk(events: (ApiUser & Record<string, unknown>)[]): ScriptedResponse {
    const failures: Failures = {};
    const disallowed = new Set<string>();
    let successCount = 0;
    for (const e of events) {
      if (!this.valid(e, failures)) continue;
      if (typeof e.eventName !== 'string' || this.disallowedEventNames.has(e.eventName)) {
        disallowed.add(str(e.eventName));
        continue;
      }
      let user = this.find(e);
      if (!user) {
        if (typeof e.email !== 'string') {
          fail(failures, e, 'notFound');
          continue;
        }
        user = { email: e.email.toLowerCase(), dataFields: {} };
        this.users.push(user);
      }
      const record: IterableEventRecord = {
        user: user.email ?? `userId:${user.userId}`,
        id: typeof e.id === 'string' ? e.id : `generated-${this.events.length}`,
        eventName: e.eventName,
        ...(typeof e.createdAt === 'number' ? { createdAt: e.createdAt } : {}),
        dataFields: (e.dataFields && typeof e.dataFields === 'object' ? e.dataFields : {}) as Record<string, unknown>,
      };
      const known = this.events.findIndex((x) => x.id === record.id);
      if (known >= 0) {
        this.events[known] = record;
        this.eventUpdates += 1;
      } else this.events.push(record);
      successCount += 1;
    }
    const failedUpdates = Object.fromEntries(Object.entries(failures).filter(([, v]) => v.length > 0));
    return json(200, {
      successCount,
      failCount: events.length - successCount,
      failedUpdates,
      ...(disallowed.size > 0 ? { disallowedEventNames: [...disallowed] } : {}),
      createdFields: [],
      filteredOutFields: [],
    });
  }

  /** An email or a userId, well formed and not forgotten. */
  private valid(u: ApiUser, failures: Failures): boolean {
    let problem: [string, string] | undefined;
    if (u.email !== undefined && (typeof u.email !== 'string' || !EMAIL.test(u.email))) problem = ['invalidEmails', str(u.email)];
    else if (u.userId !== undefined && (typeof u.userId !== 'string' || u.userId.trim() === '' || u.userId.length > 52)) problem = ['invalidUserIds', str(u.userId)];
    else if (u.email === undefined && u.userId === undefined) problem = ['invalidUserIds', ''];
    else if (this.forgotten.has(typeof u.email === 'string' ? u.email.toLowerCase() : str(u.userId))) {
      problem = typeof u.email === 'string' ? ['forgottenEmails', u.email] : ['forgottenUserIds', str(u.userId)];
    }
    if (problem) add(failures, ...problem);
    return problem === undefined;
  }

  private find(u: ApiUser): IterableUserRecord | undefined {
    if (typeof u.email === 'string') {
      const email = u.email.toLowerCase();
      return this.users.find((x) => x.email === email);
    }
    return this.users.find((x) => x.userId === u.userId);
  }

  /** Creates or updates the user; data fields keep their types; `email`/`userId` in dataFields change the other identifier. */
  private upsert(u: ApiUser, failures: Failures): IterableUserRecord | undefined {
    const data = (u.dataFields && typeof u.dataFields === 'object' ? u.dataFields : {}) as Record<string, unknown>;
    let user = this.find(u);
    if (user) {
      for (const [k, v] of Object.entries(data)) {
        const old = user.dataFields[k];
        if (old !== undefined && old !== null && v !== null && kind(old) !== kind(v)) return void fail(failures, u, 'invalidData');
      }
    }
    const { email: newEmail, userId: newUserId, ...fields } = data;
    // the existing identifier that prevents the change is what Iterable lists
    if (typeof newEmail === 'string' && this.users.some((x) => x !== user && x.email === newEmail.toLowerCase())) return void add(failures, 'conflictEmails', newEmail.toLowerCase());
    if (typeof newUserId === 'string' && this.users.some((x) => x !== user && x.userId === newUserId)) return void add(failures, 'conflictUserIds', newUserId);
    if (!user) {
      if (u.email === undefined && u.preferUserId !== true) return void fail(failures, u, 'notFound');
      user = { dataFields: {} };
      if (typeof u.email === 'string') user.email = u.email.toLowerCase();
      if (typeof u.userId === 'string') user.userId = u.userId;
      this.users.push(user);
    }
    if (typeof newEmail === 'string') user.email = newEmail.toLowerCase();
    if (typeof newUserId === 'string') user.userId = newUserId;
    for (const [k, v] of Object.entries(fields)) {
      const old = user.dataFields[k];
      const merge = u.mergeNestedObjects === true && kind(old) === 'object' && kind(v) === 'object';
      user.dataFields[k] = merge ? { ...(old as object), ...(v as object) } : v;
    }
    return user;
  }
}

function add(failures: Failures, list: string, value: string): void {
  (failures[list] ??= []).push(value);
}

/** Records a failure in the Emails or UserIds list of its kind, by the identifier the user was sent with. */
function fail(failures: Failures, u: ApiUser, what: 'notFound' | 'invalidData'): void {
  if (typeof u.email === 'string') add(failures, `${what}Emails`, u.email);
  else add(failures, `${what}UserIds`, str(u.userId ?? ''));
}
