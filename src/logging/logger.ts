import type { LoggerService } from '@nestjs/common';
import { LogController, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import type { CdpConfig } from '../config/config.schema';

/**
 * One pino logger for the service: structured JSON (pretty on a terminal). Fastify logs requests
 * through it and Nest's own messages go through PinoNestLogger. No request headers are logged, and
 * the redaction below keeps credentials out should any code log them.
 */
export function createLogger(config: Pick<CdpConfig, 'log_level'>): Logger {
  const pretty = process.stdout.isTTY && !process.env.CI;
  return pino({
    level: config.log_level,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.writeKey', '*.token'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { singleLine: true, colorize: true } } } : {}),
  });
}

/** Nest's LoggerService on pino, so framework messages share the log's format. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }

  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }

  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }

  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }

  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }

  fatal(message: unknown, context?: string) {
    this.logger.fatal({ context }, String(message));
  }
}

/**
 * Fastify's request lines ("incoming request", "request completed": method, url, status, time; no
 * headers) for the management API; none for the tracking API, where a line would cost more than
 * the call, nor for /health and /metrics (scraped every few seconds).
 */
export class RequestLogController extends LogController {
  override isLogDisabled(request: FastifyRequest): boolean {
    return request.url.startsWith('/v1/') || request.url === '/health' || request.url === '/metrics';
  }
}
