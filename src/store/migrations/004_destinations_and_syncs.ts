import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // destination instances created through the API; destinations/*.yaml live in the project folder
  await knex.schema.createTable('destinations', (t) => {
    t.string('name', 63).primary();
    t.string('type', 63).notNullable();
    t.text('settings').notNullable(); // JSON without the secret fields
    t.text('secrets').notNullable(); // JSON of the secret fields, encrypted (AES-256-GCM, store/secrets.ts)
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
  // syncs created through the API; syncs/*.yaml live in the project folder
  await knex.schema.createTable('syncs', (t) => {
    t.string('name', 63).primary();
    t.text('definition').notNullable(); // JSON (syncs/sync-definition.ts)
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
  await knex.schema.createTable('sync_runs', (t) => {
    t.string('id', 40).primary();
    t.string('sync', 63).notNullable();
    t.string('status', 16).notNullable(); // planning | running | succeeded | partial | failed | cancelled
    t.string('trigger', 16).notNullable(); // manual | schedule | after | cli | resume
    t.boolean('full_resync').notNullable().defaultTo(false);
    t.bigInteger('planned').notNullable().defaultTo(0);
    t.bigInteger('added').notNullable().defaultTo(0);
    t.bigInteger('changed').notNullable().defaultTo(0);
    t.bigInteger('removed').notNullable().defaultTo(0);
    t.bigInteger('unchanged').notNullable().defaultTo(0);
    t.bigInteger('succeeded').notNullable().defaultTo(0);
    t.bigInteger('failed').notNullable().defaultTo(0);
    t.bigInteger('checkpoint').notNullable().defaultTo(0); // plan rows up to this sequence number are done
    t.integer('batches').notNullable().defaultTo(0);
    t.integer('retries').notNullable().defaultTo(0);
    t.text('error');
    t.text('timings'); // JSON: milliseconds per phase
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
    t.index(['sync', 'started_at']);
  });
  await knex.schema.createTable('sync_row_errors', (t) => {
    t.increments('id');
    t.string('run_id', 40).notNullable().references('sync_runs.id').onDelete('CASCADE');
    t.string('sync', 63).notNullable();
    t.text('key').notNullable();
    t.string('op', 16).notNullable();
    t.text('error').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['run_id']);
  });
  // one run per sync at a time, across service replicas sharing a PostgreSQL store
  await knex.schema.createTable('sync_locks', (t) => {
    t.string('sync', 63).primary();
    t.string('run_id', 40).notNullable();
    t.string('owner', 100).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sync_locks');
  await knex.schema.dropTable('sync_row_errors');
  await knex.schema.dropTable('sync_runs');
  await knex.schema.dropTable('syncs');
  await knex.schema.dropTable('destinations');
}
