import type { TopicSpec } from '@platform/messaging';
import { GENERATED_HEADER } from '../render/yaml';

/** Safe inside single quotes in sh; topic names and config values are plain tokens anyway. */
const SHELL_TOKEN = /^[A-Za-z0-9._=-]+$/;

function token(value: string): string {
  if (!SHELL_TOKEN.test(value)) throw new Error(`"${value}" cannot be written into the topic script`);
  return value;
}

/**
 * The compose stack's one-shot topic provisioning (run in the apache/kafka image): every topic
 * of every service, as in the KafkaTopic resources, replication factor 1 (a single broker).
 * `--if-not-exists` makes `docker compose up` repeatable.
 */
export function createTopicsScript(topics: readonly TopicSpec[]): string {
  const lines = topics.map((t) => {
    const configs = Object.entries(t.config).map(([key, value]) => ` --config ${token(key)}=${token(value)}`);
    return `create_topic ${token(t.topic)} ${t.partitions}${configs.join('')}`;
  });
  return [
    '#!/bin/sh',
    `# ${GENERATED_HEADER}`,
    'set -eu',
    'BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"',
    '',
    'create_topic() {',
    '  topic="$1"; partitions="$2"; shift 2',
    '  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \\',
    '    --topic "$topic" --partitions "$partitions" --replication-factor 1 "$@"',
    '}',
    '',
    ...lines,
    `echo "${topics.length} topics present"`,
    '',
  ].join('\n');
}
