import { z } from 'zod';

/** The `*.yml` files beside models and seeds. Declared once; the loader names file and key on error. */
const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name of letters, digits and _ that starts with a letter or _');

export const dataTestSchema = z.union([
  z.enum(['unique', 'not_null']),
  z.object({ accepted_values: z.object({ values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1) }).strict() }).strict(),
  z.object({ relationships: z.object({ to: name, field: z.string().min(1) }).strict() }).strict(),
]);
export type DataTestSpec = z.infer<typeof dataTestSchema>;

const columnSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    data_type: z.string().optional(),
    tests: z.array(dataTestSchema).default([]),
  })
  .strict();
export type ColumnDoc = z.infer<typeof columnSchema>;

export const materializations = ['view', 'table', 'incremental'] as const;
export type Materialization = (typeof materializations)[number];

const modelConfigSchema = z
  .object({
    materialized: z.enum(materializations).default('view'),
    unique_key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    schema: name.optional(),
    alias: name.optional(),
    tags: z.array(z.string()).default([]),
    enabled: z.boolean().default(true),
    /** a SQL segment: the model returns profile ids (column profile_id); its entries and exits are recorded */
    segment: z.boolean().default(false),
  })
  .strict();
export type ModelConfig = z.infer<typeof modelConfigSchema>;

const logicalType = z.enum(['string', 'integer', 'bigint', 'numeric', 'float', 'boolean', 'date', 'timestamp', 'json']);

export const projectYmlSchema = z
  .object({
    version: z.number().optional(),
    models: z
      .array(
        z
          .object({
            name,
            description: z.string().optional(),
            config: modelConfigSchema.optional(),
            columns: z.array(columnSchema).default([]),
          })
          .strict(),
      )
      .default([]),
    seeds: z
      .array(
        z
          .object({
            name,
            description: z.string().optional(),
            config: z.object({ column_types: z.record(z.string(), logicalType).default({}), schema: name.optional() }).strict().optional(),
            columns: z.array(columnSchema).default([]),
          })
          .strict(),
      )
      .default([]),
    sources: z
      .array(
        z
          .object({
            name,
            description: z.string().optional(),
            database: z.string().optional(),
            schema: z.string().min(1),
            tables: z
              .array(
                z
                  .object({ name, identifier: z.string().optional(), description: z.string().optional(), columns: z.array(columnSchema).default([]) })
                  .strict(),
              )
              .min(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type ProjectYml = z.infer<typeof projectYmlSchema>;
