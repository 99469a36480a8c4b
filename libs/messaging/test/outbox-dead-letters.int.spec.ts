import { withTransaction } from '@platform/core';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { EndpointUpdated, UserCreated } from '@platform/contracts';
import { ensureTopics, OutboxPublisher, OutboxRelay, topicSpecFor } from '../src';
import { OutboxDeadLetters } from '../src/outbox/outbox-dead-letters';
import { adminDatabaseUrl, eventually, inOwnTransaction, TopicReader } from '@platform/testing';
import { endpointUpdated, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '../../..');
const TOPIC_LIMIT = 64 * 1024;

/** `npm run outbox -- ...`, as an operator runs it, against this spec's database. */
async function outboxCli(h: MessagingHarness, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = ['tsx', '--tsconfig', 'tsconfig.base.json', 'tools/messaging/outbox.ts', ...args, '--database-url', adminDatabaseUrl(), '--database', h.db.name];
  try {
    const { stdout, stderr } = await promisify(execFile)('npx', cli, { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * Versions per key, in the order Kafka holds them, each event counted where it first appears: a
 * refused request may have been written for its other partitions, which are then sent again
 * (at-least-once, as after a crash; consumers de-duplicate by event id).
 */
function versionsOf(reader: TopicReader, key: string): number[] {
  const firstSeen = [...new Map(reader.messages.filter((m) => m.key === key).map((m) => [m.headers['ce_id'], m] as const)).values()];
  return firstSeen.map((m) => JSON.parse(m.value ?? '{}').version as number);
}

const eventIds = (reader: TopicReader, topic: string) => new Set(reader.messages.filter((m) => m.topic === topic).map((m) => m.headers['ce_id']));

describe('outbox rows Kafka always refuses (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let relay: OutboxRelay;
  let reader: TopicReader;
  let deadLetters: OutboxDeadLetters;
  const publisher = new OutboxPublisher('outbox-dl-test', [EndpointUpdated, UserCreated]);

  const outboxRows = async () =>
    (await h.db.pool.query<{ position: string; key: string; attempts: number }>('SELECT position::text, message_key AS key, attempts FROM messaging.outbox ORDER BY position')).rows;

  beforeAll(async () => {
    h = await messagingHarness('outbox_dl');
    const admin = await h.broker.admin();
    // A topic that takes records of up to 64 KiB.
    await admin.createTopics([{ ...topicSpecFor(EndpointUpdated, h.naming), config: { ...topicSpecFor(EndpointUpdated, h.naming).config, 'max.message.bytes': String(TOPIC_LIMIT) } }]);
    await ensureTopics(admin, h.naming, [EndpointUpdated, UserCreated]);
    await admin.disconnect();
    reader = await new TopicReader(h.brokers, [h.naming.topic(EndpointUpdated), h.naming.topic(UserCreated)]).start();
    deadLetters = new OutboxDeadLetters(h.db.pool);
    relay = new OutboxRelay({
      pool: h.db.pool,
      naming: h.naming,
      logger: h.logger,
      producerFactory: () => h.broker.producer({ idempotent: true }),
      batchSize: 50,
      maxAttempts: 4,
      maxBackoffMs: 2000,
    });
  });

  afterAll(async () => {
    await relay?.stop();
    await reader?.stop();
    await h?.close();
  });

  it('dead-letters a row too large for its topic after its budget; the rows around it reach Kafka in order', async () => {
    const apis = Array.from({ length: 5 }, () => randomUUID());
    const [culprit] = apis;
    // Ten rounds over five keys; the culprit's 4th event is made larger than the topic takes.
    for (let version = 1; version <= 10; version++) {
      await withTransaction(h.db.pool, (tx) => publisher.publishAll(tx, apis.map((apiId) => ({ event: EndpointUpdated, payload: endpointUpdated(apiId, version) }))));
    }
    const { rows } = await h.db.pool.query<{ position: string; event_id: string }>(
      `UPDATE messaging.outbox SET payload = payload || repeat(' ', $3) WHERE message_key = $1 AND payload::jsonb->>'version' = $2 RETURNING position::text, event_id::text`,
      [culprit, '4', TOPIC_LIMIT * 2],
    );
    const [tooLarge] = rows;
    relay.start();

    // While the culprit waits for its next attempt, every other key is through and the
    // culprit's later events wait behind it.
    await eventually(async () => expect((await outboxRows()).find((r) => r.position === tooLarge.position)?.attempts ?? 0).toBeGreaterThanOrEqual(1), {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    const meanwhile = await outboxRows();
    if (meanwhile.some((r) => r.position === tooLarge.position)) {
      expect(meanwhile.map((r) => r.key)).toEqual(Array(7).fill(culprit));
      expect(versionsOf(reader, culprit).filter((v) => v > 3)).toEqual([]);
    }

    await eventually(async () => expect(await relay.deadLetterCount()).toBe(1), { timeoutMs: 60_000 });
    await eventually(async () => expect(await relay.backlog()).toBe(0), { timeoutMs: 30_000 });
    await eventually(() => expect(eventIds(reader, h.naming.topic(EndpointUpdated)).size).toBe(49), { timeoutMs: 30_000 });
    for (const apiId of apis.slice(1)) expect(versionsOf(reader, apiId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(versionsOf(reader, culprit)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10]);
    expect(eventIds(reader, h.naming.topic(EndpointUpdated))).not.toContain(tooLarge.event_id);

    const [letter] = await deadLetters.list();
    expect(letter).toMatchObject({
      position: tooLarge.position,
      eventId: tooLarge.event_id,
      topic: EndpointUpdated.contract.topic,
      key: culprit,
      errorName: 'MESSAGE_TOO_LARGE',
      attempts: 4,
    });
    expect(letter.error).toMatch(/larger than the max message size/);
    expect(relay.stats()).toMatchObject({ leader: true, deadLettered: 1, refused: 4 });

    // The CLI lists it.
    const listed = await outboxCli(h, 'outbox-dl-test', 'dead-letters');
    expect(listed.code).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(`${tooLarge.position} `));
    expect(line).toBeDefined();
    expect(line).toContain(EndpointUpdated.contract.topic);
    expect(line).toContain(culprit);
    expect(line).toContain('MESSAGE_TOO_LARGE');
    expect(line).toMatch(/\s4\s/);

    // Redriven while the topic still refuses it: back at the end of the outbox, attempts reset,
    // refused again, and back in the dead letters after a whole new budget.
    const redriven = await outboxCli(h, 'outbox-dl-test', 'redrive', '--all');
    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toMatch(/^1 dead letter\(s\) moved back to the outbox/);
    await eventually(async () => expect(relay.stats().deadLettered).toBe(2), { timeoutMs: 60_000 });
    const [again] = await deadLetters.list();
    expect(BigInt(again.position)).toBeGreaterThan(BigInt(tooLarge.position));
    expect(again).toMatchObject({ eventId: tooLarge.event_id, attempts: 4, errorName: 'MESSAGE_TOO_LARGE' });
    expect(relay.stats().refused).toBe(8);

    // Once the topic takes it, a redrive of that one position sends it, after the rest of its key.
    const kafka = new Kafka({ clientId: 'outbox-dl-admin', brokers: h.brokers, logLevel: logLevel.NOTHING }).admin();
    await kafka.connect();
    try {
      await kafka.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: h.naming.topic(EndpointUpdated), configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_LIMIT * 4) }] }],
      });
    } finally {
      await kafka.disconnect();
    }
    const sent = await outboxCli(h, 'outbox-dl-test', 'redrive', '--id', again.position);
    expect(sent.code).toBe(0);
    await eventually(() => expect(versionsOf(reader, culprit)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10, 4]), { timeoutMs: 60_000 });
    expect(await relay.deadLetterCount()).toBe(0);
    await eventually(async () => expect(await relay.backlog()).toBe(0));
  });

  it('dead-letters the rows of a topic that does not exist, and keeps sending the others', async () => {
    const users = Array.from({ length: 6 }, () => randomUUID());
    const lost = await inOwnTransaction(h.db.pool, async (tx) => {
      for (const [i, userId] of users.entries()) await publisher.publish(tx, UserCreated, { userId, email: `u${i}@example.com`, displayName: `user ${i}` });
      // Two of them aimed at a topic nobody created (as if it had been deleted).
      const { rows } = await tx.query<{ position: string }>(
        `UPDATE messaging.outbox SET topic = 'outbox-dl.missing.v1' WHERE message_key = ANY($1) RETURNING position::text`,
        [[users[1], users[4]]],
      );
      return rows.sort((a, b) => Number(a.position) - Number(b.position));
    });
    expect(lost).toHaveLength(2);
    await eventually(async () => expect(await relay.deadLetterCount()).toBe(2), { timeoutMs: 120_000, intervalMs: 500 });
    const delivered = () => [...new Set(reader.messages.filter((m) => m.topic === h.naming.topic(UserCreated)).map((m) => m.key))].sort();
    await eventually(() => expect(delivered()).toEqual([users[0], users[2], users[3], users[5]].sort()));
    const letters = await deadLetters.list();
    expect(letters.map((l) => l.position)).toEqual(lost.map((l) => l.position));
    for (const letter of letters) expect(letter).toMatchObject({ topic: 'outbox-dl.missing.v1', errorName: 'UNKNOWN_TOPIC_OR_PARTITION', attempts: 4 });
    expect(await relay.backlog()).toBe(0);

    // Redrive one by position: it is refused again and comes back, at a new position; the other stays untouched.
    expect((await outboxCli(h, 'outbox-dl-test', 'redrive', '--id', lost[0].position)).code).toBe(0);
    await eventually(
      async () => {
        const [first, second, ...more] = await deadLetters.list();
        expect(more).toEqual([]);
        expect(first?.position).toBe(lost[1].position);
        expect(BigInt(second?.position ?? 0)).toBeGreaterThan(BigInt(lost[1].position));
        expect(second).toMatchObject({ attempts: 4, errorName: 'UNKNOWN_TOPIC_OR_PARTITION' });
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(await relay.backlog()).toBe(0);
  });

  it('refuses bad usage with exit code 2 and says how to use it', async () => {
    for (const args of [[], ['outbox-dl-test'], ['outbox-dl-test', 'redrive'], ['outbox-dl-test', 'redrive', '--all', '--id', '3'], ['outbox-dl-test', 'purge']]) {
      const result = await outboxCli(h, ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('usage: npm run outbox -- <service> dead-letters|redrive');
    }
    const missing = await outboxCli(h, 'outbox-dl-test', 'redrive', '--id', '999999');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no dead letter at position 999999');
  });
});
