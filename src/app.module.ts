import { Module, type DynamicModule } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { ConfigModule } from './config/config.module';
import type { CdpConfig } from './config/config.schema';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ModelsModule } from './models/models.module';
import { SeedsModule } from './seeds/seeds.module';
import { SourcesModule } from './sources/sources.module';
import { IngestModule } from './ingest/ingest.module';
import { LoadsModule } from './loads/loads.module';
import { ProfilesModule } from './profiles/profiles.module';
import { SegmentsModule } from './segments/segments.module';
import { WorkspaceModule } from './workspace/workspace.module';
import { DestinationsModule } from './destinations/destinations.module';
import { SyncsModule } from './syncs/syncs.module';

@Module({})
export class AppModule {
  static forRoot(config: CdpConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        WorkspaceModule,
        AuthModule,
        HealthModule,
        ModelsModule,
        SeedsModule,
        SourcesModule,
        IngestModule,
        LoadsModule,
        ProfilesModule,
        SegmentsModule,
        DestinationsModule,
        SyncsModule,
        MetricsModule,
      ],
    };
  }
}
