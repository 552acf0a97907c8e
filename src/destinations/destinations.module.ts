import { Module } from '@nestjs/common';
import { DestinationsController } from './destinations.controller';
import { DestinationsService } from './destinations.service';

/** Destination types and instances (files and API), secrets encrypted, connection tests. The sync engine uses DestinationsService.resolve. */
@Module({ controllers: [DestinationsController], providers: [DestinationsService], exports: [DestinationsService] })
export class DestinationsModule {}
