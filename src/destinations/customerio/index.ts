import { defineDestination, ROW_OK, rowFailed, type ActionContext, type FieldSpec, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { asConfiguration, batchResults, unexpectedAnswer } from './errors';
import { eventOperation } from './events';
import { batchRequest, chunks, CIO_MAX_SEGMENT_IDS, identifiersOf, packBatches, personOperation, segmentRequest, type TrackOperation } from './payload';
import { ensureSegment, listSegmentsRequest } from './segments';
import { customerioSettings, peopleOptions, segmentOptions, trackUrl, type CustomerioSettings, type PeopleOptions, type SegmentOptions } from './settings';

export { customerioSettings, type CustomerioSettings } from './settings';

const identifier = (description: string): FieldSpec => ({ description, type: 'string', identifier: true });

const PERSON_FIELDS: Record<string, FieldSpec> = {
  id: identifier('your id for the person (at most 150 bytes)'),
  email: identifier('the email address (trimmed, lowercased)'),
  cio_id: identifier('the id Customer.io gave the person (with or without the cio_ prefix)'),
  first_name: { description: 'first name (attribute)', type: 'string' },
  last_name: { description: 'last name (attribute)', type: 'string' },
  phone: { description: 'phone number (attribute)', type: 'string' },
  created_at: { description: 'when the person signed up: a date, ISO text or Unix seconds (sent as Unix seconds)', type: 'datetime' },
  unsubscribed: { description: 'true: the person receives no marketing messages', type: 'boolean' },
  attributes: { description: 'an object of custom attributes (merged with the other custom fields)', type: 'object' },
};

/** Customer.io through the Track API: people (v2 batch identify/delete) and manual segment membership (README.md). */
export const customerio = defineDestination<CustomerioSettings>({
  slug: 'customerio',
  name: 'Customer.io',
  category: 'messaging',
  description: 'Creates, updates and deletes Customer.io people (Track API v2 batch), keeps a manual segment in step with a sync, and forwards events.',
  settings: customerioSettings,
  // the Track API's fair-use limit: 100 requests a second per workspace (v1 and v2 together)
  rateLimit: { requests: 100, perMs: 1_000 },
  accountKey: (s) => s.site_id,
  baseUrl: trackUrl,
  headers: (s) => ({ authorization: `Basic ${Buffer.from(`${s.site_id}:${s.api_key}`).toString('base64')}` }),

  /**
   * `GET /api/v1/accounts/region` answers for valid Track credentials only (401 → ConfigurationError)
   * and names the workspace's region, which must be the one configured; with an App API key, listing
   * segments checks that key too.
   */
  async testConnection({ settings, http }) {
    const res = await http.request<{ region?: unknown; url?: unknown }>({ method: 'GET', url: 'api/v1/accounts/region' });
    if (res.status !== 200) throw asConfiguration(unexpectedAnswer('checking the Track API credentials', res));
    const region = res.data?.region;
    if (settings.base_url === undefined && (region === 'us' || region === 'eu') && region !== settings.region) {
      throw new ConfigurationError(`these Customer.io credentials belong to the ${region} region: set region: ${region}`);
    }
    if (settings.app_api_key) {
      const app = await http.request(listSegmentsRequest(settings));
      if (app.status !== 200) throw asConfiguration(unexpectedAnswer('checking the App API key (listing segments)', app));
    }
  },

  actions: {
    people: {
      title: 'Sync people',
      description: 'Identifies people (creates or updates their attributes) through the Track API v2 batch endpoint; in mirror mode deletes the people that left the source.',
      modes: ['upsert', 'update', 'mirror'],
      options: peopleOptions,
      fields: PERSON_FIELDS,
      customFields: true,
      batchSize: 1_000,
      maxBatchSize: 10_000,
      performBatch: (rows, ctx) => sendPeople(rows, ctx as ActionContext<CustomerioSettings, PeopleOptions>),
    },
    segment_membership: {
      title: 'Sync manual segment membership',
      description: 'Adds entering people to a Customer.io manual segment (identifying them first) and removes exiting ones.',
      modes: ['audience'],
      options: segmentOptions,
      fields: PERSON_FIELDS,
      customFields: true,
      batchSize: CIO_MAX_SEGMENT_IDS,
      maxBatchSize: CIO_MAX_SEGMENT_IDS,
      async ensure(ctx) {
        const o = ctx.options as SegmentOptions;
        const { segment_id, created } = await ensureSegment(ctx.http, ctx.settings, { segment_id: o.segment_id, segment_name: o.segment_name ?? ctx.sync.name });
        ctx.logger.info({ destination: 'customerio', segment_id, created }, created ? 'created the Customer.io manual segment' : 'using the Customer.io manual segment');
        return { segment_id };
      },
      performBatch: (rows, ctx) => sendSegment(rows, ctx as ActionContext<CustomerioSettings, SegmentOptions>),
    },
    events: {
      title: 'Forward events',
      description: 'Sends each event (one row, keyed by its message id) as a Track API v2 batch event on the person; Customer.io drops an event id it already has.',
      modes: ['insert'],
      options: peopleOptions,
      fields: {
        event: { description: 'the event name', type: 'string', required: true },
        timestamp: { description: 'when the event happened (sent as Unix seconds; default: when Customer.io receives it)', type: 'datetime' },
        id: identifier('your id for the person'),
        email: identifier('the email address (trimmed, lowercased)'),
        cio_id: identifier('the id Customer.io gave the person (with or without the cio_ prefix)'),
        properties: { description: 'an object of event data (like any field not listed)', type: 'object' },
        traits: { description: 'an object of profile traits, sent in the event data under `traits`', type: 'object' },
      },
      customFields: true,
      batchSize: 1_000,
      maxBatchSize: 10_000,
      // one batch at a time: events go out in order per profile
      concurrency: 1,
      performBatch: (rows, ctx) => sendEvents(rows, ctx as ActionContext<CustomerioSettings, PeopleOptions>),
    },
  },
});

type Indexed = { index: number; operation: TrackOperation };

/** upsert and update identify (update only changes existing people), delete deletes; a result per row. */
async function sendPeople(rows: OutgoingRow[], ctx: ActionContext<CustomerioSettings, PeopleOptions>): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const operations: Indexed[] = [];
  rows.forEach((row, index) => {
    if (row.op !== 'upsert' && row.op !== 'update' && row.op !== 'delete') {
      return void (results[index] = rowFailed(`Customer.io people take upsert, update and delete (got ${row.op})`));
    }
    const p = personOperation(row, row.op === 'delete' ? 'delete' : 'identify', { identifyBy: ctx.options.identify_by, updateOnly: row.op === 'update' });
    if (!p.ok) return void (results[index] = p.result);
    operations.push({ index, operation: p.value });
  });
  await sendOperations(operations, results, ctx);
  return results;
}

/**
 * Events in row order as v2 `event` operations, in requests under 500 KB; a result per row. A
 * message id repeated in the batch is sent once (the second row is ok).
 */
async function sendEvents(rows: OutgoingRow[], ctx: ActionContext<CustomerioSettings, PeopleOptions>): Promise<RowResult[]> {
  const results: RowResult[] = rows.map(() => ROW_OK);
  const operations: Indexed[] = [];
  const seen = new Set<string>();
  rows.forEach((row, index) => {
    if (row.op !== 'insert') return void (results[index] = rowFailed(`Customer.io events take insert (got ${row.op})`));
    if (seen.has(row.key)) return;
    const p = eventOperation(row, { identifyBy: ctx.options.identify_by });
    if (!p.ok) return void (results[index] = p.result);
    seen.add(row.key);
    operations.push({ index, operation: p.value });
  });
  await sendOperations(operations, results, ctx, 'event');
  return results;
}

/** The operations in requests under 500 KB; each request's 207 errors fail their rows. */
async function sendOperations(operations: Indexed[], results: RowResult[], ctx: ActionContext<CustomerioSettings>, what: 'person' | 'event' = 'person'): Promise<void> {
  for (const batch of packBatches(operations)) {
    const res = await ctx.http.request(batchRequest(batch.map((b) => b.operation)));
    const answered = batchResults(batch.length, res, what);
    answered.forEach((r, i) => (results[batch[i].index] = r));
    const failed = answered.filter((r) => !r.ok).length;
    ctx.logger.debug({ destination: 'customerio', operations: batch.length, failed }, 'Customer.io batch sent');
  }
}

/**
 * Adds: each entering person is identified first (unless `identify: false`), then the ones
 * Customer.io accepted are added to the segment by `id_type`; removes go to remove_customers. Both
 * take at most 1,000 ids a request.
 */
async function sendSegment(rows: OutgoingRow[], ctx: ActionContext<CustomerioSettings, SegmentOptions>): Promise<RowResult[]> {
  const o = ctx.options;
  const segmentId = typeof ctx.state.segment_id === 'number' ? ctx.state.segment_id : o.segment_id;
  if (segmentId === undefined) throw new ConfigurationError('no Customer.io segment for this run: ensure did not run and segment_id is not set');
  const results: RowResult[] = rows.map(() => ROW_OK);
  const members: { index: number; op: 'add' | 'remove'; member: string }[] = [];
  rows.forEach((row, index) => {
    if (row.op !== 'add' && row.op !== 'remove') return void (results[index] = rowFailed(`Customer.io segments only add and remove people (got ${row.op})`));
    const ids = identifiersOf(row);
    if (!ids.ok) return void (results[index] = ids.result);
    const member = ids.value[o.id_type];
    if (member === undefined) return void (results[index] = rowFailed(`the row has no ${o.id_type} (the segment's id_type)`));
    members.push({ index, op: row.op, member });
  });

  if (o.identify) {
    const identifies: Indexed[] = [];
    for (const m of members.filter((x) => x.op === 'add')) {
      const p = personOperation(rows[m.index], 'identify', { identifyBy: o.identify_by });
      if (p.ok) identifies.push({ index: m.index, operation: p.value });
      else results[m.index] = p.result;
    }
    await sendOperations(identifies, results, ctx);
  }

  for (const change of ['add', 'remove'] as const) {
    const ids = [...new Set(members.filter((m) => m.op === change && results[m.index].ok).map((m) => m.member))];
    for (const group of chunks(ids, CIO_MAX_SEGMENT_IDS)) {
      const res = await ctx.http.request(segmentRequest(segmentId, change, o.id_type, group));
      if (res.status !== 200 && res.status !== 204) throw unexpectedAnswer(`${change === 'add' ? 'adding people to' : 'removing people from'} segment ${segmentId}`, res);
    }
  }
  return results;
}
