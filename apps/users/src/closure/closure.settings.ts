import { EnvReader, type Env } from '@platform/service-kit';

export interface ClosureSettings {
  /** How long endpoints may take to answer, and each compensation before it is sent again. */
  readonly stepTimeoutMs: number;
  /** After compensating, how long a closure still listens for a late answer to undo it. */
  readonly lateAnswerWindowMs: number;
}

export const DEFAULT_CLOSURE_SETTINGS: ClosureSettings = { stepTimeoutMs: 30_000, lateAnswerWindowMs: 60 * 60 * 1000 };
export const CLOSURE_SETTINGS = Symbol('CLOSURE_SETTINGS');

/** ACCOUNT_CLOSURE_TIMEOUT_MS and ACCOUNT_CLOSURE_LATE_ANSWER_WINDOW_MS; a bad value stops the service, naming it. */
export function loadClosureSettings(env: Env = process.env): ClosureSettings {
  const read = new EnvReader(env);
  const settings: ClosureSettings = {
    stepTimeoutMs: read.int('ACCOUNT_CLOSURE_TIMEOUT_MS', DEFAULT_CLOSURE_SETTINGS.stepTimeoutMs, { min: 100, max: 24 * 60 * 60 * 1000 }),
    lateAnswerWindowMs: read.int('ACCOUNT_CLOSURE_LATE_ANSWER_WINDOW_MS', DEFAULT_CLOSURE_SETTINGS.lateAnswerWindowMs, { min: 1000, max: 30 * 24 * 60 * 60 * 1000 }),
  };
  read.done();
  return settings;
}
