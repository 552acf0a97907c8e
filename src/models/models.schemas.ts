import { z } from 'zod';

/** Bodies of the model API, declared once: validation and OpenAPI both come from here. */
export const jobRequestSchema = z
  .object({
    select: z.array(z.string().min(1)).optional().describe('selectors: name, +name, name+, tag:x, path:dir'),
    fullRefresh: z.boolean().default(false),
    vars: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const runModelRequestSchema = z
  .object({
    downstream: z.boolean().default(false).describe('also run every model that depends on this one'),
    upstream: z.boolean().default(false).describe('also run every model this one depends on'),
    fullRefresh: z.boolean().default(false),
  })
  .strict();

/** Answers of the model API: the TypeScript types and the OpenAPI schemas both come from these. */
export const nodeRunSchema = z.object({
  invocationId: z.string(),
  node: z.string(),
  nodeType: z.enum(['model', 'seed', 'identity', 'segment']),
  materialization: z.string().optional(),
  status: z.enum(['success', 'error', 'skipped']),
  startedAt: z.date(),
  durationMs: z.number(),
  rows: z.number().nullable().optional(),
  error: z.string().nullable().optional(),
  compiledPath: z.string().nullable().optional(),
});

export const testRunSchema = z.object({
  invocationId: z.string(),
  test: z.string(),
  node: z.string(),
  column: z.string().optional(),
  status: z.enum(['pass', 'fail', 'error']),
  failures: z.number().nullable().optional(),
  startedAt: z.date(),
  durationMs: z.number(),
  error: z.string().nullable().optional(),
});

export const modelSummarySchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  path: z.string().describe('the .sql file, relative to the project folder'),
  relation: z.string().describe('the quoted relation in the warehouse'),
  materialization: z.enum(['view', 'table', 'incremental']),
  uniqueKey: z.array(z.string()),
  tags: z.array(z.string()),
  enabled: z.boolean(),
  dependsOn: z.array(z.string()).describe('models and seeds this model refs'),
});

export const modelListItemSchema = modelSummarySchema.extend({ lastRun: nodeRunSchema.nullable() });

export const modelDetailSchema = modelSummarySchema.extend({
  dependents: z.array(z.string()),
  exists: z.boolean().describe('whether the relation exists in the warehouse'),
  compiledPath: z.string(),
  compiledSql: z.string(),
  columns: z.array(z.object({ name: z.string(), type: z.string().nullable(), description: z.string().nullable(), tests: z.array(z.string()) })),
  lastRuns: z.array(nodeRunSchema),
  lastTestRuns: z.array(testRunSchema),
});

export const jobResultSchema = z.object({
  invocationId: z.string(),
  command: z.string(),
  status: z.enum(['success', 'error']),
  results: z.array(
    z.object({
      node: z.string(),
      kind: z.enum(['model', 'seed', 'identity', 'segment', 'test']),
      what: z.string().describe('view | table | incremental | seed | identity | the test kind'),
      status: z.enum(['success', 'error', 'skipped', 'pass', 'fail']),
      durationMs: z.number(),
      rows: z.number().nullable().optional(),
      failures: z.number().nullable().optional(),
      summary: z.string().optional().describe('identity: profiles, identifiers, new links or full, merges, blocked links'),
      error: z.string().optional(),
      compiledPath: z.string().optional(),
    }),
  ),
});

export const compileResultSchema = z.object({ compiled: z.object({ models: z.array(z.string()), tests: z.array(z.string()) }) });

export const seedListItemSchema = z.object({
  name: z.string(),
  path: z.string(),
  files: z.number(),
  relation: z.string(),
  lastRun: nodeRunSchema.nullable(),
});

export type ModelListItem = z.infer<typeof modelListItemSchema>;
export type ModelDetail = z.infer<typeof modelDetailSchema>;
