import { Module } from '@nestjs/common';
import { SourcesModule } from '../sources/sources.module';
import { IngestService } from './ingest.service';
import { TrackingRoutes } from './tracking.routes';

@Module({ imports: [SourcesModule], providers: [IngestService, TrackingRoutes], exports: [IngestService] })
export class IngestModule {}
