import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful HubSpot (CRM contacts v3, contact properties, lists v3) for contract and
 * end-to-end tests, written from HubSpot's documented contract (its spec is not licensed for reuse,
 * so there is no Prism here). It keeps contacts by record id with their properties, the property
 * definitions, and MANUAL lists with their members, and checks every request body the way HubSpot
 * does: a malformed body is answered 400 AND recorded in `violations` (tests expect none).
 *
 *   const hubspot = new HubSpotFake(TOKEN);
 *   server.handle(hubspot.handler);
 *   ... run the adapter ...
 *   expect(hubspot.contactBy('email', 'a@example.com')?.properties.firstname).toBe('Ada');
 *   expect(hubspot.memberEmails('vip')).toEqual(['a@example.com']);
 */
export interface FakeContact {
  id: string;
  properties: Record<string, string>;
  archived: boolean;
}

export interface FakeProperty {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  hasUniqueValue?: boolean;
  modificationMetadata?: { readOnlyValue: boolean; readOnlyDefinition: boolean; archivable: boolean };
  options?: unknown[];
}

export interface FakeList {
  listId: string;
  name: string;
  objectTypeId: string;
  processingType: string;
  members: Set<string>;
}

const STANDARD = ['email', 'firstname', 'lastname', 'phone', 'mobilephone', 'company', 'jobtitle', 'website', 'address', 'city', 'state', 'zip', 'country', 'lifecyclestage', 'hs_lead_status'];
const READ_ONLY = ['hs_object_id', 'createdate', 'lastmodifieddate'];
const TYPES = new Set(['string', 'number', 'date', 'datetime', 'enumeration', 'bool']);
const FIELD_TYPES = new Set(['text', 'textarea', 'number', 'date', 'booleancheckbox', 'checkbox', 'radio', 'select', 'phonenumber', 'calculation_equation', 'file', 'html']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NAME = /^[a-z][a-z0-9_]*$/;
const BATCH_LIMIT = 100;

const property = (name: string, extra: Partial<FakeProperty> = {}): FakeProperty => ({
  name,
  label: name,
  type: 'string',
  fieldType: 'text',
  groupName: 'contactinformation',
  hasUniqueValue: false,
  modificationMetadata: { readOnlyValue: READ_ONLY.includes(name), readOnlyDefinition: true, archivable: false },
  ...extra,
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const now = () => new Date().toISOString();

interface BatchError {
  status: 'error';
  category: string;
  message: string;
  context: Record<string, string[]>;
  errors?: { message: string; code?: string; in?: string }[];
}

export class HubSpotFake {
  readonly contacts = new Map<string, FakeContact>();
  readonly properties = new Map<string, FakeProperty>();
  readonly lists = new Map<string, FakeList>();
  /** request bodies that break HubSpot's contract (each was answered 400) */
  readonly violations: string[] = [];
  /** emails HubSpot refuses as invalid (beyond the shape check), to script per-contact failures */
  readonly rejectedEmails = new Set<string>();
  private nextId = 101;
  private nextListId = 7;

  constructor(
    readonly token: string,
    opts: { properties?: FakeProperty[] } = {},
  ) {
    for (const name of [...STANDARD, ...READ_ONLY]) this.properties.set(name, property(name));
    for (const p of opts.properties ?? []) this.properties.set(p.name, p);
  }

  /** A custom property definition (e.g. a unique id property). */
  static property(name: string, extra: Partial<FakeProperty> = {}): FakeProperty {
    return property(name, { groupName: 'custom', ...extra, modificationMetadata: { readOnlyValue: false, readOnlyDefinition: false, archivable: true } });
  }

  readonly handler: FakeHandler = (req) => this.handle(req);

  /** The unarchived contact whose `idProperty` is `value` (emails case-insensitively). */
  contactBy(idProperty: string, value: string): FakeContact | undefined {
    const norm = (v: string | undefined) => (idProperty === 'email' ? v?.toLowerCase() : v);
    return [...this.contacts.values()].find((c) => !c.archived && norm(c.properties[idProperty]) === norm(value));
  }

  /** The live (unarchived) contacts' emails, sorted. */
  emails(): string[] {
    return [...this.contacts.values()]
      .filter((c) => !c.archived)
      .map((c) => c.properties.email ?? '')
      .sort();
  }

  /** A list by name (case-insensitively). */
  list(name: string): FakeList | undefined {
    return [...this.lists.values()].find((l) => l.name.toLowerCase() === name.toLowerCase());
  }

  /** The emails of a list's members, sorted. */
  memberEmails(listName: string): string[] {
    const list = this.list(listName);
    return list ? [...list.members].map((id) => this.contacts.get(id)?.properties.email ?? `#${id}`).sort() : [];
  }

  /** Adds a contact as if it was created in HubSpot (returns its record id). */
  seedContact(properties: Record<string, string>): string {
    const id = String(this.nextId++);
    this.contacts.set(id, { id, properties: { ...properties, hs_object_id: id }, archived: false });
    return id;
  }

  /** Adds a list as if it was created in HubSpot (returns its id). */
  seedList(name: string, processingType = 'MANUAL'): string {
    const listId = String(this.nextListId++);
    this.lists.set(listId, { listId, name, objectTypeId: '0-1', processingType, members: new Set() });
    return listId;
  }

  private handle(req: RecordedRequest): ScriptedResponse {
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return { status: 401, body: { status: 'error', message: 'Authentication credentials not found.', category: 'INVALID_AUTHENTICATION', correlationId: 'c-401' } };
    }
    const { method, path } = req;
    if (path === '/crm/v3/properties/contacts') {
      if (method === 'GET') return { status: 200, body: { results: [...this.properties.values()] } };
      if (method === 'POST') return this.createProperty(req);
    }
    const batch = /^\/crm\/v3\/objects\/contacts\/batch\/(upsert|read|update|archive)$/.exec(path);
    if (batch && method === 'POST') {
      const body = this.body(req);
      if (!isObject(body) || !Array.isArray(body.inputs)) return this.violation('the body needs an inputs array');
      if (body.inputs.length > BATCH_LIMIT) return this.violation(`at most ${BATCH_LIMIT} inputs per batch (got ${body.inputs.length})`);
      if (body.inputs.length === 0) return this.violation('inputs is empty');
      switch (batch[1]) {
        case 'upsert':
          return this.upsert(body.inputs);
        case 'read':
          return this.read(body);
        case 'update':
          return this.update(body.inputs);
        default:
          return this.archive(body.inputs);
      }
    }
    const byName = /^\/crm\/v3\/lists\/object-type-id\/([^/]+)\/name\/([^/]+)$/.exec(path);
    if (byName && method === 'GET') {
      const list = this.list(decodeURIComponent(byName[2]));
      if (!list || list.objectTypeId !== byName[1]) return { status: 404, body: { status: 'error', message: `List does not exist with name ${decodeURIComponent(byName[2])}`, category: 'OBJECT_NOT_FOUND' } };
      return { status: 200, body: { list: this.listBody(list) } };
    }
    if (path === '/crm/v3/lists' && method === 'POST') return this.createList(req);
    const membership = /^\/crm\/v3\/lists\/(\d+)\/memberships\/(add|remove)$/.exec(path);
    if (membership && method === 'PUT') return this.membership(membership[1], membership[2] as 'add' | 'remove', req);
    const listById = /^\/crm\/v3\/lists\/(\d+)$/.exec(path);
    if (listById && method === 'GET') {
      const list = this.lists.get(listById[1]);
      return list ? { status: 200, body: { list: this.listBody(list) } } : { status: 404, body: { status: 'error', message: 'List does not exist', category: 'OBJECT_NOT_FOUND' } };
    }
    return { status: 404, body: { status: 'error', message: `no route ${method} ${path}`, category: 'OBJECT_NOT_FOUND' } };
  }

  private body(req: RecordedRequest): unknown {
    const type = String(req.headers['content-type'] ?? '');
    if (!type.includes('application/json')) {
      this.violations.push(`${req.method} ${req.path}: content-type ${type || '(none)'}, not application/json`);
      return undefined;
    }
    return req.json;
  }

  private violation(message: string): ScriptedResponse {
    this.violations.push(message);
    return { status: 400, body: { status: 'error', message, category: 'VALIDATION_ERROR', correlationId: 'c-400' } };
  }

  /** Property values problems of one input: unknown or read-only properties, bad emails, non-text values. */
  private propertyErrors(properties: unknown, idProperty?: string, id?: string): { message: string; code: string; name: string }[] | 'malformed' {
    if (!isObject(properties)) return 'malformed';
    const problems: { message: string; code: string; name: string }[] = [];
    for (const [name, value] of Object.entries(properties)) {
      if (typeof value !== 'string') return 'malformed';
      const p = this.properties.get(name);
      if (!p) problems.push({ name, code: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
      else if (p.modificationMetadata?.readOnlyValue) problems.push({ name, code: 'READ_ONLY_VALUE', message: `"${name}" is a read only property; its value cannot be set.` });
      else if (p.type === 'number' && value !== '' && !Number.isFinite(Number(value))) problems.push({ name, code: 'INVALID_NUMBER', message: `${value} was not a valid number.` });
    }
    const email = idProperty === 'email' ? id : (properties.email as string | undefined);
    if (email !== undefined && email !== '' && (!EMAIL.test(email) || this.rejectedEmails.has(email.toLowerCase()))) {
      problems.push({ name: 'email', code: 'INVALID_EMAIL', message: `Email address ${email} is invalid` });
    }
    return problems;
  }

  private invalidProperties(problems: { message: string; code: string; name: string }[], context: Record<string, string[]>): BatchError {
    return {
      status: 'error',
      category: 'VALIDATION_ERROR',
      message: `Property values were not valid: ${JSON.stringify(problems.map((p) => ({ isValid: false, message: p.message, error: p.code, name: p.name })))}`,
      context,
      errors: problems.map((p) => ({ message: p.message, code: p.code, in: p.name })),
    };
  }

  private answer(results: unknown[], errors: BatchError[]): ScriptedResponse {
    const times = { requestedAt: now(), startedAt: now(), completedAt: now() };
    if (errors.length === 0) return { status: 200, body: { status: 'COMPLETE', results, ...times } };
    return { status: 207, body: { status: 'COMPLETE', results, numErrors: errors.length, errors, ...times } };
  }

  private record(c: FakeContact, isNew?: boolean, trace?: string) {
    return { id: c.id, properties: { ...c.properties }, createdAt: now(), updatedAt: now(), archived: false, ...(isNew === undefined ? {} : { new: isNew }), ...(trace ? { objectWriteTraceId: trace } : {}) };
  }

  private upsert(inputs: unknown[]): ScriptedResponse {
    const seen = new Set<string>();
    for (const input of inputs) {
      if (!isObject(input) || typeof input.id !== 'string' || !isObject(input.properties)) return this.violation('each upsert input needs id (string) and properties (object)');
      if (input.idProperty !== undefined && typeof input.idProperty !== 'string') return this.violation('idProperty must be a string');
      if (input.objectWriteTraceId !== undefined && typeof input.objectWriteTraceId !== 'string') return this.violation('objectWriteTraceId must be a string');
      const idProperty = (input.idProperty) ?? 'hs_object_id';
      const key = idProperty === 'email' ? input.id.toLowerCase() : input.id;
      if (seen.has(`${idProperty}:${key}`)) return { status: 400, body: { status: 'error', message: `Duplicate IDs found in batch input: [${input.id}]. IDs must be unique`, category: 'VALIDATION_ERROR', context: { ids: [input.id] } } };
      seen.add(`${idProperty}:${key}`);
      const p = this.properties.get(idProperty);
      if (!p || (idProperty !== 'email' && !p.hasUniqueValue)) return { status: 400, body: { status: 'error', message: `Unable to perform update/upsert by non-unique 0-1 property ${idProperty}`, category: 'VALIDATION_ERROR' } };
    }
    const results: unknown[] = [];
    const errors: BatchError[] = [];
    for (const input of inputs as { id: string; idProperty: string; properties: Record<string, string>; objectWriteTraceId?: string }[]) {
      const context: Record<string, string[]> = input.objectWriteTraceId ? { objectWriteTraceId: [input.objectWriteTraceId] } : { ids: [input.id] };
      const problems = this.propertyErrors(input.properties, input.idProperty, input.id);
      if (problems === 'malformed') return this.violation('property values must be strings');
      if (problems.length > 0) {
        errors.push(this.invalidProperties(problems, context));
        continue;
      }
      let contact = this.contactBy(input.idProperty, input.id);
      const isNew = !contact;
      if (!contact) {
        const id = String(this.nextId++);
        contact = { id, properties: { hs_object_id: id, [input.idProperty]: input.idProperty === 'email' ? input.id.toLowerCase() : input.id }, archived: false };
        this.contacts.set(id, contact);
      }
      Object.assign(contact.properties, input.properties);
      results.push(this.record(contact, isNew, input.objectWriteTraceId));
    }
    return this.answer(results, errors);
  }

  private read(body: Record<string, unknown>): ScriptedResponse {
    if (!Array.isArray(body.properties) || !Array.isArray(body.propertiesWithHistory)) return this.violation('batch read needs properties and propertiesWithHistory arrays');
    const idProperty = typeof body.idProperty === 'string' ? body.idProperty : 'hs_object_id';
    const wanted = body.properties as string[];
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const input of body.inputs as unknown[]) {
      if (!isObject(input) || typeof input.id !== 'string') return this.violation('each read input needs id (string)');
      const c = idProperty === 'hs_object_id' ? this.live(input.id) : this.contactBy(idProperty, input.id);
      if (!c) {
        missing.push(input.id);
        continue;
      }
      const properties = Object.fromEntries([...wanted, 'hs_object_id'].map((n) => [n, c.properties[n] ?? null]));
      results.push({ id: c.id, properties, createdAt: now(), updatedAt: now(), archived: false });
    }
    const errors: BatchError[] = missing.length
      ? [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.', context: { ids: missing } }]
      : [];
    return this.answer(results, errors);
  }

  private update(inputs: unknown[]): ScriptedResponse {
    const results: unknown[] = [];
    const errors: BatchError[] = [];
    for (const input of inputs) {
      if (!isObject(input) || typeof input.id !== 'string' || !isObject(input.properties)) return this.violation('each update input needs id (string) and properties (object)');
      const trace = typeof input.objectWriteTraceId === 'string' ? input.objectWriteTraceId : undefined;
      const context: Record<string, string[]> = trace ? { objectWriteTraceId: [trace] } : { ids: [input.id] };
      const c = this.live(input.id);
      if (!c) {
        errors.push({ status: 'error', category: 'OBJECT_NOT_FOUND', message: `Object not found. objectId are usually numeric.`, context: { ids: [input.id] } });
        continue;
      }
      const problems = this.propertyErrors(input.properties);
      if (problems === 'malformed') return this.violation('property values must be strings');
      if (problems.length > 0) {
        errors.push(this.invalidProperties(problems, context));
        continue;
      }
      Object.assign(c.properties, input.properties);
      results.push(this.record(c, undefined, trace));
    }
    return this.answer(results, errors);
  }

  private archive(inputs: unknown[]): ScriptedResponse {
    for (const input of inputs) if (!isObject(input) || typeof input.id !== 'string') return this.violation('each archive input needs id (string)');
    for (const { id } of inputs as { id: string }[]) {
      const c = this.contacts.get(id);
      if (!c) continue;
      c.archived = true;
      for (const list of this.lists.values()) list.members.delete(id);
    }
    return { status: 204 };
  }

  private live(id: string): FakeContact | undefined {
    const c = this.contacts.get(id);
    return c && !c.archived ? c : undefined;
  }

  private createProperty(req: RecordedRequest): ScriptedResponse {
    const body = this.body(req);
    if (!isObject(body)) return this.violation('property definition must be an object');
    const { name, label, type, fieldType, groupName, options } = body;
    if (typeof name !== 'string' || !NAME.test(name)) return this.violation(`property name ${String(name)} is not an internal name`);
    if (typeof label !== 'string' || label === '') return this.violation('property label is required');
    if (typeof type !== 'string' || !TYPES.has(type)) return this.violation(`property type ${String(type)} is not one of ${[...TYPES].join(', ')}`);
    if (typeof fieldType !== 'string' || !FIELD_TYPES.has(fieldType)) return this.violation(`fieldType ${String(fieldType)} is not valid`);
    if (typeof groupName !== 'string' || groupName === '') return this.violation('groupName is required');
    if ((type === 'bool' || type === 'enumeration') && (!Array.isArray(options) || options.length === 0)) return this.violation(`a ${type} property needs options`);
    if (this.properties.has(name)) return { status: 409, body: { status: 'error', message: `A property named '${name}' already exists.`, category: 'OBJECT_ALREADY_EXISTS' } };
    const created = HubSpotFake.property(name, { label, type, fieldType, groupName, ...(Array.isArray(options) ? { options } : {}) });
    this.properties.set(name, created);
    return { status: 201, body: created };
  }

  private listBody(l: FakeList) {
    return { listId: l.listId, name: l.name, objectTypeId: l.objectTypeId, processingType: l.processingType, processingStatus: 'COMPLETE', listVersion: 1, size: l.members.size };
  }

  private createList(req: RecordedRequest): ScriptedResponse {
    const body = this.body(req);
    if (!isObject(body) || typeof body.name !== 'string' || body.name === '') return this.violation('a list needs a name');
    if (typeof body.objectTypeId !== 'string') return this.violation('a list needs an objectTypeId');
    if (!['MANUAL', 'SNAPSHOT', 'DYNAMIC'].includes(String(body.processingType))) return this.violation('processingType is MANUAL, SNAPSHOT or DYNAMIC');
    if (body.processingType === 'DYNAMIC' && !isObject(body.filterBranch)) return this.violation('a DYNAMIC list needs a filterBranch');
    if (this.list(body.name)) return { status: 400, body: { status: 'error', message: `A list named ${body.name} already exists`, category: 'VALIDATION_ERROR' } };
    const listId = this.seedList(body.name, body.processingType as string);
    this.lists.get(listId)!.objectTypeId = body.objectTypeId;
    return { status: 200, body: { list: this.listBody(this.lists.get(listId)!) } };
  }

  private membership(listId: string, change: 'add' | 'remove', req: RecordedRequest): ScriptedResponse {
    const list = this.lists.get(listId);
    if (!list) return { status: 404, body: { status: 'error', message: `List ${listId} does not exist`, category: 'OBJECT_NOT_FOUND' } };
    const body = this.body(req);
    if (!Array.isArray(body) || !body.every((id) => typeof id === 'string' && /^\d+$/.test(id))) return this.violation('memberships take a JSON array of record ids');
    if (list.processingType !== 'MANUAL' && list.processingType !== 'SNAPSHOT') {
      return { status: 400, body: { status: 'error', message: `List ${listId} has processingType ${list.processingType}; memberships can only be changed on MANUAL or SNAPSHOT lists`, category: 'VALIDATION_ERROR' } };
    }
    const done: string[] = [];
    const missing: string[] = [];
    for (const id of body as string[]) {
      if (!this.live(id)) missing.push(id);
      else if (change === 'add' ? !list.members.has(id) : list.members.has(id)) {
        if (change === 'add') list.members.add(id);
        else list.members.delete(id);
        done.push(id);
      }
    }
    return { status: 200, body: change === 'add' ? { recordIdsAdded: done, recordIdsMissing: missing } : { recordIdsRemoved: done, recordIdsMissing: missing } };
  }
}
