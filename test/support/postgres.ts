import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The local PostgreSQL the tests use (CI always has it; see .ci/run). */
export const POSTGRES_URL = process.env.CDP_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let available: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL answers, else the reason it does not. */
export function postgresUnavailable(): Promise<string | undefined> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (e) {
      return `PostgreSQL at ${POSTGRES_URL} is not reachable: ${(e as Error).message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return available;
}

/**
 * Postgres-backed suites call this in beforeAll. Off CI, an unreachable server skips them with the
 * reason printed; in CI (CI=true) it fails the suite, because those tests are required there.
 */
export async function requirePostgres(): Promise<boolean> {
  const reason = await postgresUnavailable();
  if (!reason) return true;
  if (process.env.CI) throw new Error(`${reason} (required in CI)`);
  console.warn(`skipping PostgreSQL tests: ${reason}`);
  return false;
}

/** A fresh schema name per test run so parallel runs never collide. */
export const uniqueSchema = (prefix = 'cdp_test') => `${prefix}_${randomBytes(4).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
