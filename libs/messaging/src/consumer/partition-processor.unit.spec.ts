import type { IncomingMessage, PartitionBatch } from '../kafka/broker';
import { silentLogger } from '@platform/core';
import type { DeadLetterFailure } from './dead-letters';
import { NonRetriableError } from './error-classification';
import { PartitionProcessor } from './partition-processor';
import { retryPolicy } from './retry-policy';

const message = (offset: number, key: string): IncomingMessage => ({ topic: 't', partition: 0, offset: String(offset), key, value: Buffer.from(`${key}${offset}`), headers: {}, timestamp: 0 });

function batchOf(messages: IncomingMessage[]): PartitionBatch {
  return { topic: 't', partition: 0, messages, highWatermark: String(messages.length), heartbeat: async () => undefined, isRunning: () => true, isStale: () => false };
}

class Poison extends Error {}

function harness(failures: Record<string, number | 'poison' | 'fatal'>, maxAttempts = 3, together = false) {
  const handled: string[] = [];
  const transactions: string[][] = [];
  const deadLetters: { offset: string; failure: DeadLetterFailure }[] = [];
  const commits: string[] = [];
  const remaining = { ...failures };
  const processor = new PartitionProcessor('t', 0, {
    group: 'g',
    policy: retryPolicy({ maxAttempts, initialBackoffMs: 5, maxBackoffMs: 20 }),
    logger: silentLogger,
    isPoison: (error) => error instanceof Poison,
    handle: async (m) => {
      const id = `${m.key}${m.offset}`;
      const rule = remaining[id];
      if (rule === 'poison') throw new Poison('bad payload');
      if (rule === 'fatal') throw new NonRetriableError('bug');
      if (typeof rule === 'number' && rule > 0) {
        remaining[id] = rule - 1;
        throw new Error('transient');
      }
      handled.push(id);
    },
    ...(together
      ? {
          maxPerTransaction: 3,
          handleTogether: async (messages: readonly IncomingMessage[]) => {
            const ids = messages.map((m) => `${m.key}${m.offset}`);
            if (ids.some((id) => remaining[id] !== undefined && remaining[id] !== 0)) throw new Error('one of them fails');
            transactions.push(ids);
            handled.push(...ids);
          },
        }
      : {}),
    deadLetter: async (m, failure) => {
      deadLetters.push({ offset: m.offset, failure });
    },
    commit: async (offset) => {
      commits.push(offset);
    },
  });
  return { processor, handled, deadLetters, commits, transactions };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe('PartitionProcessor', () => {
  it('handles in offset order and commits past the batch', async () => {
    const h = harness({});
    expect(await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a')]))).toBe('2');
    expect(h.handled).toEqual(['a0', 'b1', 'a2']);
    expect(h.commits).toEqual(['3']);
  });

  it('parks a failing key: its later events wait, other keys flow, and the commit stops at the parked event', async () => {
    const h = harness({ a0: 2 });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a'), message(3, 'c')]));
    expect(h.handled).toEqual(['b1', 'c3']);
    expect(h.commits).toEqual(['0']);
    expect(h.processor.parked).toBe(2);
    await settle();
    expect(h.handled).toEqual(['b1', 'c3', 'a0', 'a2']);
    expect(h.commits[h.commits.length - 1]).toBe('4');
    expect(h.processor.parked).toBe(0);
  });

  it('dead-letters after the retry budget and moves the key on', async () => {
    const h = harness({ a0: 10 }, 3);
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'a')]));
    await settle();
    expect(h.deadLetters).toEqual([{ offset: '0', failure: expect.objectContaining({ reason: 'retries-exhausted', attempts: 3 }) }]);
    expect(h.handled).toEqual(['a1']);
    expect(h.commits[h.commits.length - 1]).toBe('2');
  });

  it('dead-letters poison and non-retriable failures at once, without retrying', async () => {
    const h = harness({ a0: 'poison', b1: 'fatal' });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a')]));
    expect(h.deadLetters.map((d) => [d.offset, d.failure.reason, d.failure.attempts])).toEqual([
      ['0', 'invalid-payload', 1],
      ['1', 'non-retriable', 1],
    ]);
    expect(h.handled).toEqual(['a2']);
    expect(h.commits).toEqual(['3']);
  });

  it('handles runs of events in one transaction, and one by one when a run fails', async () => {
    const h = harness({ b3: 1 }, 3, true);
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a'), message(3, 'b'), message(4, 'c'), message(5, 'b'), message(6, 'd')]));
    // [a0 b1 a2] together; [b3 c4 b5] fails as a run: b3 is parked, c4 goes on, b5 waits behind b3; [d6] alone.
    expect(h.transactions).toEqual([['a0', 'b1', 'a2']]);
    expect(h.handled).toEqual(['a0', 'b1', 'a2', 'c4', 'd6']);
    await settle();
    expect(h.handled).toEqual(['a0', 'b1', 'a2', 'c4', 'd6', 'b3', 'b5']);
    expect(h.commits[h.commits.length - 1]).toBe('7');
  });

  it('keeps parked events uncommitted when stopped, so the next owner gets them', async () => {
    const h = harness({ a0: 100 }, 1000);
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b')]));
    await h.processor.stop(50);
    await settle();
    expect(h.handled).toEqual(['b1']);
    expect(h.commits.every((c) => c === '0')).toBe(true);
  });
});
