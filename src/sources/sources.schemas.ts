import { z } from 'zod';

export const createSourceSchema = z
  .object({ name: z.string().min(1).max(255).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only') })
  .strict();

export const sourceSchema = z.object({
  id: z.string(),
  name: z.string(),
  writeKeyHint: z.string().describe('the first characters of the write key'),
  origin: z.enum(['api', 'config']),
  createdAt: z.date(),
});

export const sourceWithKeySchema = sourceSchema.extend({
  writeKey: z.string().describe('shown once: send it as the HTTP Basic username to /v1'),
});
