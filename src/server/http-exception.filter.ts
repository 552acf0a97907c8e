import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CdpError, type CdpErrorCode } from '../errors/cdp-error';
import { MAX_REQUEST_BYTES } from '../ingest/messages.schema';

const STATUS: Record<CdpErrorCode, number> = {
  CONFIG_INVALID: 500,
  PROJECT_INVALID: 422,
  MODEL_NOT_FOUND: 404,
  SELECTOR_INVALID: 400,
  DAG_CYCLE: 422,
  MODEL_SQL_ERROR: 422,
  SEED_INVALID: 422,
  WAREHOUSE_ERROR: 502,
  WAREHOUSE_BUSY: 503,
  UNAUTHORIZED: 401,
  VALIDATION_FAILED: 400,
  INGEST_BUSY: 503,
  SOURCE_NOT_FOUND: 404,
  PROFILE_NOT_FOUND: 404,
  PROFILES_UNAVAILABLE: 503,
  SEGMENT_NOT_FOUND: 404,
  SYNC_NOT_FOUND: 404,
  SYNC_BUSY: 409,
  CONFLICT: 409,
  DESTINATION_NOT_FOUND: 404,
  DESTINATION_INVALID: 400,
  // the control store's secrets do not open with this key: the server's configuration, not the request
  SECRETS_UNREADABLE: 500,
  // the service is shutting down: try again (on another replica, or after the restart)
  SERVICE_STOPPING: 503,
};

const logger = new Logger('http');

/**
 * The one place that turns errors into HTTP answers ({statusCode, error?, code?, message}); used by
 * the Nest filter below and by the tracking routes, which run on Fastify directly.
 */
export function sendError(exception: unknown, reply: FastifyReply): void {
  const tooLarge = () =>
    // Segment answers an oversize request with a 400, which its SDKs do not retry
    void reply.status(400).send({ statusCode: 400, success: false, message: `request body over the limit of ${Math.round(MAX_REQUEST_BYTES / 1024)} KB` });
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 413) return tooLarge(); // Nest wraps fastify's body-too-large error
    const body = exception.getResponse();
    void reply.status(status).send(typeof body === 'string' ? { statusCode: status, message: body } : body);
    return;
  }
  if (exception instanceof CdpError) {
    const status = STATUS[exception.code] ?? 500;
    const retryAfter = (exception as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(status).send({ statusCode: status, code: exception.code, message: exception.message });
    return;
  }
  const e = exception as { statusCode?: number; message?: string };
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return tooLarge();
    // fastify's own errors: bad JSON, unsupported content type, ...
    void reply.status(e.statusCode).send({ statusCode: e.statusCode, message: e.message });
    return;
  }
  logger.error(exception instanceof Error ? exception.stack : String(exception));
  void reply.status(500).send({ statusCode: 500, message: 'internal error' });
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    sendError(exception, host.switchToHttp().getResponse<FastifyReply>());
  }
}
