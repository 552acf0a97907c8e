import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CDP_CONFIG } from '../config/config.module';
import type { CdpConfig } from '../config/config.schema';
import { Workspace } from '../workspace/workspace';
import { createAdminToken, findAdminToken, hasAdminToken, newToken, sameToken } from './admin-token';

/**
 * Who may call the management API: CDP_ADMIN_TOKEN when set; otherwise the tokens stored (hashed)
 * in the control store. With neither, the first start creates one and prints it once.
 * The service also accepts the token it wrote to .cdp/service.json for the local CLI.
 */
@Injectable()
export class AdminTokenService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminTokenService.name);
  readonly localToken = newToken('cdp_local');

  constructor(
    @Inject(CDP_CONFIG) private readonly config: CdpConfig,
    private readonly ws: Workspace,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.adminToken) return;
    if (await hasAdminToken(this.ws.store)) return;
    const token = await createAdminToken(this.ws.store, 'first start');
    // Printed straight to the terminal, not through the logger, so it never lands in log files.
    process.stdout.write(
      [
        '',
        '  An admin API token was created for this project (shown once, stored only as a hash):',
        '',
        `      ${token}`,
        '',
        '  Send it as "Authorization: Bearer <token>". `npx cdp token` makes another; CDP_ADMIN_TOKEN sets your own.',
        '',
      ].join('\n') + '\n',
    );
    this.logger.log('created the first admin API token');
  }

  async verify(token: string): Promise<boolean> {
    if (sameToken(token, this.localToken)) return true;
    if (this.config.adminToken) return sameToken(token, this.config.adminToken);
    return !!(await findAdminToken(this.ws.store, token));
  }
}
