import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { KafkaJsBroker, type Broker, type BrokerAdmin } from '@platform/messaging';
import { ConsoleSettings } from '../settings';
import { consoleLogger } from '../logging';

/**
 * The console's one way into Kafka: an admin client (opened on first use, reopened after a
 * failure) and the broker for what the redrive library produces. No consumer group of its own.
 */
@Injectable()
export class KafkaAccess implements OnModuleDestroy {
  readonly broker: Broker;
  private admin?: Promise<BrokerAdmin>;

  constructor(settings: ConsoleSettings) {
    const { kafkaBrokers, kafkaSasl, kafkaTls } = settings.config;
    this.broker = new KafkaJsBroker({ brokers: kafkaBrokers, clientId: 'console', logger: consoleLogger('Kafka'), sasl: kafkaSasl, tls: kafkaTls });
  }

  /** Runs `read` with the admin client; a failure drops the client so the next call connects anew. */
  async withAdmin<T>(read: (admin: BrokerAdmin) => Promise<T>): Promise<T> {
    const admin = (this.admin ??= this.broker.admin());
    try {
      return await read(await admin);
    } catch (error) {
      if (this.admin === admin) {
        this.admin = undefined;
        void admin.then((a) => a.disconnect()).catch(() => undefined);
      }
      throw error;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin?.then((a) => a.disconnect()).catch(() => undefined);
  }
}
