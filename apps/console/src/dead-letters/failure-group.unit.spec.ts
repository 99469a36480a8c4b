import { DLQ } from '@platform/messaging';
import { failureOf, firstOwnFrame } from './failure-group';

const pgStack = `error: new row for relation "notifications" violates check constraint "refused"
    at /work/main/node_modules/pg/lib/client.js:545:17
    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)
    at async WelcomeUseCase.handle (/work/main/dist/apps/notifications/main.js:1234:9)
    at async EventHandling.handleOne (/work/main/dist/apps/notifications/main.js:900:5)`;

describe('failureOf: dead letters grouped by error name and the first frame of our code', () => {
  it('skips frames of dependencies and of Node, and keeps the file name, not its directory', () => {
    expect(firstOwnFrame(pgStack)).toBe('async WelcomeUseCase.handle (main.js:1234:9)');
  });

  it('groups letters of one bug together whatever their messages say, and apart from another place', () => {
    const letter = (message: string, stack: string) => ({ [DLQ.errorName]: 'error', [DLQ.errorMessage]: message, [DLQ.errorStack]: stack, [DLQ.reason]: 'non-retriable' });
    const a = failureOf(letter('user 1 refused', pgStack));
    const b = failureOf(letter('user 2 refused', pgStack));
    const elsewhere = failureOf(letter('user 1 refused', pgStack.replace('WelcomeUseCase.handle', 'AuditUseCase.handle')));
    expect(a).toEqual({ id: 'error at async WelcomeUseCase.handle (main.js:1234:9)', errorName: 'error', frame: 'async WelcomeUseCase.handle (main.js:1234:9)' });
    expect(b.id).toBe(a.id);
    expect(elsewhere.id).not.toBe(a.id);
  });

  it('falls back to the reason for letters without an error (a late event)', () => {
    expect(failureOf({ [DLQ.reason]: 'late-event', [DLQ.errorName]: '', [DLQ.errorStack]: '' })).toEqual({ id: 'late-event', errorName: 'late-event' });
  });
});
