import { Module } from '@nestjs/common';
import { SourcesModule } from '../sources/sources.module';
import { IngestController } from './ingest.controller';
import { IngestService } from './ingest.service';

@Module({ imports: [SourcesModule], controllers: [IngestController], providers: [IngestService], exports: [IngestService] })
export class IngestModule {}
