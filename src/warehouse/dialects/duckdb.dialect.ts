import type { LogicalType } from '../warehouse';
import { AnsiDialect } from './dialect';

export class DuckDbDialect extends AnsiDialect {
  readonly name = 'duckdb' as const;
  protected readonly types: Record<LogicalType, string> = {
    string: 'varchar',
    integer: 'integer',
    bigint: 'bigint',
    numeric: 'decimal(18,4)',
    float: 'double',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamp',
    json: 'json',
  };

  override dateDiff(part: string, start: string, end: string): string {
    return `date_diff('${this.checkPart(part)}', ${start}, ${end})`;
  }
}
