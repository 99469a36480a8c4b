/**
 * What the reconciliation looks at, collected after the faults stopped: every message of the
 * run's topics (plain kafkajs, a throwaway group, read up to the high watermarks), consumer
 * group lag, the views the services serve over HTTP, and — where HTTP shows nothing — a few
 * facts read from the service databases with the cluster's superuser: outbox backlogs, the
 * digest's window records, notifications' template cache.
 */
import { AssignerProtocol, Kafka, logLevel, type Admin } from 'kafkajs';
import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { EndpointUpdated, UserCreated } from '@platform/contracts';
import { CE } from '@platform/messaging';
import { sleep } from '@platform/testing';
import type { ChaosPlatform } from './platform';
import type { AuditRow, DigestRow, KafkaRecord, NotificationRow, Observed, WindowRow } from './reconcile';
import type { Workload } from './workload';

export interface LaggingPartition {
  readonly topic: string;
  readonly partition: number;
  readonly committed: number;
  readonly high: number;
  readonly lag: number;
  /** The group member holding it (its id appears in the service logs), or 'none'. */
  readonly owner: string;
}

export class KafkaObserver {
  private readonly kafka: Kafka;
  private admin?: Admin;

  constructor(
    private readonly brokers: readonly string[],
    private readonly namespace: string,
  ) {
    this.kafka = new Kafka({ clientId: 'chaos-observer', brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 8 } });
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }

  /** The run's topics (namespace-prefixed Kafka names). */
  async topics(): Promise<string[]> {
    const admin = await this.connectedAdmin();
    return (await admin.listTopics()).filter((t) => t.startsWith(`${this.namespace}.`) && !t.endsWith('.redrive'));
  }

  private contractTopic(topic: string): string {
    return topic.slice(this.namespace.length + 1);
  }

  /** Messages per dead-letter topic (high − low watermark). */
  async deadLetterCounts(): Promise<Record<string, number>> {
    const admin = await this.connectedAdmin();
    const counts: Record<string, number> = {};
    for (const topic of (await this.topics()).filter((t) => t.endsWith('.dlq'))) {
      const offsets = await admin.fetchTopicOffsets(topic);
      counts[this.contractTopic(topic)] = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    }
    return counts;
  }

  /** Unconsumed messages per consumer group of the run, over the topics its members subscribe to. */
  async lags(): Promise<Record<string, number>> {
    const details = await this.lagDetails();
    return Object.fromEntries(Object.entries(details).map(([group, partitions]) => [group, partitions.reduce((n, p) => n + p.lag, 0)]));
  }

  /** Per group, the partitions with a lag: committed offset against the high watermark. */
  async lagDetails(): Promise<Record<string, LaggingPartition[]>> {
    const admin = await this.connectedAdmin();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${this.namespace}.`));
    const lags: Record<string, LaggingPartition[]> = {};
    if (groups.length === 0) return lags;
    const described = await admin.describeGroups(groups);
    for (const group of described.groups) {
      const topics = new Set<string>();
      const owners = new Map<string, string>();
      for (const member of group.members) {
        try {
          const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
          for (const [topic, partitions] of Object.entries(assignment?.assignment ?? {})) for (const p of partitions) owners.set(`${topic}/${p}`, member.memberId);
        } catch {
          // no assignment yet
        }
        try {
          const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
          for (const t of metadata?.topics ?? []) topics.add(t);
        } catch {
          // A member between generations may have no metadata yet: fall back to the committed topics.
        }
      }
      const lagging: LaggingPartition[] = [];
      // Without members (nobody consumes right now), over the topics it committed offsets for.
      const committed = topics.size > 0 ? await admin.fetchOffsets({ groupId: group.groupId, topics: [...topics] }) : await admin.fetchOffsets({ groupId: group.groupId });
      for (const { topic, partitions } of committed) {
        const ends = await admin.fetchTopicOffsets(topic);
        for (const end of ends) {
          const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
          const lag = Number(end.high) - (offset >= 0 ? offset : Number(end.low));
          if (lag > 0) lagging.push({ topic: this.contractTopic(topic), partition: end.partition, committed: offset, high: Number(end.high), lag, owner: owners.get(`${topic}/${end.partition}`) ?? 'none' });
        }
      }
      lags[this.contractTopic(group.groupId)] = lagging;
    }
    return lags;
  }

  /** Every message of the run's topics (dead letters included), read from the beginning up to the current high watermarks. */
  async readAll(timeoutMs = 60_000): Promise<KafkaRecord[]> {
    const admin = await this.connectedAdmin();
    const topics = await this.topics();
    const ends = new Map<string, number>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) if (Number(p.high) > Number(p.low)) ends.set(`${topic}/${p.partition}`, Number(p.high));
    }
    const records: KafkaRecord[] = [];
    if (ends.size === 0) return records;
    const consumer = this.kafka.consumer({ groupId: `chaos-reader-${randomUUID()}`, maxWaitTimeInMs: 200, maxBytesPerPartition: 4 * 1024 * 1024 });
    const read = new Map<string, number>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: topics.filter((t) => [...ends.keys()].some((k) => k.startsWith(`${t}/`))), fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
          records.push({ topic: this.contractTopic(topic), partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
          read.set(`${topic}/${partition}`, Number(message.offset) + 1);
        },
      });
      const deadline = Date.now() + timeoutMs;
      const behind = () => [...ends].filter(([k, high]) => (read.get(k) ?? 0) < high);
      while (behind().length > 0) {
        if (Date.now() > deadline) throw new Error(`reading Kafka back: ${behind().length} partition(s) not read to their end within ${timeoutMs} ms`);
        await sleep(200);
      }
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    return records;
  }
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Database facts: outbox rows per service, the digest's windows, the template cache. */
export async function databaseFacts(platform: ChaosPlatform): Promise<{ outboxes: Record<string, number>; windows: WindowRow[]; templateCache: Map<string, number> }> {
  const outboxes: Record<string, number> = {};
  for (const service of platform.services) {
    outboxes[service] = await withClient(platform.adminUrlOf(service), async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM messaging.outbox')).rows[0].n));
  }
  return withClient(platform.adminUrlOf('notifications'), async (c) => {
    const windows = (
      await c.query<{ window_key: string; window_start: Date; closed: boolean; failed: boolean; event_count: number | null }>(
        `SELECT window_key, window_start, closed_at IS NOT NULL AS closed, failed, event_count
           FROM messaging.windows WHERE consumer_group LIKE '%.endpoint-digest'`,
      )
    ).rows.map((r) => ({ key: r.window_key, start: r.window_start.toISOString(), closed: r.closed, failed: r.failed, eventCount: r.event_count }));
    const cache = (await c.query<{ template_id: string; revision: number }>('SELECT template_id, revision FROM template_cache')).rows;
    return { outboxes, windows, templateCache: new Map(cache.map((r) => [r.template_id, r.revision])) };
  });
}

/** A read as an operator: the observer reads every user's notifications, audits, digests and APIs. */
async function getJson<T>(url: string, as: Record<string, string>): Promise<{ status: number; body: T }> {
  let last: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const response = await fetch(url, { headers: as, signal: AbortSignal.timeout(15_000) });
      const text = await response.text();
      if (response.status >= 500) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 200)}`);
      return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
    } catch (error) {
      last = error;
      await sleep(500 * (attempt + 1));
    }
  }
  throw last;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]);
      }
    }),
  );
  return results;
}

/** Everything the reconciliation needs, read now. */
export async function observe(platform: ChaosPlatform, kafka: KafkaObserver, workload: Workload): Promise<Observed> {
  const messages = await kafka.readAll();
  const [deadLetters, lags, db] = [await kafka.deadLetterCounts(), await kafka.lags(), await databaseFacts(platform)];

  const notifications = platform.route('notifications', () => 0).url;
  const endpoints = platform.route('endpoints', () => 0).url;
  const users = new Set<string>();
  const apis = new Set<string>();
  const owners = new Set<string>();
  const unique = new Map<string, KafkaRecord>();
  for (const m of messages) if (m.headers[CE.id]) unique.set(m.headers[CE.id], m);
  for (const m of unique.values()) {
    if (m.topic === UserCreated.contract.topic) users.add((JSON.parse(m.value ?? '{}') as UserCreated).userId);
    if (m.topic === EndpointUpdated.contract.topic) {
      const e = JSON.parse(m.value ?? '{}') as EndpointUpdated;
      apis.add(e.apiId);
      owners.add(e.ownerId);
    }
  }
  for (const owner of owners) users.add(owner);

  const notificationRows = new Map<string, NotificationRow[]>();
  await mapLimit([...users], 8, async (id) => {
    const { body } = await getJson<NotificationRow[]>(`${notifications}/users/${id}/notifications`, platform.tokens.asOperator());
    notificationRows.set(id, body);
  });
  const audits = new Map<string, AuditRow[]>();
  await mapLimit([...apis], 8, async (id) => {
    const { body } = await getJson<AuditRow[]>(`${notifications}/apis/${id}/audit`, platform.tokens.asOperator());
    audits.set(id, body);
  });
  const digests = new Map<string, DigestRow[]>();
  await mapLimit([...owners], 8, async (id) => {
    const { body } = await getJson<DigestRow[]>(`${notifications}/users/${id}/digests`, platform.tokens.asOperator());
    digests.set(id, body);
  });
  const apiViews = new Map<string, number | undefined>();
  await mapLimit([...workload.watermarks.apiVersions.keys()], 8, async (id) => {
    const { status, body } = await getJson<{ version: number }>(`${endpoints}/apis/${id}`, platform.tokens.asOperator());
    apiViews.set(id, status === 200 ? body.version : undefined);
  });

  return {
    writes: workload.writes,
    messages,
    deadLetters,
    notifications: notificationRows,
    audits,
    digests,
    apiViews,
    apiVersions: workload.watermarks.apiVersions,
    templateCache: db.templateCache,
    windows: db.windows,
    outboxes: db.outboxes,
    lags,
  };
}

/** Drained: every outbox empty, every group caught up, no digest window open. */
export async function drained(platform: ChaosPlatform, kafka: KafkaObserver): Promise<{ done: boolean; detail: string }> {
  const db = await databaseFacts(platform);
  const lags = await kafka.lags();
  const backlog = Object.entries(db.outboxes).filter(([, n]) => n > 0);
  const lagging = Object.entries(lags).filter(([, n]) => !(n === 0));
  const open = db.windows.filter((w) => !w.closed).length;
  const detail = [
    backlog.length ? `outbox ${backlog.map(([s, n]) => `${s} ${n}`).join(', ')}` : 'outboxes empty',
    lagging.length ? `lag ${lagging.map(([g, n]) => `${g.replace(/^notifications\./, '')} ${n}`).join(', ')}` : 'no lag',
    `${open} window(s) open`,
  ].join('; ');
  return { done: backlog.length === 0 && lagging.length === 0 && open === 0 && Object.keys(lags).length > 0, detail };
}

/**
 * For dead letters and lagging partitions: what the notifications database knows of the events
 * concerned (inbox records of every group, audit rows, staged window events), to tell a
 * redelivery the inbox missed from a first delivery that failed.
 */
export async function diagnoseEvents(platform: ChaosPlatform, eventIds: readonly string[]): Promise<Record<string, unknown>> {
  if (eventIds.length === 0) return {};
  return withClient(platform.adminUrlOf('notifications'), async (c) => {
    const ids = [...new Set(eventIds)];
    const inbox = await c.query(`SELECT event_id::text, consumer_group, partition, "offset", handled_at FROM messaging.inbox WHERE event_id = ANY($1::uuid[]) ORDER BY handled_at`, [ids]);
    const audit = await c.query(`SELECT event_id::text, recorded_at, api_version FROM endpoint_audit WHERE event_id = ANY($1::uuid[])`, [ids]);
    const staged = await c.query(
      `SELECT e.event_id::text, e.window_key, e.window_start, w.closed_at, w.event_count, e.partition, e."offset"
         FROM messaging.window_events e LEFT JOIN messaging.windows w USING (consumer_group, window_key, window_start)
        WHERE e.event_id = ANY($1::uuid[])`,
      [ids],
    );
    const out: Record<string, unknown> = {};
    for (const id of ids) {
      out[id] = {
        inbox: inbox.rows.filter((r) => r.event_id === id).map((r) => ({ group: r.consumer_group.replace(/^[^.]+\./, ''), partition: r.partition, offset: r.offset, handledAt: r.handled_at })),
        audit: audit.rows.filter((r) => r.event_id === id).map((r) => ({ recordedAt: r.recorded_at, apiVersion: r.api_version })),
        staged: staged.rows.filter((r) => r.event_id === id).map((r) => ({ window: `${r.window_key}@${r.window_start.toISOString()}`, closedAt: r.closed_at, eventCount: r.event_count, partition: r.partition, offset: r.offset })),
      };
    }
    return out;
  });
}
