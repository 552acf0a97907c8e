import { parse } from 'csv-parse/sync';
import type { FakeHandler, RecordedRequest, ScriptedResponse } from '../fake-server';

/**
 * A small stateful Salesforce org for contract and end-to-end tests, written from Salesforce's
 * documented contract (there is no public OpenAPI spec, so no Prism): the OAuth refresh token flow,
 * sObject describe, SOQL `SELECT Id, f FROM o WHERE f IN (...)`, sObject Collections (insert, update,
 * upsert by external id, `allOrNone: false`) and Bulk API 2.0 ingest jobs (CSV in, result CSVs out,
 * in an order of their own as Salesforce does). It keeps records per object and the jobs, and checks
 * every request the way Salesforce does: a malformed one is answered 400 AND recorded in
 * `violations` (tests expect none).
 *
 *   const org = new SalesforceFake({ accessToken: TOKEN });
 *   server.handle(org.handler);
 *   ... run the adapter ...
 *   expect(org.recordBy('Contact', 'Customer_Id__c', 'C1')?.LastName).toBe('Lovelace');
 */
export interface FakeField {
  name: string;
  type: string;
  externalId?: boolean;
  /** for a reference field: the relationship's name and the object it points to */
  relationshipName?: string;
  referenceTo?: string;
  /** needed to create a record */
  required?: boolean;
}

export type FakeRecord = Record<string, string | number | boolean | null>;

export interface FakeJob {
  id: string;
  object: string;
  operation: string;
  externalIdFieldName?: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  csv?: string;
  polls: number;
  errorMessage?: string;
  processed: number;
  failed: number;
  successful: Record<string, string>[];
  failures: Record<string, string>[];
  unprocessed: Record<string, string>[];
  columns: string[];
}

const field = (name: string, type = 'string', extra: Partial<FakeField> = {}): FakeField => ({ name, type, ...extra });

/** Contact, Lead and Account with a few standard fields and an External ID field each. */
export const DEFAULT_OBJECTS: Record<string, { prefix: string; fields: FakeField[] }> = {
  Contact: {
    prefix: '003',
    fields: [
      field('Id', 'id'),
      field('FirstName'),
      field('LastName', 'string', { required: true }),
      field('Email', 'email'),
      field('Phone', 'phone'),
      field('MobilePhone', 'phone'),
      field('Title'),
      field('Birthdate', 'date'),
      field('HasOptedOutOfEmail', 'boolean'),
      field('AccountId', 'reference', { relationshipName: 'Account', referenceTo: 'Account' }),
      field('Customer_Id__c', 'string', { externalId: true }),
      field('Loyalty_Tier__c'),
      field('Lifetime_Value__c', 'double'),
    ],
  },
  Lead: { prefix: '00Q', fields: [field('Id', 'id'), field('FirstName'), field('LastName', 'string', { required: true }), field('Company', 'string', { required: true }), field('Email', 'email'), field('Lead_Key__c', 'string', { externalId: true })] },
  Account: { prefix: '001', fields: [field('Id', 'id'), field('Name', 'string', { required: true }), field('Account_Number__c', 'string', { externalId: true })] },
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const sfError = (errorCode: string, message: string, fields?: string[]) => ({ message, errorCode, ...(fields ? { fields } : {}) });

type Save = { id?: string; success: boolean; errors: { statusCode: string; message: string; fields: string[] }[]; created?: boolean };
/** A record's value of a field (named in any case), lowercased text, for duplicate checks. */
const keyOf = (r: Record<string, unknown>, name: string): string => {
  const v = Object.entries(r).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return typeof v === 'string' || typeof v === 'number' ? String(v).toLowerCase() : '';
};
const failure = (statusCode: string, message: string, fields: string[] = []): Save => ({ success: false, errors: [{ statusCode, message, fields }] });

export class SalesforceFake {
  readonly records = new Map<string, Map<string, FakeRecord>>();
  readonly jobs = new Map<string, FakeJob>();
  /** requests that break Salesforce's contract (each was answered 400) */
  readonly violations: string[] = [];
  /** access tokens the org accepts (the refresh token flow adds one per exchange) */
  readonly validTokens = new Set<string>();
  /** how many times a job is read as InProgress before it completes */
  pollsBeforeDone = 1;
  /** tokens issued by the refresh token flow, in order */
  readonly issued: string[] = [];
  readonly apiVersion: string;
  private readonly objects: Record<string, { prefix: string; fields: FakeField[] }>;
  private readonly oauth?: { clientId: string; clientSecret?: string; refreshToken: string };
  private seq = 1;

  constructor(opts: { accessToken?: string; oauth?: { clientId: string; clientSecret?: string; refreshToken: string }; apiVersion?: string; objects?: Record<string, { prefix: string; fields: FakeField[] }> } = {}) {
    if (opts.accessToken) this.validTokens.add(opts.accessToken);
    this.oauth = opts.oauth;
    this.apiVersion = opts.apiVersion ?? 'v62.0';
    this.objects = opts.objects ?? DEFAULT_OBJECTS;
    for (const name of Object.keys(this.objects)) this.records.set(name, new Map());
  }

  readonly handler: FakeHandler = (req) => this.handle(req);

  /** Every session ends (as when a token expires): the next request gets 401 INVALID_SESSION_ID. */
  expireSessions(): void {
    this.validTokens.clear();
  }

  /** The records of an object, in creation order. */
  all(object: string): FakeRecord[] {
    return [...(this.records.get(this.objectNamed(object) ?? object)?.values() ?? [])];
  }

  recordBy(object: string, fieldName: string, value: string): FakeRecord | undefined {
    return this.all(object).find((r) => String(r[fieldName] ?? '').toLowerCase() === value.toLowerCase());
  }

  /** Adds a record as if it was created in Salesforce (returns its Id). */
  seed(object: string, values: FakeRecord): string {
    const id = this.newId(object);
    this.records.get(object)!.set(id, { Id: id, ...values });
    return id;
  }

  private newId(object: string): string {
    return `${this.objects[object].prefix}${String(this.seq++).padStart(12, '0')}AAA`;
  }

  private handle(req: RecordedRequest): ScriptedResponse {
    if (req.method === 'POST' && req.path === '/services/oauth2/token') return this.token(req);
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!token || !this.validTokens.has(token)) return { status: 401, body: [sfError('INVALID_SESSION_ID', 'Session expired or invalid')] };
    const prefix = `/services/data/${this.apiVersion}`;
    if (!req.path.startsWith(prefix)) return { status: 404, body: [sfError('NOT_FOUND', 'The requested resource does not exist')] };
    const path = req.path.slice(prefix.length);
    if (path === '/' || path === '') return { status: 200, body: { sobjects: `${prefix}/sobjects`, query: `${prefix}/query`, jobs: `${prefix}/jobs` } };
    let m = /^\/sobjects\/([^/]+)\/describe$/.exec(path);
    if (m && req.method === 'GET') return this.describe(decodeURIComponent(m[1]));
    if (path === '/query' && req.method === 'GET') return this.query(req.query.q ?? '');
    m = /^\/composite\/sobjects(?:\/([^/]+)\/([^/]+))?$/.exec(path);
    if (m) return this.collection(req, m[1] && decodeURIComponent(m[1]), m[2] && decodeURIComponent(m[2]));
    if (path === '/jobs/ingest' && req.method === 'POST') return this.createJob(req);
    m = /^\/jobs\/ingest\/([^/]+)(\/batches|\/successfulResults|\/failedResults|\/unprocessedrecords)?$/.exec(path);
    if (m) return this.job(req, m[1], m[2]);
    return { status: 404, body: [sfError('NOT_FOUND', 'The requested resource does not exist')] };
  }

  private violation(message: string): ScriptedResponse {
    this.violations.push(message);
    return { status: 400, body: [sfError('JSON_PARSER_ERROR', message)] };
  }

  private token(req: RecordedRequest): ScriptedResponse {
    if (!String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) return this.violation('the token request is form-encoded');
    const form = new URLSearchParams(req.rawBody);
    if (form.get('grant_type') !== 'refresh_token') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' } };
    if (!this.oauth || form.get('client_id') !== this.oauth.clientId || (this.oauth.clientSecret !== undefined && form.get('client_secret') !== this.oauth.clientSecret)) {
      return { status: 400, body: { error: 'invalid_client_id', error_description: 'client identifier invalid' } };
    }
    if (form.get('refresh_token') !== this.oauth.refreshToken) return { status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } };
    const accessToken = `00D000000000001!fresh.token.${this.issued.length + 1}`;
    this.issued.push(accessToken);
    this.validTokens.add(accessToken);
    return { status: 200, body: { access_token: accessToken, instance_url: 'https://example.my.salesforce.com', id: 'https://login.salesforce.com/id/00D/005', token_type: 'Bearer', issued_at: String(Date.now()), signature: 'sig' } };
  }

  /** sObject names are case-insensitive: the object's own spelling, if the org has it. */
  private objectNamed(name: string): string | undefined {
    return Object.keys(this.objects).find((o) => o.toLowerCase() === name.toLowerCase());
  }

  private fieldsOf(object: string): FakeField[] | undefined {
    const name = this.objectNamed(object);
    return name === undefined ? undefined : this.objects[name].fields;
  }

  private fieldNamed(object: string, name: string): FakeField | undefined {
    return this.fieldsOf(object)?.find((f) => f.name.toLowerCase() === name.toLowerCase());
  }

  private describe(object: string): ScriptedResponse {
    const fields = this.fieldsOf(object);
    if (!fields) return { status: 404, body: [sfError('NOT_FOUND', 'The requested resource does not exist')] };
    return {
      status: 200,
      body: {
        name: this.objectNamed(object),
        createable: true,
        updateable: true,
        fields: fields.map((f) => ({ name: f.name, type: f.type, externalId: f.externalId === true, idLookup: f.externalId === true || f.name === 'Id', relationshipName: f.relationshipName ?? null, nillable: !f.required, createable: f.name !== 'Id', updateable: f.name !== 'Id' })),
      },
    };
  }

  /** `SELECT Id, F FROM O WHERE F IN ('a', 'b')` only: what the adapter sends to find records by external id. */
  private query(q: string): ScriptedResponse {
    const m = /^SELECT Id, (\w+) FROM (\w+) WHERE (\w+) IN \((.*)\)$/.exec(q);
    if (!m || m[1] !== m[3]) return this.violation(`unsupported SOQL: ${q}`);
    const [, fieldName, object, , list] = m;
    if (!this.fieldsOf(object) || !this.fieldNamed(object, fieldName)) return { status: 400, body: [sfError('INVALID_FIELD', `No such column '${fieldName}' on entity '${object}'`)] };
    const values: string[] = [];
    const literal = /'((?:[^'\\]|\\.)*)'\s*(?:,\s*|$)/gy;
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = literal.exec(list)) !== null) {
      values.push(lm[1].replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c));
      consumed = literal.lastIndex;
    }
    if (consumed !== list.length || values.length === 0) return this.violation(`malformed IN list in SOQL: ${q}`);
    const wanted = new Set(values.map((v) => v.toLowerCase()));
    const name = this.fieldNamed(object, fieldName)!.name;
    const records = this.all(object)
      .filter((r) => wanted.has(String(r[name] ?? '').toLowerCase()))
      .map((r) => ({ attributes: { type: object, url: `/services/data/${this.apiVersion}/sobjects/${object}/${String(r.Id)}` }, Id: r.Id, [name]: r[name] }));
    return { status: 200, body: { totalSize: records.length, done: true, records } };
  }

  /** Resolves, checks and applies one record's values; returns an error, or the values to write. */
  private values(object: string, input: Record<string, unknown>): { ok: true; values: FakeRecord } | { ok: false; save: Save } | { ok: false; unknown: string } {
    const values: FakeRecord = {};
    for (const [key, raw] of Object.entries(input)) {
      if (key === 'attributes') continue;
      if (isObject(raw)) {
        const ref = this.fieldsOf(object)!.find((f) => f.relationshipName?.toLowerCase() === key.toLowerCase());
        if (!ref?.referenceTo) return { ok: false, unknown: key };
        const entries = Object.entries(raw);
        if (entries.length !== 1) return { ok: false, unknown: key };
        const [[extName, extValue]] = entries;
        const related = this.recordBy(ref.referenceTo, this.fieldNamed(ref.referenceTo, extName)?.name ?? extName, String(extValue));
        if (!related) return { ok: false, save: failure('INVALID_FIELD', `Foreign key external ID: ${String(extValue)} not found for field ${extName} in entity ${ref.referenceTo}`, [key]) };
        values[ref.name] = related.Id;
        continue;
      }
      const f = this.fieldNamed(object, key);
      if (!f) return { ok: false, unknown: key };
      if (raw !== null && !['string', 'number', 'boolean'].includes(typeof raw)) return { ok: false, unknown: key };
      const v = raw as string | number | boolean | null;
      if (f.type === 'email' && v !== null && v !== '' && !EMAIL.test(String(v))) return { ok: false, save: failure('INVALID_EMAIL_ADDRESS', `Email: invalid email address: ${String(v)}`, [f.name]) };
      if (f.type === 'double' && v !== null && v !== '' && !Number.isFinite(Number(v))) return { ok: false, save: failure('INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.name}: value not of required type: ${String(v)}`, [f.name]) };
      if (f.type === 'date' && v !== null && v !== '' && !/^\d{4}-\d{2}-\d{2}/.test(String(v))) return { ok: false, save: failure('INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.name}: value not of required type: ${String(v)}`, [f.name]) };
      values[f.name] = v;
    }
    return { ok: true, values };
  }

  private create(object: string, values: FakeRecord): Save {
    const missing = this.fieldsOf(object)!.filter((f) => f.required && (values[f.name] === undefined || values[f.name] === null || values[f.name] === ''));
    if (missing.length > 0) return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.map((f) => f.name).join(', ')}]`, missing.map((f) => f.name));
    const id = this.newId(object);
    this.records.get(object)!.set(id, { Id: id, ...values });
    return { id, success: true, errors: [], created: true };
  }

  private write(object: string, operation: 'insert' | 'update' | 'upsert', input: Record<string, unknown>, externalIdField?: string): Save | { unknown: string } {
    const { Id: givenId, id: lowerId, ...rest } = input;
    const recordId = givenId ?? lowerId;
    const v = this.values(object, rest);
    if (!v.ok) return 'save' in v ? v.save : { unknown: v.unknown };
    if (operation === 'insert') return this.create(object, v.values);
    if (operation === 'update') {
      const existing = typeof recordId === 'string' ? this.records.get(object)!.get(recordId) : undefined;
      if (!existing) return failure('ENTITY_IS_DELETED', 'entity is deleted', []);
      Object.assign(existing, v.values);
      return { id: existing.Id as string, success: true, errors: [] };
    }
    const ext = this.fieldNamed(object, externalIdField!)!.name;
    const key = v.values[ext];
    if (key === undefined || key === null || key === '') return failure('MISSING_ARGUMENT', `${ext} not specified`, [ext]);
    const existing = this.recordBy(object, ext, String(key));
    if (!existing) return this.create(object, v.values);
    Object.assign(existing, v.values);
    return { id: existing.Id as string, success: true, errors: [], created: false };
  }

  private collection(req: RecordedRequest, object?: string, externalIdField?: string): ScriptedResponse {
    const operation = object ? 'upsert' : req.method === 'POST' ? 'insert' : req.method === 'PATCH' ? 'update' : undefined;
    if (!operation) return this.violation(`${req.method} /composite/sobjects is not a collection write`);
    if (operation === 'upsert' && req.method !== 'PATCH') return this.violation('an upsert by external id is a PATCH');
    const body = req.json;
    if (!String(req.headers['content-type'] ?? '').includes('application/json') || !isObject(body)) return this.violation('the body is a JSON object');
    if (typeof body.allOrNone !== 'boolean') return this.violation('allOrNone is a boolean');
    if (!Array.isArray(body.records) || body.records.length === 0) return this.violation('records is a non-empty array');
    if (body.records.length > 200) return this.violation(`at most 200 records per request (got ${body.records.length})`);
    const types = new Set(body.records.map((r) => (isObject(r) && isObject(r.attributes) ? r.attributes.type : undefined)));
    if (types.size !== 1 || typeof [...types][0] !== 'string') return this.violation('every record has attributes.type, all the same');
    const sent = [...types][0] as string;
    if (object !== undefined && object.toLowerCase() !== sent.toLowerCase()) return this.violation(`records of type ${sent} sent to /composite/sobjects/${object}`);
    const type = this.objectNamed(sent);
    if (type === undefined) return { status: 400, body: [sfError('INVALID_TYPE', `sObject type '${sent}' is not supported.`)] };
    if (operation === 'upsert') {
      const f = this.fieldNamed(type, externalIdField!);
      if (!f || !(f.externalId || f.name === 'Id')) return { status: 400, body: [sfError('INVALID_FIELD', `Field name provided, ${externalIdField}, is not an External ID or indexed field for ${type}`)] };
    }
    const records = body.records as Record<string, unknown>[];
    for (const r of records) {
      const hasId = r.Id !== undefined || r.id !== undefined;
      if (operation !== 'update' && hasId) return this.violation(`${operation} records must not carry an Id`);
      if (operation === 'update' && !hasId) return this.violation('update records need their Id');
    }
    // a duplicate external id within the request fails each of its records (upsert)
    const dupes = new Set<string>();
    if (operation === 'upsert') {
      const ext = this.fieldNamed(type, externalIdField!)!.name;
      const seen = new Set<string>();
      for (const r of records) {
        const key = keyOf(r, ext);
        if (seen.has(key)) dupes.add(key);
        seen.add(key);
      }
    }
    const results: Save[] = [];
    for (const r of records) {
      if (dupes.size > 0) {
        const key = keyOf(r, externalIdField!);
        if (dupes.has(key)) {
          results.push(failure('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${key}`, [externalIdField!]));
          continue;
        }
      }
      const saved = this.write(type, operation, r, externalIdField);
      if ('unknown' in saved) return { status: 400, body: [sfError('INVALID_FIELD', `No such column '${saved.unknown}' on sobject of type ${type}`)] };
      results.push(saved);
    }
    return { status: 200, body: results };
  }

  private jobBody(j: FakeJob) {
    return {
      id: j.id,
      operation: j.operation,
      object: j.object,
      ...(j.externalIdFieldName ? { externalIdFieldName: j.externalIdFieldName } : {}),
      state: j.state,
      contentType: 'CSV',
      columnDelimiter: 'COMMA',
      lineEnding: 'LF',
      apiVersion: Number(this.apiVersion.slice(1)),
      contentUrl: `services/data/${this.apiVersion}/jobs/ingest/${j.id}/batches`,
      numberRecordsProcessed: j.processed,
      numberRecordsFailed: j.failed,
      ...(j.errorMessage ? { errorMessage: j.errorMessage } : {}),
    };
  }

  private createJob(req: RecordedRequest): ScriptedResponse {
    const body = req.json;
    if (!isObject(body)) return this.violation('the job is a JSON object');
    const { object, operation, externalIdFieldName, contentType, columnDelimiter, lineEnding } = body;
    if (typeof object !== 'string' || !this.fieldsOf(object)) return { status: 400, body: [sfError('INVALIDENTITY', `Entity '${String(object)}' is not supported by the Bulk API.`)] };
    if (!['insert', 'update', 'upsert', 'delete', 'hardDelete'].includes(String(operation))) return this.violation(`operation ${String(operation)} is not valid`);
    if (operation === 'upsert' && (typeof externalIdFieldName !== 'string' || !this.fieldNamed(object, externalIdFieldName)?.externalId)) return this.violation('an upsert job needs externalIdFieldName, an External ID field');
    if (operation !== 'upsert' && externalIdFieldName !== undefined) return this.violation('externalIdFieldName is for upsert jobs');
    if (contentType !== undefined && contentType !== 'CSV') return this.violation('contentType is CSV');
    if (columnDelimiter !== undefined && columnDelimiter !== 'COMMA') return this.violation('the fake reads COMMA-delimited CSV');
    if (lineEnding !== undefined && lineEnding !== 'LF' && lineEnding !== 'CRLF') return this.violation('lineEnding is LF or CRLF');
    const id = `7505g00000${String(this.seq++).padStart(5, '0')}AAA`;
    const job: FakeJob = { id, object: this.objectNamed(object)!, operation: operation as string, externalIdFieldName: externalIdFieldName as string | undefined, state: 'Open', polls: 0, processed: 0, failed: 0, successful: [], failures: [], unprocessed: [], columns: [] };
    this.jobs.set(id, job);
    return { status: 200, body: this.jobBody(job) };
  }

  private job(req: RecordedRequest, id: string, sub?: string): ScriptedResponse {
    const job = this.jobs.get(id);
    if (!job) return { status: 404, body: [sfError('NOT_FOUND', `The requested resource does not exist`)] };
    if (sub === '/batches') {
      if (req.method !== 'PUT') return this.violation('job data is uploaded with PUT');
      if (!String(req.headers['content-type'] ?? '').startsWith('text/csv')) return this.violation('job data is text/csv');
      if (job.state !== 'Open') return { status: 400, body: [sfError('INVALIDJOBSTATE', 'Job is not in the Open state')] };
      if (job.csv !== undefined) return this.violation('Bulk API 2.0 takes one upload per job');
      job.csv = req.rawBody;
      return { status: 201 };
    }
    if (sub) {
      if (req.method !== 'GET') return this.violation(`${sub} is read with GET`);
      if (job.state !== 'JobComplete' && job.state !== 'Failed') return { status: 400, body: [sfError('INVALIDJOBSTATE', 'Job is not complete')] };
      const lines = sub === '/successfulResults' ? job.successful : sub === '/failedResults' ? job.failures : job.unprocessed;
      const columns = sub === '/successfulResults' ? ['sf__Id', 'sf__Created', ...job.columns] : sub === '/failedResults' ? ['sf__Id', 'sf__Error', ...job.columns] : job.columns;
      const csv = [columns.map((c) => `"${c}"`).join(','), ...lines.map((l) => columns.map((c) => `"${(l[c] ?? '').replace(/"/g, '""')}"`).join(','))].join('\n');
      return { status: 200, headers: { 'content-type': 'text/csv' }, body: `${csv}\n` };
    }
    if (req.method === 'PATCH') {
      const body = req.json;
      if (!isObject(body) || (body.state !== 'UploadComplete' && body.state !== 'Aborted')) return this.violation('a job is closed with {"state":"UploadComplete"} or aborted with {"state":"Aborted"}');
      if (job.state !== 'Open') return { status: 400, body: [sfError('INVALIDJOBSTATE', `Job is ${job.state}`)] };
      if (body.state === 'UploadComplete' && job.csv === undefined) return this.violation('a job is closed after its data is uploaded');
      job.state = body.state;
      return { status: 200, body: this.jobBody(job) };
    }
    if (req.method === 'GET') {
      if (job.state === 'UploadComplete' || job.state === 'InProgress') {
        job.polls++;
        job.state = 'InProgress';
        if (job.polls > this.pollsBeforeDone) this.process(job);
      }
      return { status: 200, body: this.jobBody(job) };
    }
    return this.violation(`${req.method} on a job`);
  }

  /** Runs a job's CSV: each line written like a collection record; results kept per line, listed in reverse order. */
  private process(job: FakeJob): void {
    let lines: Record<string, string>[];
    try {
      lines = parse<Record<string, string>>(job.csv ?? '', { columns: true, skip_empty_lines: true });
    } catch (e) {
      job.state = 'Failed';
      job.errorMessage = `ClientInputError : ${(e as Error).message}`;
      return;
    }
    job.columns = Object.keys(lines[0] ?? {});
    const unknown = job.columns.find((c) => {
      const [head, tail] = c.split('.');
      if (tail === undefined) return !this.fieldNamed(job.object, head);
      const ref = this.fieldsOf(job.object)!.find((f) => f.relationshipName?.toLowerCase() === head.toLowerCase());
      return !ref?.referenceTo || !this.fieldNamed(ref.referenceTo, tail);
    });
    if (unknown) {
      job.state = 'Failed';
      job.errorMessage = `InvalidBatch : Field name not found : ${unknown}`;
      job.unprocessed = lines;
      return;
    }
    for (const line of lines) {
      const input: Record<string, unknown> = {};
      for (const [c, cell] of Object.entries(line)) {
        if (cell === '') continue; // an empty cell leaves the field as it is
        const value = cell === '#N/A' ? null : cell;
        const [head, tail] = c.split('.');
        if (tail !== undefined) input[head] = { [tail]: value };
        else input[head] = value;
      }
      const saved = this.write(job.object, job.operation as 'insert' | 'update' | 'upsert', input, job.externalIdFieldName);
      job.processed++;
      if ('unknown' in saved || !saved.success) {
        job.failed++;
        const reason = 'unknown' in saved ? `INVALID_FIELD:No such column ${saved.unknown}:--` : `${saved.errors[0].statusCode}:${saved.errors[0].message}:${saved.errors[0].fields.join(';')} --`;
        job.failures.unshift({ sf__Id: '', sf__Error: reason, ...line });
      } else {
        job.successful.unshift({ sf__Id: saved.id ?? '', sf__Created: String(saved.created ?? job.operation === 'insert'), ...line });
      }
    }
    job.state = 'JobComplete';
  }
}
