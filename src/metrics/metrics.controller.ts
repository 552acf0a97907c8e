import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminGuard } from '../auth/admin.guard';
import { METRICS_CONTENT_TYPE, MetricsService } from './metrics.service';

const EXAMPLE = [
  '# HELP cdp_realtime_events_behind Committed events identity resolution has not read yet',
  '# TYPE cdp_realtime_events_behind gauge',
  'cdp_realtime_events_behind 0',
  '# HELP cdp_ingest_events_total Events the tracking API accepted and committed since the service started',
  '# TYPE cdp_ingest_events_total counter',
  'cdp_ingest_events_total 1520',
  '# HELP cdp_sync_last_run_status ...',
  '# TYPE cdp_sync_last_run_status gauge',
  'cdp_sync_last_run_status{sync="reminders",status="succeeded"} 1',
].join('\n');

/**
 * Metrics for Prometheus. Unlike /health, they show operational data (sync names, volumes), so
 * they need the admin token; Prometheus sends it with `authorization: { credentials: <token> }`
 * in the scrape config.
 */
@ApiTags('metrics')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Prometheus metrics (text format 0.0.4): the real-time pipeline (status, events behind, lag in seconds, passes and failures), events accepted and rejected, the profile index, each sync\'s runs by status and its latest run, and the process (CPU, memory, event loop). Admin token.',
  })
  @ApiProduces(METRICS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'The metrics, one family after another with its HELP and TYPE lines', schema: { type: 'string', example: EXAMPLE } })
  @ApiUnauthorizedResponse({ description: 'No admin token, or one that is not valid' })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.render();
    void reply.header('content-type', METRICS_CONTENT_TYPE).header('cache-control', 'no-store');
    return text;
  }
}
