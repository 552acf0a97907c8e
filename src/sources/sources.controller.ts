import { Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AdminGuard } from '../auth/admin.guard';
import { ApiZodBody, ApiZodResponse, ZodBody } from '../server/zod-body';
import { createSourceSchema, sourceSchema, sourceWithKeySchema } from './sources.schemas';
import { SourcesService } from './sources.service';

@ApiTags('sources')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/sources')
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Get()
  @ApiOperation({ summary: 'Event sources (write keys are never shown again after creation)' })
  @ApiZodResponse(z.array(sourceSchema))
  list() {
    return this.sources.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create a source; the answer holds its write key, shown once' })
  @ApiZodBody(createSourceSchema)
  @ApiZodResponse(sourceWithKeySchema, 'Created', 201)
  create(@ZodBody(createSourceSchema) body: z.output<typeof createSourceSchema>) {
    return this.sources.create(body.name);
  }

  @Get(':id')
  @ApiZodResponse(sourceSchema)
  get(@Param('id') id: string) {
    return this.sources.get(id);
  }

  @Post(':id/write-key')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replace the write key; the old one stops working at once' })
  @ApiZodResponse(sourceWithKeySchema)
  rotate(@Param('id') id: string) {
    return this.sources.rotateWriteKey(id);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    await this.sources.delete(id);
  }
}
