import { HttpException } from '@nestjs/common';
import { Writable } from 'node:stream';
import type { BrokerAdmin } from '@platform/messaging';
import type { DataSource } from 'typeorm';
import { configureProcessLogger } from '../logging/process-logger';
import type { MessagingLifecycle } from '../messaging/messaging-lifecycle';
import { HealthController } from './health.controller';
import type { UseCaseHealth } from './health-decisions';

/** The controller with plain fakes for the database and messaging: what it asks, what it answers. */
function setup() {
  const state = {
    databaseUp: true,
    pendingMigrations: false,
    brokerUp: true,
    started: true,
    useCases: [] as UseCaseHealth[],
    showMigrationsCalls: 0,
    listTopicsCalls: 0,
  };
  const dataSource = {
    query: async () => {
      if (!state.databaseUp) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return [{ '?column?': 1 }];
    },
    showMigrations: async () => {
      state.showMigrationsCalls++;
      if (!state.databaseUp) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return state.pendingMigrations;
    },
  } as unknown as DataSource;
  const admin = {
    listTopics: async () => {
      state.listTopicsCalls++;
      if (!state.brokerUp) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
      return [];
    },
  } as unknown as BrokerAdmin;
  const messaging = {
    get running() {
      return state.started ? {} : undefined;
    },
    get useCases() {
      return state.useCases;
    },
    adminClient: async () => admin,
  } as unknown as MessagingLifecycle;
  return { state, controller: new HealthController(dataSource, messaging) };
}

async function answer(call: () => unknown): Promise<{ status: number; body: unknown }> {
  try {
    return { status: 200, body: await call() };
  } catch (error) {
    if (error instanceof HttpException) return { status: error.getStatus(), body: error.getResponse() };
    throw error;
  }
}

describe('HealthController', () => {
  it('is ready and up when everything answers', async () => {
    const { controller } = setup();
    expect(await answer(() => controller.ready())).toEqual({
      status: 200,
      body: { status: 'up', checks: { database: { status: 'up' }, migrations: { status: 'up' }, kafka: { status: 'up' }, useCases: [] } },
    });
  });

  it('answers 200 degraded while the broker is down', async () => {
    const { controller, state } = setup();
    state.brokerUp = false;
    expect(await answer(() => controller.ready())).toMatchObject({ status: 200, body: { status: 'degraded', checks: { kafka: { status: 'down', detail: expect.stringContaining('ECONNREFUSED') } } } });
  });

  it('answers 503 when the database is down, and when migrations are pending', async () => {
    const { controller, state } = setup();
    state.databaseUp = false;
    expect(await answer(() => controller.ready())).toMatchObject({ status: 503, body: { status: 'down', checks: { database: { status: 'down' } } } });
    state.databaseUp = true;
    state.pendingMigrations = true;
    expect(await answer(() => controller.ready())).toMatchObject({ status: 503, body: { status: 'down', checks: { migrations: { status: 'down', detail: 'migrations are pending' } } } });
  });

  it('looks for pending migrations only until there are none', async () => {
    const { controller, state } = setup();
    for (let i = 0; i < 3; i++) await controller.ready();
    expect(state.showMigrationsCalls).toBe(1);
  });

  it('asks the broker once for concurrent probes', async () => {
    const { controller, state } = setup();
    await Promise.all([controller.ready(), controller.ready(), controller.ready()]);
    expect(state.listTopicsCalls).toBe(1);
  });

  it('logs Kafka going away and coming back once per transition, not per probe', async () => {
    const lines: Record<string, unknown>[] = [];
    configureProcessLogger({ service: 'test', destination: new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }) });
    const { controller, state } = setup();
    for (const brokerUp of [true, true, false, false, false, true, true]) {
      state.brokerUp = brokerUp;
      await controller.ready();
    }
    expect(lines.map((l) => [l['level'], l['context'], l['msg']])).toEqual([
      ['warn', 'Health', expect.stringContaining('Kafka is unavailable')],
      ['info', 'Health', 'Kafka is available again'],
    ]);
  });

  it('is live unless a use case crashed for good', async () => {
    const { controller, state } = setup();
    state.useCases = [{ groupId: 'svc.a', status: 'running' }];
    expect(await answer(() => controller.live())).toEqual({ status: 200, body: { status: 'up' } });
    state.useCases = [{ groupId: 'svc.a', status: 'crashed' }];
    expect(await answer(() => controller.live())).toEqual({ status: 503, body: { status: 'down', crashed: ['svc.a'] } });
    // The same use case makes readiness degraded, not unready: restarting is liveness's job.
    expect(await answer(() => controller.ready())).toMatchObject({ status: 200, body: { status: 'degraded' } });
  });
});
