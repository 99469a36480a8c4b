import { Injectable } from '@nestjs/common';
import { ApiRetirementRefused, ApisRetired, RetireApis } from '@platform/contracts';
import type { EnvelopeOf, HandlerContext, UseCase } from '@platform/messaging';
import { ApiRetirement } from './api-retirement';

const EVENTS = [RetireApis] as const;

/**
 * retire-apis: retires every API the owner has for the closure, or none when one is under a
 * retention hold, and answers either way. Idempotent: asked again, it answers the same.
 */
@Injectable()
export class RetireApisUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'retire-apis';
  readonly events = EVENTS;
  // One closure per transaction: a retriable lost race then redoes only its own.
  readonly maxPerTransaction = 1;

  constructor(private readonly retirement: ApiRetirement) {}

  async handle(command: EnvelopeOf<typeof EVENTS>, { tx, publish }: HandlerContext): Promise<void> {
    const { closureId, ownerId } = command.payload;
    const answer = await this.retirement.retire(tx, closureId, ownerId, command.correlationId);
    if (answer.outcome === 'refused') await publish(ApiRetirementRefused, { closureId, ownerId, reason: answer.reason, apiIds: [...answer.apiIds] });
    else await publish(ApisRetired, { closureId, ownerId, apiIds: [...answer.apiIds] });
  }
}
