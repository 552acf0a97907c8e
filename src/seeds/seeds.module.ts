import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { SeedsController } from './seeds.controller';

@Module({ imports: [ModelsModule], controllers: [SeedsController] })
export class SeedsModule {}
