import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';
import { resolveIn } from '../config/config.loader';
import { migrations } from './migrations';

export type ControlStore = Knex;

/**
 * The control store: sources, destinations, syncs, runs, tokens. SQLite (better-sqlite3) by
 * default, PostgreSQL for production. Versioned migrations run at start.
 */
export async function openControlStore(url: string, projectDir: string): Promise<ControlStore> {
  let db: Knex;
  if (url.startsWith('sqlite:')) {
    const path = url.replace(/^sqlite:(\/\/)?/, '');
    const filename = path === ':memory:' ? ':memory:' : resolveIn(projectDir, path);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    db = knex({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
  } else {
    db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 10 } });
  }
  try {
    await db.migrate.latest({ migrationSource: migrations, tableName: 'cdp_migrations' });
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return db;
}
