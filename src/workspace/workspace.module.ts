import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { CDP_CONFIG } from '../config/config.module';
import type { CdpConfig } from '../config/config.schema';
import { Workspace } from './workspace';

@Global()
@Module({
  providers: [{ provide: Workspace, inject: [CDP_CONFIG], useFactory: (config: CdpConfig) => Workspace.open(config) }],
  exports: [Workspace],
})
export class WorkspaceModule implements OnApplicationShutdown {
  constructor(@Inject(Workspace) private readonly ws: Workspace) {}

  async onApplicationShutdown(): Promise<void> {
    await this.ws.close();
  }
}
