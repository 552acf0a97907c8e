import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { Workspace } from '../workspace/workspace';
import { SyncScheduler } from './sync-scheduler';
import { SyncsController } from './syncs.controller';
import { SyncsService } from './syncs.service';

@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [SyncsController],
  providers: [{ provide: SyncsService, inject: [Workspace], useFactory: (ws: Workspace) => new SyncsService(ws) }, SyncScheduler],
  exports: [SyncsService],
})
export class SyncsModule {}
