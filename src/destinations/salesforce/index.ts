import { defineDestination, ROW_OK, rowFailed, type ActionContext, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { vendorMessage } from '../http/vendor-message';
import { sfRequest } from './auth';
import { runBulkJob } from './bulk';
import { sendCollections, type WriteOperation } from './collections';
import { describeObject, externalIdField, resolveFields, type ObjectInfo } from './describe';
import { classifySalesforce } from './errors';
import { lookupIds } from './lookup';
import { fieldsOf, keyText, mappedNames, type SfRecord } from './records';
import { dataPath, recordsOptions, salesforceSettings, type RecordsOptions, type SalesforceSettings } from './settings';

type Ctx = ActionContext<SalesforceSettings, RecordsOptions>;

const OPERATIONS: readonly WriteOperation[] = ['upsert', 'update', 'insert'];

/** Salesforce records through sObject Collections (small runs) and Bulk API 2.0 ingest jobs (large runs): README.md. */
export const salesforce = defineDestination<SalesforceSettings>({
  slug: 'salesforce',
  name: 'Salesforce',
  category: 'crm',
  description: 'Upserts (by an External ID field), updates or inserts records of any sObject (Contact, Lead, custom objects), through sObject Collections or Bulk API 2.0 for large runs.',
  settings: salesforceSettings,
  // Salesforce counts a daily allocation per org, not a rate; this only paces bursts (25 long requests may run at once per org)
  rateLimit: { requests: 10, perMs: 1_000 },
  accountKey: (s) => new URL(s.instance_url).host,
  baseUrl: (s) => s.instance_url.replace(/\/+$/, ''),
  // no static headers: the Bearer token is added per request (auth.ts), as it may be refreshed during a run
  classify: classifySalesforce,

  /** Exchanges the refresh token (when set) and reads the API version's resources: bad credentials or an unknown version fail here. */
  async testConnection(ctx) {
    const res = await sfRequest(ctx, { method: 'GET', url: dataPath(ctx.settings, '') });
    if (res.status === 404) throw new ConfigurationError(`Salesforce does not serve API version ${ctx.settings.api_version} at ${ctx.settings.instance_url}`);
    if (res.status !== 200) throw new ConfigurationError(`Salesforce answered ${res.status} for the connection test${vendorMessage(res.data) ? `: ${vendorMessage(res.data)}` : ''}`);
  },

  actions: {
    records: {
      title: 'Sync records',
      description: 'Upserts records by an External ID field, updates existing records (by Id, or found by the external id), or inserts new ones.',
      modes: ['upsert', 'update', 'insert'],
      options: recordsOptions,
      fields: {
        Id: { description: 'the Salesforce record id (update; else the record is found by external_id_field)', type: 'string', identifier: true },
        Email: { description: 'email (Contact, Lead)', type: 'string' },
        FirstName: { description: 'first name (Contact, Lead)', type: 'string' },
        LastName: { description: 'last name (required to create a Contact or Lead)', type: 'string' },
        Company: { description: 'company (required to create a Lead)', type: 'string' },
        Phone: { description: 'phone', type: 'string' },
        MobilePhone: { description: 'mobile phone', type: 'string' },
        Title: { description: 'job title', type: 'string' },
      },
      customFields: true,
      // one Bulk API job per batch on large runs; collections split it 200 records a request
      batchSize: 10_000,
      maxBatchSize: 50_000,
      async ensure(ctx) {
        const info = await prepare(ctx as Ctx);
        return { object: info.object, external_id_field: info.externalId };
      },
      performBatch: (rows, ctx) => recordsBatch(rows, ctx as Ctx),
    },
  },
});

/** The object described and the external id field checked, once per run (kept in the run state). */
async function prepare(ctx: Ctx): Promise<{ object: ObjectInfo; externalId?: string }> {
  if (ctx.state.object && typeof ctx.state.object === 'object') return { object: ctx.state.object as ObjectInfo, externalId: ctx.state.external_id_field as string | undefined };
  const o = ctx.options;
  if (ctx.sync.mode === 'upsert' && o.external_id_field === undefined) throw new ConfigurationError('upsert needs the external_id_field option: the External ID field records are matched by');
  const object = await describeObject(ctx, o.object);
  const externalId = o.external_id_field === undefined ? undefined : externalIdField(object, o.external_id_field);
  Object.assign(ctx.state, { object, external_id_field: externalId });
  return { object, externalId };
}

/** Upserts, updates and inserts the rows (each operation in its own requests); a result per row. */
async function recordsBatch(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const { object, externalId } = await prepare(ctx);
  const results: RowResult[] = rows.map(() => ROW_OK);
  const valid = rows.map((row, index) => ({ row, index })).filter(({ row, index }) => {
    if ((OPERATIONS as readonly string[]).includes(row.op)) return true;
    results[index] = rowFailed(`Salesforce records take upsert, update and insert (got ${row.op})`);
    return false;
  });
  const names = resolveFields(object, mappedNames(valid.map((v) => v.row)));
  const groups: Record<WriteOperation, SfRecord[]> = { upsert: [], update: [], insert: [] };
  const toFind: { record: SfRecord; value: string }[] = [];
  for (const { row, index } of valid) {
    const f = fieldsOf(row, names);
    if (!f.ok) {
      results[index] = rowFailed(f.error);
      continue;
    }
    const { Id: id, ...fields } = f.fields;
    const op = row.op as WriteOperation;
    if (op === 'update') {
      const recordId = keyText(id);
      const value = externalId === undefined ? undefined : keyText(fields[externalId]);
      if (recordId !== undefined) groups.update.push({ index, fields: { Id: recordId, ...fields } });
      else if (value !== undefined) toFind.push({ record: { index, fields }, value });
      else results[index] = rowFailed(externalId === undefined ? 'the row has no Id' : `the row has no Id, nor ${externalId} to find the record by`);
      continue;
    }
    if (op === 'upsert') {
      if (externalId === undefined) throw new ConfigurationError('upsert needs the external_id_field option: the External ID field records are matched by');
      if (keyText(fields[externalId]) === undefined) {
        results[index] = rowFailed(`the row has no ${externalId} (the external id field)`);
        continue;
      }
    }
    // upsert matches by the external id and insert creates: neither may set Id
    groups[op].push({ index, fields });
  }

  if (toFind.length > 0 && externalId !== undefined) {
    const ids = await lookupIds(ctx, object.name, externalId, toFind.map((t) => t.value));
    for (const { record, value } of toFind) {
      const recordId = ids.get(value.toLowerCase());
      if (recordId === undefined) results[record.index] = rowFailed(`no ${object.name} has ${externalId} ${value} (update mode does not create records)`);
      else groups.update.push({ index: record.index, fields: { Id: recordId, ...record.fields } });
    }
  }

  const bulk = (ctx.sync.planned ?? 0) > ctx.options.bulk_threshold;
  for (const op of OPERATIONS) {
    const records = groups[op];
    if (records.length === 0) continue;
    const key = op === 'update' ? 'Id' : externalId !== undefined && records.every((r) => keyText(r.fields[externalId]) !== undefined) ? externalId : undefined;
    const outcomes = bulk ? await runBulkJob(ctx, op, object.name, records, externalId, key) : await sendCollections(ctx, op, object.name, records, externalId);
    for (const [index, result] of outcomes) results[index] = result;
  }
  return results;
}
