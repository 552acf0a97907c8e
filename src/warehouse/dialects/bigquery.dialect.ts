import type { LogicalType, Relation } from '../warehouse';
import { AnsiDialect, type DatePart } from './dialect';

export class BigQueryDialect extends AnsiDialect {
  readonly name = 'bigquery' as const;
  protected override readonly quoteChar = '`';
  protected readonly types: Record<LogicalType, string> = {
    string: 'STRING',
    integer: 'INT64',
    bigint: 'INT64',
    numeric: 'NUMERIC',
    float: 'FLOAT64',
    boolean: 'BOOL',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
    json: 'JSON',
  };

  override quoteIdentifier(name: string): string {
    return '`' + name.replace(/[`\\]/g, '\\$&') + '`';
  }

  protected override stringLiteral(s: string): string {
    return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  }

  /** BigQuery's WEEK starts on Sunday; ISOWEEK starts on Monday as the other warehouses do. */
  override dateTrunc(part: string, expr: string): string {
    return `timestamp_trunc(${expr}, ${bigQueryPart(this.checkPart(part))})`;
  }

  override toDate(expr: string): string {
    return `date(${expr})`;
  }

  override dateAdd(part: string, amount: number, expr: string): string {
    const p = this.checkPart(part);
    const n = this.checkAmount(Number(amount));
    if (['week', 'month', 'quarter', 'year'].includes(p)) {
      return `timestamp(datetime_add(datetime(${expr}), interval ${n} ${p.toUpperCase()}))`;
    }
    return `timestamp_add(${expr}, interval ${n} ${p.toUpperCase()})`;
  }

  /**
   * date_diff counts boundaries; timestamp_diff counts whole intervals (23:00 to 01:00 is 0 days),
   * so truncate both sides first to count boundaries as the other warehouses do.
   */
  override dateDiff(part: string, start: string, end: string): string {
    const p = this.checkPart(part);
    if (['week', 'month', 'quarter', 'year'].includes(p)) return `date_diff(date(${end}), date(${start}), ${bigQueryPart(p)})`;
    return `timestamp_diff(${this.dateTrunc(p, end)}, ${this.dateTrunc(p, start)}, ${bigQueryPart(p)})`;
  }

  override sha256(expr: string): string {
    return `to_hex(sha256(${expr}))`;
  }

  override md5(expr: string): string {
    return `to_hex(md5(${expr}))`;
  }

  override hash56(expr: string): string {
    return `(farm_fingerprint(${expr}) & 72057594037927935)`;
  }

  override jsonValue(expr: string, path: string[]): string {
    return `json_value(${expr}, ${this.stringLiteral(this.jsonPath(path))})`;
  }

  override readonly unionDistinct = 'union distinct';

  override firstBy(value: string, order: string[]): string {
    return `array_agg(${value} ignore nulls order by ${order.join(', ')} limit 1)[safe_offset(0)]`;
  }

  override regexpContains(expr: string, pattern: string): string {
    return `regexp_contains(${expr}, ${this.stringLiteral(`(?i)${pattern}`)})`;
  }

  override boolOr(expr: string): string {
    return `logical_or(${expr})`;
  }

  /** BigQuery has no schemas inside a dataset: a relation is project.dataset.table. */
  override createSchema(schema: string, database?: string): string {
    return `create schema if not exists ${[database, schema].filter((p): p is string => !!p).map((p) => this.quoteIdentifier(p)).join('.')}`;
  }

  override deleteAll(rel: Relation): string {
    return `delete from ${this.relation(rel)} where true`;
  }

  override drop(rel: Relation, kind: 'table' | 'view'): string {
    return `drop ${kind} if exists ${this.relation(rel)}`;
  }

  override merge(target: Relation, selectSql: string, keys: string[], columns: string[]) {
    return { statements: [mergeInto(this, target, selectSql, keys, columns)], countIndex: 0 };
  }

  override describe(rel: Relation) {
    const ds = this.relation({ database: rel.database, schema: rel.schema, name: 'INFORMATION_SCHEMA' }).replace(/`\.`/g, '.');
    return {
      sql: `select c.column_name, c.data_type, c.is_nullable, t.table_type
from ${ds}.TABLES t
join ${ds}.COLUMNS c on c.table_name = t.table_name
where t.table_schema = ? and t.table_name = ?
order by c.ordinal_position`,
      params: [rel.schema, rel.name],
    };
  }
}

const bigQueryPart = (p: DatePart): string => (p === 'week' ? 'ISOWEEK' : p.toUpperCase());

/** A standard MERGE from a select, for the warehouses that have one (BigQuery, Snowflake). */
export function mergeInto(d: AnsiDialect, target: Relation, selectSql: string, keys: string[], columns: string[]): string {
  const q = (c: string) => d.quoteIdentifier(c);
  const on = keys.map((k) => `t.${q(k)} = s.${q(k)}`).join(' and ');
  const updates = columns.filter((c) => !keys.includes(c)).map((c) => `${q(c)} = s.${q(c)}`);
  return [
    `merge into ${d.relation(target)} t`,
    `using (\n${selectSql}\n) s`,
    `on ${on}`,
    ...(updates.length ? [`when matched then update set ${updates.join(', ')}`] : []),
    `when not matched then insert (${columns.map(q).join(', ')}) values (${columns.map((c) => `s.${q(c)}`).join(', ')})`,
  ].join('\n');
}
