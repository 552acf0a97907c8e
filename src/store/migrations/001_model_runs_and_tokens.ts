import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('invocations', (t) => {
    t.string('id', 36).primary();
    t.string('command', 32).notNullable();
    t.string('selector', 1000);
    t.string('status', 16).notNullable();
    t.string('triggered_by', 16).notNullable(); // cli | api
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
  });
  await knex.schema.createTable('model_runs', (t) => {
    t.increments('id').primary();
    t.string('invocation_id', 36).notNullable().references('id').inTable('invocations').onDelete('CASCADE');
    t.string('node', 255).notNullable(); // model or seed name
    t.string('node_type', 16).notNullable(); // model | seed
    t.string('materialization', 16);
    t.string('status', 16).notNullable(); // success | error | skipped
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.integer('duration_ms').notNullable();
    t.bigInteger('rows');
    t.text('error');
    t.string('compiled_path', 1000);
    t.index(['node', 'started_at']);
  });
  await knex.schema.createTable('test_runs', (t) => {
    t.increments('id').primary();
    t.string('invocation_id', 36).notNullable().references('id').inTable('invocations').onDelete('CASCADE');
    t.string('test', 500).notNullable();
    t.string('node', 255).notNullable();
    t.string('column_name', 255);
    t.string('status', 16).notNullable(); // pass | fail | error
    t.bigInteger('failures');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.integer('duration_ms').notNullable();
    t.text('error');
    t.index(['node', 'started_at']);
  });
  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 36).primary();
    t.string('name', 255).notNullable();
    t.string('token_hash', 64).notNullable().unique(); // sha256 hex; the token itself is never stored
    t.string('scopes', 255).notNullable(); // comma separated: admin
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_tokens');
  await knex.schema.dropTable('test_runs');
  await knex.schema.dropTable('model_runs');
  await knex.schema.dropTable('invocations');
}
