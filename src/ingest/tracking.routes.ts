import { BadRequestException, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sendError } from '../server/http-exception.filter';
import { IngestService } from './ingest.service';
import { batchSchema, MESSAGE_TYPES, messageSchemas, type MessageType } from './messages.schema';

const OK = { success: true } as const;

const SUMMARY: Record<MessageType | 'batch', string> = {
  track: 'Record an action: `event` (required), `properties`',
  identify: 'Tie a user to traits: `traits`',
  page: 'A page view: `name`, `category`, `properties`',
  screen: 'A screen view in an app: `name`, `category`, `properties`',
  group: 'Tie a user to a group (account): `groupId` (required), `traits`',
  alias: 'Merge two identities: `previousId` and `userId` (both required)',
  batch: 'Many messages, each with its `type`. Valid messages are committed; invalid ones are listed in a 400 with `accepted` and `errors`.',
};

/**
 * Segment's HTTP Tracking API under /v1, routed on Fastify directly: the hottest path of the service
 * skips Nest's per-request pipeline (it has no guards, pipes or interceptors to run). The write key is
 * the HTTP Basic username (or `writeKey` in the body); every answer comes after the commit.
 */
@Injectable()
export class TrackingRoutes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly ingest: IngestService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // an application context without HTTP (none today)
    const errorHandler = (error: unknown, _req: FastifyRequest, reply: FastifyReply) => sendError(error, reply);
    for (const type of MESSAGE_TYPES) {
      fastify.route({
        method: 'POST',
        url: `/v1/${type}`,
        errorHandler,
        handler: async (req) => {
          const source = await this.ingest.authenticate(req.headers.authorization, req.body);
          await this.ingest.single(type, req.body, source, Number(req.headers['content-length'] ?? Infinity));
          return OK;
        },
      });
    }
    fastify.route({
      method: 'POST',
      url: '/v1/batch',
      errorHandler,
      handler: async (req) => {
        const source = await this.ingest.authenticate(req.headers.authorization, req.body);
        const { accepted, problems } = await this.ingest.batch(req.body, source, Number(req.headers['content-length'] ?? Infinity));
        if (problems.length === 0) return OK;
        const first = problems[0];
        throw new BadRequestException({
          statusCode: 400,
          success: false,
          message: `${problems.length} of ${accepted + problems.length} messages rejected (the other ${accepted} were stored); batch[${first.index}]${first.messageId ? ` (messageId ${first.messageId})` : ''}: ${first.reason}`,
          accepted,
          errors: problems,
        });
      },
    });
  }
}

/** The tracking routes in the OpenAPI document, their bodies from the same zod schemas that validate them. */
export function trackingOpenApiPaths(): Record<string, object> {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' });
  const answers = {
    200: { description: 'committed: {"success":true}' },
    400: { description: 'invalid message(s): {"statusCode":400,"success":false,"message":"…","errors":[{"index","messageId","reason"}]}' },
    401: { description: 'missing or unknown write key' },
    503: { description: 'the event buffer is full; retry after the Retry-After header' },
  };
  const op = (type: MessageType | 'batch', body: object) => ({
    post: { tags: ['tracking (Segment-compatible)'], summary: SUMMARY[type], security: [{ basic: [] }], requestBody: { required: true, content: { 'application/json': { schema: body } } }, responses: answers },
  });
  return {
    ...Object.fromEntries(MESSAGE_TYPES.map((t) => [`/v1/${t}`, op(t, schema(messageSchemas[t]))])),
    '/v1/batch': op('batch', schema(batchSchema)),
  };
}
