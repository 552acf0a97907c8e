import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutgoingRow } from '../../src/destinations/destination-definition';
import { ConfigurationError, RetryableError } from '../../src/destinations/destination-errors';
import { file } from '../../src/destinations/file';
import { fileError } from '../../src/destinations/file/file-errors';
import { actionContext, testContext } from './harness';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cdp-file-dest-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = file.actions.write;
const context = (format: 'csv' | 'ndjson', options: unknown = {}) =>
  actionContext(file, 'write', { settings: { path: dir, format }, options, sync: { name: 'vip_customers', runId: 'run_0001', mode: 'mirror' } });

const batch1: OutgoingRow[] = [
  { op: 'upsert', key: 'p_1', fields: { name: 'Lovelace, Ada', quote: 'she said "hi"', tags: ['a', 'b'] } },
  { op: 'upsert', key: 'p_2', fields: { name: 'Line\nbreak', quote: null, tags: { vip: true } } },
];
const batch2: OutgoingRow[] = [
  { op: 'delete', key: 'p_3', fields: {} },
  { op: 'upsert', key: 'p,4', fields: { name: 'Grace', quote: 42 } },
];

describe('file: ndjson', () => {
  it('appends one JSON object per row, batch after batch, to <path>/<sync>/<runId>.ndjson', async () => {
    const ctx = context('ndjson');
    expect(await write.performBatch(batch1, ctx)).toEqual([{ ok: true }, { ok: true }]);
    expect(await write.performBatch(batch2, ctx)).toEqual([{ ok: true }, { ok: true }]);
    expect(readFileSync(join(dir, 'vip_customers', 'run_0001.ndjson'), 'utf8')).toBe(
      [
        '{"op":"upsert","key":"p_1","fields":{"name":"Lovelace, Ada","quote":"she said \\"hi\\"","tags":["a","b"]}}',
        '{"op":"upsert","key":"p_2","fields":{"name":"Line\\nbreak","quote":null,"tags":{"vip":true}}}',
        '{"op":"delete","key":"p_3","fields":{}}',
        '{"op":"upsert","key":"p,4","fields":{"name":"Grace","quote":42}}',
        '',
      ].join('\n'),
    );
  });

  it('uses the file_name option as the folder', async () => {
    await write.performBatch(batch2, context('ndjson', { file_name: 'exports-2026' }));
    expect(readdirSync(join(dir, 'exports-2026'))).toEqual(['run_0001.ndjson']);
    expect(write.options.safeParse({ file_name: '../escape' }).success).toBe(false);
  });
});

describe('file: csv', () => {
  it('writes the header once and escapes per RFC 4180 (nested values as JSON text)', async () => {
    const ctx = context('csv');
    await write.performBatch(batch1, ctx);
    await write.performBatch(batch2, ctx);
    expect(readFileSync(join(dir, 'vip_customers', 'run_0001.csv'), 'utf8')).toBe(
      [
        'op,key,name,quote,tags',
        'upsert,p_1,"Lovelace, Ada","she said ""hi""","[""a"",""b""]"',
        'upsert,p_2,"Line\nbreak",,"{""vip"":true}"',
        'delete,p_3,,,',
        'upsert,"p,4",Grace,42,',
        '',
      ].join('\r\n'),
    );
  });

  it('widens the header when a later batch brings a new field', async () => {
    const ctx = context('csv');
    await write.performBatch([{ op: 'delete', key: 'p_1', fields: {} }], ctx);
    await write.performBatch([{ op: 'upsert', key: 'p_2', fields: { email: 'x@y.z' } }], ctx);
    expect(readFileSync(join(dir, 'vip_customers', 'run_0001.csv'), 'utf8')).toBe(['op,key,email', 'delete,p_1,', 'upsert,p_2,x@y.z', ''].join('\r\n'));
  });
});

describe('file: errors', () => {
  it('a folder that cannot be created (a file in the way) is a ConfigurationError', async () => {
    writeFileSync(join(dir, 'blocker'), 'x');
    const ctx = actionContext(file, 'write', { settings: { path: join(dir, 'blocker', 'out') } });
    await expect(write.performBatch(batch1, ctx)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(file.testConnection!(testContext(file, { path: join(dir, 'blocker', 'out') }))).rejects.toThrow(ConfigurationError);
  });

  it('testConnection creates a missing folder and leaves nothing behind', async () => {
    await file.testConnection!(testContext(file, { path: join(dir, 'new', 'folder') }));
    expect(readdirSync(join(dir, 'new', 'folder'))).toEqual([]);
  });

  it.each([
    { code: 'EACCES', expected: ConfigurationError },
    { code: 'EROFS', expected: ConfigurationError },
    { code: 'ENOTDIR', expected: ConfigurationError },
    { code: 'ENOSPC', expected: RetryableError },
    { code: 'EMFILE', expected: RetryableError },
    { code: 'EIO', expected: RetryableError },
  ])('$code → $expected.name', ({ code, expected }) => {
    const error = fileError(Object.assign(new Error(code), { code }), '/x/y.csv');
    expect(error).toBeInstanceOf(expected);
    expect(error.message).toBe(`cannot write /x/y.csv: ${code}`);
  });
});
