/**
 * npm run redrive -- <service> <use-case> [--namespace <ns>] [--brokers host:port,...]
 * Re-applies a use case's dead letters, in order, through that use case (see
 * redriveDeadLetters). Safe to repeat: a cursor remembers what was redriven.
 */
import { stderrLogger } from '@platform/core';
import { KafkaJsBroker, KafkaNaming, redriveDeadLetters } from '@platform/messaging';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const [service, useCase] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (!service || !useCase) {
    process.stderr.write('usage: npm run redrive -- <service> <use-case> [--namespace <ns>] [--brokers host:port,...]\n');
    process.exit(2);
  }
  const brokers = (option('brokers') ?? process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
  const naming = new KafkaNaming(option('namespace') ?? process.env['KAFKA_NAMESPACE'] ?? '');
  const logger = stderrLogger('redrive', 'warn');
  process.stderr.write(`redriving ${naming.deadLetterTopic(service, useCase)} -> ${naming.redriveTopic(service, useCase)}\n`);
  const count = await redriveDeadLetters({
    broker: new KafkaJsBroker({ brokers, clientId: 'redrive', logger }),
    naming,
    service,
    useCase,
    logger,
    onProgress: (done, total) => {
      if (done % 100 === 0 || done === total) process.stderr.write(`  ${done}/${total}\n`);
    },
  });
  process.stdout.write(`${count} dead letter(s) redriven to ${naming.redriveTopic(service, useCase)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`redrive failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
