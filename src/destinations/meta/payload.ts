import type { HttpRequest, OutgoingRow, RowResult } from '../destination-definition';
import { rowFailed } from '../destination-definition';
import { hasMatchKey, META_SCHEMA_KEYS, metaRowValues, type MetaSchemaKey } from './normalize';

/** Meta takes at most 10,000 rows per `/{audience_id}/users` request (Custom Audience Users reference). */
export const META_MAX_ROWS = 10_000;

export const NO_MATCH_KEY = 'no identifier Meta can match on: map email, phone, mobile_advertiser_id, external_id, or first_name with last_name';

/** `{schema, data}`: the multi-key payload; each data row is aligned with schema, `""` where a row has no value. */
export interface MetaPayload {
  schema: MetaSchemaKey[];
  data: string[][];
}

/** One request of a batch, and the batch positions of the rows it carries (data[i] is rows[indexes[i]]). */
export interface MetaUsersRequest {
  op: 'add' | 'remove';
  request: HttpRequest;
  indexes: number[];
}

export interface MetaUsersPlan {
  requests: MetaUsersRequest[];
  /** rows failed before sending (nothing to match on), by batch position */
  failed: Map<number, RowResult>;
}

/**
 * The requests for one batch, as plain data: `POST /{audience_id}/users` for the added rows and
 * `DELETE /{audience_id}/users` for the removed ones, each with `{payload: {schema, data}}`, split
 * at 10,000 rows. The schema lists, in a fixed order, the keys at least one row of that request has.
 */
export function buildUsersRequests(rows: OutgoingRow[], audienceId: string, opts: { phoneCountry?: string } = {}): MetaUsersPlan {
  const failed = new Map<number, RowResult>();
  const byOp: Record<'add' | 'remove', { index: number; values: Partial<Record<MetaSchemaKey, string>> }[]> = { add: [], remove: [] };
  rows.forEach((row, index) => {
    if (row.op !== 'add' && row.op !== 'remove') {
      failed.set(index, rowFailed(`Meta custom audiences take add and remove, not ${row.op}`));
      return;
    }
    const values = metaRowValues(row.fields, opts.phoneCountry);
    if (!hasMatchKey(values)) {
      failed.set(index, rowFailed(NO_MATCH_KEY));
      return;
    }
    byOp[row.op].push({ index, values });
  });
  const requests: MetaUsersRequest[] = [];
  for (const op of ['add', 'remove'] as const) {
    const list = byOp[op];
    for (let start = 0; start < list.length; start += META_MAX_ROWS) {
      const chunk = list.slice(start, start + META_MAX_ROWS);
      requests.push({
        op,
        indexes: chunk.map((c) => c.index),
        request: { method: op === 'add' ? 'POST' : 'DELETE', url: `${encodeURIComponent(audienceId)}/users`, body: { payload: buildPayload(chunk.map((c) => c.values)) } },
      });
    }
  }
  return { requests, failed };
}

export function buildPayload(rows: Partial<Record<MetaSchemaKey, string>>[]): MetaPayload {
  const schema = META_SCHEMA_KEYS.filter((k) => rows.some((r) => r[k] !== undefined));
  return { schema, data: rows.map((r) => schema.map((k) => r[k] ?? '')) };
}
