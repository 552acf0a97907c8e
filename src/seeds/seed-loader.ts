import { createReadStream } from 'node:fs';
import { basename, relative } from 'node:path';
import { parse } from 'csv-parse';
import { CdpError } from '../errors/cdp-error';
import type { Project, SeedNode } from '../models/project';
import type { Warehouse } from '../warehouse/warehouse';

export class SeedError extends CdpError {
  constructor(message: string) {
    super('SEED_INVALID', message);
  }
}

/** Column names as the warehouse gets them: snake_case, so SQL needs no quotes (InvoiceNo -> invoice_no). */
export function columnName(header: string): string {
  const snake = header
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  return /^[0-9]/.test(snake) ? `_${snake}` : snake || 'column';
}

/**
 * Loads a seed (one CSV, or a folder of CSVs with one header) into its table. Rows stream from disk
 * into a staging table as text; the swap into the real table, with the declared column types, is one
 * transaction, so a bad file leaves the previous table as it was. Empty cells are NULL.
 * A folder seed gets lineage columns `_file` and `_line` (the record's number within its file).
 */
export async function loadSeed(warehouse: Warehouse, project: Project, seed: SeedNode, onProgress?: (rows: number) => void): Promise<number> {
  const d = warehouse.dialect;
  const isFolder = seed.files.length > 1 || !seed.path.endsWith('.csv');
  const headers = await readHeader(seed.files[0], project);
  const columns = headers.map(columnName);
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate) throw new SeedError(`${rel(project, seed.files[0])}: two columns become "${duplicate}"`);
  for (const c of Object.keys(seed.columnTypes)) {
    if (!columns.includes(c)) throw new SeedError(`${seed.name}: column_types names "${c}", which is not a column (columns: ${columns.join(', ')})`);
  }
  const lineage = isFolder ? ['_file', '_line'] : [];
  const allColumns = [...columns, ...lineage];
  const staging = d.stagingRelation(seed.relation, 'seed');
  await warehouse.execute(d.drop(staging, 'table'));
  await warehouse.execute(d.createTableFromColumns(staging, allColumns.map((name) => ({ name, type: name === '_line' ? 'integer' : 'string' }))));

  let total = 0;
  async function* rows(): AsyncIterable<unknown[]> {
    for (const file of seed.files) {
      if (headers.join(',') !== (await readHeader(file, project)).join(',')) {
        throw new SeedError(`${rel(project, file)}: header differs from ${rel(project, seed.files[0])}; every file of seed ${seed.name} needs the same columns`);
      }
      const parser = createReadStream(file).pipe(parse({ bom: true, from_line: 2, relax_quotes: true, relax_column_count: true, info: true }));
      let dataRow = 0;
      try {
        for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
          dataRow++;
          if (record.length !== headers.length) {
            throw new SeedError(`${rel(project, file)}:${info.lines}: expected ${headers.length} values (${headers.join(',')}), found ${record.length}`);
          }
          const values: unknown[] = record.map((v) => (v === '' ? null : v));
          if (isFolder) values.push(basename(file), dataRow);
          total++;
          if (total % 50_000 === 0) onProgress?.(total);
          yield values;
        }
      } catch (e) {
        if (e instanceof SeedError) throw e;
        throw new SeedError(`${rel(project, file)}: ${(e as Error).message}`);
      }
    }
  }
  try {
    await warehouse.append(staging, allColumns, rows());
    const select = allColumns
      .map((c) => {
        const type = seed.columnTypes[c];
        return type ? `${d.cast(d.quoteIdentifier(c), type)} as ${d.quoteIdentifier(c)}` : d.quoteIdentifier(c);
      })
      .join(',\n  ');
    const existing = await warehouse.describe(seed.relation);
    const sameShape = existing?.kind === 'table' && existing.columns.map((c) => c.name).join(',') === allColumns.join(',');
    const target = d.relation(seed.relation);
    const fromStaging = `select\n  ${select}\nfrom ${d.relation(staging)}`;
    // Same columns: replace the rows in place, so views built on the seed stay valid.
    await warehouse.transaction(
      sameShape
        ? [d.deleteAll(seed.relation), `insert into ${target}\n${fromStaging}`, d.drop(staging, 'table')]
        : [...(existing ? [d.drop(seed.relation, existing.kind)] : []), `create table ${target} as\n${fromStaging}`, d.drop(staging, 'table')],
    );
  } catch (e) {
    await warehouse.execute(d.drop(staging, 'table')).catch(() => undefined);
    throw e;
  }
  onProgress?.(total);
  return total;
}

async function readHeader(file: string, project: Project): Promise<string[]> {
  const parser = createReadStream(file).pipe(parse({ bom: true, to_line: 1 }));
  for await (const record of parser as AsyncIterable<string[]>) return record;
  throw new SeedError(`${rel(project, file)}: empty file; a seed needs a header line`);
}

const rel = (project: Project, file: string) => relative(project.config.projectDir, file);
