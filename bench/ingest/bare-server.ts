/**
 * The ceiling for the ingest benchmark: a bare Fastify server that appends each request's events to
 * DuckDB with the appender, group-committed the same way (a flush starts when the previous ends),
 * answering after commit. No auth, no validation, no Nest: what the hardware and DuckDB allow.
 * Usage: tsx bench/ingest/bare-server.ts <duckdb file>   (prints "listening <port>")
 */
import Fastify from 'fastify';
import { DuckDBInstance, DuckDBTimestampValue } from '@duckdb/node-api';

async function main() {
  // the same checkpoint threshold as cdp's DuckDB warehouse
  const instance = await DuckDBInstance.create(process.argv[2], { checkpoint_threshold: '1GB' });
  const setup = await instance.connect();
  await setup.run(`create table if not exists raw_events (message_id varchar, type varchar, event varchar, user_id varchar, anonymous_id varchar,
    "timestamp" timestamp, received_at timestamp, properties json)`);
  setup.closeSync();
  const connection = await instance.connect();

  let waiting: { rows: unknown[][]; done: () => void; fail: (e: unknown) => void }[] = [];
  let flushing = false;
  async function flush() {
    flushing = true;
    while (waiting.length) {
      const group = waiting;
      waiting = [];
      try {
        await connection.run('begin transaction');
        const appender = await connection.createAppender('raw_events');
        for (const s of group) {
          for (const row of s.rows) {
            for (const v of row) {
              if (v === null) appender.appendNull();
              else if (v instanceof Date) appender.appendTimestamp(new DuckDBTimestampValue(BigInt(v.getTime()) * 1000n));
              else appender.appendVarchar(v as string);
            }
            appender.endRow();
          }
        }
        appender.closeSync();
        await connection.run('commit');
        for (const s of group) s.done();
      } catch (e) {
        await connection.run('rollback').catch(() => undefined);
        for (const s of group) s.fail(e);
      }
    }
    flushing = false;
  }
  const submit = (rows: unknown[][]) =>
    new Promise<void>((done, fail) => {
      waiting.push({ rows, done, fail });
      if (!flushing) {
        flushing = true;
        setImmediate(() => void flush());
      }
    });

  type Msg = { messageId?: string; type?: string; event?: string; userId?: string; anonymousId?: string; timestamp?: string; properties?: unknown };
  const row = (m: Msg, type: string, now: Date) => [m.messageId ?? null, type, m.event ?? null, m.userId ?? null, m.anonymousId ?? null, m.timestamp ? new Date(m.timestamp) : now, now, JSON.stringify(m.properties ?? null)];

  const app = Fastify({ bodyLimit: 500 * 1024 });
  app.post('/v1/track', async (req) => {
    await submit([row(req.body as Msg, 'track', new Date())]);
    return { success: true };
  });
  app.post('/v1/batch', async (req) => {
    const now = new Date();
    await submit((req.body as { batch: Msg[] }).batch.map((m) => row(m, m.type ?? 'track', now)));
    return { success: true };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
  process.on('SIGTERM', () => {
    void app.close().then(() => {
      connection.closeSync();
      instance.closeSync();
      process.exit(0);
    });
  });
}

void main();
