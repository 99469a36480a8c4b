import { Kafka, logLevel } from 'kafkajs';
import { ReopenAccount, RestoreApis, RetireApis, SendClosureFailed, SendGoodbye, type EventClass } from '@platform/contracts';
import { ensureKafka, eventually, TestPlatform, type ServiceProcess } from '@platform/testing';

/** sysexits.h EX_CONFIG: what a service exits with when its configuration cannot work. */
const EX_CONFIG = 78;

/** Each command of the account-closure saga, with the services that touch its topic: the saga's (sends it) and the handler's. */
const COMMANDS: readonly { readonly command: EventClass; readonly services: readonly string[] }[] = [
  { command: RetireApis, services: ['users', 'endpoints'] },
  { command: RestoreApis, services: ['users', 'endpoints'] },
  { command: ReopenAccount, services: ['users'] },
  { command: SendGoodbye, services: ['users', 'notifications'] },
  { command: SendClosureFailed, services: ['users', 'notifications'] },
];

/** The process's exit code, or a note that it is still running after `timeoutMs`. */
async function exitCode(service: ServiceProcess, timeoutMs: number): Promise<number | null | string> {
  let timer: NodeJS.Timeout | undefined;
  const running = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still running after ${timeoutMs} ms`), timeoutMs)));
  try {
    return await Promise.race([service.exited(), running]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The partition-count guard for the saga's command topics: a command topic that exists with
 * another partition count than its contract declares (someone "scaled" it in place, which
 * moves keys to other partitions, out of order) makes every service that sends or handles the
 * command refuse to start: it exits with EX_CONFIG and logs TopicMismatchError naming the topic.
 */
describe("command topics: a partition count other than the contract's stops the services that use it", () => {
  it.each(COMMANDS.map((c) => [c.command.contract.type, c] as const))('%s', async (_type, { command, services }) => {
    const platform = new TestPlatform(services);
    const topic = `${platform.namespace}.${command.contract.topic}`;
    const wrong = command.contract.partitions + 2;
    const admin = new Kafka({ clientId: 'partition-guard-test', brokers: await ensureKafka(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      // Not waiting for leaders in createTopics: its metadata request can fail on a topic this new (UNKNOWN_TOPIC_OR_PARTITION).
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: wrong }], waitForLeaders: false })).toBe(true);
      await eventually(async () => expect((await admin.fetchTopicOffsets(topic)).length).toBe(wrong), { timeoutMs: 20_000, intervalMs: 200 });
      await expect(platform.start({ LOG_LEVEL: 'warn' })).rejects.toThrow(/exited while starting/);
      for (const name of services) {
        const service = platform.service(name);
        expect(await exitCode(service, 60_000)).toBe(EX_CONFIG);
        const logs = service.logs(20_000);
        expect(logs).toContain('TopicMismatchError');
        expect(logs).toContain(`Topic ${topic} has ${wrong} partitions but its contract declares ${command.contract.partitions}`);
      }
      // The guard refused; it did not "fix" the topic.
      const [described] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(described.partitions).toHaveLength(wrong);
    } finally {
      await admin.disconnect();
      await platform.stop();
    }
  }, 120_000);
});
