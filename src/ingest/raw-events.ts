import type { Dialect } from '../warehouse/dialects';
import type { ColumnSpec, Relation, Warehouse } from '../warehouse/warehouse';
import type { MessageType, ParsedMessage } from './messages.schema';

/** cdp.raw_events: one row per accepted message, at least once (dedupe by message_id downstream). */
export const RAW_EVENT_COLUMNS: ColumnSpec[] = [
  { name: 'message_id', type: 'string' },
  { name: 'type', type: 'string' },
  { name: 'event', type: 'string' },
  { name: 'name', type: 'string' },
  { name: 'category', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'anonymous_id', type: 'string' },
  { name: 'group_id', type: 'string' },
  { name: 'previous_id', type: 'string' },
  { name: 'timestamp', type: 'timestamp' },
  { name: 'original_timestamp', type: 'timestamp' },
  { name: 'sent_at', type: 'timestamp' },
  { name: 'received_at', type: 'timestamp' },
  { name: 'source_id', type: 'string' },
  { name: 'context', type: 'json' },
  { name: 'properties', type: 'json' },
  { name: 'traits', type: 'json' },
];
export const RAW_EVENT_COLUMN_NAMES = RAW_EVENT_COLUMNS.map((c) => c.name);

export const rawEventsRelation = (schema: string, database?: string): Relation => ({ database, schema, name: 'raw_events' });

/** Creates the schema and table if they are missing (every start; cheap when they exist). */
export async function ensureRawEvents(warehouse: Warehouse, relation: Relation): Promise<void> {
  await warehouse.ensureSchema(relation.schema, relation.database);
  if (await warehouse.describe(relation)) return;
  await warehouse.execute(createRawEventsSql(warehouse.dialect, relation));
}

export function createRawEventsSql(dialect: Dialect, relation: Relation): string {
  return dialect.createTableFromColumns(relation, RAW_EVENT_COLUMNS, { ifNotExists: true });
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/**
 * One message as a raw_events row, in column order. Clock skew is corrected as Segment does:
 * timestamp = receivedAt - (sentAt - originalTimestamp), when the client sent both.
 */
export function toRawEventRow(type: MessageType, m: ParsedMessage, receivedAt: Date, sourceId: string, messageId: string): unknown[] {
  const original = m.timestamp ?? null;
  const sentAt = m.sentAt ?? null;
  const timestamp = original && sentAt ? new Date(receivedAt.getTime() - (sentAt.getTime() - original.getTime())) : (original ?? receivedAt);
  return [
    messageId,
    type,
    type === 'track' ? (m.event ?? null) : null,
    m.name ?? null,
    m.category ?? null,
    m.userId ?? null,
    m.anonymousId ?? null,
    m.groupId ?? null,
    m.previousId ?? null,
    timestamp,
    original,
    sentAt,
    receivedAt,
    sourceId,
    json(m.context),
    json(m.properties),
    json(m.traits),
  ];
}
