#!/usr/bin/env node
// The platform's single-node Kafka broker (KRaft) for development and tests.
//
//   node tools/kafka/kafka.mjs fetch    download the pinned broker through Maven (cached outside git)
//   node tools/kafka/kafka.mjs start    fetch if needed, format storage once, start, wait until it answers
//   node tools/kafka/kafka.mjs stop     stop the broker this checkout started
//   node tools/kafka/kafka.mjs status   say whether a broker answers and where
//   node tools/kafka/kafka.mjs reset    stop and delete the broker's data
//
//   node tools/kafka/kafka.mjs scram-user <name> <password>
//                                       create or update a SCRAM-SHA-512 user (through the plain listener)
//
// Two client listeners. PLAINTEXT on KAFKA_PORT for development: its ANONYMOUS principal is a
// super user, so everything works there as if no authorizer ran. SASL_SSL on KAFKA_SASL_SSL_PORT
// (default KAFKA_PORT + 2): SCRAM-SHA-512 users over TLS, with the standard KRaft authorizer
// enforcing ACLs; the `admin` user is a super user. The CA and the broker's certificate are
// generated under the state dir on first start; `<state dir>/sasl-ssl.json` tells clients
// where to connect, which CA to trust and the admin's credentials.
//
// With KAFKA_BROKERS set, start/status only check that the first of those brokers answers:
// everything then runs against that cluster and nothing is started here.
//
// Plain Node with no dependencies on purpose: it runs before `npm ci` has finished on a fresh machine.
import { spawn, spawnSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
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
const saslSslPort = intFromEnv('KAFKA_SASL_SSL_PORT', port + 2);
const stateDir = path.resolve(env.KAFKA_STATE_DIR ?? path.join(repoRoot, '.kafka'));
const cacheDir = path.resolve(env.KAFKA_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'platform-kafka'));
const libsDir = path.join(cacheDir, version, 'libs');
const dataDir = path.join(stateDir, 'data');
const pidFile = path.join(stateDir, 'broker.pid');
const logFile = path.join(stateDir, 'broker.log');
const propsFile = path.join(stateDir, 'server.properties');
const lockDir = path.join(stateDir, 'start.lock');
const tlsDir = path.join(stateDir, 'tls');
const caFile = path.join(tlsDir, 'ca.pem');
const brokerKeystoreFile = path.join(tlsDir, 'broker-keystore.pem');
const clientInfoFile = path.join(stateDir, 'sasl-ssl.json');
/** Which formatted storage already holds the admin's SCRAM credentials: the cluster id it was written for. */
const scramAdminMarker = path.join(stateDir, 'scram-admin.cluster-id');
/** The super user of the SASL_SSL listener. A development broker on the loopback: a fixed, documented password. */
const admin = { username: 'admin', password: env.KAFKA_ADMIN_PASSWORD || 'admin-secret' };
/** SCRAM-SHA-512 as Kafka's AlterUserScramCredentials names it, and the iterations Kafka's own tools use. */
const SCRAM_SHA_512 = { id: 2, iterations: 4096 };
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
 * Sends one Kafka request (header and body already encoded, without the size) and resolves with
 * the response after its size, or undefined when nothing well-formed came back in time.
 */
function kafkaRequest(target, request, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const frame = Buffer.alloc(4 + request.length);
    frame.writeInt32BE(request.length, 0);
    request.copy(frame, 4);
    let received = Buffer.alloc(0);
    const socket = net.connect(target.port, target.host);
    const done = (response) => {
      socket.destroy();
      resolve(response);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length >= 4 + size) done(received.subarray(4, 4 + size));
    });
  });
}

const CLIENT_ID = Buffer.from('platform-kafka-tool');

/** Request header v1 (v2 adds an empty tagged-field section for flexible versions). */
function requestHeader(apiKey, apiVersion, correlationId, flexible) {
  const header = Buffer.alloc(10 + CLIENT_ID.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(CLIENT_ID.length, 8);
  CLIENT_ID.copy(header, 10);
  return flexible ? Buffer.concat([header, Buffer.from([0])]) : header;
}

/**
 * Sends a Kafka ApiVersions v0 request and resolves true when a well-formed answer with
 * error code 0 comes back: the broker is up and speaking the protocol, not just listening.
 */
async function apiVersionsAnswers(target, timeoutMs = 2000) {
  const response = await kafkaRequest(target, requestHeader(18, 0, 7, false), timeoutMs);
  return response !== undefined && response.length >= 6 && response.readInt32BE(0) === 7 && response.readInt16BE(4) === 0;
}

function unsignedVarint(value) {
  const bytes = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return Buffer.from(bytes);
}

/** A COMPACT_STRING / COMPACT_BYTES: length + 1 as an unsigned varint, then the bytes. */
const compact = (bytes) => Buffer.concat([unsignedVarint(bytes.length + 1), bytes]);

function readUnsignedVarint(buffer, offset) {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = buffer[offset++];
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, offset];
  }
}

/**
 * Creates or updates a SCRAM-SHA-512 user through the plain listener (its ANONYMOUS principal is
 * a super user) with AlterUserScramCredentials v0: the client salts and hashes, as Kafka's own
 * tools do, so the password never reaches the broker. Resolves with the broker's error, if any.
 */
async function upsertScramUser(name, password) {
  const salt = randomBytes(32);
  const salted = pbkdf2Sync(password, salt, SCRAM_SHA_512.iterations, 64, 'sha512');
  const iterations = Buffer.alloc(4);
  iterations.writeInt32BE(SCRAM_SHA_512.iterations, 0);
  const body = Buffer.concat([
    unsignedVarint(1), // no deletions
    unsignedVarint(2), // one upsertion
    compact(Buffer.from(name)),
    Buffer.from([SCRAM_SHA_512.id]),
    iterations,
    compact(salt),
    compact(salted),
    Buffer.from([0]), // the upsertion's tagged fields
    Buffer.from([0]), // the request's tagged fields
  ]);
  const response = await kafkaRequest({ host, port }, Buffer.concat([requestHeader(51, 0, 11, true), body]), 10_000);
  if (response === undefined) return `no answer from ${host}:${port}`;
  // Response header v1: correlation id, tagged fields; body: throttle, results[user, error code, message].
  const [count, afterCount] = readUnsignedVarint(response, 4 + 1 + 4);
  if (count - 1 !== 1) return `unexpected answer (${count - 1} results)`;
  let [length, offset] = readUnsignedVarint(response, afterCount);
  offset += length - 1;
  const errorCode = response.readInt16BE(offset);
  if (errorCode === 0) return undefined;
  [length, offset] = readUnsignedVarint(response, offset + 2);
  const message = length > 0 ? response.subarray(offset, offset + length - 1).toString() : '';
  return `error ${errorCode}${message ? `: ${message}` : ''}`;
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

function openssl(args, what) {
  const result = spawnSync('openssl', args, { encoding: 'utf8', cwd: tlsDir });
  if (result.error) fail('openssl not found on PATH: the SASL_SSL listener needs it for its certificates (apt-get install openssl)');
  if (result.status !== 0) fail(`openssl could not ${what}:\n${result.stderr}`);
}

/**
 * A CA and a broker certificate signed by it, for 127.0.0.1 and localhost, made once per state
 * dir (EC P-256: generated in milliseconds). Clients trust ca.pem; the broker reads its key and
 * chain from one PEM keystore. The CA's key stays beside them so a lost broker certificate is
 * reissued under the same CA that clients already trust.
 */
function ensureCertificates() {
  fs.mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const caKey = path.join(tlsDir, 'ca.key');
  if (!fs.existsSync(caFile) || !fs.existsSync(caKey)) {
    log(`generating a development CA in ${tlsDir}`);
    fs.rmSync(brokerKeystoreFile, { force: true });
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650',
        '-subj', '/CN=platform development Kafka CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      'create the CA',
    );
  }
  if (fs.existsSync(brokerKeystoreFile)) return;
  fs.writeFileSync(path.join(tlsDir, 'broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', `/CN=${host}`], 'create the broker key');
  openssl(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.crt', '-days', '825', '-extfile', 'broker.ext'], 'sign the broker certificate');
  // Kafka's PEM keystore: the PKCS#8 key, then the chain (broker certificate, CA).
  const keystore = ['broker.key', 'broker.crt', 'ca.pem'].map((f) => fs.readFileSync(path.join(tlsDir, f), 'utf8').trim()).join('\n') + '\n';
  fs.writeFileSync(brokerKeystoreFile, keystore, { mode: 0o600 });
  for (const f of ['broker.csr', 'broker.ext']) fs.rmSync(path.join(tlsDir, f), { force: true });
}

function writeServerProperties() {
  // Single node, test-friendly: no replication, no rebalance delay, topics only from the contracts.
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort},SASL_SSL://${host}:${saslSslPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port},SASL_SSL://${host}:${saslSslPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    // ACLs are enforced on every listener; the plain ones (development, the broker's own
    // controller traffic) authenticate no one, so ANONYMOUS is a super user there, and so is admin.
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': `User:ANONYMOUS;User:${admin.username}`,
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': brokerKeystoreFile,
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

function clusterIdOfStorage() {
  return /^cluster\.id=(.+)$/m.exec(safeRead(path.join(dataDir, 'meta.properties')))?.[1]?.trim();
}

function formatStorageOnce() {
  if (fs.existsSync(path.join(dataDir, 'meta.properties'))) return;
  // A Kafka cluster id is 16 random bytes, base64url without padding. Like Kafka's own
  // Uuid.randomUuid(), never one starting with '-': the storage tool would read it as an option.
  let clusterId;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  log(`formatting ${dataDir} (cluster ${clusterId})`);
  const scramAdmin = `SCRAM-SHA-512=[name=${admin.username},password=${admin.password}]`;
  const result = spawnSync('java', ['-cp', classpath(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--add-scram', scramAdmin], {
    encoding: 'utf8',
  });
  if (result.status !== 0) fail(`formatting storage failed:\n${result.stdout}\n${result.stderr}`);
  fs.writeFileSync(scramAdminMarker, clusterId);
}

/**
 * Storage formatted before the SASL_SSL listener existed has no admin user: add it through the
 * plain listener once the broker runs (an upsert, as format would have written it).
 */
async function ensureScramAdmin() {
  const clusterId = clusterIdOfStorage();
  if (clusterId !== undefined && safeRead(scramAdminMarker).trim() === clusterId) return;
  const error = await upsertScramUser(admin.username, admin.password);
  if (error) fail(`could not create the SCRAM user ${admin.username}: ${error}`);
  if (clusterId !== undefined) fs.writeFileSync(scramAdminMarker, clusterId);
  log(`added the SCRAM user ${admin.username} to storage formatted without it`);
}

/** Where and how clients reach the SASL_SSL listener (read by libs/testing and by people). */
function writeClientInfo() {
  const info = {
    bootstrap: `${host}:${saslSslPort}`,
    securityProtocol: 'SASL_SSL',
    mechanism: 'scram-sha-512',
    caFile,
    admin,
  };
  fs.writeFileSync(clientInfoFile, JSON.stringify(info, null, 2) + '\n');
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
    ensureCertificates();
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
    log(`starting Kafka ${version} (pid ${child.pid}) on ${host}:${port} (SASL_SSL on ${saslSslPort}), log ${logFile}`);
    await waitUntilReady(child.pid);
    await ensureScramAdmin();
    writeClientInfo();
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
  if (!env.KAFKA_BROKERS && fs.existsSync(clientInfoFile)) log(`SASL_SSL on ${host}:${saslSslPort}: ${clientInfoFile}`);
  process.exitCode = up ? 0 : 1;
}

async function scramUser() {
  const [name, password] = process.argv.slice(3);
  if (!name || !password) fail('usage: node tools/kafka/kafka.mjs scram-user <name> <password>');
  if (!(await apiVersionsAnswers({ host, port }))) fail(`no broker answers on ${host}:${port}`);
  const error = await upsertScramUser(name, password);
  if (error) fail(`could not create the SCRAM user ${name}: ${error}`);
  log(`SCRAM-SHA-512 user ${name} created or updated`);
}

async function reset() {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  log(`deleted ${dataDir}`);
}

const commands = { fetch: async () => fetchBroker(), start, stop, status, reset, 'scram-user': scramUser };
const command = process.argv[2];
if (!commands[command]) {
  fail(`usage: node tools/kafka/kafka.mjs <${Object.keys(commands).join('|')}>`);
}
await commands[command]();
