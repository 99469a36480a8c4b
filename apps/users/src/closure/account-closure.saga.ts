import { Inject, Injectable, Optional } from '@nestjs/common';
import { AccountClosureRequested } from '@platform/contracts';
import { compensatingProcess, type EnvelopeOf, type ProcessLogic, type ProcessState, type Saga, type SagaDecision, type SagaInput } from '@platform/messaging';
import { accountClosureProcess, CLOSURE_EVENTS, type ClosureData, type ClosureEvents } from './account-closure.process';
import { CLOSURE_SETTINGS, DEFAULT_CLOSURE_SETTINGS, type ClosureSettings } from './closure.settings';

export type ClosureState = ProcessState<ClosureData>;

/** account-closure: one instance per closure (group users.account-closure), run by the library. */
@Injectable()
export class AccountClosureSaga implements Saga<ClosureState, ClosureEvents> {
  readonly name = 'account-closure';
  readonly events = CLOSURE_EVENTS;
  readonly startedBy = [AccountClosureRequested];
  private readonly process: ProcessLogic<ClosureData, ClosureEvents>;

  constructor(@Optional() @Inject(CLOSURE_SETTINGS) settings: ClosureSettings = DEFAULT_CLOSURE_SETTINGS) {
    this.process = compensatingProcess(accountClosureProcess(settings));
  }

  correlate(message: EnvelopeOf<ClosureEvents>): string {
    return message.payload.closureId;
  }

  initialState(key: string): ClosureState {
    return this.process.initialState(key);
  }

  decide(state: ClosureState, input: SagaInput<ClosureEvents>): SagaDecision {
    return this.process.decide(state, input);
  }

  evolve(state: ClosureState, input: SagaInput<ClosureEvents>): ClosureState {
    return this.process.evolve(state, input);
  }
}
