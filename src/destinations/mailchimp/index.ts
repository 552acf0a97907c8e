import { z } from 'zod';
import { defineDestination, ROW_OK, rowFailed, type ActionContext, type HttpClient, type Operation, type OutgoingRow, type RowResult } from '../destination-definition';
import { BatchRejectedError, ConfigurationError } from '../destination-errors';
import { sha256Hex } from '../pii';
import { checkList, createMergeField, ensureTag, readMergeFields } from './audience';
import { accountConnections, withConnectionLimit } from './connections';
import { classifyMailchimp, mostSevere, said, unexpectedAnswer } from './errors';
import {
  archiveMemberRequest,
  batchSubscribeRequest,
  chunks,
  MAILCHIMP_MAX_BATCH,
  MEMBER_STATUSES,
  memberOf,
  tagMembersRequest,
  upsertMemberRequest,
  type Member,
} from './members';

/** `<32 hex>-us21`: the data center is the key's suffix and names the API host. */
const API_KEY = /^\S+-([a-z]+\d+)$/;

const settings = z.object({
  api_key: z.string().trim().regex(API_KEY, 'api_key must end with its data center, like 0123…cdef-us21').meta({ writeOnly: true }).describe('a Mailchimp API key (Account > Extras > API keys); its -<dc> suffix picks the API host'),
  list_id: z.string().trim().min(1).describe('the audience (list) id: Audience > Settings > Audience name and defaults'),
  base_url: z.url({ protocol: /^https?$/ }).optional().describe('the API root (default https://<dc>.api.mailchimp.com/3.0; tests point it at a fake server)'),
});
type MailchimpSettings = z.infer<typeof settings>;

const options = z
  .object({
    status_if_new: z.enum(MEMBER_STATUSES).default('subscribed').describe('the status of a member this sync creates; an existing member keeps its own'),
    tag: z.string().trim().min(1).max(100).optional().describe('audience mode: the tag that marks the members (default: the sync name)'),
    create_merge_fields: z.boolean().default(true).describe('create a text merge field for a mapped field the audience lacks (else the run stops)'),
    skip_merge_validation: z.boolean().default(false).describe("accept members without the audience's required merge fields"),
  })
  .strict();
type MailchimpOptions = z.infer<typeof options>;
type Ctx = ActionContext<MailchimpSettings, MailchimpOptions>;

const dataCenter = (apiKey: string): string => API_KEY.exec(apiKey)?.[1] ?? 'us1';
/** The account behind a key, for its connection slots: the data center and a digest of the key (never the key). */
const accountOf = (s: MailchimpSettings): string => `${dataCenter(s.api_key)}:${sha256Hex(s.api_key).slice(0, 16)}`;
/** Every request of an account goes through its 10 connection slots. */
const limited = (http: HttpClient, s: MailchimpSettings): HttpClient => withConnectionLimit(http, accountConnections(accountOf(s)));

const OPERATIONS: readonly Operation[] = ['upsert', 'add', 'delete', 'remove'];

/** Mailchimp audience members (Marketing API 3.0): upsert, archive, and a tag per sync (README.md). */
export const mailchimp = defineDestination<MailchimpSettings>({
  slug: 'mailchimp',
  name: 'Mailchimp',
  category: 'email',
  description: 'Adds and updates members of a Mailchimp audience (merge fields from the mapping), archives removed ones, or tags a segment of them.',
  settings,
  accountKey: accountOf,
  // no rateLimit: Mailchimp limits simultaneous connections (10 per account), enforced by connections.ts
  baseUrl: (s) => (s.base_url ?? `https://${dataCenter(s.api_key)}.api.mailchimp.com/3.0`).replace(/\/+$/, ''),
  headers: (s) => ({ authorization: `Basic ${Buffer.from(`composable-cdp:${s.api_key}`).toString('base64')}` }),
  classify: classifyMailchimp,

  /** Reads the audience: a bad key, a key of another data center or a wrong list_id fails here. */
  async testConnection({ settings: s, http }) {
    await checkList(limited(http, s), s.list_id);
  },

  actions: {
    members: {
      title: 'Sync audience members',
      description:
        'upsert: members created (status_if_new) or updated (merge fields; status untouched). mirror: the same, and members gone from the source archived. audience: members upserted and tagged; leaving members untagged.',
      modes: ['upsert', 'mirror', 'audience'],
      options,
      fields: {
        email: { description: 'the member email (trimmed, lowercased; its MD5 is the subscriber hash)', type: 'string', identifier: true, required: true },
        first_name: { description: 'merge field FNAME', type: 'string' },
        last_name: { description: 'merge field LNAME', type: 'string' },
        phone: { description: 'merge field PHONE', type: 'string' },
        address: { description: 'merge field ADDRESS: {addr1, addr2, city, state, zip, country}', type: 'object' },
        birthday: { description: 'merge field BIRTHDAY (MM/DD)', type: 'string' },
        language: { description: "the member's language code (en, fr, ...)", type: 'string' },
        vip: { description: 'VIP member', type: 'boolean' },
        merge_fields: { description: 'merge tags and their values ({TAG: value}); any other field is the merge tag of its upper-cased name', type: 'object' },
      },
      customFields: true,
      batchSize: MAILCHIMP_MAX_BATCH,
      maxBatchSize: MAILCHIMP_MAX_BATCH,
      ensure: (ctx) => ensure(ctx as Ctx),
      performBatch: (rows, ctx) => sendBatch(rows, ctx as Ctx),
    },
  },
});

/** The audience checked, its merge fields read, and in audience mode the tag found or created. */
async function ensure(ctx: Ctx): Promise<Record<string, unknown>> {
  const http = limited(ctx.http, ctx.settings);
  const listId = ctx.settings.list_id;
  const name = await checkList(http, listId);
  const state: Record<string, unknown> = { merge_fields: await readMergeFields(http, listId) };
  ctx.logger.info({ destination: 'mailchimp', list_id: listId, audience: name }, 'using the Mailchimp audience');
  if (ctx.sync.mode === 'audience') {
    const tagName = ctx.options.tag ?? ctx.sync.name;
    const { id, created } = await ensureTag(http, listId, tagName);
    ctx.logger.info({ destination: 'mailchimp', list_id: listId, tag: tagName, tag_id: id, created }, created ? 'created the Mailchimp tag' : 'using the Mailchimp tag');
    state.tag_id = id;
  }
  return state;
}

/** Emails to the indexes of the rows that carry them (two rows may share an email). */
type ByEmail = Map<string, number[]>;
const push = (map: ByEmail, email: string, index: number) => map.set(email, [...(map.get(email) ?? []), index]);

/**
 * Upserts first (batch subscribe, then a PUT for each existing member), then tags added and
 * removed, then archives; a result per row. A row's failure is recorded once, at its first step.
 */
async function sendBatch(rows: OutgoingRow[], ctx: Ctx): Promise<RowResult[]> {
  const http = limited(ctx.http, ctx.settings);
  const results: RowResult[] = rows.map(() => ROW_OK);
  const members = new Map<string, Member>();
  const upserts: ByEmail = new Map();
  const tagAdds: ByEmail = new Map();
  const tagRemoves: ByEmail = new Map();
  const archives: ByEmail = new Map();
  rows.forEach((row, index) => {
    if (!OPERATIONS.includes(row.op)) return void (results[index] = rowFailed(`Mailchimp members take upsert, add, delete and remove (got ${row.op})`));
    const m = memberOf(row);
    if (!m.ok) return void (results[index] = rowFailed(m.error));
    const { email } = m.member;
    if (row.op === 'upsert' || row.op === 'add') {
      members.set(email, m.member); // a later row with the same email wins
      push(upserts, email, index);
    }
    if (row.op === 'add') push(tagAdds, email, index);
    if (row.op === 'remove') push(tagRemoves, email, index);
    if (row.op === 'delete') push(archives, email, index);
  });
  const fail = (byEmail: ByEmail, failures: Map<string, string>) => {
    for (const [email, error] of failures) for (const i of byEmail.get(email) ?? []) if (results[i].ok) results[i] = rowFailed(error);
  };

  if (members.size > 0) {
    await ensureMergeFields([...members.values()], http, ctx);
    fail(upserts, await upsertMembers([...members.values()], http, ctx));
  }
  const adds = [...tagAdds.keys()].filter((email) => tagAdds.get(email)!.every((i) => results[i].ok));
  if (adds.length > 0 || tagRemoves.size > 0) {
    const failures = await tagMembers(await tagOf(http, ctx), adds, [...tagRemoves.keys()], http, ctx);
    fail(tagAdds, failures);
    fail(tagRemoves, failures);
  }
  if (archives.size > 0) fail(archives, await archiveMembers([...archives.keys()], http, ctx));
  return results;
}

/** Creates the merge fields the members use and the audience lacks (text), or stops the run when told not to. */
async function ensureMergeFields(members: Member[], http: HttpClient, ctx: Ctx): Promise<void> {
  const listId = ctx.settings.list_id;
  let known = ctx.state.merge_fields as Record<string, string> | undefined;
  if (!known) ctx.state.merge_fields = known = await readMergeFields(http, listId);
  const missing = [...new Set(members.flatMap((m) => Object.keys(m.merge_fields)))].filter((tag) => !(tag in known)).sort();
  if (missing.length === 0) return;
  if (!ctx.options.create_merge_fields) {
    throw new ConfigurationError(`Mailchimp audience ${listId} has no merge field ${missing.join(', ')}: create them (Audience > Settings > Audience fields) or set create_merge_fields`);
  }
  for (const tag of missing) {
    await createMergeField(http, listId, tag);
    known[tag] = 'text';
    ctx.logger.info({ destination: 'mailchimp', list_id: listId, merge_field: tag }, 'created a Mailchimp merge field');
  }
}

interface BatchSubscribeError {
  email_address?: unknown;
  error?: unknown;
  error_code?: unknown;
  field?: unknown;
  field_message?: unknown;
}

const isExisting = (e: BatchSubscribeError) => e.error_code === 'ERROR_CONTACT_EXISTS' || (typeof e.error === 'string' && /already a list member/i.test(e.error));
const describeBatchError = (e: BatchSubscribeError) => {
  const head = [e.error_code, e.error].filter((v) => typeof v === 'string' && v !== '').join(': ');
  return typeof e.field === 'string' && e.field !== '' ? `${head} (${e.field}${typeof e.field_message === 'string' ? `: ${e.field_message}` : ''})` : head;
};

/**
 * New members through batch subscribe (≤ 500 a call, `update_existing: false` so no existing
 * member's status changes); the members it reports as existing are updated one by one with
 * `PUT …/members/{hash}` (their status untouched), up to 10 at a time. Returns the failures by email.
 */
async function upsertMembers(members: Member[], http: HttpClient, ctx: Ctx): Promise<Map<string, string>> {
  const { list_id: listId } = ctx.settings;
  const { status_if_new: status, skip_merge_validation: skip } = ctx.options;
  const failures = new Map<string, string>();
  const existing: Member[] = [];
  for (const chunk of chunks(members, MAILCHIMP_MAX_BATCH)) {
    const res = await http.request<{ errors?: unknown; total_created?: number }>(batchSubscribeRequest(listId, chunk, status, skip));
    if (res.status !== 200 || !res.data || typeof res.data !== 'object') throw unexpectedAnswer(`adding ${chunk.length} members to audience ${listId}`, res);
    const byEmail = new Map(chunk.map((m) => [m.email, m]));
    for (const e of (Array.isArray(res.data.errors) ? res.data.errors : []) as BatchSubscribeError[]) {
      const email = typeof e.email_address === 'string' ? e.email_address.trim().toLowerCase() : '';
      const member = byEmail.get(email) ?? (chunk.length === 1 ? chunk[0] : undefined);
      if (!member) throw new BatchRejectedError(`Mailchimp reported an error for ${JSON.stringify(e.email_address)}, which is not in the batch: ${describeBatchError(e)}`);
      if (isExisting(e)) existing.push(member);
      else failures.set(member.email, `Mailchimp rejected this member: ${describeBatchError(e)}`);
    }
  }
  const updated = await settle(existing, async (m) => {
    const res = await http.request(upsertMemberRequest(listId, m, status, skip));
    if (res.status === 200) return undefined;
    if (res.status >= 400 && res.status < 500 && res.status !== 404) return `Mailchimp rejected this member: ${said(res)}`;
    throw unexpectedAnswer(`updating a member of audience ${listId}`, res);
  });
  updated.forEach((error, i) => error && failures.set(existing[i].email, error));
  if (existing.length > 0) ctx.logger.debug({ destination: 'mailchimp', list_id: listId, updated: existing.length }, 'updated existing Mailchimp members');
  return failures;
}

/** The tag id of this run: from ensure, or found (or created) now. */
async function tagOf(http: HttpClient, ctx: Ctx): Promise<number> {
  if (typeof ctx.state.tag_id === 'number') return ctx.state.tag_id;
  const { id } = await ensureTag(http, ctx.settings.list_id, ctx.options.tag ?? ctx.sync.name);
  ctx.state.tag_id = id;
  return id;
}

/** Mailchimp's word for "that address is not tagged / not in the audience": nothing left to remove. */
const NOT_THERE = /not (a )?(list )?member|not (found|present|exist|subscribed|in)|does not exist|no longer/i;

/**
 * Tags added and removed through the tag's static segment, ≤ 500 of each per call. Errors name
 * the addresses; for a removal, an address that is not there (not tagged, not in the audience) is
 * already where the sync wants it.
 */
async function tagMembers(tagId: number, add: string[], remove: string[], http: HttpClient, ctx: Ctx): Promise<Map<string, string>> {
  const listId = ctx.settings.list_id;
  const failures = new Map<string, string>();
  const adding = new Set(add);
  const addChunks = chunks(add, MAILCHIMP_MAX_BATCH);
  const removeChunks = chunks(remove, MAILCHIMP_MAX_BATCH);
  for (let i = 0; i < Math.max(addChunks.length, removeChunks.length); i++) {
    const res = await http.request<{ errors?: unknown }>(tagMembersRequest(listId, tagId, addChunks[i] ?? [], removeChunks[i] ?? []));
    if (res.status !== 200 || !res.data || typeof res.data !== 'object') throw unexpectedAnswer(`tagging members of audience ${listId} (tag ${tagId})`, res);
    for (const e of (Array.isArray(res.data.errors) ? res.data.errors : []) as { email_addresses?: unknown; error?: unknown }[]) {
      const error = typeof e.error === 'string' ? e.error : 'no reason given';
      for (const address of Array.isArray(e.email_addresses) ? e.email_addresses : []) {
        if (typeof address !== 'string') continue;
        const email = address.trim().toLowerCase();
        if (adding.has(email)) failures.set(email, `Mailchimp could not tag this member: ${error}`);
        else if (!NOT_THERE.test(error)) failures.set(email, `Mailchimp could not untag this member: ${error}`);
      }
    }
  }
  return failures;
}

/**
 * Archives the members gone from a mirror sync (`DELETE …/members/{hash}`, up to 10 at a time).
 * 404: not in the audience (or archived already), nothing to do. Archiving keeps the member's
 * history and consent; a later upsert restores it. Returns the failures by email.
 */
async function archiveMembers(emails: string[], http: HttpClient, ctx: Ctx): Promise<Map<string, string>> {
  const listId = ctx.settings.list_id;
  const answers = await settle(emails, async (email) => {
    const res = await http.request(archiveMemberRequest(listId, email));
    if (res.status === 204 || res.status === 200 || res.status === 404) return undefined;
    if (res.status >= 400 && res.status < 500) return `Mailchimp could not archive this member: ${said(res)}`;
    throw unexpectedAnswer(`archiving a member of audience ${listId}`, res);
  });
  const failures = new Map<string, string>();
  answers.forEach((error, i) => error && failures.set(emails[i], error));
  return failures;
}

/**
 * Runs `send` for every item at once (the connection slots queue them) and waits for all: a thrown
 * error is rethrown only once every request is over (the most severe one), so no request is left
 * running behind a retry.
 */
async function settle<T>(items: T[], send: (item: T) => Promise<string | undefined>): Promise<(string | undefined)[]> {
  const settled = await Promise.allSettled(items.map(send));
  const thrown = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (thrown.length > 0) throw mostSevere(thrown);
  return settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
}
