import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // segments created through the API (condition trees); segments/*.yaml and SQL segments live in the project folder
  await knex.schema.createTable('segments', (t) => {
    t.string('name', 63).primary();
    t.text('definition').notNullable(); // the definition as JSON (segment-tree.ts segmentSchema)
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('segments');
}
