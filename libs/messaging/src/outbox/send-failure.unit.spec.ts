import { KafkaJSConnectionError, KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { judgeSendFailure } from './send-failure';

/** A broker's answer, as kafkajs turns an error code into an error. */
function answer(type: string, retriable: boolean): Error {
  return new KafkaJSProtocolError(Object.assign(new Error(`${type} from the broker`), { type, retriable, code: 0 }));
}

/** What kafkajs throws once its own retries are spent. */
const afterRetries = (error: Error) => new KafkaJSNumberOfRetriesExceeded(error, { retryCount: 5, retryTime: 2000 });

describe('judgeSendFailure: whose fault is a failed send', () => {
  it('blames the record for a non-retriable answer about it', () => {
    expect(judgeSendFailure(answer('MESSAGE_TOO_LARGE', false))).toEqual({
      verdict: 'record-refused',
      errorName: 'MESSAGE_TOO_LARGE',
      message: 'MESSAGE_TOO_LARGE from the broker',
    });
    expect(judgeSendFailure(answer('INVALID_RECORD', false)).verdict).toBe('record-refused');
    expect(judgeSendFailure(answer('POLICY_VIOLATION', false)).verdict).toBe('record-refused');
  });

  it('blames the topic when it is gone or forbidden, also after kafkajs retried', () => {
    expect(judgeSendFailure(afterRetries(answer('UNKNOWN_TOPIC_OR_PARTITION', true)))).toMatchObject({
      verdict: 'topic-refused',
      errorName: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    expect(judgeSendFailure(answer('TOPIC_AUTHORIZATION_FAILED', false)).verdict).toBe('topic-refused');
  });

  it('blames nobody when Kafka is away, busy, or the producer session is off', () => {
    expect(judgeSendFailure(afterRetries(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092')))).toMatchObject({
      verdict: 'unavailable',
      errorName: 'KafkaJSConnectionError',
    });
    expect(judgeSendFailure(afterRetries(answer('LEADER_NOT_AVAILABLE', true))).verdict).toBe('unavailable');
    expect(judgeSendFailure(afterRetries(answer('NOT_ENOUGH_REPLICAS', true))).verdict).toBe('unavailable');
    expect(judgeSendFailure(answer('OUT_OF_ORDER_SEQUENCE_NUMBER', false)).verdict).toBe('unavailable');
    expect(judgeSendFailure(answer('CLUSTER_AUTHORIZATION_FAILED', false)).verdict).toBe('unavailable');
    expect(judgeSendFailure(new KafkaJSError('The producer is disconnected')).verdict).toBe('unavailable');
    expect(judgeSendFailure(new KafkaJSNonRetriableError("The producer is disconnecting; therefore, it can't safely accept messages anymore")).verdict).toBe('unavailable');
    // Our own bugs are never a row's fault either.
    expect(judgeSendFailure(new TypeError('x is not a function')).verdict).toBe('unavailable');
    expect(judgeSendFailure('thrown string').verdict).toBe('unavailable');
  });
});
