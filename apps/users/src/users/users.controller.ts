import { Body, Controller, DefaultValuePipe, Get, HttpCode, Param, ParseIntPipe, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { CorrelationId } from '@platform/service-kit';
import { DeactivateUserDto, RegisterUserDto, RenameUserDto, UserView } from './users.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiCreatedResponse({ type: UserView, description: 'Registered; UserCreated is published.' })
  @ApiConflictResponse({ description: 'The e-mail address is taken.' })
  register(@Body() body: RegisterUserDto, @CorrelationId() correlationId: string): Promise<UserView> {
    return this.users.register(body.email, body.displayName, correlationId);
  }

  @Get()
  @ApiOkResponse({ type: [UserView] })
  list(
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number,
    @Query('offset', new DefaultValuePipe(0), ParseIntPipe) offset: number,
  ): Promise<UserView[]> {
    return this.users.list(Math.min(Math.max(limit, 1), 500), Math.max(offset, 0));
  }

  @Get(':id')
  @ApiOkResponse({ type: UserView })
  @ApiNotFoundResponse()
  get(@Param('id', ParseUUIDPipe) id: string): Promise<UserView> {
    return this.users.get(id);
  }

  @Post(':id/rename')
  @HttpCode(200)
  @ApiOkResponse({ type: UserView, description: 'Renamed; UserRenamed is published (nothing when the name is unchanged).' })
  @ApiUnprocessableEntityResponse({ description: 'The user is deactivated.' })
  rename(@Param('id', ParseUUIDPipe) id: string, @Body() body: RenameUserDto, @CorrelationId() correlationId: string): Promise<UserView> {
    return this.users.rename(id, body.displayName, correlationId);
  }

  @Post(':id/deactivate')
  @HttpCode(200)
  @ApiOkResponse({ type: UserView, description: 'Deactivated; UserDeactivated is published.' })
  @ApiUnprocessableEntityResponse({ description: 'Already deactivated.' })
  deactivate(@Param('id', ParseUUIDPipe) id: string, @Body() body: DeactivateUserDto, @CorrelationId() correlationId: string): Promise<UserView> {
    return this.users.deactivate(id, body.reason, body.note, correlationId);
  }
}
