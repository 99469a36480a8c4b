import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { assertMayRead, CurrentCaller, type Caller } from '@platform/service-kit';
import { DataSource } from 'typeorm';

export class AuditEntryView {
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({ format: 'uuid' }) apiId!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiProperty({ format: 'uuid' }) endpointId!: string;
  @ApiProperty() method!: string;
  @ApiProperty() path!: string;
  @ApiProperty() upstreamUrl!: string;
  @ApiProperty({ enum: ['added', 'updated'] }) change!: string;
  @ApiProperty() apiVersion!: number;
  @ApiProperty() occurredAt!: string;
}

export class DigestView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiProperty() windowStart!: string;
  @ApiProperty() windowEnd!: string;
  @ApiProperty({ type: [String] }) eventIds!: string[];
  @ApiProperty({ description: 'The endpoint changes of the window, in event-time order.' }) changes!: unknown[];
}

@ApiTags('endpoint audit and digests')
@Controller()
export class AuditController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('apis/:apiId/audit')
  @ApiOkResponse({ type: [AuditEntryView], description: 'One entry per EndpointUpdated of the API (endpoint-audit use case).' })
  @ApiForbiddenResponse({ description: "Another user's API (operators may read it)." })
  async audit(@Param('apiId', ParseUUIDPipe) apiId: string, @CurrentCaller() caller: Caller): Promise<AuditEntryView[]> {
    const entries = await this.dataSource.query<AuditEntryView[]>(
      `SELECT event_id AS "eventId", api_id AS "apiId", owner_id AS "ownerId", endpoint_id AS "endpointId", method, path,
              upstream_url AS "upstreamUrl", change, api_version AS "apiVersion", occurred_at AS "occurredAt"
         FROM endpoint_audit WHERE api_id = $1 ORDER BY api_version, occurred_at`,
      [apiId],
    );
    // Every entry names the API's owner (an API never changes hands); none yet reveals nothing.
    for (const ownerId of new Set(entries.map((e) => e.ownerId))) assertMayRead(caller, ownerId, `API ${apiId}`);
    return entries;
  }

  @Get('users/:ownerId/digests')
  @ApiOkResponse({ type: [DigestView], description: "An API owner's endpoint digests, one per 500 ms window with changes (endpoint-digest use case)." })
  @ApiForbiddenResponse({ description: "Another user's digests (operators may read them)." })
  digests(@Param('ownerId', ParseUUIDPipe) ownerId: string, @CurrentCaller() caller: Caller): Promise<DigestView[]> {
    assertMayRead(caller, ownerId, `the digests of user ${ownerId}`);
    return this.dataSource.query(
      `SELECT id, owner_id AS "ownerId", window_start AS "windowStart", window_end AS "windowEnd", event_ids AS "eventIds", changes
         FROM endpoint_digests WHERE owner_id = $1 ORDER BY window_start`,
      [ownerId],
    );
  }
}
