import { ApiProperty } from '@nestjs/swagger';
import type { ProcessPhase, SagaStatus } from '@platform/messaging';

export class ClosureAcceptedView {
  @ApiProperty({ format: 'uuid', description: 'The saga instance: one per closure.' }) closureId!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ enum: ['accepted'] }) status!: 'accepted';
  @ApiProperty({ example: '/users/4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10/closure', description: 'Where to watch it (also the Location header).' }) watch!: string;
}

export class ClosureView {
  @ApiProperty({ format: 'uuid' }) closureId!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty() requestedAt!: string;
  @ApiProperty({ enum: ['requested', 'running', 'compensating', 'completed', 'compensated', 'failed'], description: "The process's phase." })
  state!: ProcessPhase | 'requested';
  @ApiProperty({ nullable: true, description: "The saga instance's status in the library: active while it still listens (e.g. for a late answer to undo)." })
  sagaStatus!: SagaStatus | null;
  @ApiProperty({ nullable: true, description: 'Why it was compensated.' }) reason!: string | null;
  @ApiProperty({ nullable: true }) endedAt!: string | null;
  @ApiProperty({ description: 'Each step: status, sentAt, answeredAt, timedOutAt, late, result, reason, compensation (status, attempts, rounds, sentAt, acknowledgedAt).' })
  steps!: object[];
  @ApiProperty({ description: 'Every input the saga was given and what it decided, with when.' }) history!: object[];
  @ApiProperty() pendingTimeouts!: object[];
}
