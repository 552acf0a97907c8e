import type { ColumnInfo, Row } from '../warehouse/warehouse';

/**
 * A profile ready to answer with, as UTF-8 JSON (in a ByteArena, outside the V8 heap): an answer
 * is a copy of two slices, no object building or JSON.stringify on the request path.
 */
export interface ProfileDocument {
  readonly profileId: string;
  /** `{"profileId":…,"firstSeen":…,"lastSeen":…,"updatedAt":…,"traits":{…},"identities":[…],"segments":[…],"events":[` */
  readonly head: Buffer;
  /** its latest events, newest first, separated by commas; undefined when the index keeps none for it */
  readonly events: Buffer | undefined;
  /** where each event ends in `events`: the first n events are events.subarray(0, eventEnds[n - 1]) */
  readonly eventEnds: readonly number[];
  /** whether `events` holds every event of the profile (so any `?events=` is answered from it) */
  readonly allEvents: boolean;
}

const CLOSE = Buffer.from(']}');

/** The JSON answer with the first `count` of the events the document keeps. */
export function renderProfile(doc: ProfileDocument, count: number): Buffer {
  const n = Math.min(count, doc.eventEnds.length);
  const events = n && doc.events ? doc.events.subarray(0, doc.eventEnds[n - 1]) : CLOSE.subarray(0, 0);
  return Buffer.concat([doc.head, events, CLOSE], doc.head.length + events.length + CLOSE.length);
}

/** The JSON answer with events read elsewhere (JSON texts, newest first). */
export function renderProfileWith(doc: ProfileDocument, events: readonly string[]): Buffer {
  return Buffer.concat([doc.head, Buffer.from(events.join(',')), CLOSE]);
}

/**
 * JSON text of a value from the warehouse: instants as ISO strings, big integers as strings. The
 * common types are written directly (a JSON.stringify with a replacer is several times slower, and
 * a load writes millions of values).
 */
function json(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `"${value}"`;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'null' : `"${value.toISOString()}"`;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
}

/** A JSON column arrives as text from DuckDB (already valid JSON: the type checks it) and parsed from PostgreSQL. */
const jsonColumn = (value: unknown): string => (typeof value === 'string' ? value : json(value));

// The JSON texts are built with Array.join: measured faster than template literals or + (which
// make V8 ropes, a tree of the pieces, flattened again when the text is copied out).

export const identityJson = (row: Row): string =>
  ['{"type":', json(row.id_type), ',"value":', json(row.id_value), ',"source":', json(row.source), ',"firstSeen":', json(row.first_seen), ',"lastSeen":', json(row.last_seen), '}'].join('');

export const segmentJson = (row: Row): string => ['{"segment":', json(row.segment), ',"enteredAt":', json(row.entered_at), '}'].join('');

export function eventJson(row: Row): string {
  const parts = ['{"messageId":', json(row.message_id), ',"type":', json(row.type), ',"event":', json(row.event), ',"name":', json(row.name)];
  parts.push(',"timestamp":', json(row.timestamp), ',"properties":', jsonColumn(row.properties));
  if (row.context !== null && row.context !== undefined) parts.push(',"context":', jsonColumn(row.context));
  parts.push('}');
  return parts.join('');
}

/** Builds the head of each profile from its `profiles` row, given the trait columns (and their types). */
export function headWriter(traits: readonly ColumnInfo[]): (row: Row, identities: readonly string[], segments: readonly string[]) => string {
  const writers = traits.map((c, i) => {
    const key = `${i === 0 ? '' : ','}${JSON.stringify(c.name)}:`;
    const value = /^json/i.test(c.type) ? jsonColumn : json;
    return { key, value, name: c.name };
  });
  return (row, identities, segments) => {
    const parts = ['{"profileId":', json(row.profile_id), ',"firstSeen":', json(row.first_seen), ',"lastSeen":', json(row.last_seen), ',"updatedAt":', json(row.updated_at), ',"traits":{'];
    for (const w of writers) parts.push(w.key, w.value(row[w.name]));
    parts.push('},"identities":[', identities.join(','), '],"segments":[', segments.join(','), '],"events":[');
    return parts.join('');
  };
}
