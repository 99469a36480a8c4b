import { Public } from '../auth/auth.decorators';
import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { serviceLogger } from '../logging/process-logger';
import { MessagingLifecycle } from '../messaging/messaging-lifecycle';
import { kafkaTransition, liveness, readiness, type Check, type LivenessReport, type ReadinessReport } from './health-decisions';

const PROBE_TIMEOUT_MS = 2000;
/** A broker check still pending after this long is abandoned and a new one started. */
const STALE_BROKER_CHECK_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(what: string, probe: () => Promise<unknown>): Promise<Check> {
  try {
    await withTimeout(probe(), PROBE_TIMEOUT_MS, what);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', detail: (error as Error).message };
  }
}

/**
 * /health/live: no use case has stopped for good (no I/O). /health/ready: the database answers
 * and the migrations are applied; Kafka and the use cases are reported in the body ('degraded'),
 * never a reason to take the pod out of its Service. The decisions are in health-decisions.ts.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = serviceLogger('Health');
  private migrationsApplied = false;
  private brokerCheck?: { readonly since: number; readonly result: Promise<void> };
  private kafkaState?: Check['status'];

  constructor(
    private readonly dataSource: DataSource,
    @Inject(MessagingLifecycle) private readonly messaging: MessagingLifecycle,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process can go on by itself: no use case has crashed for good (no dependency is asked). 503 means restart it.' })
  @ApiResponse({ status: 503, description: 'A use case stopped consuming for good.' })
  live(): LivenessReport {
    const decision = liveness(this.messaging.useCases);
    if (!decision.live) throw new ServiceUnavailableException(decision.body);
    return decision.body;
  }

  @Get('ready')
  @HttpCode(200)
  @ApiOperation({
    summary: "The API can serve: the database answers and the migrations are applied. Kafka's state and the use cases are reported: status 'degraded' (still 200) while Kafka is away or a use case is not consuming.",
  })
  @ApiResponse({ status: 503, description: 'The database does not answer or migrations are pending.' })
  async ready(): Promise<ReadinessReport> {
    const [database, migrations, broker] = await Promise.all([
      check('the database', () => this.dataSource.query('SELECT 1')),
      check('the migrations check', () => this.migrations()),
      check('Kafka', () => this.broker()),
    ]);
    const decision = readiness({ database, migrations, broker, messagingStarted: this.messaging.running !== undefined, useCases: this.messaging.useCases });
    this.logKafkaTransition(decision.body.checks.kafka);
    if (!decision.ready) throw new ServiceUnavailableException(decision.body);
    return decision.body;
  }

  /** Pending migrations are looked for until there are none; they cannot come back in this process. */
  private async migrations(): Promise<void> {
    if (this.migrationsApplied) return;
    if (await this.dataSource.showMigrations()) throw new Error('migrations are pending');
    this.migrationsApplied = true;
  }

  /** One broker request at a time, however often the probes come while Kafka is slow to answer. */
  private broker(): Promise<void> {
    if (!this.brokerCheck || Date.now() - this.brokerCheck.since > STALE_BROKER_CHECK_MS) {
      const result = this.messaging
        .adminClient()
        .then((admin) => admin.listTopics())
        .then(() => undefined)
        .finally(() => {
          if (this.brokerCheck?.result === result) this.brokerCheck = undefined;
        });
      result.catch(() => undefined); // awaited by the probes; a late failure must not go unhandled
      this.brokerCheck = { since: Date.now(), result };
    }
    return this.brokerCheck.result;
  }

  private logKafkaTransition(kafka: Check): void {
    const { state, transition } = kafkaTransition(this.kafkaState, kafka.status);
    this.kafkaState = state;
    if (transition === 'went-down') this.logger.warn('Kafka is unavailable: the API keeps serving, events wait in the outbox', { detail: kafka.detail });
    if (transition === 'came-back') this.logger.info('Kafka is available again');
  }
}
