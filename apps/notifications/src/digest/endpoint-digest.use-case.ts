import { Injectable } from '@nestjs/common';
import { EndpointUpdated, NotificationSent } from '@platform/contracts';
import type { EnvelopeOf, EventWindow, HandlerContext, WindowBatchContext, WindowedUseCase } from '@platform/messaging';
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

  /** One window (the closer's fallback when a batch failed): the batch path with one window. */
  async handleWindow(window: EventWindow<Envelope>, { tx, logger, publish, afterCommit }: HandlerContext): Promise<void> {
    await this.handleWindows([window], {
      tx,
      logger,
      afterCommit,
      publishAll: async (items) => Promise.all(items.map(({ event, payload, metadata }) => publish(event as typeof NotificationSent, payload as NotificationSent, metadata))),
    });
  }

  /** All windows closing together: three statements, however many owners. */
  async handleWindows(windows: readonly EventWindow<Envelope>[], { tx, publishAll }: WindowBatchContext): Promise<void> {
    const digests = windows.map((window) => ({ id: randomUUID(), window, subject: digestSubject(window) }));
    await tx.query(
      `INSERT INTO endpoint_digests (id, owner_id, window_start, window_end, event_ids, changes)
       SELECT d.id, d.owner, d.window_start, d.window_end, ARRAY(SELECT jsonb_array_elements_text(d.ids))::uuid[], d.changes
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::jsonb[], $6::jsonb[])
           AS d(id, owner, window_start, window_end, ids, changes)`,
      [
        digests.map((d) => d.id),
        digests.map((d) => d.window.key),
        digests.map((d) => d.window.start),
        digests.map((d) => d.window.end),
        digests.map((d) => JSON.stringify(d.window.events.map((e) => e.id))),
        digests.map((d) => JSON.stringify(d.window.events.map(change))),
      ],
    );
    await tx.query(
      `INSERT INTO notifications (id, user_id, kind, channel, subject, body, caused_by)
       SELECT id, user_id, 'endpoint-digest', 'in-app', subject, body, caused_by FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[])
         AS n(id, user_id, subject, body, caused_by)`,
      [
        digests.map((d) => d.id),
        digests.map((d) => d.window.key),
        digests.map((d) => d.subject),
        digests.map((d) => digestBody(d.window)),
        digests.map((d) => d.window.events[d.window.events.length - 1].id),
      ],
    );
    await publishAll(
      digests.map((d) => ({
        window: d.window,
        event: NotificationSent,
        payload: { notificationId: d.id, userId: d.window.key, kind: 'endpoint-digest', channel: 'in-app', subject: d.subject } satisfies NotificationSent,
      })),
    );
  }
}

const change = (e: Envelope) => ({ eventId: e.id, apiId: e.payload.apiId, endpointId: e.payload.endpointId, method: e.payload.method, path: e.payload.path, change: e.payload.change });
