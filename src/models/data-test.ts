import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Dialect } from '../warehouse/dialects';
import type { Relation } from '../warehouse/warehouse';
import type { ColumnDoc, DataTestSpec } from './project.schema';
import { ProjectError, suggest, type GraphNode, type Project } from './project';

export type DataTestKind = 'unique' | 'not_null' | 'accepted_values' | 'relationships';

/** One data test on one column: its SQL selects the rows that break it. */
export interface DataTest {
  name: string;
  kind: DataTestKind;
  node: string;
  column: string;
  values?: (string | number | boolean)[];
  to?: { node: string; field: string };
}

/** The engine's own SQL for each test kind, in sql/tests/<kind>.sql. */
const SQL_DIR = join(__dirname, '..', '..', 'sql', 'tests');
const templates = new Map<DataTestKind, HandlebarsTemplateDelegate>();

function template(kind: DataTestKind): HandlebarsTemplateDelegate {
  let t = templates.get(kind);
  if (!t) {
    t = Handlebars.compile(readFileSync(join(SQL_DIR, `${kind}.sql`), 'utf8'), { noEscape: true, strict: true });
    templates.set(kind, t);
  }
  return t;
}

export function dataTestsFor(project: Project, node: GraphNode, column: ColumnDoc, where: string): DataTest[] {
  return column.tests.map((spec: DataTestSpec, i): DataTest => {
    const base = { node: node.name, column: column.name };
    if (spec === 'unique' || spec === 'not_null') return { ...base, kind: spec, name: `${spec}_${node.name}_${column.name}` };
    if ('accepted_values' in spec) {
      return { ...base, kind: 'accepted_values', name: `accepted_values_${node.name}_${column.name}`, values: spec.accepted_values.values };
    }
    const to = spec.relationships.to;
    if (!project.models.has(to) && !project.seeds.has(to)) {
      throw new ProjectError(`${where}.tests[${i}].relationships.to: "${to}" is not a model or seed${suggest(to, [...project.models.keys(), ...project.seeds.keys()])}`);
    }
    return {
      ...base,
      kind: 'relationships',
      name: `relationships_${node.name}_${column.name}__${to}_${spec.relationships.field}`,
      to: { node: to, field: spec.relationships.field },
    };
  });
}

/** The select that returns the failing rows of a test. */
export function compileDataTest(test: DataTest, dialect: Dialect, relationOf: (node: string) => Relation): string {
  const q = (c: string) => dialect.quoteIdentifier(c);
  return template(test.kind)({
    relation: dialect.relation(relationOf(test.node)),
    column: q(test.column),
    values: test.values?.map((v) => dialect.literal(v)).join(', '),
    parent: test.to ? dialect.relation(relationOf(test.to.node)) : undefined,
    field: test.to ? q(test.to.field) : undefined,
  }).trim();
}
