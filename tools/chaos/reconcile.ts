/**
 * The reconciliation of a chaos run, as a pure function of what was observed: the writes the
 * workload made (with their outcomes), every message of the run's topics read back from
 * Kafka, the views notifications and endpoints serve over HTTP, and a few database facts HTTP
 * does not show (outbox backlogs, the digest's window records, the template cache).
 *
 *   lost:         a promise not kept: a 2xx write whose event is not in Kafka; an event whose
 *                 effect is missing (welcome, audit row, digest, NotificationSent, template cache,
 *                 read model); something still undelivered after the settle time
 *   duplicated:   an effect that happened more than once: two welcomes for one user, an event
 *                 audited twice or in two digests, two digests of one window, one write or one
 *                 notification published as two distinct events
 *   inconsistent: an effect without its cause (an audit row or digest entry for an event that
 *                 is not in Kafka, a NotificationSent for a notification that does not exist, a
 *                 digest holding another owner's event)
 *   undrained:    the system did not converge within the settle time: outbox rows left, a
 *                 consumer group behind, a digest window still open (the effects may be there;
 *                 a group that never commits past handled events gets them again at its next
 *                 rebalance)
 *
 * Kafka itself is at-least-once: the same event (same ce_id) twice in a topic is a re-send,
 * counted but not a duplicate; the inboxes make it harmless, and the effect checks verify that.
 */
import { EndpointUpdated, NotificationSent, TemplateUpdated, UserCreated } from '@platform/contracts';
import { CE } from '@platform/messaging';
import type { WriteRecord } from './workload';

export interface KafkaRecord {
  /** Contract topic (namespace removed); dead-letter topics keep their full name. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface NotificationRow {
  readonly id: string;
  readonly userId: string;
  readonly kind: string;
  readonly causedBy: string;
}

export interface AuditRow {
  readonly eventId: string;
  readonly apiId: string;
}

export interface DigestRow {
  readonly id: string;
  readonly ownerId: string;
  readonly windowStart: string;
  readonly eventIds: readonly string[];
}

export interface WindowRow {
  readonly key: string;
  readonly start: string;
  readonly closed: boolean;
  readonly failed: boolean;
  readonly eventCount: number | null;
}

export interface Observed {
  readonly writes: readonly WriteRecord[];
  readonly messages: readonly KafkaRecord[];
  /** Per dead-letter topic, how many messages it holds. */
  readonly deadLetters: Readonly<Record<string, number>>;
  /** GET /users/:id/notifications, per user asked. */
  readonly notifications: ReadonlyMap<string, readonly NotificationRow[]>;
  /** GET /apis/:id/audit, per API asked. */
  readonly audits: ReadonlyMap<string, readonly AuditRow[]>;
  /** GET /users/:id/digests, per owner asked. */
  readonly digests: ReadonlyMap<string, readonly DigestRow[]>;
  /** GET /apis/:id version (undefined: 404), per API with a 2xx write. */
  readonly apiViews: ReadonlyMap<string, number | undefined>;
  /** Highest version / revision a 2xx answer reported. */
  readonly apiVersions: ReadonlyMap<string, number>;
  /** notifications' template cache (database): template id → revision. */
  readonly templateCache: ReadonlyMap<string, number>;
  /** The digest use case's window records (database). */
  readonly windows: readonly WindowRow[];
  /** Rows still in each service's outbox (database). */
  readonly outboxes: Readonly<Record<string, number>>;
  /** Unconsumed messages per consumer group. */
  readonly lags: Readonly<Record<string, number>>;
}

export type Verdict = 'lost' | 'duplicated' | 'inconsistent' | 'undrained';

export interface Finding {
  readonly verdict: Verdict;
  /** Which promise: 'event of a 2xx write', 'welcome', 'audit', ... */
  readonly check: string;
  readonly subject: string;
  readonly detail: string;
}

export interface Reconciliation {
  readonly findings: readonly Finding[];
  readonly counts: Readonly<Record<Verdict, number>>;
  /** Per check and verdict, e.g. 'lost: audit' → 2. */
  readonly byCheck: Readonly<Record<string, number>>;
  readonly deadLetters: number;
  readonly figures: {
    /** Distinct events (ce_id) per contract topic. */
    readonly events: Readonly<Record<string, number>>;
    readonly distinctEvents: number;
    /** Messages that repeat an event already in the topic (same ce_id): re-sends. */
    readonly resent: number;
    readonly writes2xx: number;
    readonly welcomes: number;
    readonly auditRows: number;
    readonly digests: number;
    readonly eventsInDigests: number;
    readonly windowsHandled: number;
    readonly notificationsSent: number;
  };
}

const isDeadLetterTopic = (topic: string) => topic.endsWith('.dlq');

export function reconcile(o: Observed): Reconciliation {
  const findings: Finding[] = [];
  const add = (verdict: Verdict, check: string, subject: string, detail: string) => findings.push({ verdict, check, subject, detail });

  // Distinct events per topic, by ce_id.
  const byId = new Map<string, KafkaRecord>();
  const events: Record<string, number> = {};
  let resent = 0;
  for (const m of o.messages) {
    if (isDeadLetterTopic(m.topic)) continue;
    const id = m.headers[CE.id];
    if (!id) {
      add('inconsistent', 'event without ce_id', `${m.topic}/${m.partition}@${m.offset}`, 'a message without a ce_id header');
      continue;
    }
    const seen = byId.get(id);
    if (seen) {
      if (seen.topic !== m.topic) add('inconsistent', 'event id reused', id, `on ${seen.topic} and ${m.topic}`);
      resent++;
      continue;
    }
    byId.set(id, m);
    events[m.topic] = (events[m.topic] ?? 0) + 1;
  }
  const distinct = [...byId.values()];
  const ofTopic = (topic: string) => distinct.filter((m) => m.topic === topic);
  const payload = <T>(m: KafkaRecord) => JSON.parse(m.value ?? 'null') as T;

  // 1. Every 2xx write's event reached Kafka, once.
  const byCorrelation = new Map<string, KafkaRecord[]>();
  for (const m of distinct) {
    const c = m.headers[CE.correlationId];
    if (c) byCorrelation.set(c, [...(byCorrelation.get(c) ?? []), m]);
  }
  let writes2xx = 0;
  for (const w of o.writes) {
    if (w.outcome !== '2xx') continue;
    writes2xx++;
    const caused = byCorrelation.get(w.correlationId) ?? [];
    for (const expected of w.expected) {
      const matching = caused.filter((m) => m.topic === expected.topic && m.key === expected.key);
      if (matching.length === 0) {
        add('lost', 'event of a 2xx write', w.correlationId, `${w.action} on ${w.instance} answered ${w.status} at ${new Date(w.at).toISOString()}, but no ${expected.topic} with key ${expected.key} carries its correlation id`);
      } else if (matching.length > 1) {
        add('duplicated', 'event of a 2xx write', w.correlationId, `${w.action} answered ${w.status} and ${matching.length} distinct ${expected.topic} events carry its correlation id: ${matching.map((m) => m.headers[CE.id]).join(', ')}`);
      }
    }
  }

  // 2. Exactly one welcome per user created (every UserCreated in Kafka, whether or not its request was answered).
  const userCreated = ofTopic(UserCreated.contract.topic);
  let welcomes = 0;
  for (const m of userCreated) {
    const { userId } = payload<UserCreated>(m);
    const rows = o.notifications.get(userId);
    if (rows === undefined) {
      add('lost', 'welcome', userId, 'notifications were not read for this user');
      continue;
    }
    const mine = rows.filter((n) => n.kind === 'welcome');
    welcomes += mine.length;
    if (mine.length === 0) add('lost', 'welcome', userId, `no welcome notification for UserCreated ${m.headers[CE.id]}`);
    if (mine.length > 1) add('duplicated', 'welcome', userId, `${mine.length} welcome notifications: ${mine.map((n) => `${n.id} (caused by ${n.causedBy})`).join(', ')}`);
    for (const n of mine) if (n.causedBy !== m.headers[CE.id]) add('inconsistent', 'welcome', userId, `welcome ${n.id} caused by ${n.causedBy}, not by UserCreated ${m.headers[CE.id]}`);
  }

  // 3. One audit row per EndpointUpdated; 4. each EndpointUpdated in exactly one digest of its owner.
  const endpointUpdated = ofTopic(EndpointUpdated.contract.topic);
  const updatedIds = new Set(endpointUpdated.map((m) => m.headers[CE.id]));
  const auditCount = new Map<string, number>();
  let auditRows = 0;
  for (const rows of o.audits.values()) {
    for (const row of rows) {
      auditRows++;
      auditCount.set(row.eventId, (auditCount.get(row.eventId) ?? 0) + 1);
      if (!updatedIds.has(row.eventId)) add('inconsistent', 'audit', row.eventId, `audit row of API ${row.apiId} for an event that is not in Kafka`);
    }
  }
  const inDigests = new Map<string, DigestRow[]>();
  const windowsSeen = new Map<string, DigestRow[]>();
  let digestCount = 0;
  let eventsInDigests = 0;
  const ownerOf = new Map(endpointUpdated.map((m) => [m.headers[CE.id], payload<EndpointUpdated>(m).ownerId]));
  for (const [owner, digests] of o.digests) {
    for (const d of digests) {
      digestCount++;
      const window = `${d.ownerId}@${new Date(d.windowStart).toISOString()}`;
      windowsSeen.set(window, [...(windowsSeen.get(window) ?? []), d]);
      for (const id of d.eventIds) {
        eventsInDigests++;
        inDigests.set(id, [...(inDigests.get(id) ?? []), d]);
        if (!ownerOf.has(id)) add('inconsistent', 'digest', id, `digest ${d.id} of owner ${owner} holds an event that is not in Kafka`);
        else if (ownerOf.get(id) !== d.ownerId) add('inconsistent', 'digest', id, `digest ${d.id} of owner ${d.ownerId} holds an event of owner ${ownerOf.get(id)}`);
      }
    }
  }
  for (const m of endpointUpdated) {
    const id = m.headers[CE.id];
    const { apiId, ownerId } = payload<EndpointUpdated>(m);
    const audited = auditCount.get(id) ?? 0;
    if (!o.audits.has(apiId)) add('lost', 'audit', id, `the audit of API ${apiId} was not read`);
    else if (audited === 0) add('lost', 'audit', id, `no audit row for EndpointUpdated ${id} of API ${apiId}`);
    else if (audited > 1) add('duplicated', 'audit', id, `${audited} audit rows for EndpointUpdated ${id}`);
    const digests = inDigests.get(id) ?? [];
    if (!o.digests.has(ownerId)) add('lost', 'digest', id, `the digests of owner ${ownerId} were not read`);
    else if (digests.length === 0) add('lost', 'digest', id, `EndpointUpdated ${id} (owner ${ownerId}, API ${apiId}) is in no digest`);
    else if (digests.length > 1) add('duplicated', 'digest', id, `EndpointUpdated ${id} is in ${digests.length} digests: ${digests.map((d) => `${d.id} (window ${d.windowStart})`).join(', ')}`);
  }
  for (const [window, digests] of windowsSeen) {
    if (digests.length > 1) add('duplicated', 'window digested twice', window, `${digests.length} digests for one window: ${digests.map((d) => d.id).join(', ')}`);
  }

  // 5. Every window was handled, once: each window record holding events has exactly one digest.
  let windowsHandled = 0;
  for (const w of o.windows) {
    const window = `${w.key}@${new Date(w.start).toISOString()}`;
    if (!w.closed) add('undrained', 'window not handled', window, `window record still open after the settle time${w.failed ? ' (failed)' : ''}`);
    else if (w.failed) add('lost', 'window failed', window, 'window record marked failed');
    else if ((w.eventCount ?? 0) > 0) {
      windowsHandled++;
      const digests = windowsSeen.get(window)?.length ?? 0;
      if (digests === 0 && o.digests.has(w.key)) add('lost', 'window without digest', window, `window handled with ${w.eventCount} event(s) but no digest`);
    }
  }

  // 6. Every notification (welcome, digest) was published as exactly one NotificationSent, and nothing else was.
  const sent = new Map<string, KafkaRecord[]>();
  for (const m of ofTopic(NotificationSent.contract.topic)) {
    const { notificationId } = payload<NotificationSent>(m);
    sent.set(notificationId, [...(sent.get(notificationId) ?? []), m]);
  }
  const notificationIds = new Set<string>();
  for (const rows of o.notifications.values()) for (const n of rows) notificationIds.add(n.id);
  for (const rows of o.notifications.values()) {
    for (const n of rows) {
      const published = sent.get(n.id) ?? [];
      if (published.length === 0) add('lost', 'NotificationSent', n.id, `${n.kind} notification of user ${n.userId} never reached Kafka`);
      if (published.length > 1) add('duplicated', 'NotificationSent', n.id, `${published.length} distinct NotificationSent events for one notification`);
    }
  }
  for (const [id, published] of sent) {
    const userId = payload<NotificationSent>(published[0]).userId;
    if (!notificationIds.has(id) && o.notifications.has(userId)) add('inconsistent', 'NotificationSent', id, `NotificationSent for notification ${id} of user ${userId}, which does not exist`);
  }
  // Digest notifications share the digest's id.
  for (const digests of o.digests.values()) {
    for (const d of digests) {
      const rows = o.notifications.get(d.ownerId);
      if (rows && !rows.some((n) => n.id === d.id && n.kind === 'endpoint-digest')) add('lost', 'digest notification', d.id, `digest ${d.id} of ${d.ownerId} has no endpoint-digest notification`);
    }
  }

  // 7. The template cache holds every template's latest revision.
  const latest = new Map<string, number>();
  for (const m of ofTopic(TemplateUpdated.contract.topic)) {
    const t = payload<TemplateUpdated>(m);
    latest.set(t.templateId, Math.max(latest.get(t.templateId) ?? 0, t.revision));
  }
  for (const [templateId, revision] of latest) {
    const cached = o.templateCache.get(templateId);
    if (cached === undefined) add('lost', 'template cache', templateId, `template revision ${revision} never reached the cache`);
    else if (cached < revision) add('lost', 'template cache', templateId, `cache holds revision ${cached}, Kafka has ${revision}`);
  }

  // 8. The endpoints read model reached every version a 2xx answer reported.
  for (const [apiId, version] of o.apiVersions) {
    const view = o.apiViews.get(apiId);
    if (view === undefined) add('lost', 'API read model', apiId, `GET /apis/${apiId} does not find it (version ${version} was answered)`);
    else if (view < version) add('lost', 'API read model', apiId, `read model at version ${view}, a 2xx answer reported ${version}`);
  }

  // 9. Nothing left undelivered.
  for (const [service, rows] of Object.entries(o.outboxes)) if (rows > 0) add('undrained', 'outbox not drained', service, `${rows} row(s) still in the outbox`);
  for (const [group, lag] of Object.entries(o.lags)) if (lag > 0) add('undrained', 'consumer lag', group, `${lag} message(s) not consumed (offsets not committed)`);

  const counts: Record<Verdict, number> = { lost: 0, duplicated: 0, inconsistent: 0, undrained: 0 };
  const byCheck: Record<string, number> = {};
  for (const f of findings) {
    counts[f.verdict]++;
    byCheck[`${f.verdict}: ${f.check}`] = (byCheck[`${f.verdict}: ${f.check}`] ?? 0) + 1;
  }
  const deadLetters = Object.values(o.deadLetters).reduce((a, b) => a + b, 0);
  return {
    findings,
    counts,
    byCheck,
    deadLetters,
    figures: {
      events,
      distinctEvents: distinct.length,
      resent,
      writes2xx,
      welcomes,
      auditRows,
      digests: digestCount,
      eventsInDigests,
      windowsHandled,
      notificationsSent: [...sent.values()].length,
    },
  };
}

/** The run failed: something lost, duplicated, inconsistent or undrained, or a dead letter. */
export function failed(r: Reconciliation): boolean {
  return r.counts.lost > 0 || r.counts.duplicated > 0 || r.counts.inconsistent > 0 || r.counts.undrained > 0 || r.deadLetters > 0;
}
