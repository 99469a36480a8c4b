import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ReadableEvents, type EventClass } from '@platform/contracts';
import { ensureTopics, KafkaJsBroker, KafkaNaming } from '@platform/messaging';
import { eventually, httpJson, PrivateKafka, TestPlatform, uniqueName, type SaslSslListener } from '@platform/testing';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type KafkaConfig } from 'kafkajs';
import { catalogConsole, loadServices, type ServiceModel } from '../catalog/load-services';
import { consoleAcls, serviceAcls, type KafkaAcl } from '../kafka/acls';
import { ownedTopics } from '../kafka/topics';
import { aclEntries } from './kafka-acl-entries';
import { KafkaProbe, type Verdict } from './kafka-probes';

const ANY_ACL = {
  resourceType: AclResourceTypes.ANY,
  resourcePatternType: ResourcePatternTypes.ANY,
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
};

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Principal {
  readonly username: string;
  readonly password: string;
}

/**
 * The ACLs generated from the service declarations, enforced by a real broker: a private one
 * (its SASL_SSL listener, SCRAM users, the KRaft authorizer) so that users and ACLs never touch
 * the broker other tests share. Everything a service or the console does here goes over SASL_SSL
 * under its own user; only the setup (users, topics, ACLs) runs as the admin.
 */
describe('Kafka ACLs from the declarations, enforced over SASL_SSL', () => {
  let kafka: PrivateKafka;
  let listener: SaslSslListener;
  let ca: string;
  let services: ServiceModel[];
  const consoleName = catalogConsole().name;

  const connection = (principal: Principal): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> => ({
    brokers: [listener.bootstrap],
    ssl: { ca: [ca] },
    sasl: { mechanism: 'scram-sha-512', username: principal.username, password: principal.password },
  });
  const adminPrincipal = (): Principal => listener.admin;

  /** Resolves once the broker accepts the user's SCRAM credentials. */
  async function authenticates(principal: Principal): Promise<void> {
    const admin = new Kafka({ ...connection(principal), clientId: 'login-check', logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    await admin.disconnect();
  }

  /**
   * One isolated platform's security in `namespace`: a SCRAM user per service and for the
   * console, every topic of the declarations, and each user's ACLs as serviceAcls/consoleAcls
   * derive them (through CreateAcls, as Strimzi's User Operator would).
   */
  async function secure(namespace: string): Promise<Map<string, Principal>> {
    const naming = new KafkaNaming(namespace);
    const principals = new Map<string, Principal>();
    const acls = new Map<string, KafkaAcl[]>([...services.map((s) => [s.name, serviceAcls(s, naming)] as const), [consoleName, consoleAcls(services, naming)]]);
    for (const name of acls.keys()) {
      const principal = { username: `${namespace}-${name}`, password: randomBytes(12).toString('hex') };
      await kafka.scramUser(principal.username, principal.password);
      principals.set(name, principal);
    }
    const admin = await new KafkaJsBroker({ brokers: [listener.bootstrap], clientId: 'acl-setup', logger: silent, sasl: { mechanism: 'scram-sha-512', ...adminPrincipal() }, tls: { ca } }).admin();
    try {
      // The topics Strimzi's KafkaTopics would hold (services have no Create), with the older versions use cases read.
      const read: EventClass[] = services.flatMap((s) => s.useCases.flatMap((u) => new ReadableEvents(u.events).all));
      await ensureTopics(admin, naming, read, services.flatMap((s) => ownedTopics(s, naming)));
    } finally {
      await admin.disconnect();
    }
    const kafkaAdmin = new Kafka({ ...connection(adminPrincipal()), clientId: 'acl-setup', logLevel: logLevel.NOTHING }).admin();
    await kafkaAdmin.connect();
    try {
      const entries = [...acls].flatMap(([name, list]) => aclEntries(principals.get(name)!.username, list));
      // Users and ACLs reach the authorizer through the metadata log, a moment after the
      // request returns: wait until the broker describes every binding and lets every user in.
      // Creating a binding again is a no-op, so a request the controller did not take is repeated.
      const ours = new Set(entries.map((e) => e.principal));
      await eventually(
        async () => {
          await kafkaAdmin.createAcls({ acl: entries });
          const { resources } = await kafkaAdmin.describeAcls(ANY_ACL);
          expect(resources.flatMap((r) => r.acls.filter((a) => ours.has(a.principal))).length).toBe(entries.length);
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      for (const principal of principals.values()) await eventually(() => authenticates(principal));
    } finally {
      await kafkaAdmin.disconnect();
    }
    return principals;
  }

  beforeAll(async () => {
    kafka = await PrivateKafka.onFreePorts();
    await kafka.start();
    listener = kafka.saslSsl();
    ca = readFileSync(listener.caFile, 'utf8');
    services = await loadServices();
    // A fresh broker loads its group coordinator (__consumer_offsets) on first use: until then a
    // join is answered GROUP_LOAD_IN_PROGRESS, which is no verdict on anyone's rights.
    const admin = new KafkaProbe({ bootstrap: listener.bootstrap, ca, ...listener.admin }, 'warm-up');
    await eventually(async () => expect(await admin.joinGroup(uniqueName('warm-up'))).toBe('allowed'), { timeoutMs: 60_000, intervalMs: 500 });
  }, 120_000);

  afterAll(async () => {
    await kafka?.destroy();
  }, 60_000);

  describe('what each user may do', () => {
    const namespace = uniqueName('acl').replace(/_/g, '-');
    const naming = new KafkaNaming(namespace);
    let principals: Map<string, Principal>;
    const verdicts: string[] = [];

    const probeAs = (principal: Principal, clientId: string) => new KafkaProbe({ bootstrap: listener.bootstrap, ca, ...principal }, clientId);
    const probe = (name: string) => probeAs(principals.get(name)!, `${name}-probe`);
    const adminProbe = () => probeAs(adminPrincipal(), 'admin-probe');
    const record = (who: string, what: string, verdict: Verdict): Verdict => {
      verdicts.push(`${who.padEnd(13)} ${what.padEnd(100)} ${verdict}`);
      return verdict;
    };

    /** The topics a service's use cases subscribe to, read off its declaration. */
    const readsOf = (service: ServiceModel) => new Set(service.useCases.flatMap((u) => naming.useCase(service.name, u).topics));
    const allPublished = () => services.flatMap((s) => s.publishes);

    beforeAll(async () => {
      principals = await secure(namespace);
    }, 120_000);

    afterAll(() => {
      // The note quotes these: every refusal the broker gave, beside what it allowed.
      process.stdout.write(`\nKafka ACL verdicts (namespace ${namespace}, SASL_SSL ${listener.bootstrap}):\n${verdicts.join('\n')}\n`);
    });

    it('each service produces the events it declares and is refused every other event', async () => {
      for (const service of services) {
        const declared = naming.topic(service.publishes[0]);
        const undeclared = naming.topic(allPublished().find((e) => !service.publishes.includes(e))!);
        expect(record(service.name, `produce ${declared} (declared)`, await probe(service.name).produce(declared))).toBe('allowed');
        expect(record(service.name, `produce ${undeclared} (not declared)`, await probe(service.name).produce(undeclared))).toBe('TOPIC_AUTHORIZATION_FAILED');
      }
    }, 120_000);

    it("each service reads its use cases' topics in its own groups, and nothing else", async () => {
      const groupsOf = (s: ServiceModel) => s.useCases.map((u) => naming.group(s.name, u.name));
      for (const service of services) {
        const reads = readsOf(service);
        const unread = allPublished()
          .map((e) => naming.topic(e))
          .find((t) => !reads.has(t))!;
        const foreignGroup = services.filter((s) => s !== service).flatMap(groupsOf)[0];
        if (service.useCases.length === 0) {
          // No use case: no group of its own and nothing to read.
          expect(record(service.name, `join ${namespace}.${service.name}.any`, await probe(service.name).joinGroup(`${namespace}.${service.name}.any`))).toBe(
            'GROUP_AUTHORIZATION_FAILED',
          );
          continue;
        }
        const [ownGroup] = groupsOf(service);
        const [ownTopic] = naming.useCase(service.name, service.useCases[0]).topics;
        expect(await adminProbe().produce(ownTopic)).toBe('allowed');
        expect(record(service.name, `consume ${ownTopic} in ${ownGroup} (declared)`, await probe(service.name).consume(ownGroup, ownTopic))).toBe('allowed');
        expect(record(service.name, `consume ${unread} in ${ownGroup} (not declared)`, await probe(service.name).consume(ownGroup, unread))).toBe('TOPIC_AUTHORIZATION_FAILED');
        expect(record(service.name, `join ${foreignGroup} (another's group)`, await probe(service.name).joinGroup(foreignGroup))).toBe(
          'GROUP_AUTHORIZATION_FAILED',
        );
      }
    }, 240_000);

    it('the console reads events without a group and writes only redrive topics', async () => {
      const credentials = principals.get(consoleName)!;
      const event = naming.topic(services[0].publishes[0]);
      expect(await adminProbe().produce(event)).toBe('allowed');
      const broker = new KafkaJsBroker({ brokers: [listener.bootstrap], clientId: 'console', logger: silent, sasl: { mechanism: 'scram-sha-512', ...credentials }, tls: { ca } });
      const admin = await broker.admin();
      try {
        const read = await admin.readMessages({ topic: event, partition: (await admin.endOffsets(event)).find((p) => p.offset !== '0')!.partition, from: '0', to: '1' });
        expect(record(consoleName, `read ${event} without a group`, read.length === 1 ? 'allowed' : `read ${read.length} messages`)).toBe('allowed');
      } finally {
        await admin.disconnect();
      }
      const withUseCase = services.find((s) => s.useCases.length > 0)!;
      const redrive = naming.redriveTopic(withUseCase.name, withUseCase.useCases[0].name);
      const group = naming.group(withUseCase.name, withUseCase.useCases[0].name);
      expect(record(consoleName, `produce ${event}`, await probe(consoleName).produce(event))).toBe('TOPIC_AUTHORIZATION_FAILED');
      expect(record(consoleName, `produce ${redrive} (a redrive)`, await probe(consoleName).produce(redrive))).toBe('allowed');
      expect(record(consoleName, `consume ${event} in ${group} (a service's group)`, await probe(consoleName).consume(group, event))).toBe('GROUP_AUTHORIZATION_FAILED');
    }, 120_000);

    it('a user without ACLs is refused, and a wrong password is not let in', async () => {
      await kafka.scramUser(`${namespace}-nobody`, 'nobody-password');
      await eventually(() => authenticates({ username: `${namespace}-nobody`, password: 'nobody-password' }));
      const event = naming.topic(services[0].publishes[0]);
      const nobody = probeAs({ username: `${namespace}-nobody`, password: 'nobody-password' }, 'nobody');
      expect(record('nobody', `produce ${event}`, await nobody.produce(event))).toBe('TOPIC_AUTHORIZATION_FAILED');
      const impostor = probeAs({ username: principals.get(services[0].name)!.username, password: 'guessed' }, 'impostor');
      const verdict = await impostor.produce(event);
      expect(record('impostor', `produce ${event} as ${services[0].name} with a wrong password`, verdict)).toMatch(/SASL SCRAM SHA512 authentication failed/);
    }, 60_000);
  });

  describe('the services over SASL_SSL under their ACLs', () => {
    const names = ['users', 'notifications'];
    let principals: Map<string, Principal>;
    let platform: TestPlatform;

    beforeAll(async () => {
      platform = new TestPlatform(names, { brokers: [listener.bootstrap], envOf });
      principals = await secure(platform.namespace);
      await platform.start();
    }, 180_000);

    afterAll(async () => {
      await platform?.stop();
    }, 60_000);

    /** Each service as its own SCRAM user over SASL_SSL, trusting the broker's CA. */
    const envOf = (service: string): Record<string, string> => ({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: principals.get(service)!.username,
        KAFKA_SASL_PASSWORD: principals.get(service)!.password,
        KAFKA_SSL_CA_FILE: listener.caFile,
    });

    it("welcomes a user: users' outbox relay publishes, notifications' use case consumes and publishes in turn", async () => {
      const { status, body: user } = await httpJson<{ id: string }>('POST', `${platform.service('users').url}/users`, { email: `acl-${Date.now()}@example.com`, displayName: 'Ada' }, platform.asOperator());
      expect(status).toBe(201);
      const notifications = await eventually(
        async () => {
          const { body } = await httpJson<{ kind: string }[]>('GET', `${platform.service('notifications').url}/users/${user.id}/notifications`, undefined, platform.asUser(user.id));
          expect(body).toHaveLength(1);
          return body;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(notifications[0]).toMatchObject({ kind: 'welcome' });
      for (const name of names) {
        expect((await platform.service(name).readiness()).body.status).toBe('up');
      }
    }, 90_000);

    it('no service logged an authorization failure', () => {
      for (const name of names) expect(platform.service(name).logs(1_000_000)).not.toMatch(/AUTHORIZATION_FAILED|Not authorized/);
    });
  });
});
