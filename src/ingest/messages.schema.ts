import { z } from 'zod';

/**
 * Segment's HTTP Tracking API messages, declared once. Field names, required fields and types follow
 * https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/ ; fields this
 * schema does not name are kept where Segment keeps them (context, properties, traits) or ignored.
 */
const id = z.union([z.string().min(1).max(1024), z.number().finite()]).transform(String);
const jsonObject = z.record(z.string(), z.unknown());
const isoTime = z
  .union([z.string(), z.date()])
  .transform((v, ctx) => {
    const d = v instanceof Date ? v : new Date(v);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: `not a date: ${JSON.stringify(v)} (use ISO-8601, e.g. 2026-11-29T10:00:00.000Z)` });
      return z.NEVER;
    }
    return d;
  });

const common = {
  userId: id.optional().nullable(),
  anonymousId: id.optional().nullable(),
  messageId: z.string().min(1).max(255).optional(),
  timestamp: isoTime.optional().nullable(),
  sentAt: isoTime.optional().nullable(),
  context: jsonObject.optional().nullable(),
  integrations: jsonObject.optional().nullable(),
};

export const MESSAGE_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const messageSchemas = {
  track: z.looseObject({ ...common, event: z.string().min(1).max(1024), properties: jsonObject.optional().nullable() }),
  identify: z.looseObject({ ...common, traits: jsonObject.optional().nullable() }),
  page: z.looseObject({ ...common, name: z.string().max(1024).optional().nullable(), category: z.string().max(1024).optional().nullable(), properties: jsonObject.optional().nullable() }),
  screen: z.looseObject({ ...common, name: z.string().max(1024).optional().nullable(), category: z.string().max(1024).optional().nullable(), properties: jsonObject.optional().nullable() }),
  group: z.looseObject({ ...common, groupId: id, traits: jsonObject.optional().nullable() }),
  alias: z.looseObject({ ...common, previousId: id }),
} satisfies Record<MessageType, z.ZodType>;

export type ParsedMessage = z.output<(typeof messageSchemas)[MessageType]> & {
  event?: string;
  name?: string | null;
  category?: string | null;
  groupId?: string;
  previousId?: string;
  properties?: Record<string, unknown> | null;
  traits?: Record<string, unknown> | null;
};

/** POST /v1/batch. Batch-level context, integrations and sentAt apply to every message. */
export const batchSchema = z.looseObject({
  batch: z.array(z.unknown()).min(1, 'batch is empty').max(10_000),
  sentAt: isoTime.optional().nullable(),
  context: jsonObject.optional().nullable(),
  integrations: jsonObject.optional().nullable(),
  writeKey: z.string().optional(),
});

/** Segment's limits. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_REQUEST_BYTES = 500 * 1024;
