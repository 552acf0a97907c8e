import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { createLogger, PinoNestLogger, RequestLogController } from '../logging/logger';
import { AppModule } from '../app.module';
import type { CdpConfig } from '../config/config.schema';
import { HttpExceptionFilter } from './http-exception.filter';
import { MAX_REQUEST_BYTES } from '../ingest/messages.schema';
import { trackingOpenApiPaths } from '../ingest/tracking.routes';

/** Builds the Nest application on Fastify, with OpenAPI at /docs. Shared by `cdp serve` and the tests. */
export async function createApp(config: CdpConfig): Promise<NestFastifyApplication> {
  const logger = createLogger(config);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter({ bodyLimit: MAX_REQUEST_BYTES, loggerInstance: logger, logController: new RequestLogController() }),
    { logger: new PinoNestLogger(logger) },
  );
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
  // CORS on /v1 only (a small hook: @fastify/cors would run its option logic on every request)
  fastify.addHook('onRequest', (req, reply, done) => {
    const origin = req.headers.origin;
    if (origin && req.url.startsWith('/v1/')) {
      void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      if (req.method === 'OPTIONS') {
        void reply
          .header('access-control-allow-methods', 'POST, OPTIONS')
          .header('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'Content-Type, Authorization')
          .header('access-control-max-age', '86400')
          .status(204)
          .send();
        return;
      }
    }
    done();
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
      .addBasicAuth(undefined, 'basic')
      .build(),
  );
  Object.assign(document.paths, trackingOpenApiPaths());
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  return app;
}
