import { Injectable } from '@nestjs/common';
import { EndpointUpdated, NotificationSent } from '@platform/contracts';
import type { EnvelopeOf, EventWindow, HandlerContext, WindowedUseCase } from '@platform/messaging';
import { randomUUID } from 'node:crypto';

const EVENTS = [EndpointUpdated] as const;
type Envelope = EnvelopeOf<typeof EVENTS>;

/** Events that arrived within the same 500 ms (processing time): a backlog after an outage is windowed as it arrives, never late. */
export const DIGEST_WINDOW = { kind: 'tumbling', sizeMs: 500, graceMs: 100, time: 'processing' } as const;

export function digestSubject(window: EventWindow<Envelope>): string {
  const apis = new Set(window.events.map((e) => e.payload.apiId)).size;
  return `${window.events.length} endpoint change${window.events.length === 1 ? '' : 's'} in ${apis} API${apis === 1 ? '' : 's'}`;
}

export function digestBody(window: EventWindow<Envelope>): string {
  return window.events.map((e) => `${e.payload.change} ${e.payload.method} ${e.payload.path} (API ${e.payload.apiId})`).join('\n');
}

/**
 * endpoint-digest: EndpointUpdated in 500 ms tumbling windows of event time, grouped by API
 * owner. Each (owner, window) becomes exactly one digest notification listing its changes.
 */
@Injectable()
export class EndpointDigestUseCase implements WindowedUseCase<typeof EVENTS> {
  readonly name = 'endpoint-digest';
  readonly events = EVENTS;
  readonly window = DIGEST_WINDOW;
  readonly retry = { maxAttempts: 8, initialBackoffMs: 200, maxBackoffMs: 5_000 };

  groupBy(event: Envelope): string {
    return event.payload.ownerId;
  }

  async handleWindow(window: EventWindow<Envelope>, { tx, publish }: HandlerContext): Promise<void> {
    const digestId = randomUUID();
    const changes = window.events.map((e) => ({ eventId: e.id, apiId: e.payload.apiId, endpointId: e.payload.endpointId, method: e.payload.method, path: e.payload.path, change: e.payload.change }));
    await tx.query(
      `INSERT INTO endpoint_digests (id, owner_id, window_start, window_end, event_ids, changes)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [digestId, window.key, window.start, window.end, window.events.map((e) => e.id), JSON.stringify(changes)],
    );
    const subject = digestSubject(window);
    await tx.query(
      `INSERT INTO notifications (id, user_id, kind, channel, subject, body, caused_by) VALUES ($1, $2, 'endpoint-digest', 'in-app', $3, $4, $5)`,
      [digestId, window.key, subject, digestBody(window), window.events[window.events.length - 1].id],
    );
    await publish(NotificationSent, { notificationId: digestId, userId: window.key, kind: 'endpoint-digest', channel: 'in-app', subject });
  }
}
