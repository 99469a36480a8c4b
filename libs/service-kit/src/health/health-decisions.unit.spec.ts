import { kafkaCheck, kafkaTransition, liveness, readiness, type Check, type ReadinessObservations, type UseCaseHealth } from './health-decisions';

const up: Check = { status: 'up' };
const down = (detail: string): Check => ({ status: 'down', detail });
const useCase = (groupId: string, status: UseCaseHealth['status']): UseCaseHealth => ({ groupId, status });

const healthy: ReadinessObservations = {
  database: up,
  migrations: up,
  broker: up,
  messagingStarted: true,
  useCases: [useCase('notifications.welcome', 'running'), useCase('notifications.endpoint-audit', 'running')],
};

describe('liveness', () => {
  it('is live when no use case has crashed, whatever else is going on', () => {
    expect(liveness([])).toEqual({ live: true, body: { status: 'up' } });
    for (const status of ['idle', 'starting', 'running', 'rejoining', 'stopping', 'stopped'] as const) {
      expect(liveness([useCase('svc.a', status)]).live).toBe(true);
    }
  });

  it('is not live when a use case crashed for good, naming it', () => {
    const decision = liveness([useCase('svc.a', 'running'), useCase('svc.b', 'crashed'), useCase('svc.c', 'crashed')]);
    expect(decision).toEqual({ live: false, body: { status: 'down', crashed: ['svc.b', 'svc.c'] } });
  });
});

describe('readiness', () => {
  it('is ready and up when the database, the migrations, Kafka and every use case are fine', () => {
    const decision = readiness(healthy);
    expect(decision.ready).toBe(true);
    expect(decision.body).toEqual({ status: 'up', checks: { database: up, migrations: up, kafka: up, useCases: healthy.useCases } });
  });

  it('stays ready (200) but degraded when Kafka is down, reporting why', () => {
    const decision = readiness({ ...healthy, broker: down('Connection error: ECONNREFUSED') });
    expect(decision.ready).toBe(true);
    expect(decision.body.status).toBe('degraded');
    expect(decision.body.checks.kafka).toEqual(down('Connection error: ECONNREFUSED'));
  });

  it('stays ready but degraded while messaging has not started, even if the broker answers', () => {
    const decision = readiness({ ...healthy, messagingStarted: false, useCases: [useCase('svc.a', 'starting')] });
    expect(decision.ready).toBe(true);
    expect(decision.body.status).toBe('degraded');
    expect(decision.body.checks.kafka).toEqual({ status: 'down', detail: expect.stringContaining('not started') });
  });

  it('stays ready but degraded when a use case is not consuming (crashed included)', () => {
    for (const status of ['idle', 'starting', 'rejoining', 'stopping', 'stopped', 'crashed'] as const) {
      const decision = readiness({ ...healthy, useCases: [useCase('svc.a', 'running'), useCase('svc.b', status)] });
      expect(decision).toMatchObject({ ready: true, body: { status: 'degraded', checks: { kafka: up } } });
    }
  });

  it('is up for a service without use cases', () => {
    expect(readiness({ ...healthy, useCases: [] }).body.status).toBe('up');
  });

  it('is not ready (503) when the database does not answer, even with Kafka up', () => {
    const decision = readiness({ ...healthy, database: down('the database did not answer within 2000 ms') });
    expect(decision.ready).toBe(false);
    expect(decision.body.status).toBe('down');
    expect(decision.body.checks.database.detail).toContain('did not answer');
  });

  it('is not ready when migrations are pending', () => {
    const decision = readiness({ ...healthy, migrations: down('migrations are pending') });
    expect(decision).toMatchObject({ ready: false, body: { status: 'down', checks: { migrations: { status: 'down' } } } });
  });

  it('is not ready when both the database and Kafka are down', () => {
    const decision = readiness({ ...healthy, database: down('x'), migrations: down('x'), broker: down('y') });
    expect(decision).toMatchObject({ ready: false, body: { status: 'down' } });
  });
});

describe('kafkaCheck', () => {
  it("reports the broker's own failure first", () => {
    expect(kafkaCheck(down('timeout'), false)).toEqual(down('timeout'));
    expect(kafkaCheck(up, true)).toEqual(up);
  });
});

describe('kafkaTransition (logged once per transition, not per probe)', () => {
  const run = (observed: Check['status'][]) => {
    let state: Check['status'] | undefined;
    const transitions: string[] = [];
    for (const current of observed) {
      const next = kafkaTransition(state, current);
      state = next.state;
      if (next.transition) transitions.push(next.transition);
    }
    return transitions;
  };

  it('reports going down and coming back once each, however many probes see it', () => {
    expect(run(['up', 'up', 'down', 'down', 'down', 'up', 'up', 'down', 'up'])).toEqual(['went-down', 'came-back', 'went-down', 'came-back']);
  });

  it('reports nothing before Kafka has been up once (messaging logs its own start retries)', () => {
    expect(run(['down', 'down', 'up', 'up'])).toEqual([]);
    expect(run(['down', 'up', 'down'])).toEqual(['went-down']);
  });
});
