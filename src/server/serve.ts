import type { CdpConfig } from '../config/config.schema';
import { AdminTokenService } from '../auth/admin-token.service';
import { createApp } from './app.factory';
import { removeServiceFile, writeServiceFile } from './service-file';

/** `cdp serve`: listen, write .cdp/service.json for the CLI, remove it on the way out. */
export async function serve(config: CdpConfig): Promise<void> {
  const app = await createApp(config);
  await app.listen(config.server.port, config.server.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const url = `http://127.0.0.1:${port}`;
  writeServiceFile(config, { pid: process.pid, url, token: app.get(AdminTokenService).localToken, startedAt: new Date().toISOString() });
  const cleanup = () => removeServiceFile(config);
  process.once('exit', cleanup);
  process.stdout.write(`\ncdp is serving ${config.projectDir} on http://localhost:${port} (API docs: http://localhost:${port}/docs)\n\n`);
}
