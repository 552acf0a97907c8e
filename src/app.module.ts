import { Module, RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { ConfigModule } from './config/config.module';
import type { CdpConfig } from './config/config.schema';
import { HealthModule } from './health/health.module';
import { ModelsModule } from './models/models.module';
import { SeedsModule } from './seeds/seeds.module';
import { SourcesModule } from './sources/sources.module';
import { IngestModule } from './ingest/ingest.module';
import { LoadsModule } from './loads/loads.module';
import { WorkspaceModule } from './workspace/workspace.module';

@Module({})
export class AppModule {
  static forRoot(config: CdpConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.log_level,
            // secrets never reach the logs
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'], censor: '[redacted]' },
            transport: process.stdout.isTTY && !process.env.CI ? { target: 'pino-pretty', options: { singleLine: true, colorize: true } } : undefined,
            // originalUrl: inside the middleware req.url has its mount prefix stripped ("/")
            autoLogging: { ignore: (req) => ((req as { originalUrl?: string }).originalUrl ?? req.url)?.split('?')[0] === '/health' },
          },
          // the tracking API logs no line per call (it would cost more than the call); its errors
          // still reach the log through the exception filter
          exclude: [{ method: RequestMethod.ALL, path: 'v1/*path' }],
        }),
        WorkspaceModule,
        AuthModule,
        HealthModule,
        ModelsModule,
        SeedsModule,
        SourcesModule,
        IngestModule,
        LoadsModule,
      ],
    };
  }
}
