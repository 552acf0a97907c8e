import type { Dialect, DialectName } from '../../src/warehouse/dialects';
import type { BindValue, Relation, RelationInfo, RelationKind, Row, Warehouse } from '../../src/warehouse/warehouse';

/** Answers a query of the code under test: canned rows (or none). */
export type QueryAnswer = (sql: string, params: BindValue[]) => Row[];

/**
 * A warehouse that runs nothing: every statement (execute, transaction, replaceTable, merge, append,
 * the queries themselves) is recorded in order, as the real adapter would send it (replaceTable and
 * merge go through the dialect exactly as SqlWarehouse does), and queries get canned rows, so an
 * engine flow runs deterministically and its SQL can be compared with golden files.
 */
export class RecordingWarehouse implements Warehouse {
  readonly statements: string[] = [];

  constructor(
    readonly dialect: Dialect,
    private readonly answer: QueryAnswer,
    /** what `describe` says of a relation (null: it does not exist) */
    private readonly tables: (rel: Relation) => RelationInfo | null = () => null,
  ) {}

  get type(): DialectName {
    return this.dialect.name;
  }

  private record(sql: string, params?: BindValue[]): void {
    this.statements.push(params?.length ? `${sql}\n-- params: ${JSON.stringify(params)}` : sql);
  }

  async *query(sql: string, params: BindValue[] = []): AsyncIterable<Row> {
    this.record(sql, params);
    for (const row of this.answer(sql, params)) yield await Promise.resolve(row);
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

  async replaceTable(relation: Relation, selectSql: string): Promise<void> {
    await this.transaction(this.dialect.createTable(relation, selectSql));
  }

  async createView(relation: Relation, selectSql: string): Promise<void> {
    await this.transaction(this.dialect.createView(relation, selectSql));
  }

  async merge(target: Relation, selectSql: string, keys: string[]): Promise<number> {
    const info = await this.describe(target);
    if (!info) throw new Error(`${this.dialect.relation(target)} does not exist`);
    const plan = this.dialect.merge(target, selectSql, keys, info.columns.map((c) => c.name));
    const counts = await this.transaction(plan.statements);
    return counts[plan.countIndex] ?? 0;
  }

  describe(relation: Relation): Promise<RelationInfo | null> {
    this.statements.push(`-- describe ${this.dialect.relation(relation)}`);
    return Promise.resolve(this.tables(relation));
  }

  async dropRelation(relation: Relation, kind: RelationKind): Promise<void> {
    await this.execute(this.dialect.drop(relation, kind));
  }

  async ensureSchema(schema: string, database?: string): Promise<void> {
    await this.execute(this.dialect.createSchema(schema, database));
  }

  /** as the adapters do: DuckDB's scratch tables live in an attached in-memory database */
  scratchRelation(name: string, near: Relation): Relation {
    return this.dialect.name === 'duckdb' ? { database: 'cdp_scratch', schema: 'main', name } : { ...near, name };
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
