import { Controller, Get, Header, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard';
import { ApiZodQuery, ApiZodResponse, ZodQuery } from '../server/zod-body';
import { profileQuerySchema, profileSchema, type ProfileQuery } from './profiles.schemas';
import { ProfilesService } from './profiles.service';

/** Answers are JSON the index prepared (see ProfileDocument), sent as they are. */
const JSON_TYPE = 'application/json; charset=utf-8';

@ApiTags('profiles')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('api/profiles')
export class ProfilesController {
  constructor(private readonly profiles: ProfilesService) {}

  @Get(':profileId')
  @Header('content-type', JSON_TYPE)
  @ApiOperation({ summary: 'One profile by its id: traits, identities, segment memberships and the latest events' })
  @ApiZodQuery(profileQuerySchema)
  @ApiZodResponse(profileSchema)
  byId(@Param('profileId') profileId: string, @ZodQuery(profileQuerySchema) query: ProfileQuery): Promise<Buffer> {
    return this.profiles.find({ profileId }, query.events);
  }

  @Get(':idType/:idValue')
  @Header('content-type', JSON_TYPE)
  @ApiOperation({ summary: 'The profile an identifier belongs to (the value is normalized as resolution does: emails lowercased, phones to E.164)' })
  @ApiParam({ name: 'idType', description: 'an identifier type of identity.identifiers in cdp.yaml: user_id, email, phone, anonymous_id or a custom one' })
  @ApiParam({ name: 'idValue', description: 'the value, URL-encoded' })
  @ApiZodQuery(profileQuerySchema)
  @ApiZodResponse(profileSchema)
  byIdentifier(@Param('idType') idType: string, @Param('idValue') idValue: string, @ZodQuery(profileQuerySchema) query: ProfileQuery): Promise<Buffer> {
    return this.profiles.find(this.profiles.refs.identifier(idType, idValue), query.events);
  }
}
