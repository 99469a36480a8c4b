import { BadRequestException, Body, Controller, DefaultValuePipe, Get, HttpCode, Param, ParseIntPipe, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { assertMayChange, assertMayRead, CorrelationId, CurrentCaller, isOperator, OPERATOR_ROLE, RequireRoles, type Caller } from '@platform/service-kit';
import { isUUID } from 'class-validator';
import { DeactivateUserDto, RegisterUserDto, RenameUserDto, UserView } from './users.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiCreatedResponse({ type: UserView, description: 'Registered; UserCreated is published.' })
  @ApiConflictResponse({ description: "The e-mail address is taken, or the token's user is registered already." })
  @ApiBadRequestResponse({ description: "The token's subject is not a user id (a UUID)." })
  @ApiOperation({ summary: "Registers the caller: the user's id is the token's subject. An operator registers someone else, under a new id." })
  register(@Body() body: RegisterUserDto, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string): Promise<UserView> {
    if (isOperator(caller)) return this.users.register(undefined, body.email, body.displayName, correlationId);
    if (!isUUID(caller.userId)) throw new BadRequestException(`the token's subject must be a user id (a UUID) to register it (got ${caller.userId})`);
    return this.users.register(caller.userId, body.email, body.displayName, correlationId);
  }

  @Get()
  @RequireRoles(OPERATOR_ROLE)
  @ApiOkResponse({ type: [UserView], description: 'Every user: operators only.' })
  list(
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number,
    @Query('offset', new DefaultValuePipe(0), ParseIntPipe) offset: number,
  ): Promise<UserView[]> {
    return this.users.list(Math.min(Math.max(limit, 1), 500), Math.max(offset, 0));
  }

  @Get(':id')
  @ApiOkResponse({ type: UserView })
  @ApiNotFoundResponse()
  get(@Param('id', ParseUUIDPipe) id: string, @CurrentCaller() caller: Caller): Promise<UserView> {
    assertMayRead(caller, id, `user ${id}`);
    return this.users.get(id);
  }

  @Post(':id/rename')
  @HttpCode(200)
  @ApiOkResponse({ type: UserView, description: 'Renamed; UserRenamed is published (nothing when the name is unchanged).' })
  @ApiUnprocessableEntityResponse({ description: 'The user is deactivated.' })
  rename(@Param('id', ParseUUIDPipe) id: string, @Body() body: RenameUserDto, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string): Promise<UserView> {
    assertMayChange(caller, id, `user ${id}`);
    return this.users.rename(id, body.displayName, correlationId);
  }

  @Post(':id/deactivate')
  @HttpCode(200)
  @ApiOkResponse({ type: UserView, description: 'Deactivated; UserDeactivated is published.' })
  @ApiUnprocessableEntityResponse({ description: 'Already deactivated.' })
  deactivate(@Param('id', ParseUUIDPipe) id: string, @Body() body: DeactivateUserDto, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string): Promise<UserView> {
    assertMayChange(caller, id, `user ${id}`);
    return this.users.deactivate(id, body.reason, body.note, correlationId);
  }
}
