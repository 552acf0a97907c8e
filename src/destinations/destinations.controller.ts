import { Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AdminGuard } from '../auth/admin.guard';
import { ApiZodBody, ApiZodResponse, ZodBody } from '../server/zod-body';
import {
  createDestinationSchema,
  destinationDetailSchema,
  destinationListItemSchema,
  destinationTypeSchema,
  testResultSchema,
  updateDestinationSchema,
  type CreateDestination,
  type UpdateDestination,
} from './destinations.schemas';
import { DestinationsService } from './destinations.service';

const nameParam = ApiParam({ name: 'name', description: 'the destination instance name' });

/** Static routes (types) are declared before `:name`. */
@ApiTags('destinations')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/destinations')
export class DestinationsController {
  constructor(private readonly destinations: DestinationsService) {}

  @Get('types')
  @ApiOperation({ summary: 'The destination types the engine knows: settings (JSON Schema, secrets writeOnly) and actions' })
  @ApiZodResponse(z.array(destinationTypeSchema))
  types() {
    return this.destinations.types();
  }

  @Get()
  @ApiOperation({ summary: 'Every destination instance (destinations/*.yaml and created through the API), with why each cannot be used, if it cannot' })
  @ApiZodResponse(z.array(destinationListItemSchema))
  list() {
    return this.destinations.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create a destination instance; settings checked against its type, secret fields stored encrypted and never answered' })
  @ApiZodBody(createDestinationSchema)
  @ApiZodResponse(destinationDetailSchema, 'Created', 201)
  create(@ZodBody(createDestinationSchema) body: CreateDestination) {
    return this.destinations.create(body);
  }

  @Get(':name')
  @nameParam
  @ApiOperation({ summary: 'One destination instance, secret fields masked' })
  @ApiZodResponse(destinationDetailSchema)
  get(@Param('name') name: string) {
    return this.destinations.get(name);
  }

  @Put(':name')
  @nameParam
  @ApiOperation({ summary: 'Replace the settings of an instance created through the API (a secret left out or sent as "********" keeps its value)' })
  @ApiZodBody(updateDestinationSchema)
  @ApiZodResponse(destinationDetailSchema)
  replace(@Param('name') name: string, @ZodBody(updateDestinationSchema) body: UpdateDestination) {
    return this.destinations.replace(name, body);
  }

  @Delete(':name')
  @nameParam
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an instance created through the API (files are deleted as files)' })
  async remove(@Param('name') name: string): Promise<void> {
    await this.destinations.delete(name);
  }

  @Post(':name/test')
  @nameParam
  @HttpCode(200)
  @ApiOperation({ summary: "Run the type's connection test: ok, or why the destination cannot be used (settings, credentials, unreachable)" })
  @ApiZodResponse(testResultSchema)
  test(@Param('name') name: string) {
    return this.destinations.test(name);
  }
}
