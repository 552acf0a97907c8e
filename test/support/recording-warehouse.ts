import type { Dialect, DialectName } from '../../src/warehouse/dialects';
import { SqlWarehouse } from '../../src/warehouse/sql-warehouse';
import type { BindValue, Relation, RelationInfo, Row } from '../../src/warehouse/warehouse';

/** Answers a query of the code under test: canned rows (or none). */
export type QueryAnswer = (sql: string, params: BindValue[]) => Row[];

/**
 * A warehouse that runs nothing: every statement (execute, transaction, replaceTable, merge, append,
 * the queries themselves) is recorded in order, as the real adapter would send it (replaceTable,
 * createView, merge, dropRelation and ensureSchema are SqlWarehouse's own), and queries get canned
 * rows, so an engine flow runs deterministically and its SQL can be compared with golden files.
 */
export class RecordingWarehouse extends SqlWarehouse {
  readonly statements: string[] = [];

  constructor(
    readonly dialect: Dialect,
    private readonly answer: QueryAnswer,
    /** what `describe` says of a relation (null: it does not exist) */
    private readonly tables: (rel: Relation) => RelationInfo | null = () => null,
  ) {
    super();
  }

  get type(): DialectName {
    return this.dialect.name;
  }

  private record(sql: string, params?: BindValue[]): void {
    this.statements.push(params?.length ? `${sql}\n-- params: ${JSON.stringify(params)}` : sql);
  }

  async *query(sql: string, params: BindValue[] = []): AsyncIterable<Row> {
    this.record(sql, params);
    // a select's column types (Dialect.describeSelect): as `describe` says of a table named `_select_types`
    const rows = /^describe select /.test(sql)
      ? (this.tables({ schema: 'main', name: '_select_types' })?.columns ?? []).map((c) => ({ column_name: c.name, column_type: c.type }))
      : this.answer(sql, params);
    for (const row of rows) yield await Promise.resolve(row);
  }

  execute(sql: string, params?: BindValue[]): Promise<number | undefined> {
    this.record(sql, params);
    return Promise.resolve(1);
  }

  transaction(statements: string[]): Promise<(number | undefined)[]> {
    this.statements.push('-- begin transaction');
    statements.forEach((s) => this.record(s));
    this.statements.push('-- commit');
    return Promise.resolve(statements.map(() => 1));
  }

  append(table: Relation, columns: string[], rows: AsyncIterable<unknown[]> | Iterable<unknown[]>): Promise<number> {
    const list = [...(rows as Iterable<unknown[]>)];
    this.statements.push(`-- append into ${this.dialect.relation(table)} (${columns.join(', ')}): ${JSON.stringify(list)}`);
    return Promise.resolve(list.length);
  }

  override describe(relation: Relation): Promise<RelationInfo | null> {
    this.statements.push(`-- describe ${this.dialect.relation(relation)}`);
    return Promise.resolve(this.tables(relation));
  }

  /** as the adapters do: DuckDB's scratch tables live in an attached in-memory database */
  override scratchRelation(name: string, near: Relation): Relation {
    return this.dialect.name === 'duckdb' ? { database: 'cdp_scratch', schema: 'main', name } : { ...near, name };
  }

  override ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
