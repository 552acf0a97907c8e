import { z } from 'zod';
import { defineDestination, ROW_OK, rowFailed, type ActionContext, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { sha256Hex } from '../pii';
import { archiveContacts, lookupContacts, updateContacts, upsertContacts, type Outcome } from './contacts';
import { classifyHubSpot } from './errors';
import { changeMembership, ensureList } from './lists';
import { contactOf, HUBSPOT_BATCH, idKey, idOf, PROPERTY_NAME, STANDARD_FIELDS, type Contact } from './payload';
import { checkIdProperty, ensureProperties, loadProperties, type Properties } from './properties';

const settings = z.object({
  access_token: z
    .string()
    .min(1)
    .meta({ writeOnly: true })
    .describe('a private app access token (scopes crm.objects.contacts.read/write, crm.schemas.contacts.read, crm.schemas.contacts.write to create properties, crm.lists.read/write for lists)'),
  base_url: z.url({ protocol: /^https?$/ }).default('https://api.hubapi.com').describe('the API host (tests point it at a fake server)'),
});
type HubSpotSettings = z.infer<typeof settings>;

const idProperty = z
  .string()
  .trim()
  .regex(PROPERTY_NAME, 'id_property is a contact property internal name (lowercase letters, digits, _)')
  .default('email')
  .describe('the property contacts are matched by: email (default) or a custom property with unique values');
const createProperties = z.boolean().default(false).describe('create mapped contact properties HubSpot does not have (else the run stops naming them)');

const contactsOptions = z.object({ id_property: idProperty, create_properties: createProperties }).strict();
type ContactsOptions = z.infer<typeof contactsOptions>;

const listOptions = z
  .object({
    id_property: idProperty,
    create_properties: createProperties,
    list_id: z.string().regex(/^\d+$/, 'list_id is the numeric ILS list id').optional().describe('the MANUAL contact list to write to'),
    list_name: z.string().trim().min(1).max(255).optional().describe('the contact list to write to, found by name or created as MANUAL (default: the sync name)'),
  })
  .strict()
  .refine((o) => o.list_id === undefined || o.list_name === undefined, 'set list_id or list_name, not both');
type ListOptions = z.infer<typeof listOptions>;

type Ctx<O> = ActionContext<HubSpotSettings, O>;

const fields = {
  ...STANDARD_FIELDS,
  properties: { description: 'an object of further contact properties (name → value)', type: 'object' as const },
};

/** HubSpot CRM contacts (batch upsert, update, archive) and contact list membership: README.md. */
export const hubspot = defineDestination<HubSpotSettings>({
  slug: 'hubspot',
  name: 'HubSpot',
  category: 'crm',
  description: 'Creates, updates and archives HubSpot contacts by email or a unique property, and keeps a MANUAL contact list in step with a segment.',
  settings,
  // private apps, Free/Starter tier (the lowest): 100 requests per 10 s per account (190 on Professional/Enterprise)
  rateLimit: { requests: 100, perMs: 10_000 },
  // one token, one portal: instances sharing a token share its budget
  accountKey: (s) => sha256Hex(s.access_token).slice(0, 16),
  baseUrl: (s) => s.base_url.replace(/\/+$/, ''),
  headers: (s) => ({ authorization: `Bearer ${s.access_token}` }),
  classify: classifyHubSpot,

  /** Reads the contact properties: a bad token or a missing scope fails here. */
  async testConnection({ http }) {
    await loadProperties(http);
  },

  actions: {
    contacts: {
      title: 'Sync contacts',
      description: 'Upserts contacts by an id property (email or a unique custom property), updates existing ones only, or mirrors the model (removed rows are archived).',
      modes: ['upsert', 'update', 'mirror'],
      options: contactsOptions,
      fields,
      customFields: true,
      batchSize: HUBSPOT_BATCH,
      maxBatchSize: HUBSPOT_BATCH,
      async ensure(ctx) {
        return { properties: await readProperties(ctx as Ctx<ContactsOptions>) };
      },
      performBatch: (rows, ctx) => contactsBatch(rows, ctx as Ctx<ContactsOptions>),
    },
    list_membership: {
      title: 'Sync list membership',
      description: 'Upserts entering contacts and adds them to a MANUAL contact list; removes exiting contacts from the list (the contacts stay).',
      modes: ['audience'],
      options: listOptions,
      fields,
      customFields: true,
      batchSize: HUBSPOT_BATCH,
      maxBatchSize: HUBSPOT_BATCH,
      async ensure(ctx) {
        const c = ctx as Ctx<ListOptions>;
        const properties = await readProperties(c);
        const { list_id, created } = await ensureList(c.http, { list_id: c.options.list_id, list_name: c.options.list_name ?? c.sync.name });
        c.logger.info({ destination: 'hubspot', list_id, created }, created ? 'created the HubSpot list' : 'using the HubSpot list');
        return { properties, list_id };
      },
      performBatch: (rows, ctx) => listBatch(rows, ctx as Ctx<ListOptions>),
    },
  },
});

/** The portal's contact properties, with the id property checked; kept in the run state. */
async function readProperties(ctx: Ctx<{ id_property: string }>): Promise<Properties> {
  const properties = await loadProperties(ctx.http);
  checkIdProperty(properties, ctx.options.id_property);
  ctx.state.properties = properties;
  return properties;
}

/** Checks (or creates) the properties the contacts write, once per property and run. */
async function prepareProperties(ctx: Ctx<{ id_property: string; create_properties: boolean }>, contacts: Contact[]): Promise<void> {
  if (contacts.length === 0) return;
  const properties = ctx.state.properties instanceof Map ? (ctx.state.properties as Properties) : await readProperties(ctx);
  const created = await ensureProperties(ctx.http, properties, contacts, ctx.options.create_properties);
  if (created.length > 0) ctx.logger.info({ destination: 'hubspot', properties: created }, 'created HubSpot contact properties');
}

const failedResult = (o: Outcome | undefined): RowResult => (o === undefined ? rowFailed('HubSpot returned no result for this contact') : o.ok ? ROW_OK : rowFailed(o.error));

/**
 * Archives (first, as the engine orders removals before additions), upserts, and updates existing
 * contacts only; a result per row. A contact that one row deletes and another writes in the same
 * batch (the same email under a new source key) is not archived: the write keeps it.
 */
async function contactsBatch(rows: OutgoingRow[], ctx: Ctx<ContactsOptions>): Promise<RowResult[]> {
  const { id_property: idProp } = ctx.options;
  const results: RowResult[] = rows.map(() => ROW_OK);
  const upserts: Contact[] = [];
  const updates: Contact[] = [];
  const deletes: { index: number; id: string }[] = [];
  rows.forEach((row, index) => {
    if (row.op === 'delete') {
      const id = idOf(row, idProp);
      if (id.ok) deletes.push({ index, id: id.value });
      else results[index] = rowFailed(id.error);
      return;
    }
    if (row.op !== 'upsert' && row.op !== 'update') return void (results[index] = rowFailed(`HubSpot contacts take upsert, update and delete (got ${row.op})`));
    const c = contactOf(row, index, idProp);
    if (!c.ok) return void (results[index] = rowFailed(c.error));
    (row.op === 'upsert' ? upserts : updates).push(c.contact);
  });
  await prepareProperties(ctx, [...upserts, ...updates]);

  const written = new Set([...upserts, ...updates].map((c) => idKey(idProp, c.id)));
  const recordIds = await lookupRemoved(ctx, deletes.filter((d) => !written.has(idKey(idProp, d.id))), results);
  if (recordIds.length > 0) {
    await archiveContacts(ctx.http, recordIds);
    ctx.logger.info({ destination: 'hubspot', archived: new Set(recordIds).size }, 'archived HubSpot contacts');
  }

  if (upserts.length > 0) for (const [index, o] of await upsertContacts(ctx.http, idProp, upserts)) results[index] = failedResult(o);

  if (updates.length > 0) {
    const { found, failed } = await lookupContacts(ctx.http, idProp, updates.map((c) => c.id));
    const existing: { contact: Contact; recordId: string }[] = [];
    for (const c of updates) {
      const key = idKey(idProp, c.id);
      const recordId = found.get(key);
      if (failed.has(key)) results[c.index] = rowFailed(`HubSpot rejected the lookup of this contact: ${failed.get(key)}`);
      else if (recordId === undefined) results[c.index] = rowFailed(`HubSpot has no contact with ${idProp} ${c.id} (update mode does not create contacts)`);
      else existing.push({ contact: c, recordId });
    }
    if (existing.length > 0) for (const [index, o] of await updateContacts(ctx.http, existing)) results[index] = failedResult(o);
  }
  return results;
}

/**
 * The record ids of the contacts rows remove (deleted, or leaving a list). A contact HubSpot does
 * not have is already gone (its row is ok); a lookup HubSpot rejects fails its row.
 */
async function lookupRemoved(ctx: Ctx<{ id_property: string }>, removed: { index: number; id: string }[], results: RowResult[]): Promise<string[]> {
  if (removed.length === 0) return [];
  const idProp = ctx.options.id_property;
  const { found, failed } = await lookupContacts(ctx.http, idProp, removed.map((r) => r.id));
  const recordIds: string[] = [];
  for (const r of removed) {
    const key = idKey(idProp, r.id);
    const reason = failed.get(key);
    const recordId = found.get(key);
    if (reason !== undefined) results[r.index] = rowFailed(`HubSpot rejected the lookup of this contact: ${reason}`);
    else if (recordId !== undefined) recordIds.push(recordId);
  }
  return recordIds;
}

/**
 * Removes (first: lookup, then memberships/remove) and adds (upsert for the record ids, then
 * memberships/add); a result per row. A contact one row removes and another adds in the same batch
 * stays a member.
 */
async function listBatch(rows: OutgoingRow[], ctx: Ctx<ListOptions>): Promise<RowResult[]> {
  const { id_property: idProp } = ctx.options;
  const listId = typeof ctx.state.list_id === 'string' ? ctx.state.list_id : ctx.options.list_id;
  if (!listId) throw new ConfigurationError('no HubSpot list for this run: ensure did not run and list_id is not set');
  const results: RowResult[] = rows.map(() => ROW_OK);
  const adds: Contact[] = [];
  const removes: { index: number; id: string }[] = [];
  rows.forEach((row, index) => {
    if (row.op === 'remove') {
      const id = idOf(row, idProp);
      if (id.ok) removes.push({ index, id: id.value });
      else results[index] = rowFailed(id.error);
      return;
    }
    if (row.op !== 'add') return void (results[index] = rowFailed(`HubSpot lists only add and remove contacts (got ${row.op})`));
    const c = contactOf(row, index, idProp);
    if (c.ok) adds.push(c.contact);
    else results[index] = rowFailed(c.error);
  });
  await prepareProperties(ctx, adds);

  const added = new Set(adds.map((c) => idKey(idProp, c.id)));
  const leaving = await lookupRemoved(ctx, removes.filter((r) => !added.has(idKey(idProp, r.id))), results);
  if (leaving.length > 0) await changeMembership(ctx.http, listId, 'remove', leaving);

  if (adds.length > 0) {
    const outcomes = await upsertContacts(ctx.http, idProp, adds);
    const toAdd: { index: number; recordId: string }[] = [];
    for (const c of adds) {
      const o = outcomes.get(c.index);
      if (o?.ok && o.recordId !== undefined) toAdd.push({ index: c.index, recordId: o.recordId });
      else results[c.index] = o?.ok ? rowFailed('HubSpot returned no record id for this contact: it was not added to the list') : failedResult(o);
    }
    if (toAdd.length > 0) {
      const missing = await changeMembership(ctx.http, listId, 'add', toAdd.map((a) => a.recordId));
      for (const a of toAdd) if (missing.has(a.recordId)) results[a.index] = rowFailed(`HubSpot did not find contact ${a.recordId} when adding it to list ${listId}`);
    }
  }
  return results;
}
