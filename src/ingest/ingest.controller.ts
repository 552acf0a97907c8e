import { BadRequestException, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { IngestService } from './ingest.service';
import type { MessageType } from './messages.schema';

const OK = { success: true } as const;

/**
 * Segment's HTTP Tracking API under /v1. The write key is the HTTP Basic username (or `writeKey`
 * in the body). Every answer comes after the events are committed to the warehouse.
 */
@ApiTags('tracking (Segment-compatible)')
@ApiBasicAuth()
@Controller('v1')
export class IngestController {
  constructor(private readonly ingest: IngestService) {}

  private async one(type: MessageType, req: FastifyRequest) {
    const source = await this.ingest.authenticate(req.headers.authorization, req.body);
    await this.ingest.single(type, req.body, source, Number(req.headers['content-length'] ?? Infinity));
    return OK;
  }

  @Post('track')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record an action: {"userId"|"anonymousId", "event", "properties"?, "timestamp"?, "context"?, "messageId"?}' })
  track(@Req() req: FastifyRequest) {
    return this.one('track', req);
  }

  @Post('identify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Tie a user to traits: {"userId"|"anonymousId", "traits"?}' })
  identify(@Req() req: FastifyRequest) {
    return this.one('identify', req);
  }

  @Post('page')
  @HttpCode(200)
  @ApiOperation({ summary: 'A page view: {"userId"|"anonymousId", "name"?, "category"?, "properties"?}' })
  page(@Req() req: FastifyRequest) {
    return this.one('page', req);
  }

  @Post('screen')
  @HttpCode(200)
  @ApiOperation({ summary: 'A screen view in an app: {"userId"|"anonymousId", "name"?, "properties"?}' })
  screen(@Req() req: FastifyRequest) {
    return this.one('screen', req);
  }

  @Post('group')
  @HttpCode(200)
  @ApiOperation({ summary: 'Tie a user to a group (account): {"userId"|"anonymousId", "groupId", "traits"?}' })
  group(@Req() req: FastifyRequest) {
    return this.one('group', req);
  }

  @Post('alias')
  @HttpCode(200)
  @ApiOperation({ summary: 'Merge two identities: {"previousId", "userId"}' })
  alias(@Req() req: FastifyRequest) {
    return this.one('alias', req);
  }

  @Post('batch')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Many messages: {"batch":[{"type":"track",...},...], "sentAt"?, "context"?}. Valid messages are committed; invalid ones are listed in a 400.',
  })
  async batch(@Req() req: FastifyRequest) {
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
  }
}
