import { Body, Controller, Delete, ForbiddenException, Get, Headers, HttpCode, NotFoundException, Param, ParseUUIDPipe, Patch, Post, Put, Query, Res, UseFilters } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiHeader, ApiNotFoundResponse, ApiOkResponse, ApiQuery, ApiServiceUnavailableResponse, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { assertMayRead, CorrelationId, CurrentCaller, isOperator, type Caller } from '@platform/service-kit';
import { isUUID } from 'class-validator';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { ApiCatalogQueries } from '../catalog/api-catalog.queries';
import type { ApiCommand, ApiState } from './api';
import { ApiCommands, type CommandOutcome } from './api-commands';
import { CommandContentionFilter, ConcurrencyErrorFilter, etag, parseIfMatch } from './api-http';
import { AddEndpointDto, ApiSummaryView, ApiView, ChangeApiDto, CreateApiDto, DeprecateApiDto, EndpointChangeView, PlaceHoldDto, UpdateEndpointDto } from './apis.dto';

function apiView(state: ApiState, version: number): ApiView {
  return {
    id: state.apiId,
    ownerId: state.ownerId,
    name: state.name,
    basePath: state.basePath,
    status: state.status,
    retentionHold: state.retentionHold,
    version,
    endpoints: [...state.endpoints.values()].map(({ endpointId, method, path, upstreamUrl }) => ({ endpointId, method, path, upstreamUrl })),
  };
}

const IF_MATCH = { name: 'If-Match', required: false, description: 'The version (ETag) the change is based on; a newer API answers 409. Without it, the change is applied to the latest version.' };
const CONTENDED = {
  description: 'Without If-Match: the change lost the race for the next version to concurrent changes on every retry (bounded in attempts and time) and was not applied; send it again after Retry-After.',
};

@ApiTags('apis')
@Controller('apis')
@UseFilters(ConcurrencyErrorFilter, CommandContentionFilter)
export class ApisController {
  constructor(
    private readonly commands: ApiCommands,
    private readonly catalog: ApiCatalogQueries,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: ApiView, description: "Created, owned by the caller (the token's subject); ApiCreated is published. ETag: the version." })
  async create(@Body() body: CreateApiDto, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<ApiView> {
    if (!isUUID(caller.userId)) throw new ForbiddenException(`only a user (a token whose subject is a user id) owns APIs; got ${caller.userId}`);
    const apiId = randomUUID();
    return this.run(apiId, { type: 'CreateApi', apiId, ownerId: caller.userId, ...body }, undefined, correlationId, res, caller);
  }

  @Get()
  @ApiQuery({ name: 'ownerId', required: false, description: "An operator's filter; a user sees only their own APIs (another's ownerId is a 403)." })
  @ApiOkResponse({ type: [ApiSummaryView], description: "The list view (a projection): the caller's APIs, every API for an operator." })
  async list(@CurrentCaller() caller: Caller, @Query('ownerId', new ParseUUIDPipe({ optional: true })) ownerId?: string): Promise<ApiSummaryView[]> {
    if (isOperator(caller)) return this.catalog.list(ownerId);
    if (ownerId !== undefined) assertMayRead(caller, ownerId, `the APIs of ${ownerId}`);
    return isUUID(caller.userId) ? this.catalog.list(caller.userId) : [];
  }

  @Get(':id')
  @ApiOkResponse({ type: ApiView, description: 'The detail view (a projection). ETag: the version it reflects.' })
  @ApiNotFoundResponse()
  async detail(@Param('id', ParseUUIDPipe) id: string, @CurrentCaller() caller: Caller, @Res({ passthrough: true }) res: Response): Promise<ApiView> {
    const view = await this.catalog.detail(id);
    if (!view) throw new NotFoundException(`API ${id} not found`);
    assertMayRead(caller, view.ownerId, `API ${id}`);
    res.setHeader('ETag', etag(view.version));
    return view;
  }

  @Patch(':id')
  @ApiHeader(IF_MATCH)
  @ApiServiceUnavailableResponse(CONTENDED)
  @ApiOkResponse({ type: ApiView, description: 'Renamed or moved; ApiUpdated is published.' })
  @ApiConflictResponse({ description: 'If-Match names an older version; the body and ETag give the current one.' })
  @ApiUnprocessableEntityResponse({ description: 'The API is deprecated.' })
  change(@Param('id', ParseUUIDPipe) id: string, @Body() body: ChangeApiDto, @Headers('if-match') ifMatch: string | undefined, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<ApiView> {
    return this.run(id, { type: 'ChangeApiDetails', ...body }, ifMatch, correlationId, res, caller);
  }

  @Post(':id/deprecate')
  @HttpCode(200)
  @ApiHeader(IF_MATCH)
  @ApiServiceUnavailableResponse(CONTENDED)
  @ApiOkResponse({ type: ApiView, description: 'Deprecated (it then refuses changes); ApiUpdated is published.' })
  deprecate(@Param('id', ParseUUIDPipe) id: string, @Body() body: DeprecateApiDto, @Headers('if-match') ifMatch: string | undefined, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<ApiView> {
    return this.run(id, { type: 'DeprecateApi', reason: body.reason }, ifMatch, correlationId, res, caller);
  }

  @Post(':id/hold')
  @HttpCode(200)
  @ApiHeader(IF_MATCH)
  @ApiServiceUnavailableResponse(CONTENDED)
  @ApiOkResponse({ type: ApiView, description: 'Under a retention hold: an account closure of its owner is refused (nothing is published).' })
  hold(@Param('id', ParseUUIDPipe) id: string, @Body() body: PlaceHoldDto, @Headers('if-match') ifMatch: string | undefined, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<ApiView> {
    return this.run(id, { type: 'PlaceRetentionHold', reason: body.reason }, ifMatch, correlationId, res, caller);
  }

  @Post(':id/endpoints')
  @ApiHeader(IF_MATCH)
  @ApiServiceUnavailableResponse(CONTENDED)
  @ApiCreatedResponse({ type: EndpointChangeView, description: 'Added; EndpointUpdated (change "added") is published.' })
  @ApiUnprocessableEntityResponse({ description: 'Method and path taken in this API, or the API is deprecated.' })
  async addEndpoint(@Param('id', ParseUUIDPipe) id: string, @Body() body: AddEndpointDto, @Headers('if-match') ifMatch: string | undefined, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<EndpointChangeView> {
    const endpointId = randomUUID();
    const outcome = await this.execute(id, { type: 'AddEndpoint', endpointId, ...body }, ifMatch, correlationId, res, caller);
    return this.endpointChange(id, endpointId, outcome);
  }

  @Put(':id/endpoints/:endpointId')
  @ApiHeader(IF_MATCH)
  @ApiServiceUnavailableResponse(CONTENDED)
  @ApiOkResponse({ type: EndpointChangeView, description: 'Changed; EndpointUpdated (change "updated") is published (nothing when unchanged).' })
  async updateEndpoint(@Param('id', ParseUUIDPipe) id: string, @Param('endpointId', ParseUUIDPipe) endpointId: string, @Body() body: UpdateEndpointDto, @Headers('if-match') ifMatch: string | undefined, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<EndpointChangeView> {
    const outcome = await this.execute(id, { type: 'UpdateEndpoint', endpointId, ...body }, ifMatch, correlationId, res, caller);
    return this.endpointChange(id, endpointId, outcome);
  }

  @Delete(':id/endpoints/:endpointId')
  @ApiHeader(IF_MATCH)
  @ApiServiceUnavailableResponse(CONTENDED)
  @ApiOkResponse({ type: ApiView, description: 'Removed; EndpointRemoved is published.' })
  removeEndpoint(@Param('id', ParseUUIDPipe) id: string, @Param('endpointId', ParseUUIDPipe) endpointId: string, @Headers('if-match') ifMatch: string | undefined, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<ApiView> {
    return this.run(id, { type: 'RemoveEndpoint', endpointId }, ifMatch, correlationId, res, caller);
  }

  private async run(apiId: string, command: ApiCommand, ifMatch: string | undefined, correlationId: string, res: Response, caller: Caller): Promise<ApiView> {
    const outcome = await this.execute(apiId, command, ifMatch, correlationId, res, caller);
    return apiView(outcome.state, outcome.version);
  }

  /** Only the API's owner changes it: the commands check it against the stream, in the command's transaction. */
  private async execute(apiId: string, command: ApiCommand, ifMatch: string | undefined, correlationId: string, res: Response, caller: Caller): Promise<CommandOutcome> {
    const outcome = await this.commands.execute(apiId, command, { ifMatch: parseIfMatch(ifMatch), correlationId, actor: caller.userId });
    res.setHeader('ETag', etag(outcome.version));
    return outcome;
  }

  private endpointChange(apiId: string, endpointId: string, outcome: CommandOutcome): EndpointChangeView {
    const endpoint = outcome.state.endpoints.get(endpointId);
    if (!endpoint) throw new Error(`endpoint ${endpointId} missing after the command`);
    return { apiId, version: outcome.version, ...endpoint };
  }
}
