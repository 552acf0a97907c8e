/**
 * The baseline for the profile API benchmark: a bare Fastify server answering every GET with the
 * same JSON text (a real profile answer of the same size). No auth, no routing to Nest, no lookup:
 * what the hardware, Node and HTTP allow.
 * Usage: tsx bench/profile-api/bare-server.ts <file with the JSON body>   (prints "listening <port>")
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

async function main() {
  const body = readFileSync(process.argv[2], 'utf8');
  const app = Fastify();
  app.get('/*', async (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
