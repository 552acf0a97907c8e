import type { Dialect } from './dialects';
import { WarehouseError } from './warehouse-error';
import type { BindValue, Relation, RelationInfo, RelationKind, Row, TableWriteOptions, Warehouse } from './warehouse';

/**
 * What every adapter does the same way once it can execute SQL: materializations, merge, describe
 * and schema management, each built by the dialect. An adapter supplies the engine-specific
 * parts (query, execute, transaction, append, close).
 */
export abstract class SqlWarehouse implements Warehouse {
  abstract readonly type: string;
  abstract readonly dialect: Dialect;
  abstract query(sql: string, params?: BindValue[]): AsyncIterable<Row>;
  abstract execute(sql: string, params?: BindValue[]): Promise<number | undefined>;
  abstract transaction(statements: string[]): Promise<(number | undefined)[]>;
  abstract append(table: Relation, columns: string[], rows: AsyncIterable<unknown[]> | Iterable<unknown[]>): Promise<number>;
  abstract close(): Promise<void>;

  async replaceTable(relation: Relation, selectSql: string, options?: TableWriteOptions): Promise<void> {
    await this.transaction(this.dialect.createTable(relation, selectSql, options));
  }

  async createView(relation: Relation, selectSql: string): Promise<void> {
    await this.transaction(this.dialect.createView(relation, selectSql));
  }

  async merge(target: Relation, selectSql: string, keys: string[]): Promise<number> {
    const info = await this.describe(target);
    if (!info) throw new WarehouseError(`${this.dialect.relation(target)} does not exist`);
    const plan = this.dialect.merge(target, selectSql, keys, info.columns.map((c) => c.name));
    const counts = await this.transaction(plan.statements);
    return counts[plan.countIndex] ?? 0;
  }

  /** Columns and kind through information_schema, in column order; null when the relation is missing. */
  async describe(relation: Relation): Promise<RelationInfo | null> {
    const { sql, params } = this.dialect.describe(relation);
    let kind: RelationKind | undefined;
    const columns: RelationInfo['columns'] = [];
    for await (const row of this.query(sql, params)) {
      kind = /view/i.test(String(row.table_type)) ? 'view' : 'table';
      columns.push({ name: String(row.column_name), type: String(row.data_type), nullable: String(row.is_nullable).toUpperCase() !== 'NO' });
    }
    return kind ? { kind, columns } : null;
  }

  async dropRelation(relation: Relation, kind: RelationKind): Promise<void> {
    await this.execute(this.dialect.drop(relation, kind));
  }

  /** schemas this process created or found (nothing in the service drops one), so each is ensured once */
  private readonly ensured = new Set<string>();

  async ensureSchema(schema: string, database?: string): Promise<void> {
    const key = `${database ?? ''}.${schema}`;
    if (this.ensured.has(key)) return;
    await this.execute(this.dialect.createSchema(schema, database));
    this.ensured.add(key);
  }

  scratchRelation(name: string, near: Relation): Relation {
    return { ...near, name };
  }

  async ping(): Promise<void> {
    await this.execute('select 1');
  }
}
