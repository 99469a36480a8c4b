import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { MessagingLifecycle } from '../messaging/messaging-lifecycle';

interface Check {
  readonly status: 'up' | 'down';
  readonly detail?: string;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms))]);
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(MessagingLifecycle) private readonly messaging: MessagingLifecycle,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is alive (no dependency is checked).' })
  live(): { status: 'up' } {
    return { status: 'up' };
  }

  @Get('ready')
  @HttpCode(200)
  @ApiOperation({ summary: 'The database answers, Kafka answers, and every use case is consuming.' })
  async ready(): Promise<{ status: 'up'; checks: Record<string, Check> }> {
    const [database, kafka] = await Promise.all([this.check(() => this.dataSource.query('SELECT 1')), this.check(() => this.kafka())]);
    const checks = { database, kafka };
    if (database.status === 'down' || kafka.status === 'down') throw new ServiceUnavailableException({ status: 'down', checks });
    return { status: 'up', checks };
  }

  private async kafka(): Promise<void> {
    const running = this.messaging.running;
    if (!running) throw new Error('messaging has not started yet');
    const stuck = running.consumers.filter((c) => c.status !== 'running');
    if (stuck.length > 0) throw new Error(`use cases not consuming: ${stuck.map((c) => `${c.groupId} (${c.status})`).join(', ')}`);
    const admin = await this.messaging.adminClient();
    await admin.listTopics();
  }

  private async check(probe: () => Promise<unknown>): Promise<Check> {
    try {
      await withTimeout(probe(), 2000, 'dependency');
      return { status: 'up' };
    } catch (error) {
      return { status: 'down', detail: (error as Error).message };
    }
  }
}
