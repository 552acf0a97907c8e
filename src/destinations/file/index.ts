import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { defineDestination, ROW_OK, type OutgoingRow, type RowResult } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { fileError } from './file-errors';
import { csvRow, csvRecord, fieldNames, ndjsonRow } from './format';
import { appendDurably, readCsvHeader, widenCsv } from './writer';

const settings = z.object({
  path: z
    .string()
    .min(1)
    .describe('the folder files are written to; the caller resolves a relative path against the project folder (else the working directory)'),
  format: z.enum(['csv', 'ndjson']).default('ndjson').describe('ndjson (default) or csv'),
});
type FileSettings = z.infer<typeof settings>;

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const options = z.object({
  file_name: z.string().regex(SAFE_NAME, 'file_name: letters, digits, ".", "_" and "-" only').optional().describe('the sub-folder for this sync (default: the sync name)'),
});

/**
 * Writes every batch to local files: per run, `<path>/<file_name>/<runId>.<csv|ndjson>`, appended
 * batch by batch and fsynced before rows are reported ok. No credentials; the demo project's default.
 */
export const file = defineDestination<FileSettings>({
  slug: 'file',
  name: 'File',
  category: 'generic',
  description: 'Writes each run to a CSV or NDJSON file in a local folder.',
  settings,

  async testConnection({ settings }) {
    const folder = resolve(settings.path);
    const probe = join(folder, `.cdp-write-test-${randomUUID()}`);
    try {
      await mkdir(folder, { recursive: true });
      await writeFile(probe, 'ok');
      await rm(probe, { force: true });
    } catch (e) {
      throw new ConfigurationError(fileError(e, `to ${folder}`).message);
    }
  },

  actions: {
    write: {
      title: 'Write to a file',
      description: 'Appends each operation (op, key, fields) to the run\'s file: CSV with a header `op,key,<fields…>`, or one JSON object per line.',
      modes: ['upsert', 'update', 'insert', 'mirror', 'audience'],
      options,
      fields: {},
      customFields: true,
      batchSize: 1000,
      async performBatch(rows, ctx) {
        const name = (ctx.options as z.infer<typeof options>).file_name ?? safeSegment(ctx.sync.name);
        const target = join(resolve(ctx.settings.path), name, `${safeSegment(ctx.sync.runId)}.${ctx.settings.format}`);
        try {
          if (ctx.settings.format === 'ndjson') {
            await appendDurably(target, rows.map(ndjsonRow).join(''));
            return rows.map(() => ROW_OK);
          }
          return await appendCsv(target, rows);
        } catch (e) {
          throw fileError(e, target);
        }
      },
    },
  },
});

/** Appends rows under the file's header, writing the header with the first batch and widening it when a batch brings new fields. */
async function appendCsv(target: string, rows: OutgoingRow[]): Promise<RowResult[]> {
  const header = await readCsvHeader(target);
  const fields = fieldNames(rows);
  let columns = header ? header.slice(2) : fields;
  let text = header ? '' : csvRecord(['op', 'key', ...columns]);
  const added = fields.filter((f) => !columns.includes(f));
  if (header && added.length > 0) {
    columns = [...columns, ...added];
    await widenCsv(target, ['op', 'key', ...columns]);
  }
  text += rows.map((r) => csvRow(r, columns)).join('');
  await appendDurably(target, text);
  return rows.map(() => ROW_OK);
}

/** A sync name or run id as one path segment: anything but letters, digits, `.`, `_`, `-` becomes `_`. */
function safeSegment(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return /^\.*$/.test(safe) ? `_${safe}` : safe;
}
