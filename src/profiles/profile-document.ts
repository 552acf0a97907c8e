import type { ColumnInfo, Row } from '../warehouse/warehouse';

/**
 * A profile ready to answer with: everything but the events already serialized as JSON text, so an
 * answer is one string concatenation (no object building, no JSON.stringify on the request path).
 */
export interface ProfileDocument {
  readonly profileId: string;
  /** `{"profileId":…,"firstSeen":…,"lastSeen":…,"updatedAt":…,"traits":{…},"identities":[…],"segments":[…]` (no closing brace) */
  readonly head: string;
  /** its latest events as JSON texts, newest first; undefined when the index keeps none for it */
  readonly events: readonly string[] | undefined;
  /** whether `events` holds every event of the profile (so any `?events=` is answered from it) */
  readonly allEvents: boolean;
}

/** The JSON answer: the head, then the given events (JSON texts, newest first). */
export function renderProfile(doc: ProfileDocument, events: readonly string[]): string {
  return `${doc.head},"events":[${events.join(',')}]}`;
}

/** JSON text of a value from the warehouse: instants as ISO strings, big integers as strings. */
const json = (value: unknown): string => JSON.stringify(value ?? null, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';

/** A JSON column arrives as text from DuckDB (already valid JSON: the type checks it) and parsed from PostgreSQL. */
const jsonColumn = (value: unknown): string => (typeof value === 'string' ? value : json(value));

const object = (fields: [string, string][]): string => `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

export const identityJson = (row: Row): string =>
  object([
    ['type', json(row.id_type)],
    ['value', json(row.id_value)],
    ['source', json(row.source)],
    ['firstSeen', json(row.first_seen)],
    ['lastSeen', json(row.last_seen)],
  ]);

export const segmentJson = (row: Row): string =>
  object([
    ['segment', json(row.segment)],
    ['enteredAt', json(row.entered_at)],
  ]);

export function eventJson(row: Row): string {
  const fields: [string, string][] = [
    ['messageId', json(row.message_id)],
    ['type', json(row.type)],
    ['event', json(row.event)],
    ['name', json(row.name)],
    ['timestamp', json(row.timestamp)],
    ['properties', jsonColumn(row.properties)],
  ];
  if (row.context !== null && row.context !== undefined) fields.push(['context', jsonColumn(row.context)]);
  return object(fields);
}

/** Builds the head of each profile from its `profiles` row, given the trait columns (and their types). */
export function headWriter(traits: readonly ColumnInfo[]): (row: Row, identities: readonly string[], segments: readonly string[]) => string {
  const writers = traits.map((c) => {
    const key = `${JSON.stringify(c.name)}:`;
    const value = /^json/i.test(c.type) ? jsonColumn : json;
    return (row: Row) => key + value(row[c.name]);
  });
  return (row, identities, segments) =>
    object([
      ['profileId', json(row.profile_id)],
      ['firstSeen', json(row.first_seen)],
      ['lastSeen', json(row.last_seen)],
      ['updatedAt', json(row.updated_at)],
      ['traits', `{${writers.map((w) => w(row)).join(',')}}`],
      ['identities', `[${identities.join(',')}]`],
      ['segments', `[${segments.join(',')}]`],
    ]).slice(0, -1);
}
