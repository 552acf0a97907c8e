import { defineDestination, ROW_OK, rowFailed, type ActionContext, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { sha256Hex } from '../pii';
import { attributesFor, readAttributes, type AttributeCatalog } from './attributes';
import { contactBody, inFlight, locateContacts, SEARCH_PAGE, writeContact } from './contacts';
import { configurationAnswer } from './errors';
import { contactOf, type ContactInput } from './payload';
import { contactsOptions, INTERCOM_HOSTS, INTERCOM_VERSION, intercomSettings, tagsOptions, type ContactsOptions, type IntercomSettings, type TagsOptions } from './settings';
import { ensureTag, tagContact, untagContact } from './tags';

/** Rows of one batch written at once (Intercom has no bulk contact endpoint: one request per contact). */
export const ROWS_IN_FLIGHT = 5;
/** Batches of one sync in flight at once: with ROWS_IN_FLIGHT, up to 20 requests, well inside the budget. */
const BATCHES_IN_FLIGHT = 4;

const identifier = (description: string) => ({ description, type: 'string' as const, identifier: true });

/** Intercom contacts and tags through the REST API 2.14 (README.md). */
export const intercom = defineDestination<IntercomSettings>({
  slug: 'intercom',
  name: 'Intercom',
  category: 'support',
  description: 'Creates and updates Intercom contacts (users or leads) with their custom attributes, and tags or untags them by audience.',
  settings: intercomSettings,
  // 10,000 calls a minute per app, enforced over 10-second windows (Intercom's rate limiting page)
  rateLimit: { requests: 1_666, perMs: 10_000 },
  // the limit is per app, and an access token is one app's: a one-way digest keys the budget
  accountKey: (s) => `${s.region}:${sha256Hex(s.access_token).slice(0, 16)}`,
  baseUrl: (s) => (s.base_url ?? INTERCOM_HOSTS[s.region]).replace(/\/+$/, ''),
  headers: (s) => ({ authorization: `Bearer ${s.access_token}`, 'intercom-version': INTERCOM_VERSION }),

  /** Identifies the token's admin (`GET /me`), then reads the contact attributes the syncs write. */
  async testConnection({ http }) {
    const me = await http.request<{ type?: unknown }>({ method: 'GET', url: 'me' });
    if (me.status !== 200) throw configurationAnswer('identifying the token (GET /me)', me);
    await readAttributes(http);
  },

  actions: {
    contacts: {
      title: 'Create or update contacts',
      description:
        'Finds each contact by external_id, else by email (POST /contacts/search), then updates it (PUT /contacts/{id}) or creates it (POST /contacts, upsert only). Fields Intercom does not know as standard go to custom_attributes.',
      modes: ['upsert', 'update'],
      options: contactsOptions,
      fields: {
        external_id: identifier('your id for the contact (unique in Intercom); matched first'),
        email: identifier('the contact email (trimmed, lowercased); matched when no contact has the external_id'),
        phone: { description: 'phone number', type: 'string' },
        name: { description: 'full name', type: 'string' },
        avatar: { description: 'URL of an avatar image', type: 'string' },
        signed_up_at: { description: 'sign-up time (date, ISO text or Unix seconds)', type: 'datetime' },
        last_seen_at: { description: 'last seen time (date, ISO text or Unix seconds)', type: 'datetime' },
        owner_id: { description: 'the id of the Intercom admin who owns the contact', type: 'number' },
        unsubscribed_from_emails: { description: 'whether the contact is unsubscribed from emails', type: 'boolean' },
        custom_attributes: { description: 'custom attributes as an object (any other mapped field is one too)', type: 'object' },
      },
      customFields: true,
      batchSize: 50,
      // no bulk write exists; a batch is looked up with the search, whose pages hold at most 150 contacts
      maxBatchSize: SEARCH_PAGE,
      concurrency: BATCHES_IN_FLIGHT,
      async ensure(ctx) {
        return { custom_attributes: await readAttributes(ctx.http) };
      },
      performBatch: (rows, ctx) => writeContacts(rows, ctx as ActionContext<IntercomSettings, ContactsOptions>),
    },
    tags: {
      title: 'Tag contacts by audience',
      description: 'Tags contacts that enter the audience (POST /contacts/{id}/tags) and untags those that leave (DELETE /contacts/{id}/tags/{tag_id}); the tag is found by name or created.',
      modes: ['audience'],
      options: tagsOptions,
      fields: {
        external_id: identifier('your id for the contact; matched first'),
        email: identifier('the contact email; matched when no contact has the external_id'),
      },
      batchSize: 50,
      maxBatchSize: SEARCH_PAGE,
      concurrency: BATCHES_IN_FLIGHT,
      async ensure(ctx) {
        const o = ctx.options as TagsOptions;
        const { tag_id, created } = await ensureTag(ctx.http, { tag_id: o.tag_id, tag_name: o.tag_name ?? ctx.sync.name });
        ctx.logger.info({ destination: 'intercom', tag_id, created }, created ? 'created the Intercom tag' : 'using the Intercom tag');
        return { tag_id };
      },
      performBatch: (rows, ctx) => tagRows(rows, ctx as ActionContext<IntercomSettings, TagsOptions>),
    },
  },
});

interface PreparedRow {
  index: number;
  op: OutgoingRow['op'];
  contact: ContactInput;
}

/** Checks each row alone, then keeps the valid ones with their batch position. */
function prepare(rows: OutgoingRow[], results: RowResult[], ops: readonly OutgoingRow['op'][], what: string): PreparedRow[] {
  const prepared: PreparedRow[] = [];
  rows.forEach((row, index) => {
    if (!ops.includes(row.op)) return void (results[index] = rowFailed(`Intercom ${what} (got ${row.op})`));
    const c = contactOf(row);
    if (!c.ok) return void (results[index] = c.result);
    prepared.push({ index, op: row.op, contact: c.value });
  });
  return prepared;
}

/** Upserts (or only updates) each row's contact: one search round for the batch, then a write per contact. */
async function writeContacts(rows: OutgoingRow[], ctx: ActionContext<IntercomSettings, ContactsOptions>): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const prepared = prepare(rows, results, ['upsert', 'update'], 'contacts are upserted or updated');
  if (prepared.length === 0) return results;
  const used = new Map<string, unknown>();
  for (const p of prepared) for (const [name, value] of Object.entries(p.contact.custom)) if (!used.has(name) || used.get(name) === null) used.set(name, value);
  const catalog: AttributeCatalog = used.size > 0 ? await attributesFor(ctx, used) : {};
  const sendable: { p: PreparedRow; body: Record<string, unknown> }[] = [];
  for (const p of prepared) {
    const body = contactBody(p.contact, catalog);
    if (body.ok) sendable.push({ p, body: body.value });
    else results[p.index] = body.result;
  }
  const locations = await locateContacts(ctx.http, sendable.map((s) => s.p.contact), ctx.options.role);
  await inFlight(
    sendable.map((s, i) => ({ ...s, at: locations[i] })),
    ROWS_IN_FLIGHT,
    async ({ p, body, at }) => {
      results[p.index] = (await writeContact(ctx.http, body, at, { create: p.op === 'upsert', role: ctx.options.role })).result;
    },
  );
  return results;
}

/** Adds the tag to entering contacts and removes it from leaving ones; nobody to untag is fine. */
async function tagRows(rows: OutgoingRow[], ctx: ActionContext<IntercomSettings, TagsOptions>): Promise<RowResult[]> {
  const tagId = typeof ctx.state.tag_id === 'string' ? ctx.state.tag_id : ctx.options.tag_id;
  if (!tagId) throw new ConfigurationError('no Intercom tag for this run: ensure did not run and tag_id is not set');
  const results: RowResult[] = rows.map(() => ROW_OK);
  const prepared = prepare(rows, results, ['add', 'remove'], 'tags only add and remove contacts');
  if (prepared.length === 0) return results;
  const locations = await locateContacts(ctx.http, prepared.map((p) => p.contact), ctx.options.role);
  await inFlight(
    prepared.map((p, i) => ({ p, at: locations[i] })),
    ROWS_IN_FLIGHT,
    async ({ p, at }) => {
      if (at.ambiguous) return void (results[p.index] = rowFailed(at.ambiguous));
      if (p.op === 'remove') return void (results[p.index] = at.id ? await untagContact(ctx.http, at.id, tagId) : ROW_OK);
      let id = at.id;
      if (!id && ctx.options.create_missing) {
        // only identifiers are mapped here (the action has no other fields), so the body is always valid
        const created = await writeContact(ctx.http, identifiersOf(p.contact), {}, { create: true, role: ctx.options.role });
        if (!created.result.ok) return void (results[p.index] = created.result);
        id = created.id;
      }
      results[p.index] = id ? await tagContact(ctx.http, id, tagId) : rowFailed('no Intercom contact has this external_id or email (set create_missing to create it)');
    },
  );
  return results;
}

const identifiersOf = (c: ContactInput): Record<string, unknown> => ({
  ...(c.external_id !== undefined ? { external_id: c.external_id } : {}),
  ...(c.email !== undefined ? { email: c.email } : {}),
});
