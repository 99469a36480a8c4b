import { Controller, Get, NotFoundException, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
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
  forUser(@Param('userId', ParseUUIDPipe) userId: string): Promise<NotificationView[]> {
    return this.dataSource.query(`${SELECT} WHERE user_id = $1 ORDER BY created_at, id`, [userId]);
  }

  @Get('notifications/:id')
  @ApiOkResponse({ type: NotificationView })
  @ApiNotFoundResponse()
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<NotificationView> {
    const [row] = await this.dataSource.query(`${SELECT} WHERE id = $1`, [id]);
    if (!row) throw new NotFoundException(`notification ${id} not found`);
    return row;
  }
}
