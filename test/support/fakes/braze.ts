import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful Braze REST API for contract and end-to-end tests. Braze publishes no OpenAPI
 * spec (only a Postman collection), so the fake itself checks requests against the documented
 * contract (Track users, Delete users, the user attributes object, API limits) and keeps what it
 * finds wrong in `violations`; tests assert it stays empty.
 *
 * - `POST /users/track` with `attributes` (≤ 75 objects): each object finds its user by
 *   `external_id`, `user_alias` or `braze_id`, else `email` (the most recently updated identified
 *   user, else the most recently updated user), else `phone`; creates one unless
 *   `_update_existing_only` (true by default for a `user_alias`); sets each attribute (null removes
 *   it, `{add: […]}` / `{remove: […]}` change an array, `{inc: n}` increments). Objects it rejects
 *   (no identifier, a bad email, `rejectObject`) come back in `errors` as `{type, input_array, index}`
 *   under `"message": "success"`, like Braze's non-fatal errors; the others are applied.
 * - `POST /users/track` with `events` (the objects of all arrays together ≤ 75): each event finds
 *   its user like an attributes object does (attributes are applied first), creates one unless
 *   `_update_existing_only`, and is appended to `events` as it is (Braze keeps every event it gets:
 *   the same event sent twice is there twice). Events it rejects (no name, no identifier, a time
 *   that is not ISO 8601, `rejectEvent`) come back in `errors` with `input_array: "events"`.
 * - `POST /users/delete` with one of `external_ids`, `user_aliases`, `braze_ids`,
 *   `email_addresses` (`{email, prioritization}`) (≤ 50) → `{deleted, message}`.
 *
 * Every answer carries `X-RateLimit-Limit/Remaining/Reset`. A key other than `apiKey` gets 401.
 *
 *   const braze = new FakeBraze();
 *   upstream.handle(braze.handle);
 *   ... run a sync ...
 *   expect(braze.user('u1')?.attributes).toEqual({ first_name: 'Ann', cdp_vip: true });
 */
export interface FakeBrazeUser {
  braze_id: string;
  external_id?: string;
  user_alias?: { alias_name: string; alias_label: string };
  email?: string;
  phone?: string;
  /** standard and custom attributes other than the identifiers */
  attributes: Record<string, unknown>;
  /** when the user last changed (a counter): Braze's `most_recently_updated` */
  updated: number;
}

/** One event as Braze recorded it, in the order received. */
export interface FakeBrazeEvent {
  /** the user's braze_id */
  user: string;
  external_id?: string;
  email?: string;
  name: string;
  time: string;
  app_id?: string;
  properties: Record<string, unknown>;
}

const TRACK_KEYS = new Set(['attributes', 'events', 'purchases']);
const EVENT_KEYS = new Set(['external_id', 'user_alias', 'braze_id', 'email', 'phone', 'app_id', 'name', 'time', 'properties', '_update_existing_only']);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const DELETE_KINDS = ['external_ids', 'user_aliases', 'braze_ids', 'email_addresses', 'phone_numbers'] as const;
const PRIORITIES = new Set(['identified', 'unidentified', 'most_recently_updated', 'least_recently_updated']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NO_IDENTIFIER = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required";

export class FakeBraze {
  readonly users = new Map<string, FakeBrazeUser>();
  /** every event recorded, in the order received (duplicates included: Braze does not deduplicate) */
  readonly events: FakeBrazeEvent[] = [];
  readonly violations: string[] = [];
  /** the only key accepted */
  apiKey = 'braze-test-key';
  /** a reason to reject one attributes object (a non-fatal error), or undefined */
  rejectObject: (object: Record<string, unknown>) => string | undefined = () => undefined;
  /** a reason to reject one event object (a non-fatal error), or undefined */
  rejectEvent: (event: Record<string, unknown>) => string | undefined = () => undefined;
  /** the `/users/track` requests answered (for tests counting calls) */
  tracked = 0;

  private seq = 0;
  private clock = 0;

  readonly handle: FakeHandler = (req) => this.route(req);

  /** The user with this identifier value (external_id by default), if any. */
  user(value: string, by: 'external_id' | 'email' | 'phone' | 'braze_id' | 'alias_name' = 'external_id'): FakeBrazeUser | undefined {
    return [...this.users.values()].find((u) => (by === 'alias_name' ? u.user_alias?.alias_name === value : u[by] === value));
  }

  /** The events recorded for a user (by external_id, else email), as `name` in order, or with their properties. */
  eventsOf(value: string): FakeBrazeEvent[] {
    return this.events.filter((e) => e.external_id === value || (e.external_id === undefined && e.email === value));
  }

  /** Adds a user as if Braze had it already. */
  addUser(user: Omit<FakeBrazeUser, 'braze_id' | 'updated' | 'attributes'> & { attributes?: Record<string, unknown> }): FakeBrazeUser {
    const created: FakeBrazeUser = { ...user, attributes: { ...(user.attributes ?? {}) }, braze_id: this.nextId(), updated: ++this.clock };
    this.users.set(created.braze_id, created);
    return created;
  }

  private nextId(): string {
    this.seq += 1;
    return `5f${String(this.seq).padStart(22, '0')}`;
  }

  private route(req: RecordedRequest): ScriptedResponse {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return answer(401, { message: 'Invalid API key: [redacted]' });
    if (req.method !== 'POST') return this.violation(req, `method ${req.method}: Braze's user endpoints are POST`, 405);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) this.violations.push(`${req.path}: content-type ${req.headers['content-type']} (Braze wants application/json)`);
    if (!req.json || typeof req.json !== 'object' || Array.isArray(req.json)) return this.violation(req, 'the body is not a JSON object', 400);
    if (req.path === '/users/track') return this.track(req.json as Record<string, unknown>, req);
    if (req.path === '/users/delete') return this.delete(req.json as Record<string, unknown>, req);
    return this.violation(req, 'not an endpoint the fake knows', 404);
  }

  private violation(req: RecordedRequest, what: string, status: number): ScriptedResponse {
    this.violations.push(`${req.method} ${req.path}: ${what}`);
    return answer(status, { message: what });
  }

  private track(body: Record<string, unknown>, req: RecordedRequest): ScriptedResponse {
    this.tracked += 1;
    for (const key of Object.keys(body)) if (!TRACK_KEYS.has(key)) this.violations.push(`/users/track: unknown key "${key}"`);
    const objects = body.attributes ?? [];
    const events = body.events ?? [];
    if (!Array.isArray(objects) || !Array.isArray(events) || objects.length + events.length === 0) {
      return this.violation(req, "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.", 400);
    }
    const total = objects.length + events.length + (Array.isArray(body.purchases) ? body.purchases.length : 0);
    if (total > 75) return this.violation(req, `${total} objects: at most 75 per request (attributes, events and purchases together)`, 400);
    const errors: { type: string; input_array: 'attributes' | 'events'; index: number }[] = [];
    objects.forEach((object: unknown, index) => {
      const reason = this.apply(object);
      if (reason) errors.push({ type: reason, input_array: 'attributes', index });
    });
    events.forEach((event: unknown, index) => {
      const reason = this.record(event);
      if (reason) errors.push({ type: reason, input_array: 'events', index });
    });
    const processed = {
      ...(objects.length ? { attributes_processed: objects.length - errors.filter((e) => e.input_array === 'attributes').length } : {}),
      ...(events.length ? { events_processed: events.length - errors.filter((e) => e.input_array === 'events').length } : {}),
    };
    return answer(201, { message: 'success', ...processed, ...(errors.length ? { errors } : {}) });
  }

  /** Records one event object (its user found or created); returns Braze's reason when it rejects it. */
  private record(raw: unknown): string | undefined {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'event objects must be objects';
    const o = raw as Record<string, unknown>;
    for (const key of Object.keys(o)) if (!EVENT_KEYS.has(key)) this.violations.push(`/users/track: unknown event object key "${key}"`);
    const ids = ['external_id', 'user_alias', 'braze_id'].filter((k) => o[k] !== undefined);
    if (ids.length > 1) this.violations.push(`/users/track: an event with ${ids.join(' and ')} (one identifier per object)`);
    if (ids.length === 0 && typeof o.email !== 'string' && typeof o.phone !== 'string') return NO_IDENTIFIER;
    if (typeof o.name !== 'string' || o.name === '') return "'name' is required for events";
    if (typeof o.time !== 'string' || !ISO_8601.test(o.time) || Number.isNaN(Date.parse(o.time))) return "'time' must be an ISO 8601 date-time";
    if (o.properties !== undefined && (typeof o.properties !== 'object' || o.properties === null || Array.isArray(o.properties))) this.violations.push('/users/track: event properties must be an object');
    const properties = o.properties && typeof o.properties === 'object' ? o.properties : {};
    for (const key of Object.keys(properties)) if (key.startsWith('$')) this.violations.push(`/users/track: event property "${key}" starts with $`);
    if (o.app_id !== undefined && typeof o.app_id !== 'string') this.violations.push('/users/track: app_id must be a string');
    const rejected = this.rejectEvent(o);
    if (rejected) return rejected;
    let user = this.find(o);
    if (!user) {
      if (o._update_existing_only === true) return undefined;
      user = { braze_id: this.nextId(), attributes: {}, updated: ++this.clock };
      for (const key of ['external_id', 'user_alias', 'email', 'phone'] as const) if (o[key] !== undefined) (user as unknown as Record<string, unknown>)[key] = o[key];
      this.users.set(user.braze_id, user);
    }
    this.events.push({
      user: user.braze_id,
      ...(user.external_id ? { external_id: user.external_id } : {}),
      ...(user.email ? { email: user.email } : {}),
      name: o.name,
      time: o.time,
      ...(typeof o.app_id === 'string' ? { app_id: o.app_id } : {}),
      properties: (o.properties ?? {}) as Record<string, unknown>,
    });
    return undefined;
  }

  /** Applies one attributes object; returns Braze's reason when it rejects it. */
  private apply(raw: unknown): string | undefined {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'attributes objects must be objects';
    const o = raw as Record<string, unknown>;
    const ids = ['external_id', 'user_alias', 'braze_id'].filter((k) => o[k] !== undefined);
    if (ids.length > 1) this.violations.push(`/users/track: an object with ${ids.join(' and ')} (one identifier per object)`);
    const alias = o.user_alias as { alias_name?: unknown; alias_label?: unknown } | null | undefined;
    if (alias !== undefined && (typeof alias?.alias_name !== 'string' || typeof alias.alias_label !== 'string')) return 'user_alias must have alias_name and alias_label';
    if (o._update_existing_only !== undefined && typeof o._update_existing_only !== 'boolean') this.violations.push('/users/track: _update_existing_only must be a boolean');
    if (ids.length === 0 && typeof o.email !== 'string' && typeof o.phone !== 'string') return NO_IDENTIFIER;
    if (typeof o.email === 'string' && !EMAIL.test(o.email)) return `Invalid email: ${o.email}`;
    if (typeof o.phone === 'string' && !/^\+[1-9]\d{6,14}$/.test(o.phone)) this.violations.push(`/users/track: phone ${o.phone} is not E.164`);
    const rejected = this.rejectObject(o);
    if (rejected) return rejected;

    let user = this.find(o);
    const updateOnly = o._update_existing_only ?? (o.user_alias !== undefined && ids.length === 1);
    if (!user) {
      if (updateOnly === true) return undefined;
      user = { braze_id: this.nextId(), attributes: {}, updated: 0 };
      this.users.set(user.braze_id, user);
    }
    for (const [key, value] of Object.entries(o)) {
      if (key === '_update_existing_only' || key === 'braze_id') continue;
      if (key === 'external_id' || key === 'user_alias' || key === 'email' || key === 'phone') {
        if (value === null) delete user[key];
        else (user as unknown as Record<string, unknown>)[key] = value;
        continue;
      }
      this.setAttribute(user, key, value);
    }
    user.updated = ++this.clock;
    return undefined;
  }

  private setAttribute(user: FakeBrazeUser, key: string, value: unknown): void {
    if (value === null) return void delete user.attributes[key];
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const op = value as { add?: unknown; remove?: unknown; inc?: unknown };
      if (Array.isArray(op.add) || Array.isArray(op.remove)) {
        const current = Array.isArray(user.attributes[key]) ? (user.attributes[key] as unknown[]) : [];
        const removed = current.filter((v) => !(Array.isArray(op.remove) && op.remove.includes(v)));
        const added = Array.isArray(op.add) ? op.add : [];
        user.attributes[key] = [...removed.filter((v) => !added.includes(v)), ...added];
        return;
      }
      if (typeof op.inc === 'number') {
        user.attributes[key] = (typeof user.attributes[key] === 'number' ? user.attributes[key] : 0) + op.inc;
        return;
      }
    }
    user.attributes[key] = value;
  }

  private find(o: Record<string, unknown>): FakeBrazeUser | undefined {
    const users = [...this.users.values()];
    if (typeof o.external_id === 'string') return users.find((u) => u.external_id === o.external_id);
    if (o.user_alias) {
      const a = o.user_alias as { alias_name: string; alias_label: string };
      return users.find((u) => u.user_alias?.alias_name === a.alias_name && u.user_alias.alias_label === a.alias_label);
    }
    if (typeof o.braze_id === 'string') return this.users.get(o.braze_id);
    if (typeof o.email === 'string') return this.pick(users.filter((u) => u.email === o.email), ['identified', 'most_recently_updated']);
    if (typeof o.phone === 'string') return this.pick(users.filter((u) => u.phone === o.phone), ['identified', 'most_recently_updated']);
    return undefined;
  }

  /** Braze's `prioritization`: narrow by each rule in order; one user left, or none. */
  private pick(found: FakeBrazeUser[], prioritization: string[]): FakeBrazeUser | undefined {
    let left = found;
    for (const rule of prioritization) {
      if (left.length <= 1) break;
      if (rule === 'identified' && left.some((u) => u.external_id)) left = left.filter((u) => u.external_id);
      if (rule === 'unidentified' && left.some((u) => !u.external_id)) left = left.filter((u) => !u.external_id);
      if (rule === 'most_recently_updated') left = [left.reduce((a, b) => (b.updated > a.updated ? b : a))];
      if (rule === 'least_recently_updated') left = [left.reduce((a, b) => (b.updated < a.updated ? b : a))];
    }
    return left.length === 1 ? left[0] : undefined;
  }

  private delete(body: Record<string, unknown>, req: RecordedRequest): ScriptedResponse {
    const kinds = DELETE_KINDS.filter((k) => body[k] !== undefined);
    for (const key of Object.keys(body)) if (!(DELETE_KINDS as readonly string[]).includes(key)) this.violations.push(`/users/delete: unknown key "${key}"`);
    if (kinds.length !== 1) return this.violation(req, `exactly one of ${DELETE_KINDS.join(', ')} per request (got ${kinds.join(', ') || 'none'})`, 400);
    const kind = kinds[0];
    const list = body[kind];
    if (!Array.isArray(list) || list.length === 0 || list.length > 50) return this.violation(req, `${kind}: 1 to 50 identifiers`, 400);
    const users = [...this.users.values()];
    let deleted = 0;
    for (const item of list as unknown[]) {
      let user: FakeBrazeUser | undefined;
      if (kind === 'external_ids' && typeof item === 'string') user = users.find((u) => u.external_id === item);
      else if (kind === 'braze_ids' && typeof item === 'string') user = this.users.get(item);
      else if (kind === 'user_aliases') {
        const a = item as { alias_name?: unknown; alias_label?: unknown };
        if (typeof a?.alias_name !== 'string' || typeof a.alias_label !== 'string') return this.violation(req, 'user_aliases: objects with alias_name and alias_label', 400);
        user = users.find((u) => u.user_alias?.alias_name === a.alias_name && u.user_alias?.alias_label === a.alias_label);
      } else if (kind === 'email_addresses' || kind === 'phone_numbers') {
        const field = kind === 'email_addresses' ? 'email' : 'phone';
        const e = item as Record<string, unknown>;
        const prioritization = e?.prioritization;
        if (typeof e?.[field] !== 'string' || !Array.isArray(prioritization) || prioritization.length === 0 || !prioritization.every((p) => typeof p === 'string' && PRIORITIES.has(p))) {
          return this.violation(req, `${kind}: objects with ${field} and a prioritization (${[...PRIORITIES].join(', ')})`, 400);
        }
        if (prioritization.includes('identified') && prioritization.includes('unidentified')) return this.violation(req, `${kind}: identified and unidentified together`, 400);
        user = this.pick(
          users.filter((u) => u[field] === e[field]),
          prioritization as string[],
        );
      } else return this.violation(req, `${kind}: bad identifier ${JSON.stringify(item)}`, 400);
      if (user && this.users.delete(user.braze_id)) deleted += 1;
    }
    return answer(200, { deleted, message: 'success' });
  }
}

function answer(status: number, body: unknown): ScriptedResponse {
  const reset = Math.ceil(Date.now() / 1000) + 3;
  return { status, headers: { 'content-type': 'application/json', 'x-ratelimit-limit': '3000', 'x-ratelimit-remaining': '2999', 'x-ratelimit-reset': String(reset) }, body };
}
