import { Module } from '@nestjs/common';
import { RealtimeService } from './realtime.service';

/** The real-time pipeline (realtime.service.ts): events to identity, profiles and real-time segments as they commit. */
@Module({ providers: [RealtimeService], exports: [RealtimeService] })
export class RealtimeModule {}
