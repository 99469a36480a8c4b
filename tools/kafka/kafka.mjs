#!/usr/bin/env node
// The platform's single-node Kafka broker (KRaft) for development and tests.
//
//   node tools/kafka/kafka.mjs fetch    download the pinned broker through Maven (cached outside git)
//   node tools/kafka/kafka.mjs start    fetch if needed, format storage once, start, wait until it answers
//   node tools/kafka/kafka.mjs stop     stop the broker this checkout started
//   node tools/kafka/kafka.mjs status   say whether a broker answers and where
//   node tools/kafka/kafka.mjs reset    stop and delete the broker's data
//
// With KAFKA_BROKERS set, start/status only check that the first of those brokers answers:
// everything then runs against that cluster and nothing is started here.
//
// Plain Node with no dependencies on purpose: it runs before `npm ci` has finished on a fresh machine.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const pom = path.join(here, 'pom.xml');
const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(fs.readFileSync(pom, 'utf8'))[1];

const env = process.env;
const host = '127.0.0.1';
const port = intFromEnv('KAFKA_PORT', 9092);
const controllerPort = intFromEnv('KAFKA_CONTROLLER_PORT', port + 1);
const stateDir = path.resolve(env.KAFKA_STATE_DIR ?? path.join(repoRoot, '.kafka'));
const cacheDir = path.resolve(env.KAFKA_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'platform-kafka'));
const libsDir = path.join(cacheDir, version, 'libs');
const dataDir = path.join(stateDir, 'data');
const pidFile = path.join(stateDir, 'broker.pid');
const logFile = path.join(stateDir, 'broker.log');
const propsFile = path.join(stateDir, 'server.properties');
const lockDir = path.join(stateDir, 'start.lock');
const startTimeoutMs = intFromEnv('KAFKA_START_TIMEOUT_MS', 90_000);

function intFromEnv(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) fail(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function log(message) {
  process.stderr.write(`[kafka] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`[kafka] error: ${message}\n`);
  process.exit(1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseBrokers(list) {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hostPort) => {
      const i = hostPort.lastIndexOf(':');
      if (i <= 0) fail(`KAFKA_BROKERS entry "${hostPort}" must be host:port`);
      return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
    });
}

/**
 * Sends a Kafka ApiVersions v0 request and resolves true when a well-formed answer with
 * error code 0 comes back: the broker is up and speaking the protocol, not just listening.
 */
function apiVersionsAnswers(target, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const clientId = Buffer.from('platform-kafka-tool');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2);
    body.writeInt32BE(7, 4); // correlation id
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length, 0);
    body.copy(frame, 4);

    let received = Buffer.alloc(0);
    const socket = net.connect(target.port, target.host);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 10) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      done(received.readInt32BE(4) === 7 && received.readInt16BE(8) === 0);
    });
  });
}

function readPid() {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function checkJava() {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error) fail('java not found on PATH: Kafka needs Java 17 or newer (apt-get install openjdk-17-jre-headless)');
  const match = /version "(\d+)/.exec(result.stderr);
  if (match && Number(match[1]) < 17) fail(`Kafka ${version} needs Java 17 or newer, found ${match[1]}`);
}

function fetchBroker() {
  const marker = path.join(cacheDir, version, '.complete');
  if (fs.existsSync(marker)) return;
  checkJava();
  log(`fetching org.apache.kafka:kafka_2.13:${version} and its runtime dependencies through Maven into ${libsDir}`);
  fs.rmSync(libsDir, { recursive: true, force: true });
  const result = spawnSync(
    'mvn',
    ['-q', '-B', '-Dstyle.color=never', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime'],
    { stdio: 'inherit' },
  );
  if (result.error) fail('mvn not found on PATH: install Apache Maven (apt-get install maven) or set KAFKA_BROKERS');
  if (result.status !== 0) fail(`Maven could not fetch Kafka ${version} (exit ${result.status})`);
  fs.writeFileSync(marker, new Date().toISOString());
  log(`fetched ${fs.readdirSync(libsDir).length} jars`);
}

function writeServerProperties() {
  // Single node, test-friendly: no replication, no rebalance delay, topics only from the contracts.
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': '1',
    'default.replication.factor': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'delete.topic.enable': 'true',
    'log.retention.hours': '24',
    'log.segment.bytes': String(64 * 1024 * 1024),
  };
  fs.writeFileSync(propsFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
}

function classpath() {
  return path.join(libsDir, '*');
}

function formatStorageOnce() {
  if (fs.existsSync(path.join(dataDir, 'meta.properties'))) return;
  // A Kafka cluster id is 16 random bytes, base64url without padding. Like Kafka's own
  // Uuid.randomUuid(), never one starting with '-': the storage tool would read it as an option.
  let clusterId;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  log(`formatting ${dataDir} (cluster ${clusterId})`);
  const result = spawnSync('java', ['-cp', classpath(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile], {
    encoding: 'utf8',
  });
  if (result.status !== 0) fail(`formatting storage failed:\n${result.stdout}\n${result.stderr}`);
}

async function waitUntilReady(pid) {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (pid !== undefined && readPid() === undefined) {
      fail(`the broker exited during start-up; last lines of ${logFile}:\n${tail(logFile, 30)}`);
    }
    const started = pid === undefined || /Kafka Server started|\[KafkaRaftServer.*started/.test(safeRead(logFile));
    if (started && (await apiVersionsAnswers({ host, port }))) return;
    await sleep(250);
  }
  fail(`the broker did not answer on ${host}:${port} within ${startTimeoutMs} ms; see ${logFile}`);
}

function safeRead(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(file, lines) {
  return safeRead(file).split('\n').slice(-lines).join('\n');
}

async function withStartLock(fn) {
  fs.mkdirSync(stateDir, { recursive: true });
  const deadline = Date.now() + startTimeoutMs + 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const age = Date.now() - fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs;
      if (age > startTimeoutMs + 60_000) fs.rmSync(lockDir, { recursive: true, force: true });
      if (Date.now() > deadline) fail(`another start holds ${lockDir}; remove it if no start is running`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

async function start() {
  if (env.KAFKA_BROKERS) {
    const [first] = parseBrokers(env.KAFKA_BROKERS);
    if (!(await apiVersionsAnswers(first, 5000))) fail(`KAFKA_BROKERS is set but ${first.host}:${first.port} does not answer`);
    log(`using the existing cluster at ${env.KAFKA_BROKERS}`);
    return;
  }
  await withStartLock(async () => {
    if (await apiVersionsAnswers({ host, port })) {
      log(`a broker already answers on ${host}:${port}; reusing it`);
      return;
    }
    checkJava();
    fetchBroker();
    fs.mkdirSync(stateDir, { recursive: true });
    writeServerProperties();
    formatStorageOnce();
    const out = fs.openSync(logFile, 'w');
    const heap = (env.KAFKA_HEAP_OPTS ?? '-Xms256m -Xmx1g').split(/\s+/).filter(Boolean);
    const child = spawn(
      'java',
      [
        ...heap,
        '-XX:+UseG1GC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${path.join(here, 'log4j2.properties')}`,
        '-cp',
        classpath(),
        'kafka.Kafka',
        propsFile,
      ],
      { detached: true, stdio: ['ignore', out, out] },
    );
    child.unref();
    fs.writeFileSync(pidFile, String(child.pid));
    const startedAt = Date.now();
    log(`starting Kafka ${version} (pid ${child.pid}) on ${host}:${port}, log ${logFile}`);
    await waitUntilReady(child.pid);
    log(`ready in ${Date.now() - startedAt} ms`);
  });
}

async function stop() {
  const pid = readPid();
  if (pid === undefined) {
    log('no broker started by this checkout is running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (readPid() !== undefined && Date.now() < deadline) await sleep(200);
  if (readPid() !== undefined) {
    log('broker did not stop within 30 s; killing it');
    process.kill(pid, 'SIGKILL');
    while (readPid() !== undefined) await sleep(100);
  }
  fs.rmSync(pidFile, { force: true });
  log(`stopped (pid ${pid})`);
}

async function status() {
  const target = env.KAFKA_BROKERS ? parseBrokers(env.KAFKA_BROKERS)[0] : { host, port };
  const up = await apiVersionsAnswers(target);
  const pid = readPid();
  log(`${up ? 'answering' : 'not answering'} on ${target.host}:${target.port}${pid ? ` (pid ${pid}, log ${logFile})` : ''}; Kafka ${version}`);
  process.exitCode = up ? 0 : 1;
}

async function reset() {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  log(`deleted ${dataDir}`);
}

const commands = { fetch: async () => fetchBroker(), start, stop, status, reset };
const command = process.argv[2];
if (!commands[command]) {
  fail(`usage: node tools/kafka/kafka.mjs <${Object.keys(commands).join('|')}>`);
}
await commands[command]();
