import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from '../app.module';
import type { CdpConfig } from '../config/config.schema';
import { HttpExceptionFilter } from './http-exception.filter';
import { MAX_REQUEST_BYTES } from '../ingest/messages.schema';

/** Builds the Nest application on Fastify, with OpenAPI at /docs. Shared by `cdp serve` and the tests. */
export async function createApp(config: CdpConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter({ bodyLimit: MAX_REQUEST_BYTES }), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new HttpExceptionFilter());
  // Browser SDKs (analytics.js) post JSON as text/plain to skip the CORS preflight, from any site.
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  app.enableCors({
    delegator: (req, cb) =>
      cb(null, req.url?.startsWith('/v1/') ? { origin: true, methods: ['POST', 'OPTIONS'], allowedHeaders: ['Content-Type', 'Authorization'], maxAge: 86400 } : { origin: false }),
  });
  // On SIGINT/SIGTERM: close the app, then exit (rather than re-raise the signal) so 'exit'
  // handlers run: `cdp serve` removes .cdp/service.json there, and pino flushes its logs.
  app.enableShutdownHooks([], { useProcessExit: true });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('cdp')
      .setDescription('Warehouse-native customer data platform: models, seeds, health. Management routes need an admin token (Bearer).')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  return app;
}
