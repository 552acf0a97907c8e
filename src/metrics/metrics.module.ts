import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { RealtimeModule } from '../realtime/realtime.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** GET /metrics for Prometheus (metrics.service.ts): the real-time pipeline, ingestion, the profile index, syncs and the process. */
@Module({ imports: [RealtimeModule, IngestModule, ProfilesModule], controllers: [MetricsController], providers: [MetricsService] })
export class MetricsModule {}
