/**
 * The scripted scenario of `npm run demo`: drives the running services over HTTP only, then
 * reads Kafka to show which events each service published and the views each service built.
 * Service URLs come from USERS_URL, ENDPOINTS_URL, TEMPLATES_URL and NOTIFICATIONS_URL.
 */
import { EVENT_REGISTRY, eventForTopic } from '@platform/contracts';
import { CE } from '@platform/messaging';
import { eventually, httpJson, TopicReader } from '@platform/testing';
import { randomUUID } from 'node:crypto';
import { devOperatorToken, devUserToken } from './dev-tokens';

type Service = 'users' | 'endpoints' | 'templates' | 'notifications';
const run = randomUUID().slice(0, 8);
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;
const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;

function urlOf(service: Service): string {
  const url = process.env[`${service.toUpperCase()}_URL`];
  if (!url) throw new Error(`${service.toUpperCase()}_URL is not set`);
  return url;
}

function short(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

interface Entity {
  id: string;
  name: string;
  displayName: string;
  endpointId: string;
}
interface Notification {
  kind: string;
  subject: string;
  templateRevision: number | null;
}

/** This run's users (a new id each run: registering twice under one id is a 409) and the operator. */
const people = { ada: randomUUID(), grace: randomUUID(), linus: randomUUID() };
const tokens = { operator: devOperatorToken(), ...Object.fromEntries(Object.entries(people).map(([name, id]) => [name, devUserToken(id)])) } as Record<keyof typeof people | 'operator', string>;
const as = (who: keyof typeof tokens) => ({ authorization: `Bearer ${tokens[who]}` });

async function call(who: keyof typeof tokens, service: Service, method: string, path: string, body?: unknown, step = 'demo'): Promise<Entity> {
  const response = await httpJson<Entity>(method, `${urlOf(service)}${path}`, body, { 'x-correlation-id': `demo-${run}-${step}`, ...as(who) });
  console.log(`  ${dim('→')} ${service.padEnd(13)} ${method.padEnd(6)} ${path} ${dim(`as ${who}`)}${body ? ` ${dim(short(body))}` : ''}`);
  console.log(`  ${dim('←')} ${response.status} ${dim(short(response.body))}`);
  if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

async function notificationsOf(userId: string): Promise<Notification[]> {
  return (await httpJson<Notification[]>('GET', `${urlOf('notifications')}/users/${userId}/notifications`, undefined, as('operator'))).body;
}

function section(title: string): void {
  console.log(`\n${bold(title)}`);
}

async function main(): Promise<void> {
  section('0. development tokens of this run (the services verify them with the development secret)');
  for (const [who, token] of Object.entries(tokens)) console.log(`  ${who.padEnd(9)} ${token}`);
  console.log(`  ${dim(`e.g. curl ${urlOf('users')}/users/${people.ada} -H "Authorization: Bearer ${tokens.ada.slice(0, 12)}…"`)}`);

  section('1. templates: create the welcome template');
  const template = await call('operator', 'templates', 'POST', '/templates', {
    name: `welcome`,
    channel: 'email',
    subject: 'Welcome aboard, {{displayName}}',
    body: 'Hello {{displayName}}, your account {{email}} is ready.',
  }).catch(async () => {
    // A second demo run on the same databases: the template exists, so revise it instead.
    const existing = (await httpJson<Entity[]>('GET', `${urlOf('templates')}/templates`, undefined, as('operator'))).body.find((t) => t.name === 'welcome');
    if (!existing) throw new Error('cannot create the welcome template, and none exists');
    return call('operator', 'templates', 'PUT', `/templates/${existing.id}`, { subject: `Welcome aboard (run ${run}), {{displayName}}` }, 'template');
  });

  section('2. users: register two users');
  await eventually(async () => {
    // 'up', not just 200: notifications consumes (a 'degraded' service serves its API only).
    const { status, body } = await httpJson<{ status: string }>('GET', `${urlOf('notifications')}/health/ready`);
    if (status !== 200 || body.status !== 'up') throw new Error('notifications not consuming yet');
  });
  const ada = await call('ada', 'users', 'POST', '/users', { email: `ada.${run}@example.com`, displayName: 'Ada Lovelace' }, 'ada');
  const grace = await call('grace', 'users', 'POST', '/users', { email: `grace.${run}@example.com`, displayName: 'Grace Hopper' }, 'grace');

  section('3. notifications: each new user got a welcome notification');
  for (const user of [ada, grace]) {
    const [welcome] = await eventually(
      async () => {
        const list = await notificationsOf(user.id);
        if (list.length === 0) throw new Error(`no notification for ${user.displayName} yet`);
        return list;
      },
      { timeoutMs: 10_000 },
    );
    console.log(`  ${user.displayName}: "${welcome.subject}" (template revision ${welcome.templateRevision ?? 'built-in'})`);
  }

  section('4. endpoints: Ada publishes an API and changes its endpoints');
  const api = await call('ada', 'endpoints', 'POST', '/apis', { name: 'Orders', basePath: '/orders' }, 'api');
  const list = await call('ada', 'endpoints', 'POST', `/apis/${api.id}/endpoints`, { method: 'GET', path: '/orders', upstreamUrl: 'http://orders.internal/v1/orders' }, 'api');
  await call('ada', 'endpoints', 'POST', `/apis/${api.id}/endpoints`, { method: 'POST', path: '/orders', upstreamUrl: 'http://orders.internal/v1/orders' }, 'api');
  const one = await call('ada', 'endpoints', 'POST', `/apis/${api.id}/endpoints`, { method: 'GET', path: '/orders/{id}', upstreamUrl: 'http://orders.internal/v1/orders' }, 'api');
  await call('ada', 'endpoints', 'PUT', `/apis/${api.id}/endpoints/${one.endpointId}`, { upstreamUrl: 'http://orders-v2.internal/v2/orders' }, 'api');
  await call('ada', 'endpoints', 'DELETE', `/apis/${api.id}/endpoints/${list.endpointId}`, undefined, 'api');

  section('5. templates: a new revision; the next user is welcomed with it');
  await call('operator', 'templates', 'PUT', `/templates/${template.id}`, { subject: 'Glad you are here, {{displayName}}' }, 'template');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const linus = await call('linus', 'users', 'POST', '/users', { email: `linus.${run}@example.com`, displayName: 'Linus' }, 'linus');
  const [linusWelcome] = await eventually(async () => {
    const items = await notificationsOf(linus.id);
    if (items.length === 0) throw new Error('no notification for Linus yet');
    return items;
  });
  console.log(`  Linus: "${linusWelcome.subject}" (template revision ${linusWelcome.templateRevision})`);

  section('6. users: rename Ada, deactivate Grace');
  await call('ada', 'users', 'POST', `/users/${ada.id}/rename`, { displayName: 'Countess Lovelace' }, 'ada');
  await call('grace', 'users', 'POST', `/users/${grace.id}/deactivate`, { reason: 'requested' }, 'grace');

  section('7. what each service published (read back from Kafka, this run only)');
  const namespace = process.env['KAFKA_NAMESPACE'];
  const topics = EVENT_REGISTRY.map((e) => (namespace ? `${namespace}.${e.contract.topic}` : e.contract.topic));
  const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
  const reader = await new TopicReader(brokers, topics).start();
  const mine = () => reader.messages.filter((m) => m.headers[CE.correlationId]?.startsWith(`demo-${run}-`));
  // 3 UserCreated, 1 UserRenamed, 1 UserDeactivated, 3 welcomes, 1-2 templates, 6 endpoint events.
  await eventually(() => {
    if (mine().length < 15) throw new Error(`${mine().length} events seen so far`);
  }, { timeoutMs: 15_000 }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await reader.stop();
  const bySource = new Map<string, string[]>();
  for (const m of mine()) {
    const source = m.headers[CE.source] ?? '?';
    const type = eventForTopic(namespace ? m.topic.slice(namespace.length + 1) : m.topic)?.contract.type ?? m.topic;
    bySource.set(source, [...(bySource.get(source) ?? []), `${type} (key ${m.key?.slice(0, 8)}…, caused by ${m.headers[CE.causationId]?.slice(0, 8) ?? 'the request'})`]);
  }
  for (const [source, events] of bySource) {
    console.log(`  ${bold(source)} published ${events.length}:`);
    for (const e of events) console.log(`    - ${e}`);
  }

  section('8. what notifications built from them');
  const audit = (await httpJson<{ change: string; method: string; path: string }[]>('GET', `${urlOf('notifications')}/apis/${api.id}/audit`, undefined, as('ada'))).body;
  console.log(`  endpoint-audit (one row per EndpointUpdated of Orders): ${audit.map((a) => `${a.change} ${a.method} ${a.path}`).join('; ')}`);
  const digests = (await httpJson<{ eventIds: string[] }[]>('GET', `${urlOf('notifications')}/users/${ada.id}/digests`, undefined, as('ada'))).body;
  console.log(`  endpoint-digest (500 ms windows for Ada): ${digests.length} digest(s) holding ${digests.reduce((n, d) => n + d.eventIds.length, 0)} change(s)`);
  for (const user of [ada, grace, linus]) {
    const items = await notificationsOf(user.id);
    console.log(`  ${user.displayName}: ${items.map((n) => `${n.kind}: "${n.subject}"`).join('; ')}`);
  }
  console.log(`\n${bold('demo complete')} (run ${run})`);
}

main().catch((error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
