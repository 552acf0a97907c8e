import type { Knex } from 'knex';
import * as m001 from './001_model_runs_and_tokens';
import * as m002 from './002_sources';
import * as m003 from './003_segments';
import * as m004 from './004_destinations_and_syncs';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Migrations in order. Add a file and list it here; never edit one that has shipped. */
const all: Record<string, Migration> = {
  '001_model_runs_and_tokens': m001,
  '002_sources': m002,
  '003_segments': m003,
  '004_destinations_and_syncs': m004,
};

export const migrations: Knex.MigrationSource<string> = {
  getMigrations: () => Promise.resolve(Object.keys(all)),
  getMigrationName: (name) => name,
  getMigration: (name) => Promise.resolve(all[name]),
};
