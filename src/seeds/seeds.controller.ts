import { Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AdminGuard } from '../auth/admin.guard';
import { jobRequestSchema, jobResultSchema, seedListItemSchema } from '../models/models.schemas';
import { ModelsService } from '../models/models.service';
import { ApiZodBody, ApiZodResponse, ZodBody } from '../server/zod-body';
import { Workspace } from '../workspace/workspace';

@ApiTags('seeds')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/seeds')
export class SeedsController {
  constructor(
    private readonly ws: Workspace,
    private readonly models: ModelsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Seeds (CSV files and folders under seeds/) and their last load' })
  @ApiZodResponse(z.array(seedListItemSchema))
  async list() {
    const project = this.ws.project();
    const seeds = [...project.seeds.values()];
    const last = await this.models.engine.lastRuns(seeds.map((s) => s.name));
    return seeds.map((s) => ({ name: s.name, path: s.path, files: s.files.length, relation: this.ws.warehouse.dialect.relation(s.relation), lastRun: last.get(s.name) ?? null }));
  }

  @Post('run')
  @HttpCode(200)
  @ApiOperation({ summary: 'Load the selected seeds (all when no selector)' })
  @ApiZodBody(jobRequestSchema)
  @ApiZodResponse(jobResultSchema)
  run(@ZodBody(jobRequestSchema) body: z.output<typeof jobRequestSchema>) {
    return this.models.job('seed', body);
  }
}
