import { Kafka, logLevel } from 'kafkajs';
import { ensureKafka } from '@platform/testing';
import { stopKafkaJsIdleTimers } from '../src/kafka/kafkajs-idle-timer';

jest.setTimeout(60_000);

type Queue = { checkPendingRequests(): void };

/** kafkajs' pending-request check on an idle connection to the real broker: without the fix, about once a millisecond. */
describe('kafkajs connections at rest', () => {
  const { prototype } = require('kafkajs/src/network/requestQueue') as { prototype: Queue };
  const check = prototype.checkPendingRequests;
  let checks = 0;

  beforeAll(() => {
    prototype.checkPendingRequests = function (this: Queue) {
      checks += 1;
      check.call(this);
    };
  });

  afterAll(() => {
    prototype.checkPendingRequests = check;
  });

  /** Checks of the pending queue in one idle second of a connected admin client, and whether it still answers after. */
  async function idleSecond(brokers: string[]): Promise<{ checks: number; topics: number }> {
    const admin = new Kafka({ clientId: 'idle-timer-test', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.listTopics();
      await new Promise((resolve) => setTimeout(resolve, 200));
      checks = 0;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const seen = checks;
      return { checks: seen, topics: (await admin.listTopics()).length };
    } finally {
      await admin.disconnect();
    }
  }

  it('re-arms no timer while nothing is pending, and the client still answers', async () => {
    const brokers = await ensureKafka();
    // As kafkajs ships: the check runs hundreds of times in an idle second.
    const before = await idleSecond(brokers);
    expect(before.checks).toBeGreaterThan(200);
    stopKafkaJsIdleTimers();
    const after = await idleSecond(brokers);
    expect(after.checks).toBeLessThan(5);
    expect(after.topics).toBeGreaterThan(0);
  });
});
