import { Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AdminGuard } from '../auth/admin.guard';
import { ApiZodBody, ApiZodQuery, ApiZodResponse, ZodBody, ZodQuery } from '../server/zod-body';
import { segmentPreviewSchema, segmentSchema, type SegmentDefinition, type SegmentPreview } from './segment-tree';
import {
  breakdownQuerySchema,
  breakdownSchema,
  historyQuerySchema,
  membersQuerySchema,
  membersResultSchema,
  overlapQuerySchema,
  overlapResultSchema,
  previewBodySchema,
  previewDocSchema,
  previewQuerySchema,
  previewResultSchema,
  segmentDetailSchema,
  segmentDocSchema,
  segmentListItemSchema,
  segmentUpdateDocSchema,
  sizeHistorySchema,
  type BreakdownQuery,
  type HistoryQuery,
  type MembersQuery,
  type OverlapQuery,
  type PreviewBody,
} from './segments.schemas';
import { SegmentsService } from './segments.service';

const nameParam = ApiParam({ name: 'name', description: 'the segment name' });

/** Static routes (overlap, preview) are declared before `:name`. */
@ApiTags('segments')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/segments')
export class SegmentsController {
  constructor(private readonly segments: SegmentsService) {}

  @Get()
  @ApiOperation({ summary: 'Every segment: condition trees (segments/*.yaml and created through the API) and SQL segment models, with the latest build' })
  @ApiZodResponse(z.array(segmentListItemSchema))
  list() {
    return this.segments.list();
  }

  @Get('overlap')
  @ApiOperation({ summary: 'Current members of each segment and of each pair: ?names=a,b,c (or ids=)' })
  @ApiZodQuery(overlapQuerySchema)
  @ApiZodResponse(overlapResultSchema)
  overlap(@ZodQuery(overlapQuerySchema) query: OverlapQuery) {
    return this.segments.overlap((query.names ?? query.ids ?? '').split(','));
  }

  @Post()
  @ApiOperation({ summary: 'Create a condition-tree segment (checked against the profiles and events); the next build computes its members' })
  @ApiZodBody(segmentDocSchema)
  @ApiZodResponse(segmentDetailSchema, 'Created', 201)
  create(@ZodBody(segmentSchema) body: SegmentDefinition) {
    return this.segments.create(body);
  }

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({ summary: 'Count the members of a definition now and show a sample of them, saving nothing' })
  @ApiZodQuery(previewQuerySchema)
  @ApiZodBody(previewDocSchema)
  @ApiZodResponse(previewResultSchema)
  preview(@ZodBody(previewBodySchema) body: PreviewBody, @ZodQuery(previewQuerySchema) query: z.output<typeof previewQuerySchema>) {
    const { sample, ...definition } = body;
    return this.segments.preview(definition, sample ?? query.sample);
  }

  @Get(':name')
  @nameParam
  @ApiOperation({ summary: 'One segment, with its definition (a condition tree) or its model (a SQL segment)' })
  @ApiZodResponse(segmentDetailSchema)
  get(@Param('name') name: string) {
    return this.segments.get(name);
  }

  @Put(':name')
  @nameParam
  @ApiOperation({ summary: 'Replace the definition of a segment created through the API (files are edited as files)' })
  @ApiZodBody(segmentUpdateDocSchema)
  @ApiZodResponse(segmentDetailSchema)
  replace(@Param('name') name: string, @ZodBody(segmentPreviewSchema) body: SegmentPreview) {
    return this.segments.replace(name, body);
  }

  @Delete(':name')
  @nameParam
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a segment created through the API; its membership history stays in the warehouse' })
  async remove(@Param('name') name: string): Promise<void> {
    await this.segments.delete(name);
  }

  @Get(':name/size-history')
  @nameParam
  @ApiOperation({ summary: 'Size, entries and exits at each build, in time order' })
  @ApiZodQuery(historyQuerySchema)
  @ApiZodResponse(sizeHistorySchema)
  sizeHistory(@Param('name') name: string, @ZodQuery(historyQuerySchema) query: HistoryQuery) {
    return this.segments.sizeHistory(name, query);
  }

  @Get(':name/members')
  @nameParam
  @ApiOperation({ summary: 'The members at a time (default now), by profile id, with their split group and when they entered' })
  @ApiZodQuery(membersQuerySchema)
  @ApiZodResponse(membersResultSchema)
  members(@Param('name') name: string, @ZodQuery(membersQuerySchema) query: MembersQuery) {
    return this.segments.members(name, query);
  }

  @Get(':name/breakdown')
  @nameParam
  @ApiOperation({ summary: 'How a trait is distributed over the current members: ?trait=country' })
  @ApiZodQuery(breakdownQuerySchema)
  @ApiZodResponse(breakdownSchema)
  breakdown(@Param('name') name: string, @ZodQuery(breakdownQuerySchema) query: BreakdownQuery) {
    return this.segments.breakdown(name, query.trait);
  }
}
