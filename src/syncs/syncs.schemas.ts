import { z } from 'zod';
import { RUN_STATUSES, TRIGGERS } from './sync-runs.repository';
import { syncSchema, syncUpdateSchema as updateSchema } from './sync-definition';

/** The sync API, declared once: validation and the OpenAPI document come from here. */

export const syncBodySchema = syncSchema;
/** PUT: the name comes from the path. */
export const syncUpdateSchema = updateSchema;
export type SyncUpdate = z.output<typeof syncUpdateSchema>;

export const triggerBodySchema = z
  .object({
    full_resync: z.boolean().default(false).describe('forget what was sent and send every row again (the snapshot is cleared first)'),
  })
  .strict();
export type TriggerBody = z.output<typeof triggerBodySchema>;

export const runsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50).describe('runs per page, newest first (1 to 500; default 50)'),
  })
  .strict();
export type RunsQuery = z.output<typeof runsQuerySchema>;

export const errorsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(10_000).default(100).describe('rejected rows per page (1 to 10,000; default 100)'),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
export type ErrorsQuery = z.output<typeof errorsQuerySchema>;

export const planQuerySchema = z.object({ sample: z.coerce.number().int().min(0).max(100).default(3).describe('rows shown per kind of change') }).strict();
export type PlanQuery = z.output<typeof planQuerySchema>;

// ── answers ──────────────────────────────────────────────────────────────────
const counts = z.object({
  planned: z.number(),
  added: z.number(),
  changed: z.number(),
  removed: z.number(),
  unchanged: z.number(),
  succeeded: z.number(),
  failed: z.number(),
});

export const runSchema = z.object({
  id: z.string(),
  sync: z.string(),
  status: z.enum(RUN_STATUSES),
  trigger: z.enum(TRIGGERS),
  fullResync: z.boolean(),
  counts,
  batches: z.number(),
  retries: z.number(),
  error: z.string().nullable(),
  timings: z.record(z.string(), z.number()).describe('milliseconds per phase (plan, deliver)'),
  startedAt: z.date(),
  finishedAt: z.date().nullable(),
  durationMs: z.number().nullable(),
});
export type RunView = z.output<typeof runSchema>;

export const syncListItemSchema = z.object({
  name: z.string(),
  origin: z.enum(['file', 'api']),
  path: z.string().optional(),
  description: z.string().optional(),
  source: z.record(z.string(), z.string()),
  destination: z.string(),
  action: z.string().optional(),
  mode: z.string(),
  schedule: z.unknown(),
  enabled: z.boolean(),
  lastRun: runSchema.nullable(),
});
export type SyncListItem = z.output<typeof syncListItemSchema>;

export const syncDetailSchema = syncListItemSchema.extend({
  definition: z.record(z.string(), z.unknown()),
  /** why the sync cannot run now (unknown destination, bad option, ...); empty when it can */
  problems: z.array(z.string()),
});
export type SyncDetail = z.output<typeof syncDetailSchema>;

export const triggerResultSchema = z.object({ runId: z.string(), status: z.string() });

export const errorsResultSchema = z.object({
  total: z.number(),
  errors: z.array(z.object({ key: z.string(), op: z.string(), error: z.string(), createdAt: z.date() })),
});

export const planResultSchema = z.object({
  sync: z.string(),
  mode: z.string(),
  destination: z.string(),
  added: z.number(),
  changed: z.number(),
  removed: z.number(),
  unchanged: z.number(),
  planned: z.number().describe('rows the mode would send'),
  nullKeys: z.number(),
  samples: z.array(z.object({ change: z.enum(['add', 'change', 'remove']), key: z.string(), fields: z.record(z.string(), z.unknown()).nullable(), error: z.string().optional() })),
});
export type PlanResult = z.output<typeof planResultSchema>;
