import { Injectable } from '@nestjs/common';
import { EndpointUpdated } from '@platform/contracts';
import type { EnvelopeOf, HandlerContext, UseCase } from '@platform/messaging';

const EVENTS = [EndpointUpdated] as const;

/** endpoint-audit: one audit row per EndpointUpdated, written in the event's inbox transaction. */
@Injectable()
export class EndpointAuditUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'endpoint-audit';
  readonly events = EVENTS;
  readonly retry = { maxAttempts: 8, initialBackoffMs: 200, maxBackoffMs: 5_000 };

  async handle(event: EnvelopeOf<typeof EVENTS>, { tx }: HandlerContext): Promise<void> {
    const e = event.payload;
    await tx.query(
      `INSERT INTO endpoint_audit (event_id, api_id, owner_id, endpoint_id, method, path, upstream_url, change, api_version, occurred_at, correlation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [event.id, e.apiId, e.ownerId, e.endpointId, e.method, e.path, e.upstreamUrl, e.change, e.version, event.time, event.correlationId],
    );
  }
}
