import { z } from 'zod';
import { parseIsoTime, segmentPreviewSchema, segmentSchema, TIMESTAMP_HINT } from './segment-tree';

/**
 * The segment API, declared once: validation and the OpenAPI document come from here. The bodies
 * are segment-tree.ts's schemas (the same as segments/*.yaml).
 */

/** Profiles a preview shows unless `sample` says otherwise, and the most it may ask for. */
export const DEFAULT_SAMPLE = 10;
export const MAX_SAMPLE = 100;
/** Members a page of `/members` holds unless `limit` says otherwise, and the most it may ask for. */
export const DEFAULT_MEMBERS_LIMIT = 100;
export const MAX_MEMBERS_LIMIT = 10_000;
/** Values a breakdown lists; the rest are summed into `(other)`. */
export const BREAKDOWN_TOP = 50;

const sampleSize = z.coerce
  .number()
  .int()
  .min(0)
  .max(MAX_SAMPLE)
  .describe(`how many member profiles to show, by profile id (0 to ${MAX_SAMPLE}; default ${DEFAULT_SAMPLE})`);

/** `POST /api/segments/preview`: a definition (name optional: it only seeds the split hash), and the sample size. */
export const previewBodySchema = segmentPreviewSchema.extend({ sample: sampleSize.optional() });
export type PreviewBody = z.output<typeof previewBodySchema>;

export const previewQuerySchema = z.object({ sample: sampleSize.optional() }).strict();

/**
 * The condition tree is recursive, which zod documents with `#/definitions/...` references that
 * mean nothing inside an OpenAPI document: the documented body shows `where` as an object.
 */
const documentedWhere = z.record(z.string(), z.unknown()).describe('the condition tree: one of and, or, not, trait, event, segment (see segments/README.md)');
export const segmentDocSchema = segmentSchema.extend({ where: documentedWhere });
export const previewDocSchema = previewBodySchema.extend({ where: documentedWhere });
export const segmentUpdateDocSchema = segmentPreviewSchema.extend({ where: documentedWhere });

/** An instant in a query string: an ISO date (midnight UTC) or timestamp (UTC unless it says its zone). */
const instantParam = (what: string) =>
  z
    .string()
    .refine((v) => parseIsoTime(v) !== undefined, TIMESTAMP_HINT)
    .transform((v) => parseIsoTime(v)!)
    .describe(what);

export const historyQuerySchema = z
  .object({
    from: instantParam('only runs at or after this time (ISO date or timestamp)').optional(),
    to: instantParam('only runs at or before this time (ISO date or timestamp)').optional(),
  })
  .strict();
export type HistoryQuery = z.output<typeof historyQuerySchema>;

export const membersQuerySchema = z
  .object({
    at: instantParam('the members at this time (ISO date or timestamp; default now)').optional(),
    limit: z.coerce.number().int().min(1).max(MAX_MEMBERS_LIMIT).default(DEFAULT_MEMBERS_LIMIT).describe(`members per page (1 to ${MAX_MEMBERS_LIMIT}; default ${DEFAULT_MEMBERS_LIMIT})`),
    offset: z.coerce.number().int().min(0).default(0).describe('members to skip, in profile id order'),
  })
  .strict();
export type MembersQuery = z.output<typeof membersQuerySchema>;

export const overlapQuerySchema = z
  .object({
    names: z.string().optional().describe('segment names, comma separated (two or more)'),
    ids: z.string().optional().describe('an alias of names'),
  })
  .strict();
export type OverlapQuery = z.output<typeof overlapQuerySchema>;

export const breakdownQuerySchema = z.object({ trait: z.string().min(1).describe('a trait: a column of the profiles table') }).strict();
export type BreakdownQuery = z.output<typeof breakdownQuerySchema>;

// ── answers ──────────────────────────────────────────────────────────────────
const splitCounts = z.record(z.string(), z.number());

export const segmentListItemSchema = z.object({
  name: z.string(),
  kind: z.enum(['tree', 'sql']).describe('a condition tree, or a SQL model that returns profile ids'),
  origin: z.enum(['file', 'api', 'model']).describe('segments/*.yaml, created through this API, or a model with config.segment'),
  path: z.string().describe('the file defining it (relative to the project folder), or "api"'),
  description: z.string().nullable(),
  realtime: z.boolean(),
  split: z.record(z.string(), z.number()).nullable().describe('named percentages, when the segment is split'),
  size: z.number().nullable().describe('members at the latest build; null if never built'),
  lastBuiltAt: z.date().nullable(),
});
export type SegmentListItem = z.output<typeof segmentListItemSchema>;

export const segmentDetailSchema = segmentListItemSchema.extend({
  relation: z.string().describe('the table of its current members (the model, for a SQL segment)'),
  definition: z.record(z.string(), z.unknown()).nullable().describe('the condition tree definition (null for a SQL segment)'),
});
export type SegmentDetail = z.output<typeof segmentDetailSchema>;

export const previewSampleSchema = z.object({
  profileId: z.string(),
  splitGroup: z.string().nullable(),
  firstSeen: z.string().nullable(),
  lastSeen: z.string().nullable(),
  traits: z.record(z.string(), z.unknown()).describe('one key per trait column of the profiles table'),
});

export const previewResultSchema = z.object({
  count: z.number().describe('the members the definition has now'),
  split: splitCounts.optional().describe('members per split group, when the definition is split'),
  sample: z.array(previewSampleSchema).describe('members, by profile id'),
});
export type PreviewResult = z.output<typeof previewResultSchema>;

export const sizeHistorySchema = z.array(z.object({ at: z.date(), size: z.number(), entered: z.number(), exited: z.number() }));
export type SizeHistory = z.output<typeof sizeHistorySchema>;

export const membersResultSchema = z.object({
  segment: z.string(),
  at: z.date(),
  total: z.number().describe('members at that time'),
  members: z.array(z.object({ profileId: z.string(), splitGroup: z.string().nullable(), enteredAt: z.date() })),
});
export type MembersResult = z.output<typeof membersResultSchema>;

export const overlapResultSchema = z.object({
  segments: z.array(z.object({ name: z.string(), size: z.number().describe('current members') })),
  pairs: z.array(z.object({ a: z.string(), b: z.string(), both: z.number().describe('current members of both') })),
});
export type OverlapResult = z.output<typeof overlapResultSchema>;

export const breakdownSchema = z.array(z.object({ value: z.unknown().describe('the trait value; null for unset, "(other)" for the rest'), count: z.number() }));
export type Breakdown = z.output<typeof breakdownSchema>;
