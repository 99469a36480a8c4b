import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { DLQ, readDeadLetters, redriveChosenDeadLetters, redriveDeadLetters, type DeadLetter } from '@platform/messaging';
import { KafkaNaming } from '@platform/messaging';
import { KafkaAccess } from '../kafka/kafka-access';
import { consoleLogger } from '../logging';
import { ConsoleSettings } from '../settings';
import { useCasesOf, type TopologyUseCase } from '../topology/topology';
import { failureOf } from './failure-group';

export interface LetterView {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly eventId?: string;
  readonly type?: string;
  readonly correlationId?: string;
  readonly reason?: string;
  readonly errorName?: string;
  readonly errorMessage?: string;
  readonly attempts?: string;
  readonly failedAt?: string;
  readonly original?: string;
  readonly redriven: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: string;
}

export interface FailureGroupView {
  readonly id: string;
  readonly errorName: string;
  readonly frame?: string;
  readonly reasons: readonly string[];
  readonly letters: readonly LetterView[];
}

export interface UseCaseDeadLetters {
  readonly service: string;
  readonly useCase: string;
  readonly topic: string;
  readonly total: number;
  readonly waiting: number;
  readonly failures: readonly FailureGroupView[];
}

export type RedriveScope = { readonly scope: 'one'; readonly offset: string; readonly partition?: number } | { readonly scope: 'failure'; readonly failure: string } | { readonly scope: 'all' };

/** Payloads are shown, not stored: a page of letters stays small. */
const PAYLOAD_CHARS = 4_000;

function letterView(letter: DeadLetter): LetterView {
  const h = letter.headers;
  return {
    partition: letter.partition,
    offset: letter.offset,
    key: letter.key,
    eventId: h['ce_id'],
    type: h['ce_type'],
    correlationId: h['ce_correlationid'],
    reason: h[DLQ.reason],
    errorName: h[DLQ.errorName],
    errorMessage: h[DLQ.errorMessage],
    attempts: h[DLQ.attempts],
    failedAt: h[DLQ.failedAt],
    original: h[DLQ.originalTopic] ? `${h[DLQ.originalTopic]}[${h[DLQ.originalPartition]}]@${h[DLQ.originalOffset]}` : undefined,
    redriven: letter.redriven,
    headers: h,
    payload: (letter.value ?? Buffer.alloc(0)).toString('utf8').slice(0, PAYLOAD_CHARS),
  };
}

/** Letters grouped by failure, the largest group first; within a group, oldest first. */
export function groupByFailure(letters: readonly DeadLetter[]): FailureGroupView[] {
  const groups = new Map<string, { key: ReturnType<typeof failureOf>; letters: DeadLetter[] }>();
  for (const letter of letters) {
    const key = failureOf(letter.headers);
    const group = groups.get(key.id) ?? { key, letters: [] };
    group.letters.push(letter);
    groups.set(key.id, group);
  }
  return [...groups.values()]
    .sort((a, b) => b.letters.length - a.letters.length)
    .map(({ key, letters: ofGroup }) => ({
      id: key.id,
      errorName: key.errorName,
      ...(key.frame ? { frame: key.frame } : {}),
      reasons: [...new Set(ofGroup.map((l) => l.headers[DLQ.reason] ?? 'unknown'))],
      letters: ofGroup.map(letterView),
    }));
}

/** Each use case's dead-letter topic, read through the admin client, and redrive through the library. */
@Injectable()
export class DeadLetterView {
  private readonly naming: KafkaNaming;
  private readonly logger = consoleLogger('Redrive');

  constructor(
    private readonly kafka: KafkaAccess,
    private readonly settings: ConsoleSettings,
  ) {
    this.naming = new KafkaNaming(settings.config.kafkaNamespace);
  }

  async read(): Promise<UseCaseDeadLetters[]> {
    const useCases = useCasesOf(this.settings.topology);
    return this.kafka.withAdmin((admin) =>
      Promise.all(
        useCases.map(async (u) => {
          const letters = await readDeadLetters(admin, this.naming, u.service, u.name).catch((error: Error) => {
            // A use case whose service never ran in this namespace has no topics yet: nothing to show.
            if (/does not exist/.test(error.message)) return [];
            throw error;
          });
          return { service: u.service, useCase: u.name, topic: u.deadLetterTopic, total: letters.length, waiting: letters.filter((l) => !l.redriven).length, failures: groupByFailure(letters) };
        }),
      ),
    );
  }

  /** Redrives one letter, one failure's letters, or all of a use case's; resolves with how many went. */
  async redrive(service: string, useCase: string, what: RedriveScope): Promise<number> {
    const target = this.useCase(service, useCase);
    const options = { broker: this.kafka.broker, naming: this.naming, service: target.service, useCase: target.name, logger: this.logger };
    if (what.scope === 'all') return redriveDeadLetters(options);
    if (what.scope === 'one') return redriveChosenDeadLetters({ ...options, letters: [{ partition: what.partition ?? 0, offset: what.offset }] });
    if (what.scope === 'failure') {
      const letters = await this.kafka.withAdmin((admin) => readDeadLetters(admin, this.naming, target.service, target.name));
      const chosen = letters.filter((l) => !l.redriven && failureOf(l.headers).id === what.failure);
      return chosen.length === 0 ? 0 : redriveChosenDeadLetters({ ...options, letters: chosen });
    }
    throw new BadRequestException('scope must be one, failure or all');
  }

  private useCase(service: string, name: string): TopologyUseCase {
    const found = useCasesOf(this.settings.topology).find((u) => u.service === service && u.name === name);
    if (!found) throw new NotFoundException(`${service} has no use case ${name}`);
    return found;
  }
}
