import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigurationError } from '@platform/service-kit';
import { AppModule } from './app.module';
import { loadConsoleConfig } from './config/console-config';
import { ConsoleSettings } from './settings';
import { DECLARED_SERVICES, topologyIn } from './topology/topology';

/** Exit code for bad configuration, as the services use (EX_CONFIG). */
const EX_CONFIG = 78;

async function main(): Promise<void> {
  let settings: ConsoleSettings;
  try {
    const config = loadConsoleConfig(DECLARED_SERVICES);
    settings = new ConsoleSettings(config, topologyIn(config.kafkaNamespace));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    process.stderr.write(`console: ${error.message}\n`);
    process.exit(EX_CONFIG);
  }
  const app = await NestFactory.create(AppModule.forSettings(settings), { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  await app.listen(settings.config.port, process.env['HOST'] ?? '0.0.0.0');
  process.stdout.write(`console listening on http://127.0.0.1:${settings.config.port}\n`);
}

main().catch((error) => {
  process.stderr.write(`console failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
