import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { csvRecord } from './format';

/**
 * Appends text to a file and fsyncs it before returning, so whatever the caller then reports as
 * delivered is on disk. A new file's folder entry is synced too. `flag` 'w' replaces the file.
 */
export async function appendDurably(file: string, text: string, flag: 'a' | 'w' = 'a'): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const existed = await exists(file);
  const handle = await open(file, flag);
  try {
    await handle.write(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (!existed) await syncFolder(dirname(file));
}

/** The columns of an existing CSV file (its first record), or undefined when it is new or empty. */
export async function readCsvHeader(file: string): Promise<string[] | undefined> {
  if (!(await exists(file))) return undefined;
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read({ buffer: Buffer.alloc(64 * 1024), position: 0 });
    if (bytesRead === 0) return undefined;
    const records = parse(buffer.subarray(0, bytesRead), { to: 1, relax_quotes: true, relax_column_count: true });
    return records[0];
  } finally {
    await handle.close();
  }
}

/**
 * Rewrites a CSV file with more columns (a later batch mapped a field the first one did not have):
 * every record padded with empty cells, written to a temporary file, fsynced, renamed over.
 */
export async function widenCsv(file: string, columns: string[]): Promise<void> {
  const records = parse(await readFile(file), { relax_column_count: true });
  const body = records
    .slice(1)
    .map((r) => csvRecord([...r, ...Array<string>(Math.max(0, columns.length - r.length)).fill('')]))
    .join('');
  const tmp = `${file}.widen`;
  await appendDurably(tmp, csvRecord(columns) + body, 'w');
  await rename(tmp, file);
  await syncFolder(dirname(file));
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
