import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AdminGuard } from '../auth/admin.guard';
import { ApiZodBody, ApiZodQuery, ApiZodResponse, ZodBody, ZodQuery } from '../server/zod-body';
import type { SyncDefinition } from './sync-definition';
import { SyncScheduler } from './sync-scheduler';
import {
  errorsQuerySchema,
  errorsResultSchema,
  planQuerySchema,
  planResultSchema,
  runSchema,
  runsQuerySchema,
  syncBodySchema,
  syncDetailSchema,
  syncListItemSchema,
  syncUpdateSchema,
  triggerBodySchema,
  triggerResultSchema,
  type ErrorsQuery,
  type PlanQuery,
  type RunsQuery,
  type SyncUpdate,
  type TriggerBody,
} from './syncs.schemas';
import { SyncsService } from './syncs.service';

const nameParam = ApiParam({ name: 'name', description: 'the sync name' });

@ApiTags('syncs')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/syncs')
export class SyncsController {
  constructor(
    @Inject(SyncsService) private readonly syncs: SyncsService,
    @Inject(SyncScheduler) private readonly scheduler: SyncScheduler,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every sync (syncs/*.yaml and created through the API) with its latest run' })
  @ApiZodResponse(z.array(syncListItemSchema))
  list() {
    return this.syncs.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create a sync (checked against its destination, action and source); its schedule starts at once' })
  @ApiZodBody(syncBodySchema)
  @ApiZodResponse(syncDetailSchema, 'Created', 201)
  async create(@ZodBody(syncBodySchema) body: SyncDefinition) {
    const detail = await this.syncs.create(body);
    await this.scheduler.refresh();
    return detail;
  }

  @Get(':name')
  @nameParam
  @ApiOperation({ summary: 'One sync: its definition, latest run, and why it cannot run if it cannot' })
  @ApiZodResponse(syncDetailSchema)
  get(@Param('name') name: string) {
    return this.syncs.get(name);
  }

  @Put(':name')
  @nameParam
  @ApiOperation({ summary: 'Replace a sync created through the API (files are edited as files)' })
  @ApiZodBody(syncUpdateSchema)
  @ApiZodResponse(syncDetailSchema)
  async replace(@Param('name') name: string, @ZodBody(syncUpdateSchema) body: SyncUpdate) {
    const detail = await this.syncs.replace(name, body);
    await this.scheduler.refresh();
    return detail;
  }

  @Delete(':name')
  @nameParam
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a sync created through the API, with its snapshot; its run history stays' })
  async remove(@Param('name') name: string): Promise<void> {
    await this.syncs.delete(name);
    await this.scheduler.refresh();
  }

  @Get(':name/plan')
  @nameParam
  @ApiOperation({ summary: 'What a run would add, change and remove now, with samples of the fields sent; sends nothing' })
  @ApiZodQuery(planQuerySchema)
  @ApiZodResponse(planResultSchema)
  plan(@Param('name') name: string, @ZodQuery(planQuerySchema) query: PlanQuery) {
    return this.syncs.plan(name, query.sample);
  }

  @Post(':name/runs')
  @nameParam
  @HttpCode(202)
  @ApiOperation({ summary: 'Start a run now (409 while one runs); follow it at /runs/:runId' })
  @ApiZodBody(triggerBodySchema)
  @ApiZodResponse(triggerResultSchema, 'Accepted', 202)
  trigger(@Param('name') name: string, @ZodBody(triggerBodySchema) body: TriggerBody) {
    return this.syncs.trigger(name, 'manual', { fullResync: body.full_resync });
  }

  @Get(':name/runs')
  @nameParam
  @ApiOperation({ summary: 'Run history, newest first: status, counts, timings' })
  @ApiZodQuery(runsQuerySchema)
  @ApiZodResponse(z.array(runSchema))
  runs(@Param('name') name: string, @ZodQuery(runsQuerySchema) query: RunsQuery) {
    return this.syncs.listRuns(name, query.limit);
  }

  @Get(':name/runs/:runId')
  @nameParam
  @ApiOperation({ summary: 'One run' })
  @ApiZodResponse(runSchema)
  run(@Param('name') name: string, @Param('runId') runId: string) {
    return this.syncs.getRun(name, runId);
  }

  @Get(':name/runs/:runId/errors')
  @nameParam
  @ApiOperation({ summary: 'The rows the destination rejected in a run, with its reasons (they are sent again next run)' })
  @ApiZodQuery(errorsQuerySchema)
  @ApiZodResponse(errorsResultSchema)
  errors(@Param('name') name: string, @Param('runId') runId: string, @ZodQuery(errorsQuerySchema) query: ErrorsQuery) {
    return this.syncs.runErrors(name, runId, query);
  }
}
