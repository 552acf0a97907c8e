import { z } from 'zod';

export const LOAD_MODES = ['append', 'replace', 'upsert'] as const;
export type LoadMode = (typeof LOAD_MODES)[number];

export const FILE_FORMATS = ['csv', 'tsv', 'json', 'ndjson', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

const IDENT = '[A-Za-z_][A-Za-z0-9_]{0,62}';
/** A warehouse identifier a load accepts: letters, digits and _, not starting with a digit, at most 63. */
export const IDENTIFIER_RE = new RegExp(`^${IDENT}$`);

/** The options of a load: the query string of POST /api/loads and /api/sources/:id/uploads, and `cdp load`'s options. */
export const loadOptionsSchema = z
  .object({
    table: z
      .string()
      .regex(new RegExp(`^(${IDENT}\\.)?${IDENT}$`), 'expected name or schema.name, each letters, digits and _ (not starting with a digit)')
      .describe('the table: name (in the warehouse schema of cdp.yaml) or schema.name; created if missing'),
    mode: z
      .enum(LOAD_MODES)
      .default('append')
      .describe('append: add the rows (the columns must match the table); replace: the table becomes the file; upsert: replace the rows with the same key, add the others'),
    key: z
      .string()
      .regex(new RegExp(`^${IDENT}(,${IDENT})*$`), 'expected column names separated by commas')
      .optional()
      .describe('upsert: the key column(s), comma-separated'),
    format: z.enum(FILE_FORMATS).optional().describe('the file format; default: from the Content-Type, else from the filename extension'),
    filename: z.string().min(1).max(255).optional().describe('the file name errors name (and whose extension gives the format)'),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.mode === 'upsert' && !o.key) ctx.addIssue({ code: 'custom', path: ['key'], message: 'mode upsert needs the key column(s)' });
    if (o.mode !== 'upsert' && o.key) ctx.addIssue({ code: 'custom', path: ['key'], message: `a key applies to mode upsert only (the mode is ${o.mode})` });
  });

export type LoadOptions = z.output<typeof loadOptionsSchema>;

export const loadResultSchema = z.object({
  rows: z.number().int().describe('rows read from the file and written'),
  table: z.string().describe('schema.name'),
  mode: z.enum(LOAD_MODES),
  columns: z.array(z.object({ name: z.string(), type: z.enum(['string', 'integer', 'bigint', 'numeric', 'float', 'boolean', 'date', 'timestamp', 'json']) })).describe('the table columns, in order'),
});

export type LoadResponse = z.output<typeof loadResultSchema>;
