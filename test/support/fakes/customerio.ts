import { z } from 'zod';
import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A stateful fake of the Customer.io endpoints the `customerio` destination calls: Track API
 * `POST /api/v2/batch` (person identify, delete and event), `POST /api/v1/segments/{id}/add_customers`
 * and `remove_customers`, `GET /api/v1/accounts/region`, and App API `GET`/`POST /v1/segments`. It
 * keeps what Customer.io would hold (people with their identifiers and attributes, manual segments
 * with their members, events in the order received and deduplicated on their id) and answers like
 * the Track API reference: 200 `{}`, or 207 with `{errors:[{batch_index, reason, field, message}]}`
 * for the operations it rejects.
 *
 * No spec for Customer.io can live in the repository (the only machine-readable one is a third-party
 * mirror of vendor content without a licence: reference §2, §4.4), so `trackApiContract` checks each
 * request against the documented shapes instead, written here from the Track and App API references.
 * The fake answers a request that breaks it with 400, as Customer.io does; tests call it on every
 * recorded request (`contractViolations`), scripted answers included.
 *
 *   const fake = new CustomerIoFake({ siteId, apiKey, appApiKey });
 *   server.handle(fake.handler);
 *   ... fake.person('ada@example.com')?.attributes; fake.members(segmentId); fake.eventsOf('u1')
 */
export interface CioPerson {
  cio_id: string;
  id?: string;
  email?: string;
  attributes: Record<string, unknown>;
}

/** One event as Customer.io holds it (deduplicated on `id`), in the order received. */
export interface CioEvent {
  /** the person's cio_id */
  person: string;
  id: string;
  name: string;
  timestamp?: number;
  attributes: Record<string, unknown>;
}

export interface CioSegment {
  id: number;
  name: string;
  type: 'manual' | 'dynamic';
  members: Set<CioPerson>;
}

// ---- the documented request shapes (Track API v2 batch and v1 segments, App API segments) ----

const nonEmpty = z.string().min(1);
/** Exactly one of id, email, phone, cio_id ("You cannot pass multiple identifiers"). */
const personIdentifiers = z.union([
  z.object({ id: nonEmpty }).strict(),
  z.object({ email: nonEmpty }).strict(),
  z.object({ phone: z.string().regex(/^\+\d{1,15}$/) }).strict(),
  z.object({ cio_id: nonEmpty }).strict(),
]);
const personIdentify = z.object({ type: z.literal('person'), identifiers: personIdentifiers, action: z.literal('identify'), timestamp: z.number().int().optional(), attributes: z.record(z.string(), z.unknown()).optional() }).strict();
const personDelete = z.object({ type: z.literal('person'), identifiers: personIdentifiers, action: z.literal('delete') }).strict();
const personEvent = z
  .object({
    type: z.literal('person'),
    identifiers: personIdentifiers,
    action: z.literal('event'),
    name: nonEmpty,
    id: nonEmpty.optional(),
    timestamp: z.number().int().optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
const batchBody = z.object({ batch: z.array(z.union([personIdentify, personDelete, personEvent])).min(1) }).strict();
const segmentBody = z.object({ ids: z.array(z.string()).min(1).max(1000) }).strict();
const createSegmentBody = z.object({ segment: z.object({ name: nonEmpty, description: z.string().optional() }).strict() }).strict();

const BATCH_LIMIT = 500_000;
const OPERATION_LIMIT = 32_000;

/** What a request breaks of the documented Customer.io contract (empty when it is fine). */
export function trackApiContract(req: RecordedRequest): string[] {
  const where = `${req.method} ${req.path}`;
  const issues = (schema: z.ZodType, body: unknown) => {
    const r = schema.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => `${where}: body.${i.path.join('.')} ${i.message}`);
  };
  const json = req.headers['content-type']?.startsWith('application/json') ? [] : [`${where}: content-type must be application/json`];
  const track = /^Basic \S+$/.test(String(req.headers.authorization)) ? [] : [`${where}: Track API requests use Basic auth (site_id:api_key)`];
  const app = /^Bearer \S+$/.test(String(req.headers.authorization)) ? [] : [`${where}: App API requests use a Bearer App API key`];
  if (req.method === 'POST' && req.path === '/api/v2/batch') {
    const out = [...track, ...json, ...issues(batchBody, req.json)];
    if (Buffer.byteLength(req.rawBody) >= BATCH_LIMIT) out.push(`${where}: the request is ${Buffer.byteLength(req.rawBody)} bytes; it must be smaller than 500 KB`);
    for (const [i, op] of ((req.json as { batch?: unknown[] } | undefined)?.batch ?? []).entries()) {
      if (Buffer.byteLength(JSON.stringify(op)) > OPERATION_LIMIT) out.push(`${where}: batch.${i} is larger than 32 KB`);
    }
    return out;
  }
  if (req.method === 'POST' && /^\/api\/v1\/segments\/\d+\/(add|remove)_customers$/.test(req.path)) {
    const idType = req.query.id_type === undefined || ['id', 'email', 'cio_id'].includes(req.query.id_type) ? [] : [`${where}: id_type must be id, email or cio_id`];
    return [...track, ...json, ...idType, ...issues(segmentBody, req.json)];
  }
  if (req.method === 'GET' && req.path === '/api/v1/accounts/region') return track;
  if (req.method === 'GET' && req.path === '/v1/segments') return app;
  if (req.method === 'POST' && req.path === '/v1/segments') return [...app, ...json, ...issues(createSegmentBody, req.json)];
  return [`${where}: not an endpoint the Customer.io adapter should call`];
}

/** The contract violations of every request a fake server received. */
export const contractViolations = (requests: RecordedRequest[]): string[] => requests.flatMap(trackApiContract);

// ---- the fake ----

const ok = (body: unknown = {}): ScriptedResponse => ({ status: 200, body });
const v1Error = (status: number, error: string): ScriptedResponse => ({ status, body: { meta: { error } } });
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

interface BatchError {
  batch_index: number;
  reason: string;
  field: string;
  message: string;
}

export class CustomerIoFake {
  readonly people: CioPerson[] = [];
  /** the events held, in the order received; an event whose id was seen before is dropped (counted in `duplicates`) */
  readonly events: CioEvent[] = [];
  duplicates = 0;
  readonly segments = new Map<number, CioSegment>();
  region: 'us' | 'eu' = 'us';
  private nextCioId = 0x3000001;
  private nextSegmentId = 11;

  constructor(readonly credentials: { siteId: string; apiKey: string; appApiKey?: string }) {}

  readonly handler: FakeHandler = (req) => this.answer(req);

  /** The person with this id, email or cio_id. */
  person(idEmailOrCioId: string): CioPerson | undefined {
    const v = idEmailOrCioId.replace(/^cio_/, '');
    return this.people.find((p) => p.id === idEmailOrCioId || p.email === idEmailOrCioId.toLowerCase() || p.cio_id === v);
  }

  /** The events of a person (by id, email or cio_id), in the order received. */
  eventsOf(idEmailOrCioId: string): CioEvent[] {
    const person = this.person(idEmailOrCioId);
    return person ? this.events.filter((e) => e.person === person.cio_id) : [];
  }

  /** A segment, as if made in Customer.io's UI. */
  addSegment(name: string, type: CioSegment['type'] = 'manual'): number {
    const id = this.nextSegmentId++;
    this.segments.set(id, { id, name, type, members: new Set() });
    return id;
  }

  /** The members of a segment, each as its id, else its email, sorted. */
  members(segmentId: number): string[] {
    return [...(this.segments.get(segmentId)?.members ?? [])].map((p) => p.id ?? p.email ?? `cio_${p.cio_id}`).sort();
  }

  private answer(req: RecordedRequest): ScriptedResponse {
    const violations = trackApiContract(req);
    const isApp = req.path.startsWith('/v1/');
    const expected = isApp
      ? `Bearer ${this.credentials.appApiKey ?? ''}`
      : `Basic ${Buffer.from(`${this.credentials.siteId}:${this.credentials.apiKey}`).toString('base64')}`;
    if (req.headers.authorization !== expected || (isApp && !this.credentials.appApiKey)) return { status: 401, body: isApp ? { errors: [{ detail: 'Unauthorized' }] } : 'Unauthorized request' };
    if (violations.length > 0) return { status: 400, body: { errors: violations.map((message) => ({ reason: 'invalid', field: '', message })) } };

    if (req.path === '/api/v1/accounts/region') {
      return ok({ url: this.region === 'us' ? 'https://track.customer.io' : 'https://track-eu.customer.io', region: this.region, environment_id: 3 });
    }
    if (req.path === '/api/v2/batch') return this.batch((req.json as { batch: Record<string, unknown>[] }).batch);
    const seg = /^\/api\/v1\/segments\/(\d+)\/(add|remove)_customers$/.exec(req.path);
    if (seg) return this.segmentChange(Number(seg[1]), seg[2] as 'add' | 'remove', (req.query.id_type ?? 'id') as 'id' | 'email' | 'cio_id', (req.json as { ids: string[] }).ids);
    if (req.method === 'GET' && req.path === '/v1/segments') {
      return ok({ segments: [...this.segments.values()].map((s) => ({ id: s.id, name: s.name, type: s.type, description: '', state: 'finished', progress: null, tags: null })) });
    }
    if (req.method === 'POST' && req.path === '/v1/segments') {
      const { name, description } = (req.json as { segment: { name: string; description?: string } }).segment;
      const id = this.addSegment(name);
      return ok({ segment: { id, name, description: description ?? '', type: 'manual', state: 'finished', progress: null, tags: null } });
    }
    return v1Error(404, 'Not found');
  }

  /** Identify and delete operations in order; the rejected ones are listed in a 207. */
  private batch(operations: Record<string, unknown>[]): ScriptedResponse {
    const errors: BatchError[] = [];
    operations.forEach((op, batch_index) => {
      const problem = op.action === 'delete' ? this.delete(op) : op.action === 'event' ? this.event(op) : this.identify(op);
      if (problem) errors.push({ batch_index, ...problem });
    });
    return errors.length > 0 ? { status: 207, body: { errors } } : ok();
  }

  private find(identifiers: Record<string, string>): CioPerson | undefined {
    if (identifiers.cio_id !== undefined) return this.people.find((p) => p.cio_id === identifiers.cio_id);
    if (identifiers.id !== undefined) return this.people.find((p) => p.id === identifiers.id);
    if (identifiers.email !== undefined) return this.people.find((p) => p.email === identifiers.email.toLowerCase());
    return undefined;
  }

  /** Add or update a person; id and email in the attributes change those identifiers (unless another person has them). */
  private identify(op: Record<string, unknown>): Omit<BatchError, 'batch_index'> | undefined {
    const identifiers = op.identifiers as Record<string, string>;
    const { _update, id, email, ...attributes } = (op.attributes ?? {}) as Record<string, unknown>;
    if (identifiers.phone !== undefined) return { reason: 'invalid', field: 'identifiers.phone', message: 'phone is not an identifier in this workspace' };
    if (identifiers.email !== undefined && !EMAIL.test(identifiers.email)) return { reason: 'invalid', field: 'identifiers.email', message: 'not a valid email address' };
    if (typeof email === 'string' && !EMAIL.test(email)) return { reason: 'invalid', field: 'attributes.email', message: 'not a valid email address' };
    if (Object.keys(attributes).length > 300) return { reason: 'too_many_attributes', field: 'attributes', message: 'at most 300 attributes per request' };
    for (const [k, v] of Object.entries(attributes)) {
      if (Buffer.byteLength(k) > 150) return { reason: 'too_long', field: `attributes.${k.slice(0, 20)}…`, message: 'attribute names are at most 150 bytes' };
      if (Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v ?? '')) > 1000) return { reason: 'too_long', field: `attributes.${k}`, message: 'attribute values are at most 1000 bytes' };
    }
    let person = this.find(identifiers);
    if (!person && identifiers.cio_id !== undefined) return { reason: 'not_found', field: 'identifiers.cio_id', message: 'no person with this cio_id' };
    if (typeof id === 'string' && this.people.some((p) => p !== person && p.id === id)) return { reason: 'conflict', field: 'attributes.id', message: 'another person has this id' };
    if (typeof email === 'string' && this.people.some((p) => p !== person && p.email === email.toLowerCase())) return { reason: 'conflict', field: 'attributes.email', message: 'another person has this email' };
    if (!person) {
      if (_update === true) return undefined; // update only: nobody to update, nothing happens
      person = { cio_id: (this.nextCioId++).toString(16), attributes: {} };
      if (identifiers.id !== undefined) person.id = identifiers.id;
      if (identifiers.email !== undefined) person.email = identifiers.email.toLowerCase();
      this.people.push(person);
    }
    if (typeof id === 'string') person.id = id;
    if (typeof email === 'string') person.email = email.toLowerCase();
    Object.assign(person.attributes, attributes);
    return undefined;
  }

  /**
   * Records an event on its person (created when unknown, except by cio_id). An `id` must be a ULID
   * (Customer.io rejects other values); an event whose id was received before is dropped.
   */
  private event(op: Record<string, unknown>): Omit<BatchError, 'batch_index'> | undefined {
    const identifiers = op.identifiers as Record<string, string>;
    const id = op.id as string | undefined;
    if (id !== undefined && !ULID.test(id)) return { reason: 'invalid', field: 'id', message: 'id must be a ULID' };
    if (identifiers.email !== undefined && !EMAIL.test(identifiers.email)) return { reason: 'invalid', field: 'identifiers.email', message: 'not a valid email address' };
    let person = this.find(identifiers);
    if (!person && identifiers.cio_id !== undefined) return { reason: 'not_found', field: 'identifiers.cio_id', message: 'no person with this cio_id' };
    if (id !== undefined && this.events.some((e) => e.id === id)) {
      this.duplicates += 1;
      return undefined;
    }
    if (!person) {
      person = { cio_id: (this.nextCioId++).toString(16), attributes: {} };
      if (identifiers.id !== undefined) person.id = identifiers.id;
      if (identifiers.email !== undefined) person.email = identifiers.email.toLowerCase();
      this.people.push(person);
    }
    this.events.push({
      person: person.cio_id,
      id: id ?? `generated-${this.events.length}`,
      name: op.name as string,
      ...(typeof op.timestamp === 'number' ? { timestamp: op.timestamp } : {}),
      attributes: (op.attributes ?? {}) as Record<string, unknown>,
    });
    return undefined;
  }

  /** Deleting someone who is not there succeeds (nothing to do). */
  private delete(op: Record<string, unknown>): undefined {
    const person = this.find(op.identifiers as Record<string, string>);
    if (!person) return undefined;
    this.people.splice(this.people.indexOf(person), 1);
    for (const s of this.segments.values()) s.members.delete(person);
    return undefined;
  }

  /**
   * Manual segments only. Values that match nobody are ignored (Customer.io ignores ids that do
   * not match `id_type`; this fake does the same for unknown people). Removing needs the person to
   * have an `id` (the reference: "This endpoint requires people to have id attributes").
   */
  private segmentChange(segmentId: number, change: 'add' | 'remove', idType: 'id' | 'email' | 'cio_id', ids: string[]): ScriptedResponse {
    const segment = this.segments.get(segmentId);
    if (!segment) return v1Error(404, `segment ${segmentId} not found`);
    if (segment.type !== 'manual') return v1Error(400, `segment ${segmentId} is not a manual segment`);
    for (const value of ids) {
      const person = this.find({ [idType]: value });
      if (!person) continue;
      if (change === 'add') segment.members.add(person);
      else if (person.id !== undefined) segment.members.delete(person);
    }
    return ok();
  }
}
