import { readFileSync } from 'node:fs';
import type { KafkaTls } from '@platform/messaging';
import type { Env, EnvReader } from './env';

/** Kafka's own names for how a client reaches a listener: TLS or not, SASL or not. */
export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export interface KafkaCredentials {
  readonly mechanism: (typeof SASL_MECHANISMS)[number];
  readonly username: string;
  readonly password: string;
}

/** How a service or the console connects to Kafka, beyond where. */
export interface KafkaSecurity {
  readonly kafkaSecurityProtocol: KafkaSecurityProtocol;
  /** SASL credentials (e.g. a Strimzi KafkaUser's): set exactly when the protocol is SASL_*. */
  readonly kafkaSasl?: KafkaCredentials;
  /** TLS to the brokers: set exactly when the protocol is SSL or SASL_SSL. */
  readonly kafkaTls?: KafkaTls;
}

const SASL_VARIABLES = ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const;

/**
 * KAFKA_SECURITY_PROTOCOL (PLAINTEXT by default) decides which of the other variables apply, and
 * a variable that would be ignored is refused instead: credentials set beside PLAINTEXT would
 * otherwise connect unauthenticated, and a CA file beside SASL_PLAINTEXT would send the password
 * in the clear while looking protected.
 */
export function readKafkaSecurity(read: EnvReader, env: Env): KafkaSecurity {
  if (env['KAFKA_SSL'] !== undefined) read.refuse('KAFKA_SSL is no longer read: set KAFKA_SECURITY_PROTOCOL to SSL or SASL_SSL instead');
  const protocol = read.oneOf('KAFKA_SECURITY_PROTOCOL', 'PLAINTEXT', KAFKA_SECURITY_PROTOCOLS);
  const sasl = protocol.startsWith('SASL_');
  const tls = protocol.endsWith('SSL');
  if (!sasl) {
    const set = SASL_VARIABLES.filter((name) => env[name] !== undefined && env[name] !== '');
    if (set.length > 0) read.refuse(`${set.join(', ')} need KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT (got "${protocol}")`);
  }
  const caFile = env['KAFKA_SSL_CA_FILE'] ?? '';
  if (!tls && caFile !== '') read.refuse(`KAFKA_SSL_CA_FILE needs KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL (got "${protocol}")`);
  return {
    kafkaSecurityProtocol: protocol,
    kafkaSasl: sasl
      ? {
          mechanism: read.oneOf('KAFKA_SASL_MECHANISM', 'scram-sha-512', SASL_MECHANISMS),
          username: read.string('KAFKA_SASL_USERNAME'),
          password: read.string('KAFKA_SASL_PASSWORD'),
        }
      : undefined,
    kafkaTls: tls ? { ca: caFile === '' ? undefined : readCa(read, caFile) } : undefined,
  };
}

/** The CA certificates, read at start so a wrong path stops the service with its name, not at the first connection. */
function readCa(read: EnvReader, file: string): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    read.refuse(`KAFKA_SSL_CA_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}: "${file}")`);
    return undefined;
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) read.refuse(`KAFKA_SSL_CA_FILE must hold PEM certificates ("${file}" has none)`);
  return pem;
}
