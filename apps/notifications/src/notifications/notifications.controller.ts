import { Controller, Get, NotFoundException, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { assertMayRead, CurrentCaller, type Caller } from '@platform/service-kit';
import { DataSource } from 'typeorm';

export class NotificationView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ example: 'welcome' }) kind!: string;
  @ApiProperty() channel!: string;
  @ApiProperty() subject!: string;
  @ApiProperty() body!: string;
  @ApiPropertyOptional({ format: 'uuid' }) templateId!: string | null;
  @ApiPropertyOptional() templateRevision!: number | null;
  @ApiProperty({ format: 'uuid', description: 'The event this notification answers.' }) causedBy!: string;
  @ApiProperty() createdAt!: string;
}

const SELECT = `SELECT id, user_id AS "userId", kind, channel, subject, body, template_id AS "templateId",
  template_revision AS "templateRevision", caused_by AS "causedBy", created_at AS "createdAt" FROM notifications`;

@ApiTags('notifications')
@Controller()
export class NotificationsController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('users/:userId/notifications')
  @ApiOkResponse({ type: [NotificationView], description: "A user's notifications, oldest first." })
  @ApiForbiddenResponse({ description: "Another user's notifications (operators may read them)." })
  forUser(@Param('userId', ParseUUIDPipe) userId: string, @CurrentCaller() caller: Caller): Promise<NotificationView[]> {
    assertMayRead(caller, userId, `the notifications of user ${userId}`);
    return this.dataSource.query(`${SELECT} WHERE user_id = $1 ORDER BY created_at, id`, [userId]);
  }

  @Get('notifications/:id')
  @ApiOkResponse({ type: NotificationView })
  @ApiNotFoundResponse()
  @ApiForbiddenResponse({ description: "Another user's notification (operators may read it)." })
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentCaller() caller: Caller): Promise<NotificationView> {
    const [row] = await this.dataSource.query<NotificationView[]>(`${SELECT} WHERE id = $1`, [id]);
    if (!row) throw new NotFoundException(`notification ${id} not found`);
    assertMayRead(caller, row.userId, `notification ${id}`);
    return row;
  }
}
