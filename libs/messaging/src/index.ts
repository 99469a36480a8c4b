// The public surface of libs/messaging: what services, tools and tests use, by name.

// Kafka behind a port, and the names of topics and groups
export type {
  Broker,
  BrokerAdmin,
  GroupConsumer,
  IncomingMessage,
  LogRange,
  MessageProducer,
  MessageRange,
  MessageTimestamp,
  OutgoingMessage,
  PartitionBatch,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
} from './kafka/broker';
export { KafkaJsBroker, type KafkaJsBrokerOptions, type KafkaTls } from './kafka/kafkajs-broker';
export { PlatformaticBroker, type PlatformaticBrokerOptions } from './kafka/platformatic-broker';
export { createBroker, DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, type KafkaClient } from './kafka/create-broker';
export { KafkaNaming, type UseCaseNames } from './kafka/naming';
export { ensureTopics, TopicMismatchError, topicSpecFor, USE_CASE_TOPIC_RETENTION_MS, useCaseTopicSpecs } from './kafka/ensure-topics';

// Envelopes on the wire
export { isEvent, type EventEnvelope, type EventMetadata, type ReceivedEnvelope, type UpcastOrigin } from './envelope/envelope';
export { CE, MalformedMessageError } from './envelope/cloudevents-headers';

// Publishing: the outbox and its relay
export { MESSAGING_MIGRATIONS } from './outbox/outbox.schema';
export { OutboxPublisher, type PendingEvent } from './outbox/publisher';
export { OutboxRelay, type OutboxRelayOptions, type OutboxRelayStats } from './outbox/outbox-relay';
export { RELAY_LOCK_IN_PG_LOCKS } from './outbox/relay-statements';
export { OutboxDeadLetters, type OutboxDeadLetter, type OutboxDeadLetterSelection } from './outbox/outbox-dead-letters';

// Consuming: use cases, their failures and their dead letters
export type { EnvelopeOf, HandlerContext, UseCase } from './consumer/use-case';
export { NonRetriableError, RetriableError } from '@platform/core';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './consumer/retry-policy';
export { DLQ, type DeadLetterReason } from './consumer/dead-letters';
export { readDeadLetters, redriveChosenDeadLetters, redriveDeadLetters, type DeadLetter, type DeadLetterPosition, type RedriveOptions } from './consumer/redrive';
export { DEFAULT_PARTITIONS_CONCURRENTLY, UseCaseConsumer, type ConsumerStatus } from './consumer/use-case-consumer';
export { DEFAULT_MAX_PER_TRANSACTION, DEFAULT_TRANSACTIONS_PER_PARTITION } from './consumer/event-handling';
export { DEFAULT_MAX_BUFFERED_BYTES } from './consumer/buffer-budget';

// Windows
export type { EventWindow, LateEventHandler, WindowBatchContext, WindowedUseCase } from './windowing/windowed-use-case';
export type { WindowSpec } from './windowing/window-spec';
export type { WindowCloser } from './windowing/window-closer';

// Sagas
export { isSaga, type Saga, type SagaDecision, type SagaEnding, type SagaInput, type SagaJson, type ScheduledTimeout } from './saga/saga';
export { sagaSpecification, type SagaOutcome } from './saga/saga-specification';
export {
  compensatingProcess,
  currentProcessStep,
  isProcessState,
  PROCESS_TIMEOUTS,
  type CompensationRecord,
  type CompensationStatus,
  type ProcessCompensation,
  type ProcessDefinition,
  type ProcessLogic,
  type ProcessPhase,
  type ProcessState,
  type ProcessStep,
  type StepAnswer,
  type StepRecord,
  type StepStatus,
} from './saga/compensating-process';
export { listSagaInstances, readSagaInstance, SAGA_STATUSES, type SagaInstanceSummary, type SagaInstanceView, type SagaListQuery } from './saga/saga-view';
export type { SagaStatus } from './saga/saga-store';

// Metrics: the families, and consumer lag as read from the broker
export { MESSAGING_METRICS, UseCaseMetrics } from './metrics/messaging-metrics';
export { SAGA_METRICS, SagaMetrics } from './metrics/saga-metrics';
export { byPartitionOnce, ConsumerLagReader, lagSeconds, partitionLag, type LagGroup, type PartitionLag } from './metrics/consumer-lag';

// One service's messaging, declared
export { ServiceMessaging, type AnyUseCase, type RunningUseCase, type ServiceMessagingOptions } from './service-messaging';
