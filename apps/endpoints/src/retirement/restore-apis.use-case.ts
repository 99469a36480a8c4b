import { Injectable } from '@nestjs/common';
import { ApisRestored, RestoreApis } from '@platform/contracts';
import type { EnvelopeOf, HandlerContext, UseCase } from '@platform/messaging';
import { ApiRetirement } from './api-retirement';

const EVENTS = [RestoreApis] as const;

/**
 * restore-apis: the compensation of retire-apis. Restores the APIs retired for the closure (to
 * the status they had) and records the restoration, so that a retirement arriving after it
 * retires nothing. Answers every time.
 */
@Injectable()
export class RestoreApisUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'restore-apis';
  readonly events = EVENTS;
  readonly maxPerTransaction = 1;

  constructor(private readonly retirement: ApiRetirement) {}

  async handle(command: EnvelopeOf<typeof EVENTS>, { tx, publish }: HandlerContext): Promise<void> {
    const { closureId, ownerId } = command.payload;
    const answer = await this.retirement.restore(tx, closureId, ownerId, command.correlationId);
    await publish(ApisRestored, { closureId, ownerId, apiIds: [...answer.apiIds] });
  }
}
