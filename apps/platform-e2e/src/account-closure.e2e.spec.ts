import { randomUUID } from 'node:crypto';
import { AccountClosureRequested, ApisRetired, SendGoodbye } from '@platform/contracts';
import { TestPlatform, eventually, expectNoDeadLetters, httpJson, sleep } from '@platform/testing';

interface ClosureAccepted {
  closureId: string;
  status: string;
  watch: string;
}
interface Step {
  name: string;
  status: string;
  sentAt: string | null;
  answeredAt: string | null;
  late: boolean;
  compensation: { status: string; rounds: number; acknowledgedAt: string | null } | null;
}
interface Closure {
  closureId: string;
  state: string;
  sagaStatus: string | null;
  reason: string | null;
  steps: Step[];
  history: { version: number; at: string; input: { type?: string; name?: string }; decision: { send: string[] } }[];
}
interface Api {
  id: string;
  status: string;
  version: number;
}
interface Notification {
  kind: string;
  subject: string;
  body: string;
}

/** Short enough for the outage below to outlast it, long enough for a warm endpoints to answer. */
const STEP_TIMEOUT_MS = 6000;

/**
 * The account closure across users (the saga), endpoints (retires the APIs) and notifications
 * (goodbye or failure notice), as real processes on Kafka and PostgreSQL: it completes; an API
 * under a retention hold makes it compensate; endpoints stopped past the timeout makes it
 * compensate once, and a retirement endpoints does when it comes back is undone too.
 */
describe('account closure: a saga across users, endpoints and notifications (Kafka, PostgreSQL)', () => {
  const platform = new TestPlatform(['users', 'endpoints', 'notifications']);
  const users = (path: string) => `${platform.service('users').url}${path}`;
  const endpoints = (path: string) => `${platform.service('endpoints').url}${path}`;
  const notifications = (path: string) => `${platform.service('notifications').url}${path}`;
  const GROUPS = { users: ['account-closure', 'reopen-account'], endpoints: ['retire-apis', 'restore-apis'], notifications: ['closure-notices'] };

  beforeAll(async () => {
    await platform.start({ ACCOUNT_CLOSURE_TIMEOUT_MS: String(STEP_TIMEOUT_MS) });
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
  }, 60_000);

  async function userWithApis(count: number): Promise<{ userId: string; apiIds: string[] }> {
    const user = await httpJson<{ id: string }>('POST', users('/users'), { email: `${randomUUID().slice(0, 8)}@example.com`, displayName: 'Ada' }, platform.asOperator());
    expect(user.status).toBe(201);
    const apiIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const api = await httpJson<Api>('POST', endpoints('/apis'), { name: `API ${i}`, basePath: `/a${i}` }, platform.asUser(user.body.id));
      expect(api.status).toBe(201);
      apiIds.push(api.body.id);
    }
    // Retirement lists the owner's APIs from the catalog projection.
    await eventually(async () => expect((await httpJson<Api[]>('GET', endpoints(`/apis?ownerId=${user.body.id}`), undefined, platform.asOperator())).body).toHaveLength(count), { timeoutMs: 20_000 });
    return { userId: user.body.id, apiIds };
  }

  async function close(userId: string): Promise<ClosureAccepted> {
    const accepted = await httpJson<ClosureAccepted>('POST', users(`/users/${userId}/close`), undefined, platform.asUser(userId));
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe(`/users/${userId}/closure`);
    expect(accepted.body).toMatchObject({ status: 'accepted', watch: `/users/${userId}/closure` });
    return accepted.body;
  }

  const closure = async (userId: string) => (await httpJson<Closure>('GET', users(`/users/${userId}/closure`), undefined, platform.asOperator())).body;
  const ended = (userId: string, state: string, timeoutMs = 60_000) =>
    eventually(async () => {
      const c = await closure(userId);
      expect(c).toMatchObject({ state, sagaStatus: state });
      return c;
    }, { timeoutMs, intervalMs: 250 });
  const userStatus = async (userId: string) => (await httpJson<{ status: string }>('GET', users(`/users/${userId}`), undefined, platform.asOperator())).body.status;
  const apiStatuses = async (apiIds: string[]) => Promise.all(apiIds.map(async (id) => (await httpJson<Api>('GET', endpoints(`/apis/${id}`), undefined, platform.asOperator())).body.status));
  const kinds = async (userId: string) => (await httpJson<Notification[]>('GET', notifications(`/users/${userId}/notifications`), undefined, platform.asOperator())).body.map((n) => n.kind).filter((k) => k !== 'welcome');

  const noDeadLetters = () => expectNoDeadLetters(platform.brokers, platform.namespace, Object.entries(GROUPS).flatMap(([service, useCases]) => useCases.map((u) => `${service}.${u}`)));

  it('completes: the user deactivated, every API retired, one goodbye; GET shows the state, the steps with times and the history', async () => {
    const { userId, apiIds } = await userWithApis(2);
    const { closureId } = await close(userId);
    // Deactivated at once, in the request's transaction.
    expect(await userStatus(userId)).toBe('deactivated');
    const done = await ended(userId, 'completed');
    expect(done.closureId).toBe(closureId);
    expect(done.steps.map((s) => [s.name, s.status])).toEqual([['close-account', 'done'], ['retire-apis', 'done']]);
    const retire = done.steps[1];
    expect(Date.parse(retire.answeredAt ?? '')).toBeGreaterThanOrEqual(Date.parse(retire.sentAt ?? ''));
    expect(done.history.map((h) => h.input.type)).toEqual([AccountClosureRequested.contract.type, ApisRetired.contract.type]);
    expect(done.history[1].decision.send).toEqual([SendGoodbye.contract.type]);

    await eventually(async () => expect(await apiStatuses(apiIds)).toEqual(['retired', 'retired']), { timeoutMs: 20_000 });
    await eventually(async () => expect(await kinds(userId)).toEqual(['goodbye']), { timeoutMs: 20_000 });
    // A second request finds the account closed.
    expect((await httpJson('POST', users(`/users/${userId}/close`), undefined, platform.asUser(userId))).status).toBe(422);
    await sleep(1000);
    expect(await kinds(userId)).toEqual(['goodbye']);
    expect(await userStatus(userId)).toBe('deactivated');
    await noDeadLetters();
  });

  it('compensates when an API is under a retention hold: nothing retired, the user active again, one failure notice saying why', async () => {
    const { userId, apiIds } = await userWithApis(2);
    const held = await httpJson<Api>('POST', endpoints(`/apis/${apiIds[1]}/hold`), { reason: 'audit 2026' }, platform.asUser(userId));
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ retentionHold: 'audit 2026' });
    await close(userId);
    const compensated = await ended(userId, 'compensated');
    expect(compensated.reason).toMatch(/^retire-apis refused: API API 1 \(.+\) is under a retention hold: audit 2026$/);
    expect(compensated.steps.map((s) => [s.name, s.status, s.compensation?.status ?? null])).toEqual([
      ['close-account', 'done', 'acknowledged'],
      ['retire-apis', 'refused', null],
    ]);
    expect(await userStatus(userId)).toBe('active');
    expect(await apiStatuses(apiIds)).toEqual(['active', 'active']);
    await eventually(async () => expect(await kinds(userId)).toEqual(['closure-failed']), { timeoutMs: 20_000 });
    const [notice] = (await httpJson<Notification[]>('GET', notifications(`/users/${userId}/notifications`), undefined, platform.asOperator())).body.filter((n) => n.kind === 'closure-failed');
    expect(notice.body).toContain('under a retention hold: audit 2026');
    await sleep(1000);
    expect(await kinds(userId)).toEqual(['closure-failed']);
    await noDeadLetters();
  });

  it('endpoints stopped longer than the timeout: compensates once; what endpoints does when it comes back is undone too; the user and the APIs end active, one failure notice', async () => {
    const { userId, apiIds } = await userWithApis(2);
    await platform.service('endpoints').stop();
    try {
      await close(userId);
      // The retirement times out; its own compensation (restore) is sent first and waits for endpoints.
      await eventually(async () => {
        const c = await closure(userId);
        expect(c.state).toBe('compensating');
        expect(c.steps[1]).toMatchObject({ status: 'timed-out', compensation: { status: 'sent' } });
      }, { timeoutMs: STEP_TIMEOUT_MS * 3, intervalMs: 250 });
      expect(await userStatus(userId)).toBe('deactivated');
    } finally {
      await platform.restart('endpoints');
    }
    // Back, endpoints handles the retirement and the restoration, in whichever order it gets them.
    const compensated = await ended(userId, 'compensated', 90_000);
    const retire = compensated.steps[1];
    expect(retire.late).toBe(true);
    if (retire.status === 'done') {
      // It retired them late: that success was compensated once more.
      expect(retire.compensation).toMatchObject({ status: 'acknowledged', rounds: 2 });
    } else {
      // The restoration came first: the late retirement was refused and retired nothing.
      expect(retire.status).toBe('refused');
    }
    expect(compensated.steps[0].compensation?.status).toBe('acknowledged');
    expect(await userStatus(userId)).toBe('active');
    await eventually(async () => expect(await apiStatuses(apiIds)).toEqual(['active', 'active']), { timeoutMs: 20_000 });
    await eventually(async () => expect(await kinds(userId)).toEqual(['closure-failed']), { timeoutMs: 20_000 });
    await sleep(1000);
    expect(await kinds(userId)).toEqual(['closure-failed']);
    process.stdout.write(`late answer of retire-apis: ${retire.status}\n`);
    await noDeadLetters();
  });
});
