import type { LogicalType, Relation, TableWriteOptions } from '../warehouse';
import { AnsiDialect } from './dialect';

export class PostgresDialect extends AnsiDialect {
  readonly name = 'postgres' as const;
  protected readonly types: Record<LogicalType, string> = {
    string: 'text',
    integer: 'integer',
    bigint: 'bigint',
    numeric: 'numeric(18,4)',
    float: 'double precision',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamp',
    json: 'jsonb',
  };

  /** Postgres intervals have no quarter: add three months per quarter. */
  override dateAdd(part: string, amount: number, expr: string): string {
    if (this.checkPart(part) === 'quarter') return super.dateAdd('month', this.checkAmount(Number(amount)) * 3, expr);
    return super.dateAdd(part, amount, expr);
  }

  /** Boundaries crossed: days by date subtraction, weeks from Mondays, longer parts from extract(), shorter from epoch seconds. */
  override dateDiff(part: string, start: string, end: string): string {
    const p = this.checkPart(part);
    const seconds = `extract(epoch from (${this.dateTrunc(p, end)} - ${this.dateTrunc(p, start)}))`;
    switch (p) {
      case 'year':
        return `(extract(year from ${end}) - extract(year from ${start}))::int`;
      case 'quarter':
        return `((extract(year from ${end}) - extract(year from ${start})) * 4 + extract(quarter from ${end}) - extract(quarter from ${start}))::int`;
      case 'month':
        return `((extract(year from ${end}) - extract(year from ${start})) * 12 + extract(month from ${end}) - extract(month from ${start}))::int`;
      case 'week':
        return `((${this.toDate(this.dateTrunc('week', end))} - ${this.toDate(this.dateTrunc('week', start))}) / 7)`;
      case 'day':
        return `(${this.toDate(end)} - ${this.toDate(start)})`;
      case 'hour':
        return `(${seconds} / 3600)::bigint`;
      case 'minute':
        return `(${seconds} / 60)::bigint`;
      case 'second':
        return `${seconds}::bigint`;
    }
  }

  override sha256(expr: string): string {
    return `encode(sha256(convert_to(${expr}, 'UTF8')), 'hex')`;
  }

  /** Hex digits to a bigint through a bit string, zero-padded to 64 bits. */
  override hexToInt(expr: string): string {
    return `cast(cast(concat('x', lpad(${expr}, 16, '0')) as bit(64)) as bigint)`;
  }

  /** hashtextextended: PostgreSQL's own 64-bit text hash (11+), its low 56 bits. */
  override hash56(expr: string): string {
    return `(hashtextextended(${expr}, 0) & 72057594037927935)`;
  }

  override jsonValue(expr: string, path: string[]): string {
    // parenthesized: #>> binds like any operator, so `'x' || a #>> '{b}'` would apply #>> to ('x' || a)
    return `((${expr})::jsonb #>> ${this.stringLiteral(`{${path.map((p) => `"${p.replace(/["\\]/g, '\\$&')}"`).join(',')}}`)})`;
  }

  override firstBy(value: string, order: string[]): string {
    return `(array_agg(${value} order by ${order.join(', ')}))[1]`;
  }

  override regexpContains(expr: string, pattern: string): string {
    return `(${expr} ~* ${this.stringLiteral(pattern)})`;
  }

  /** Postgres tracks dependent views: dropping a relation drops them too (the DAG rebuilds them). */
  override drop(rel: Relation, kind: 'table' | 'view'): string {
    return `drop ${kind} if exists ${this.relation(rel)} cascade`;
  }

  /** Views: Postgres cannot replace a view whose columns changed, so drop and create in one transaction. */
  override createView(rel: Relation, selectSql: string): string[] {
    return [this.drop(rel, 'view'), `create view ${this.relation(rel)} as\n${selectSql}`];
  }

  /** Tables: build beside, then swap, so readers never see a missing or half-built table. */
  override createTable(rel: Relation, selectSql: string, _options?: TableWriteOptions): string[] {
    const tmp = this.stagingRelation(rel, 'tmp');
    return [
      `drop table if exists ${this.relation(tmp)}`,
      `create table ${this.relation(tmp)} as\n${selectSql}`,
      this.drop(rel, 'table'),
      `alter table ${this.relation(tmp)} rename to ${this.quoteIdentifier(rel.name)}`,
    ];
  }
}
