import { EnvReader, readAuthSettings, readKafkaSecurity, type Env, type KafkaSecurity } from '@platform/service-kit';
import type { TopologyService } from '../topology/topology';

export interface ConsoleConfig extends KafkaSecurity {
  readonly port: number;
  readonly kafkaBrokers: readonly string[];
  /** The services' KAFKA_NAMESPACE: the console shows that platform's topics and groups. */
  readonly kafkaNamespace: string;
  /** What a write (redrive, rebuild) must present as `Authorization: Bearer <token>`. */
  readonly operatorToken: string;
  /** Each service's HTTP base URL, by name. */
  readonly serviceUrls: Readonly<Record<string, string>>;
  /** How the console signs the operator tokens it calls the services with: their secret, issuer and audience. */
  readonly serviceAuth: ServiceAuth;
}

export interface ServiceAuth {
  readonly secret: string;
  readonly issuer?: string;
  readonly audience?: string;
}

export const CONSOLE_DEFAULT_PORT = 3000;

/** Shorter tokens are guessable; `npm start` generates a random 32-byte one. */
const MIN_TOKEN_LENGTH = 16;

/**
 * The console's configuration. Service URLs default to the catalog ports on 127.0.0.1 (`npm start`);
 * `<SERVICE>_URL` moves one (a Kubernetes Service name, a test's port). CONSOLE_TOKEN has no
 * default: a console that anyone can make redrive must be asked for explicitly.
 */
export function loadConsoleConfig(services: readonly TopologyService[], env: Env = process.env): ConsoleConfig {
  const read = new EnvReader(env);
  const serviceUrls = Object.fromEntries(
    services.map((s) => [s.name, read.url(`${s.name.toUpperCase()}_URL`, `http://127.0.0.1:${s.port}`, ['http:', 'https:']).replace(/\/+$/, '')]),
  );
  const config: ConsoleConfig = {
    port: read.int('PORT', CONSOLE_DEFAULT_PORT, { min: 1, max: 65_535 }),
    kafkaBrokers: read.list('KAFKA_BROKERS', '127.0.0.1:9092', { test: /^[A-Za-z0-9.-]+:\d{1,5}$/, description: 'host:port' }),
    kafkaNamespace: read.optional('KAFKA_NAMESPACE', { test: /^[a-z0-9][a-z0-9_-]*$/, description: 'lower-case letters, digits, "_" and "-"' }),
    ...readKafkaSecurity(read, env),
    operatorToken: read.string('CONSOLE_TOKEN', undefined, { test: new RegExp(`^\\S{${MIN_TOKEN_LENGTH},}$`), description: `at least ${MIN_TOKEN_LENGTH} characters without spaces` }),
    serviceUrls,
    serviceAuth: readServiceAuth(read, env),
  };
  read.done();
  return config;
}

/**
 * The services' own AUTH_* settings (the same defaults, and the same refusal of the development
 * secret under NODE_ENV=production): the console signs with the secret they verify with. A JWKS
 * URL only verifies; the console cannot sign for an identity provider.
 */
function readServiceAuth(read: EnvReader, env: Env): ServiceAuth {
  const auth = readAuthSettings(read, env);
  if (auth.kind === 'jwks') {
    read.refuse('AUTH_JWKS_URL is set: the console signs its own operator tokens and needs AUTH_JWT_SECRET, the secret the services verify with');
    return { secret: '' };
  }
  return { secret: auth.secret, issuer: auth.issuer, audience: auth.audience };
}
