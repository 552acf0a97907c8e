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
