import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sources', (t) => {
    t.string('id', 36).primary();
    t.string('name', 255).notNullable().unique();
    t.string('write_key_hash', 64).notNullable().unique(); // sha256 hex; the key itself is never stored
    t.string('write_key_hint', 16).notNullable(); // the key's first characters, to tell keys apart in lists
    t.string('origin', 16).notNullable(); // api | config
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sources');
}
