import type { LogicalType, Relation } from '../warehouse';
import { mergeInto } from './bigquery.dialect';
import { AnsiDialect } from './dialect';

/**
 * Snowflake folds unquoted identifiers to upper case. The engine quotes every identifier, so it
 * upper-cases them first: `stg_orders` is STG_ORDERS, as a user querying without quotes expects.
 */
export class SnowflakeDialect extends AnsiDialect {
  readonly name = 'snowflake' as const;
  protected readonly types: Record<LogicalType, string> = {
    string: 'varchar',
    integer: 'integer',
    bigint: 'bigint',
    numeric: 'number(18,4)',
    float: 'float',
    boolean: 'boolean',
    date: 'date',
    timestamp: 'timestamp_ntz',
    json: 'variant',
  };

  override quoteIdentifier(name: string): string {
    return super.quoteIdentifier(this.storedName(name));
  }

  /** The name Snowflake stores for an identifier the engine writes: lower-case names fold to upper case. */
  storedName(name: string): string {
    return /^[a-z_][a-z0-9_$]*$/.test(name) ? name.toUpperCase() : name;
  }

  protected override stringLiteral(s: string): string {
    return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  }

  override dateAdd(part: string, amount: number, expr: string): string {
    return `dateadd(${this.checkPart(part)}, ${this.checkAmount(Number(amount))}, ${expr})`;
  }

  override dateDiff(part: string, start: string, end: string): string {
    return `datediff(${this.checkPart(part)}, ${start}, ${end})`;
  }

  override sha256(expr: string): string {
    return `sha2(${expr}, 256)`;
  }

  override strpos(haystack: string, needle: string): string {
    return `position(${needle}, ${haystack})`;
  }

  override hexToInt(expr: string): string {
    return `to_number(${expr}, 'XXXXXXXXXXXXXXX')`;
  }

  override hash56(expr: string): string {
    return `bitand(hash(${expr}), 72057594037927935)`;
  }

  override jsonValue(expr: string, path: string[]): string {
    return `get_path(${expr}, ${this.stringLiteral(path.map((p) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? p : `"${p}"`)).join('.'))})::varchar`;
  }

  override firstBy(value: string, order: string[]): string {
    return `get(array_agg(${value}) within group (order by ${order.join(', ')}), 0)`;
  }

  /** regexp_like is anchored on Snowflake; regexp_instr finds a match anywhere. */
  override regexpContains(expr: string, pattern: string): string {
    return `(regexp_instr(${expr}, ${this.stringLiteral(pattern)}, 1, 1, 0, 'i') > 0)`;
  }

  override boolOr(expr: string): string {
    return `boolor_agg(${expr})`;
  }

  override merge(target: Relation, selectSql: string, keys: string[], columns: string[]) {
    return { statements: [mergeInto(this, target, selectSql, keys, columns)], countIndex: 0 };
  }

  /**
   * The session database's information_schema (the adapter's sessions open in the configured
   * database, where the engine keeps everything). NUMBER columns read as NUMBER(p,s), so
   * logicalType tells integers from decimals; names are looked up as Snowflake stores them.
   */
  override describe(rel: Relation) {
    return {
      sql: `select c.column_name, case when c.data_type = 'NUMBER' then 'NUMBER(' || c.numeric_precision || ',' || c.numeric_scale || ')' else c.data_type end as data_type, c.is_nullable, t.table_type
from information_schema.tables t
join information_schema.columns c on c.table_schema = t.table_schema and c.table_name = t.table_name
where t.table_schema = ? and t.table_name = ?
order by c.ordinal_position`,
      params: [this.storedName(rel.schema), this.storedName(rel.name)],
    };
  }
}
