import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { errorMessage } from '../errors/cdp-error';
import { RealtimeService } from '../realtime/realtime.service';
import { Workspace } from '../workspace/workspace';

interface Check {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

async function check(probe: () => Promise<unknown>, timeoutMs = 3000): Promise<Check> {
  const t0 = performance.now();
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref())]);
    return { ok: true, latencyMs: Math.round(performance.now() - t0) };
  } catch (e) {
    return { ok: false, latencyMs: Math.round(performance.now() - t0), error: errorMessage(e) };
  }
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly ws: Workspace,
    private readonly realtime: RealtimeService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Reachability of the warehouse and the control store (503 when either is down), and the real-time pipeline: events behind and lag in seconds. No token needed.',
  })
  @ApiOkResponse({ description: '{"status":"ok","warehouse":{"type":"duckdb","ok":true,...},"controlStore":{"ok":true,...},"realtime":{"status":"idle","eventsBehind":0,"lagSeconds":0,...}}' })
  async health(@Res({ passthrough: true }) reply: FastifyReply) {
    const [warehouse, controlStore] = await Promise.all([check(() => this.ws.warehouse.ping()), check(() => this.ws.store.raw('select 1'))]);
    const ok = warehouse.ok && controlStore.ok;
    void reply.status(ok ? 200 : 503);
    // the pipeline's backlog needs the warehouse; a lagging pipeline is reported, not a 503
    const realtime = warehouse.ok ? await this.realtime.status().catch((e: unknown) => ({ status: 'unknown', error: errorMessage(e) })) : { status: 'unknown' };
    return { status: ok ? 'ok' : 'unavailable', warehouse: { type: this.ws.warehouse.type, ...warehouse }, controlStore: controlStore, realtime };
  }
}
