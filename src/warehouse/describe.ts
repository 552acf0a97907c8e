import type { Relation, RelationInfo, Warehouse } from './warehouse';

/** describe() through information_schema, shared by the adapters whose dialect can say it in SQL. */
export async function describeRelation(warehouse: Warehouse, relation: Relation): Promise<RelationInfo | null> {
  const { sql, params } = warehouse.dialect.describe(relation);
  let kind: RelationInfo['kind'] | undefined;
  const columns: RelationInfo['columns'] = [];
  for await (const row of warehouse.query(sql, params)) {
    kind = /view/i.test(String(row.table_type)) ? 'view' : 'table';
    columns.push({ name: String(row.column_name), type: String(row.data_type), nullable: String(row.is_nullable).toUpperCase() !== 'NO' });
  }
  return kind ? { kind, columns } : null;
}
