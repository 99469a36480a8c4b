import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AccountClosureRequested, EVENT_REGISTRY, UserCreated } from '@platform/contracts';
import {
  consumerLag,
  databaseUrl,
  eventually,
  freePort,
  httpJson,
  platformServices,
  produceRaw,
  repoRoot,
  ServiceProcess,
  TestPlatform,
  waitForNoLag,
} from '@platform/testing';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it), driven headless by playwright-core. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const TOKEN = `e2e-${randomUUID()}`;
const SCREENSHOTS = path.join(repoRoot(), 'dist/console-e2e');

/**
 * The console (apps/console) in a real browser, against the four services as processes, the
 * broker and PostgreSQL: what it draws comes from Kafka's admin API and the services' HTTP APIs.
 */
describe('console: topology, dead letters with redrive, sagas, and lag, in headless Chromium', () => {
  const platform = new TestPlatform();
  let console_: ServiceProcess;
  let browser: Browser;
  let page: Page;
  const ns = () => platform.namespace;
  const welcomeGroup = () => `${ns()}.notifications.welcome`;
  const userCreatedTopic = () => `${ns()}.${UserCreated.contract.topic}`;
  const letter = (eventId: string) => page.locator(`[data-testid="dlq-notifications-welcome"] [data-testid="letter"][data-event-id="${eventId}"]`);
  const screenshot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const notificationsOf = async (userId: string) => (await httpJson<unknown[]>('GET', `${platform.service('notifications').url}/users/${userId}/notifications`, undefined, platform.asOperator())).body;
  const register = async (displayName: string) => {
    const { status, body } = await httpJson<{ id: string }>('POST', `${platform.service('users').url}/users`, { email: `console-${randomUUID()}@example.com`, displayName }, platform.asOperator());
    expect(status).toBe(201);
    return body.id;
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await platform.start();
    console_ = new ServiceProcess('console', await freePort(), {
      KAFKA_BROKERS: platform.brokers.join(','),
      KAFKA_NAMESPACE: ns(),
      CONSOLE_TOKEN: TOKEN,
      // The services' own secret, issuer and audience: the console signs its operator calls with them.
      ...platform.tokens.serviceEnv(),
      ...Object.fromEntries([...platform.services.values()].map((s) => [`${s.name.toUpperCase()}_URL`, s.url])),
    }).start();
    await console_.waitReady();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.goto(console_.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await console_?.stop();
    await platform.stop();
  }, 90_000);

  it('draws the four services, every topic they publish and the use cases that consume them', async () => {
    for (const service of platformServices()) await expect(page.locator(`[data-testid="service-${service.name}"]`).count()).resolves.toBe(1);
    for (const event of EVENT_REGISTRY) {
      const topic = page.locator(`[data-testid="topic-${event.contract.topic}"]`);
      await expect(topic.textContent()).resolves.toBe(event.contract.topic);
    }
    for (const useCase of ['welcome', 'template-cache', 'endpoint-audit', 'endpoint-digest']) {
      await expect(page.locator(`[data-testid="usecase-notifications-${useCase}"]`).count()).resolves.toBe(1);
    }
    // Health from each service's /health/ready, live.
    await page.waitForSelector('[data-testid="service-users"].up', { timeout: 10_000 });
  });

  it('shows a message dead-lettered during the test, with its reason, grouped by failure', async () => {
    const eventId = randomUUID();
    await produceRaw(platform.brokers, userCreatedTopic(), [
      {
        key: 'not-a-user',
        value: JSON.stringify({ userId: 'not-a-uuid', email: 'nobody', displayName: '' }),
        headers: { ce_id: eventId, ce_type: UserCreated.contract.ceType, ce_source: '/e2e/console', ce_time: new Date().toISOString(), ce_specversion: '1.0', 'content-type': 'application/json' },
      },
    ]);
    await letter(eventId).waitFor({ timeout: 30_000 });
    await expect(letter(eventId).locator('.reason').textContent()).resolves.toBe('invalid-payload');
    const failure = page.locator('[data-testid="dlq-notifications-welcome"] [data-testid="failure"]', { has: page.locator(`[data-testid="letter"][data-event-id="${eventId}"]`) });
    await expect(failure.locator('.err').textContent()).resolves.toBe('InvalidPayloadError');
    // Its headers and payload are one click away.
    await letter(eventId).locator('summary .msg').click();
    await expect(letter(eventId).locator('table').textContent()).resolves.toContain('dlq_original_topic');
    await expect(letter(eventId).locator('pre').textContent()).resolves.toContain('not-a-uuid');
  });

  it('redrives a letter the use case refused while the database forbade it; after the fix the use case handles it', async () => {
    // A rule notifications' database enforces for a while (a check constraint added behind the
    // service's back): the welcome of this user breaks it, so welcome dead-letters the event at
    // once (a data error is not retried). Redriving before the fix would fail again; after it, it succeeds.
    const admin = new Client({ connectionString: databaseUrl(platform.databaseOf('notifications')) });
    await admin.connect();
    try {
      await admin.query(`ALTER TABLE notifications ADD CONSTRAINT console_e2e_refused CHECK (subject NOT LIKE '%Refused%') NOT VALID`);
      const userId = await register(`Refused ${randomUUID().slice(0, 8)}`);
      const refused = page.locator('[data-testid="dlq-notifications-welcome"] [data-testid="letter"]', { hasText: 'console_e2e_refused' });
      await refused.waitFor({ timeout: 30_000 });
      await expect(refused.locator('.reason').textContent()).resolves.toBe('non-retriable');
      expect(await notificationsOf(userId)).toHaveLength(0);

      // Without the token the page is refused, and nothing is redriven.
      await page.fill('#token', '');
      await refused.locator('button[data-action="redrive-one"]').click();
      await page.waitForSelector('#toast.error', { timeout: 10_000 });
      await expect(page.locator('#toast').textContent()).resolves.toContain('401');
      expect(await notificationsOf(userId)).toHaveLength(0);

      await admin.query('ALTER TABLE notifications DROP CONSTRAINT console_e2e_refused');
      await page.fill('#token', TOKEN);
      await page.dispatchEvent('#token', 'change');
      await page.waitForSelector('#toast:not(.error)', { timeout: 10_000 });
      await screenshot('console-dead-letters');
      await refused.locator('button[data-action="redrive-one"]').click();
      await page.waitForSelector('#toast.ok', { timeout: 10_000 });
      await eventually(async () => expect(await notificationsOf(userId)).toHaveLength(1), { timeoutMs: 30_000, intervalMs: 250 });
      // The letter stays listed, marked as redriven; the malformed one still waits.
      await page.waitForSelector('[data-testid="dlq-notifications-welcome"] details.letter.redriven', { timeout: 10_000 });
      await expect(refused.locator('.done').textContent()).resolves.toBe('redriven');
    } finally {
      await admin.query('ALTER TABLE notifications DROP CONSTRAINT IF EXISTS console_e2e_refused').catch(() => undefined);
      await admin.end();
    }
  });

  it("lists endpoints' projection from its operator-only GET /projections and rebuilds it through the console", async () => {
    await page.waitForSelector('[data-testid="projection-api-catalog"]', { timeout: 15_000 });
    await expect(page.locator('[data-testid="projection-api-catalog"] td').first().textContent()).resolves.toBe('endpoints');
    const rebuilt = await httpJson<unknown>('POST', `${console_.url}/api/projections/endpoints/api-catalog/rebuild`, {}, { authorization: `Bearer ${TOKEN}` });
    expect(rebuilt.status).toBeLessThan(300);
  });

  it("lists the account closures of the users saga from its GET /sagas, and drills down into one's steps and history", async () => {
    const users = (p: string) => `${platform.service('users').url}${p}`;
    const endpoints = (p: string) => `${platform.service('endpoints').url}${p}`;
    const closeUserWithApi = async (name: string, hold: boolean) => {
      const userId = await register(name);
      const api = await httpJson<{ id: string }>('POST', endpoints('/apis'), { name: `${name}'s API`, basePath: '/orders' }, platform.asUser(userId));
      expect(api.status).toBe(201);
      await eventually(async () => expect((await httpJson<unknown[]>('GET', endpoints(`/apis?ownerId=${userId}`), undefined, platform.asOperator())).body).toHaveLength(1), { timeoutMs: 20_000 });
      if (hold) expect((await httpJson('POST', endpoints(`/apis/${api.body.id}/hold`), { reason: 'legal hold 2026' }, platform.asUser(userId))).status).toBeLessThan(300);
      const accepted = await httpJson<{ closureId: string }>('POST', users(`/users/${userId}/close`), undefined, platform.asUser(userId));
      expect(accepted.status).toBe(202);
      return accepted.body.closureId;
    };
    const completed = await closeUserWithApi('Closing', false);
    const compensated = await closeUserWithApi('Held', true);
    const instance = (key: string) => page.locator(`[data-testid="saga-users-account-closure"] [data-testid="saga-instance"][data-key="${key}"]`);
    await page.waitForSelector(`[data-testid="saga-users-account-closure"] [data-testid="saga-instance"][data-key="${completed}"][data-status="completed"]`, { timeout: 60_000 });
    await page.waitForSelector(`[data-testid="saga-users-account-closure"] [data-testid="saga-instance"][data-key="${compensated}"][data-status="compensated"]`, { timeout: 60_000 });

    // The completed one: both steps done, its two inputs (the request, the retirement) in its history.
    await instance(completed).locator('summary').click();
    await instance(completed).locator('[data-testid="saga-step"][data-step="retire-apis"][data-status="done"]').waitFor({ timeout: 10_000 });
    const rows = instance(completed).locator('[data-testid="saga-step"]');
    const steps = await Promise.all((await rows.all()).map(async (row) => [await row.getAttribute('data-step'), await row.getAttribute('data-status')]));
    expect(steps).toEqual([
      ['close-account', 'done'],
      ['retire-apis', 'done'],
    ]);
    await expect(instance(completed).locator('[data-testid="saga-history"]').count()).resolves.toBe(2);
    await expect(instance(completed).locator('[data-testid="saga-history"]').first().textContent()).resolves.toContain(AccountClosureRequested.contract.type);
    await instance(completed).locator('summary').click();

    // The compensated one: retire-apis refused with the hold's reason, close-account undone.
    await instance(compensated).locator('summary').click();
    const refused = instance(compensated).locator('[data-testid="saga-step"][data-step="retire-apis"][data-status="refused"]');
    await refused.waitFor({ timeout: 10_000 });
    await expect(refused.textContent()).resolves.toContain('legal hold 2026');
    await expect(instance(compensated).locator('[data-testid="saga-step"][data-step="close-account"] .comp-acknowledged').count()).resolves.toBe(1);
    // Still open after the next refresh (every 3 s), as the page redraws the list.
    await page.waitForTimeout(3500);
    await expect(instance(compensated).getAttribute('open')).resolves.not.toBeNull();
    await page.locator('section:has(#sagas)').screenshot({ path: path.join(SCREENSHOTS, 'console-sagas.png') });

    // Filtered by state: only the compensated one.
    await page.selectOption('#saga-state', 'compensated');
    await instance(completed).waitFor({ state: 'detached', timeout: 10_000 });
    await expect(instance(compensated).count()).resolves.toBe(1);
    await page.selectOption('#saga-state', '');
    await instance(completed).waitFor({ timeout: 10_000 });
  });

  it("shows the lag the test produced while notifications is down, and its catching up after", async () => {
    await waitForNoLag(platform.brokers, [welcomeGroup()], [userCreatedTopic()]);
    const lagFigure = page.locator(`[data-testid="lag-${welcomeGroup()}"]`);
    await page.waitForSelector(`[data-testid="lag-${welcomeGroup()}"][data-lag="0"]`, { timeout: 15_000 });
    await platform.service('notifications').stop();
    const N = 7;
    for (let i = 0; i < N; i++) await register(`Lagging ${i}`);
    // The users outbox has sent them all: the broker's own count says N, and so must the page.
    await eventually(async () => expect(await consumerLag(platform.brokers, welcomeGroup(), [userCreatedTopic()])).toBe(N), { timeoutMs: 30_000 });
    await page.waitForSelector(`[data-testid="lag-${welcomeGroup()}"][data-lag="${N}"]`, { timeout: 15_000 });
    await expect(lagFigure.locator('.lag-value').textContent()).resolves.toBe(String(N));
    await screenshot('console-lag');
    await platform.restart('notifications');
    await page.waitForSelector(`[data-testid="lag-${welcomeGroup()}"][data-lag="0"]`, { timeout: 30_000 });
  });
});
