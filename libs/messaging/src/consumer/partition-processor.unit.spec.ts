import type { IncomingMessage, PartitionBatch } from '../kafka/broker';
import { silentLogger } from '@platform/core';
import type { DeadLetterFailure } from './dead-letters';
import { NonRetriableError } from '@platform/core';
import { MalformedMessageError } from '../envelope/cloudevents-headers';
import { BufferBudget } from './buffer-budget';
import { COMMIT_RETRY_MS, PartitionProcessor } from './partition-processor';
import { retryPolicy } from './retry-policy';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full collection, from inside jest (the usual way to reach V8's gc without --expose-gc). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const message = (offset: number, key: string): IncomingMessage => ({ topic: 't', partition: 0, offset: String(offset), key, value: Buffer.from(`${key}${offset}`), headers: {}, timestamp: 0 });

function batchOf(messages: IncomingMessage[]): PartitionBatch {
  return { topic: 't', partition: 0, messages, highWatermark: String(messages.length), heartbeat: async () => undefined, isRunning: () => true, isStale: () => false };
}

/** A promise the test opens when it wants the handlers to go on. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

interface HarnessOptions {
  readonly maxAttempts?: number;
  readonly together?: boolean;
  readonly maxPerTransaction?: number;
  readonly maxBuffered?: number;
  readonly budget?: BufferBudget;
  readonly commitIntervalMs?: number;
  /** How many commits Kafka refuses first. */
  readonly refuseCommits?: number;
  /** Every handler call waits for this first. */
  readonly before?: Promise<void>;
  /** The handling of these events (by key and offset) waits for their promise first. */
  readonly holding?: Record<string, Promise<void>>;
  readonly concurrency?: number;
}

function harness(failures: Record<string, number | 'poison' | 'fatal' | { outages: number }>, maxAttempts = 3, together = false, more: HarnessOptions = {}) {
  const handled: string[] = [];
  const transactions: string[][] = [];
  const deadLetters: { offset: string; failure: DeadLetterFailure }[] = [];
  const commits: string[] = [];
  const refused: string[] = [];
  const remaining = { ...failures };
  /** Handlers running now, and the most that ever ran at once. */
  const running = { now: 0, most: 0 };
  const holding = async (ids: readonly string[]) => {
    running.most = Math.max(running.most, ++running.now);
    try {
      await Promise.all(ids.map((id) => more.holding?.[id]));
    } finally {
      running.now -= 1;
    }
  };
  const processor = new PartitionProcessor('t', 0, {
    group: 'g',
    policy: retryPolicy({ maxAttempts, initialBackoffMs: 5, maxBackoffMs: 20 }),
    logger: silentLogger,
    maxBuffered: more.maxBuffered,
    budget: more.budget,
    commitIntervalMs: more.commitIntervalMs ?? 0,
    concurrency: more.concurrency,
    handle: async (m) => {
      await more.before;
      const id = `${m.key}${m.offset}`;
      await holding([id]);
      const rule = remaining[id];
      if (rule === 'poison') throw new MalformedMessageError('bad payload');
      if (rule === 'fatal') throw new NonRetriableError('bug');
      if (typeof rule === 'object' && rule.outages > 0) {
        remaining[id] = { outages: rule.outages - 1 };
        throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      }
      if (typeof rule === 'number' && rule > 0) {
        remaining[id] = rule - 1;
        throw new Error('transient');
      }
      handled.push(id);
    },
    ...(together
      ? {
          maxPerTransaction: more.maxPerTransaction ?? 3,
          handleTogether: async (messages: readonly IncomingMessage[]) => {
            await more.before;
            const ids = messages.map((m) => `${m.key}${m.offset}`);
            await holding(ids);
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
      if ((more.refuseCommits ?? 0) > refused.length) {
        refused.push(offset);
        return false;
      }
      commits.push(offset);
      return true;
    },
  });
  return { processor, handled, deadLetters, commits, refused, transactions, running };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

/** A take whose batch may be held back: `returned` says whether the processor has answered yet. */
function pendingTake(processor: PartitionProcessor, batch: PartitionBatch): { readonly returned: boolean; readonly offset: Promise<string | undefined> } {
  const taking = { returned: false, offset: Promise.resolve<string | undefined>(undefined) };
  taking.offset = processor.take(batch).then((offset) => {
    taking.returned = true;
    return offset;
  });
  return taking;
}

/** Waits until the retries' timers have done their work: a fixed sleep flakes on a loaded machine. */
async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('PartitionProcessor', () => {
  it('handles in offset order and commits past the batch', async () => {
    const h = harness({});
    expect(await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a')]))).toBe('2');
    await h.processor.flush();
    expect(h.handled).toEqual(['a0', 'b1', 'a2']);
    expect(h.commits).toEqual(['3']);
  });

  it('parks a failing key: its later events wait, other keys flow, and the commit stops at the parked event', async () => {
    const h = harness({ a0: 2 });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a'), message(3, 'c')]));
    await h.processor.flush();
    expect(h.handled).toEqual(['b1', 'c3']);
    expect(h.commits).toEqual(['0']);
    expect(h.processor.parked).toBe(2);
    await until(() => h.processor.parked === 0 && h.commits[h.commits.length - 1] === '4');
    expect(h.handled).toEqual(['b1', 'c3', 'a0', 'a2']);
    expect(h.commits[h.commits.length - 1]).toBe('4');
    expect(h.processor.parked).toBe(0);
  });

  it('dead-letters after the retry budget and moves the key on', async () => {
    const h = harness({ a0: 10 }, 3);
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'a')]));
    await until(() => h.commits[h.commits.length - 1] === '2');
    expect(h.deadLetters).toEqual([{ offset: '0', failure: expect.objectContaining({ reason: 'retries-exhausted', attempts: 3 }) }]);
    expect(h.handled).toEqual(['a1']);
    expect(h.commits[h.commits.length - 1]).toBe('2');
  });

  it('waits out a database outage without spending the retry budget', async () => {
    const h = harness({ a0: { outages: 6 } }, 2);
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b')]));
    await until(() => h.handled.length === 2 || h.deadLetters.length > 0);
    expect(h.deadLetters).toEqual([]);
    expect(h.handled).toEqual(['b1', 'a0']);
  });

  it('dead-letters poison and non-retriable failures at once, without retrying', async () => {
    const h = harness({ a0: 'poison', b1: 'fatal' });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a')]));
    await h.processor.flush();
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
    await h.processor.flush();
    // [a0 b1 a2] together; [b3 c4 b5] fails as a run: b3 is parked, c4 goes on, b5 waits behind b3; [d6] alone.
    expect(h.transactions).toEqual([['a0', 'b1', 'a2']]);
    expect(h.handled).toEqual(['a0', 'b1', 'a2', 'c4', 'd6']);
    await until(() => h.commits[h.commits.length - 1] === '7');
    expect(h.handled).toEqual(['a0', 'b1', 'a2', 'c4', 'd6', 'b3', 'b5']);
    expect(h.commits[h.commits.length - 1]).toBe('7');
  });

  it('runs transactions of other keys while one waits on the database, and commits no further than the one waiting', async () => {
    const slow = gate();
    const h = harness({}, 3, false, { concurrency: 3, holding: { a0: slow.opened } });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'c'), message(3, 'd')]));
    await until(() => h.handled.length === 3);
    expect(h.handled).toEqual(['b1', 'c2', 'd3']);
    await settle();
    expect(h.commits.every((c) => c === '0')).toBe(true);
    slow.open();
    await h.processor.flush();
    expect(h.handled).toEqual(['b1', 'c2', 'd3', 'a0']);
    expect(h.commits[h.commits.length - 1]).toBe('4');
    expect(h.running.most).toBe(3);
  });

  it('keeps the order of a key while other keys pass it: its later events wait for the run that holds it', async () => {
    const slow = gate();
    const h = harness({}, 3, true, { concurrency: 4, maxPerTransaction: 2, holding: { a0: slow.opened } });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a'), message(3, 'c'), message(4, 'a'), message(5, 'd')]));
    // [a0 b1] waits; a2 and a4 stay behind it while [c3 d5] goes.
    await until(() => h.handled.length === 2);
    expect(h.transactions).toEqual([['c3', 'd5']]);
    slow.open();
    await h.processor.flush();
    expect(h.transactions).toEqual([['c3', 'd5'], ['a0', 'b1'], ['a2', 'a4']]);
    expect(h.commits[h.commits.length - 1]).toBe('6');
  });

  it('runs one full transaction at a time while a partition catches up: more of them would only hold more', async () => {
    const slow = gate();
    const h = harness({}, 3, true, { concurrency: 3, maxPerTransaction: 4, holding: { k00: slow.opened } });
    await h.processor.take(batchOf(Array.from({ length: 12 }, (_, i) => message(i, `k${i}`))));
    await settle();
    expect(h.running.most).toBe(1);
    slow.open();
    await h.processor.flush();
    expect(h.transactions.map((t) => t.length)).toEqual([4, 4, 4]);
    expect(h.running.most).toBe(1);
  });

  it('parks a failing key under concurrency too: its later events queue behind it, the others flow', async () => {
    const h = harness({ a0: 2 }, 5, false, { concurrency: 4 });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a'), message(3, 'c'), message(4, 'a')]));
    await until(() => h.handled.length === 5);
    expect(h.handled.filter((id) => id.startsWith('a'))).toEqual(['a0', 'a2', 'a4']);
    expect(h.handled.slice(0, 2).sort()).toEqual(['b1', 'c3']);
    await until(() => h.commits[h.commits.length - 1] === '5');
    expect(h.processor.parked).toBe(0);
  });

  it('keeps parked events uncommitted when stopped, so the next owner gets them', async () => {
    const h = harness({ a0: 100 }, 1000);
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b')]));
    await h.processor.flush();
    await h.processor.stop(50);
    await settle();
    expect(h.handled).toEqual(['b1']);
    expect(h.commits.every((c) => c === '0')).toBe(true);
  });

  it('returns a fetched batch at once, before its handlers ran, so the next fetch need not wait', async () => {
    const g = gate();
    const h = harness({}, 3, false, { before: g.opened });
    expect(await h.processor.take(batchOf([message(0, 'a'), message(1, 'b')]))).toBe('1');
    expect(h.handled).toEqual([]);
    expect(h.commits).toEqual([]);
    g.open();
    await h.processor.flush();
    expect(h.handled).toEqual(['a0', 'b1']);
    expect(h.commits).toEqual(['2']);
  });

  it('handles what was fetched during a transaction together in the next one', async () => {
    const g = gate();
    const h = harness({}, 3, true, { before: g.opened, maxPerTransaction: 10 });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b')]));
    await h.processor.take(batchOf([message(2, 'c'), message(3, 'd')]));
    await h.processor.take(batchOf([message(4, 'e')]));
    g.open();
    await h.processor.flush();
    expect(h.transactions).toEqual([
      ['a0', 'b1'],
      ['c2', 'd3', 'e4'],
    ]);
  });

  it('holds the fetch back while the partition has too much unhandled work', async () => {
    const g = gate();
    const h = harness({}, 3, false, { before: g.opened, maxBuffered: 2 });
    await h.processor.take(batchOf([message(0, 'a')]));
    const taking = pendingTake(h.processor, batchOf([message(1, 'b'), message(2, 'c'), message(3, 'd')]));
    await settle();
    expect(taking.returned).toBe(false);
    expect(h.processor.buffered).toBe(3);
    g.open();
    expect(await taking.offset).toBe('3');
    await h.processor.flush();
    expect(h.handled).toEqual(['a0', 'b1', 'c2', 'd3']);
  });

  it('holds the fetch back while the processors of the process together hold more than their buffer budget', async () => {
    // Each test message counts 516 bytes: the budget has room for two unhandled ones.
    const budget = new BufferBudget(1500);
    const g = gate();
    const first = harness({}, 3, false, { before: g.opened, budget });
    const second = harness({}, 3, false, { before: g.opened, budget });
    // a0 is being handled; b1 and c2 wait in the buffer, within the budget.
    expect(await first.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'c')]))).toBe('2');
    const taking = pendingTake(second.processor, batchOf([message(0, 'x'), message(1, 'y'), message(2, 'z')]));
    await settle();
    // Far below its own maxBuffered (100), the second partition waits for the budget.
    expect(taking.returned).toBe(false);
    expect(budget.exhausted).toBe(true);
    g.open();
    expect(await taking.offset).toBe('2');
    await first.processor.flush();
    await second.processor.flush();
    expect(first.handled).toEqual(['a0', 'b1', 'c2']);
    expect(second.handled).toEqual(['x0', 'y1', 'z2']);
    expect(budget.heldBytes).toBe(0);
  });

  it('gives back the budget of the messages it drops on stop', async () => {
    const budget = new BufferBudget(1500);
    const g = gate();
    const h = harness({}, 3, false, { before: g.opened, budget });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b')]));
    expect(budget.heldBytes).toBeGreaterThan(0);
    const stopping = h.processor.stop(50);
    g.open();
    await stopping;
    expect(budget.heldBytes).toBe(0);
  });

  it('folds the commits of a commit interval into one', async () => {
    const h = harness({}, 3, false, { commitIntervalMs: 100 });
    await h.processor.take(batchOf([message(0, 'a')]));
    await h.processor.take(batchOf([message(1, 'b')]));
    await h.processor.take(batchOf([message(2, 'c')]));
    await until(() => h.commits.length > 0);
    await settle();
    expect(h.handled).toEqual(['a0', 'b1', 'c2']);
    expect(h.commits).toEqual(['3']);
  });

  it('tries a refused commit again though no event follows, so a quiet partition still drains', async () => {
    const h = harness({}, 3, false, { commitIntervalMs: 10, refuseCommits: 1 });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b')]));
    await settle();
    expect(h.refused).toEqual(['2']);
    expect(h.commits).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, COMMIT_RETRY_MS + 100));
    expect(h.commits).toEqual(['2']);
  });

  it('hands buffered events back when stopped: not handled, not committed', async () => {
    const g = gate();
    const h = harness({}, 3, false, { before: g.opened });
    await h.processor.take(batchOf([message(0, 'a'), message(1, 'b'), message(2, 'c')]));
    await h.processor.stop(20);
    g.open();
    await settle();
    expect(h.handled).toEqual(['a0']);
    expect(h.commits.every((c) => c === '0')).toBe(true);
  });

  it('lets a taken batch and its handled messages go while one of its messages still waits', async () => {
    const held = gate();
    const handled: string[] = [];
    // Message 100 waits for the gate in the handler: 0-99 are handled, 101-199 wait in the buffer.
    const processor = new PartitionProcessor('t', 0, {
      group: 'g',
      policy: retryPolicy({ maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 }),
      logger: silentLogger,
      commitIntervalMs: 0,
      handle: async (m) => {
        if (m.offset === '100') await held.opened;
        handled.push(m.offset);
      },
      deadLetter: async () => undefined,
      commit: async () => true,
    });
    const refs = await (async () => {
      const messages = Array.from({ length: 200 }, (_, i) => message(i, `k${i}`));
      const batch = batchOf(messages);
      expect(await processor.take(batch)).toBe('199');
      return { batch: new WeakRef(batch), handled: new WeakRef(messages[0]) };
    })();
    await until(() => handled.length === 100);
    // In a later job than the WeakRefs' (a target stays alive through the job that made its WeakRef).
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    expect({ batch: refs.batch.deref() === undefined, handled: refs.handled.deref() === undefined }).toEqual({ batch: true, handled: true });
    held.open();
    await processor.flush();
    expect(handled).toHaveLength(200);
  });
});
