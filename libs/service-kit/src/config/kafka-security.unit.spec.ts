import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvReader, type Env } from './env';
import { readKafkaSecurity } from './kafka-security';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

function read(env: Env) {
  const reader = new EnvReader(env);
  const security = readKafkaSecurity(reader, env);
  reader.done();
  return security;
}

const credentials = { KAFKA_SASL_USERNAME: 'users', KAFKA_SASL_PASSWORD: 's3cret' };

describe('Kafka security configuration', () => {
  let dir: string;
  let caFile: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kafka-security-'));
    caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, CA_PEM);
    writeFileSync(path.join(dir, 'not-a-cert.pem'), 'hello');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is PLAINTEXT without SASL or TLS by default, as the development broker listens', () => {
    expect(read({})).toEqual({ kafkaSecurityProtocol: 'PLAINTEXT', kafkaSasl: undefined, kafkaTls: undefined });
  });

  it('SASL_SSL: SCRAM-SHA-512 unless told otherwise, TLS trusting the CA file', () => {
    expect(read({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', ...credentials, KAFKA_SSL_CA_FILE: caFile })).toEqual({
      kafkaSecurityProtocol: 'SASL_SSL',
      kafkaSasl: { mechanism: 'scram-sha-512', username: 'users', password: 's3cret' },
      kafkaTls: { ca: CA_PEM },
    });
    expect(read({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'scram-sha-256', ...credentials }).kafkaSasl?.mechanism).toBe('scram-sha-256');
  });

  it("TLS without a CA file trusts Node's own CAs", () => {
    expect(read({ KAFKA_SECURITY_PROTOCOL: 'SSL' })).toEqual({ kafkaSecurityProtocol: 'SSL', kafkaSasl: undefined, kafkaTls: { ca: undefined } });
  });

  it('SASL_PLAINTEXT: credentials without TLS', () => {
    expect(read({ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', ...credentials })).toMatchObject({ kafkaSasl: { username: 'users' }, kafkaTls: undefined });
  });

  it.each<[string, Env, RegExp]>([
    ['an unknown protocol', { KAFKA_SECURITY_PROTOCOL: 'TLS' }, /KAFKA_SECURITY_PROTOCOL must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL \(got "TLS"\)/],
    ['SASL without its username and password', { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }, /KAFKA_SASL_USERNAME is required[\s\S]*KAFKA_SASL_PASSWORD is required/],
    ['an unknown mechanism', { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'kerberos', ...credentials }, /KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512/],
    ['credentials beside PLAINTEXT (they would be ignored)', { KAFKA_SASL_MECHANISM: 'scram-sha-512', ...credentials }, /KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD need KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT \(got "PLAINTEXT"\)/],
    ['credentials beside SSL', { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SASL_PASSWORD: 'p' }, /KAFKA_SASL_PASSWORD need KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT \(got "SSL"\)/],
    ['a CA file without TLS', { KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', ...credentials, KAFKA_SSL_CA_FILE: '/etc/ca.pem' }, /KAFKA_SSL_CA_FILE needs KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL \(got "SASL_PLAINTEXT"\)/],
    ['a CA file that is not there', { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }, /KAFKA_SSL_CA_FILE cannot be read \(ENOENT: "\/nonexistent\/ca.pem"\)/],
    ['the retired KAFKA_SSL', { KAFKA_SSL: 'true' }, /KAFKA_SSL is no longer read: set KAFKA_SECURITY_PROTOCOL to SSL or SASL_SSL instead/],
  ])('refuses %s, naming the variables', (_case, env, message) => {
    expect(() => read(env)).toThrow(message);
  });

  it('refuses a CA file without certificates', () => {
    expect(() => read({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: path.join(dir, 'not-a-cert.pem') })).toThrow(/KAFKA_SSL_CA_FILE must hold PEM certificates/);
  });
});
