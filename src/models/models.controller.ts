import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AdminGuard } from '../auth/admin.guard';
import { ApiZodBody, ApiZodResponse, ZodBody } from '../server/zod-body';
import { compileResultSchema, jobRequestSchema, jobResultSchema, modelDetailSchema, modelListItemSchema, runModelRequestSchema } from './models.schemas';
import { ModelsService } from './models.service';

type JobRequest = z.output<typeof jobRequestSchema>;

@ApiTags('models')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'Models in dependency order: materialization, dependencies and last run' })
  @ApiZodResponse(z.array(modelListItemSchema))
  list() {
    return this.models.list();
  }

  @Post('run')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run the selected models (all when no selector); answers when the run ends' })
  @ApiZodBody(jobRequestSchema)
  @ApiZodResponse(jobResultSchema)
  run(@ZodBody(jobRequestSchema) body: JobRequest) {
    return this.models.job('run', body);
  }

  @Post('test')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run the data tests of the selected models' })
  @ApiZodBody(jobRequestSchema)
  @ApiZodResponse(jobResultSchema)
  test(@ZodBody(jobRequestSchema) body: JobRequest) {
    return this.models.job('test', body);
  }

  @Post('build')
  @HttpCode(200)
  @ApiOperation({ summary: 'Seed, run and test the selection in dependency order' })
  @ApiZodBody(jobRequestSchema)
  @ApiZodResponse(jobResultSchema)
  build(@ZodBody(jobRequestSchema) body: JobRequest) {
    return this.models.job('build', body);
  }

  @Post('compile')
  @HttpCode(200)
  @ApiOperation({ summary: 'Compile the selected models and tests to target/compiled/<dialect>/' })
  @ApiZodBody(jobRequestSchema)
  @ApiZodResponse(compileResultSchema)
  compile(@ZodBody(jobRequestSchema) body: JobRequest) {
    return this.models.compile(body);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One model: compiled SQL, columns (warehouse types + docs + tests), last runs' })
  @ApiZodResponse(modelDetailSchema)
  get(@Param('name') name: string) {
    return this.models.get(name);
  }

  @Post(':name/run')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run one model, optionally with everything downstream (and/or upstream) of it' })
  @ApiZodBody(runModelRequestSchema)
  @ApiZodResponse(jobResultSchema)
  runOne(@Param('name') name: string, @ZodBody(runModelRequestSchema) body: z.output<typeof runModelRequestSchema>) {
    return this.models.runOne(name, body);
  }
}
