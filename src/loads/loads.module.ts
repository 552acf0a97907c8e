import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { LoadsController, registerUploadParsing } from './loads.controller';

/** File loads over HTTP: POST /api/loads and POST /api/sources/:id/uploads (raw file bodies, up to 1 GB). */
@Module({ controllers: [LoadsController] })
export class LoadsModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (fastify && typeof fastify.addContentTypeParser === 'function') registerUploadParsing(fastify);
  }
}
