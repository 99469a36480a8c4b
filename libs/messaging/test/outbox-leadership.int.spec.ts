import { withTransaction } from '@platform/core';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { EndpointUpdated } from '@platform/contracts';
import { OutboxPublisher, OutboxRelay, type OutboxRelayOptions } from '../src';
import { eventually, sleep, type TopicReader } from '@platform/testing';
import { endpointUpdated, messagingHarness, readerOfTopics, type MessagingHarness } from './harness';
import { TcpProxy } from './tcp-proxy';

jest.setTimeout(120_000);

describe('outbox relay leadership when the leader loses its lock connection (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let reader: TopicReader;
  const publisher = new OutboxPublisher('outbox-leader-test', [EndpointUpdated]);
  const relays: OutboxRelay[] = [];
  const pools: Pool[] = [];

  const relay = (options: Partial<OutboxRelayOptions>) => {
    const created = new OutboxRelay({
      pool: h.db.pool,
      naming: h.naming,
      logger: h.logger,
      producerFactory: () => h.broker.producer({ idempotent: true }),
      pollIntervalMs: 200,
      ...options,
    });
    relays.push(created);
    return created;
  };

  /** Ten versions each of `keys` new keys, written in ten transactions that interleave the keys. */
  const publishVersions = async (keys: number) => {
    const apis = Array.from({ length: keys }, () => randomUUID());
    for (let version = 1; version <= 10; version++) {
      await withTransaction(h.db.pool, (tx) => publisher.publishAll(tx, apis.map((apiId) => ({ event: EndpointUpdated, payload: endpointUpdated(apiId, version) }))));
    }
    return apis;
  };

  /** Every event of these keys in Kafka exactly once, each key's versions in order. */
  const expectSentOnceInOrder = async (apis: readonly string[]) => {
    const mine = () => reader.messages.filter((m) => apis.includes(m.key ?? ''));
    await eventually(() => expect(mine().length).toBeGreaterThanOrEqual(apis.length * 10), { timeoutMs: 30_000 });
    await sleep(500); // a late duplicate would show up by now
    expect(new Set(mine().map((m) => m.headers['ce_id'])).size).toBe(apis.length * 10);
    expect(mine()).toHaveLength(apis.length * 10);
    for (const apiId of apis) {
      expect(mine().filter((m) => m.key === apiId).map((m) => JSON.parse(m.value ?? '{}').version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
  };

  /** The backend that holds the relay lock of this database, and the client port it sees. */
  const lockHolder = async () => {
    const { rows } = await h.db.pool.query<{ pid: number; port: number }>(
      `SELECT a.pid, a.client_port AS port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  };

  beforeAll(async () => {
    h = await messagingHarness('outbox_leader');
    reader = await readerOfTopics(h, [EndpointUpdated]);
  });

  /** Bounded, so that a relay stuck on a dead connection fails the test instead of hanging it. */
  const stopRelays = () =>
    Promise.race([Promise.all(relays.splice(0).map((r) => r.stop())), new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);

  afterEach(stopRelays);

  afterAll(async () => {
    await reader?.stop();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await h?.close();
  });

  it('hands over to the standby within seconds when the leader session is terminated; the old leader sends nothing more', async () => {
    // The old leader would take the lock back at once if it tried; it must wait its standby delay.
    const leader = relay({ standbyRetryMs: 60_000 });
    leader.start();
    await eventually(() => expect(leader.stats().leader).toBe(true));
    const standby = relay({ standbyRetryMs: 500 });
    standby.start();
    await expectSentOnceInOrder(await publishVersions(2));
    expect(standby.stats()).toMatchObject({ leader: false, sent: 0 });
    await eventually(async () => expect(await leader.backlog()).toBe(0));

    const { pid } = await lockHolder();
    await h.db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    const killedAt = Date.now();
    await eventually(() => expect(standby.stats().leader).toBe(true), { timeoutMs: 10_000, intervalMs: 50 });
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(leader.stats().leader).toBe(false);
    const sentByOldLeader = leader.stats().sent;

    await expectSentOnceInOrder(await publishVersions(5));
    expect(leader.stats()).toMatchObject({ leader: false, sent: sentByOldLeader });
    expect(standby.stats().sent).toBe(50);
  });

  it("checks its lock in the statements that read the outbox: relaying sends nothing on the lock's own connection", async () => {
    const leader = relay({});
    leader.start();
    await eventually(() => expect(leader.stats().leader).toBe(true));
    const sentBefore = leader.stats().sent;
    await expectSentOnceInOrder(await publishVersions(3));
    expect(leader.stats()).toMatchObject({ leader: true, sent: sentBefore + 30 });
    // The lock's session ran its LISTEN last: no statement of its own before each batch (a
    // round trip that was two statements more a round).
    const { pid } = await lockHolder();
    const { rows } = await h.db.pool.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = $1', [pid]);
    expect(rows).toEqual([{ query: 'LISTEN messaging_outbox' }]);
  });

  it('steps down before its next batch when its lock connection silently died, while a standby took over', async () => {
    // The old leader reaches PostgreSQL through a proxy, so that its lock connection can be cut
    // without it noticing (a network partition); its other connections keep working.
    const target = new URL(h.db.url);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxyPort = await proxy.start();
    try {
      const proxied = new URL(h.db.url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxyPort);
      const pool = new Pool({ connectionString: proxied.toString(), max: 5 });
      pool.on('error', () => undefined);
      pools.push(pool);

      const leader = relay({ pool, standbyRetryMs: 60_000, leaderCheckTimeoutMs: 1500 });
      leader.start();
      await eventually(() => expect(leader.stats().leader).toBe(true));
      const standby = relay({ standbyRetryMs: 500 });
      standby.start();
      await expectSentOnceInOrder(await publishVersions(2));
      await eventually(async () => expect(await leader.backlog()).toBe(0));
      const sentByOldLeader = leader.stats().sent;

      // The partition: nothing reaches the old leader's lock connection any more, and the server
      // ends that session (as its keep-alive would), which releases the lock.
      const holder = await lockHolder();
      expect(proxy.partition(holder.port)).toBe(true);
      await h.db.pool.query('SELECT pg_terminate_backend($1)', [holder.pid]);
      const apis = await publishVersions(5);

      await eventually(() => expect(standby.stats().leader).toBe(true), { timeoutMs: 10_000, intervalMs: 50 });
      await eventually(() => expect(leader.stats().leader).toBe(false), { timeoutMs: 10_000, intervalMs: 50 });
      await expectSentOnceInOrder(apis);
      expect(leader.stats()).toMatchObject({ leader: false, sent: sentByOldLeader });
      expect(standby.stats().sent).toBe(50);
    } finally {
      await stopRelays();
      await proxy.stop();
    }
  });
});
