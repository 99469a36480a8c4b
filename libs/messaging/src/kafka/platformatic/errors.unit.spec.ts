import { MultipleErrors, NetworkError, ProtocolError, protocolErrors, ResponseError, UserError } from '@platformatic/kafka';
import { classifyFailure } from '@platform/core';
import { judgeSendFailure } from '../../outbox/send-failure';
import { asKafkaRefusal, KafkaRefusal } from './errors';

/** What @platformatic/kafka 2.12 throws when a produce is answered with an error code (seen against a real broker). */
function produceAnswered(...codes: string[]): Error {
  const response = new ResponseError(0, 11, Object.fromEntries(codes.map((code, i) => [`/topics/0/partitions/${i}`, [protocolErrors[code].code, null]])), {});
  return new MultipleErrors('Producing messages failed.', [response]);
}

describe('asKafkaRefusal: @platformatic/kafka send failures as the library reads refusals', () => {
  it('reads a record Kafka refuses as a record refusal no retry changes', () => {
    const refusal = asKafkaRefusal(produceAnswered('MESSAGE_TOO_LARGE'));
    expect(refusal).toBeInstanceOf(KafkaRefusal);
    expect(refusal).toMatchObject({ type: 'MESSAGE_TOO_LARGE', retriable: false });
    expect(classifyFailure(refusal)).toBe('permanent');
    expect(judgeSendFailure(refusal)).toMatchObject({ verdict: 'record-refused', errorName: 'MESSAGE_TOO_LARGE' });
  });

  it('prefers the answer no retry changes when a send got several', () => {
    expect(asKafkaRefusal(produceAnswered('NOT_LEADER_OR_FOLLOWER', 'MESSAGE_TOO_LARGE'))).toMatchObject({ type: 'MESSAGE_TOO_LARGE', retriable: false });
    expect(asKafkaRefusal(produceAnswered('NOT_LEADER_OR_FOLLOWER'))).toMatchObject({ type: 'NOT_LEADER_OR_FOLLOWER', retriable: true });
    expect(judgeSendFailure(asKafkaRefusal(produceAnswered('NOT_LEADER_OR_FOLLOWER'))).verdict).toBe('unavailable');
  });

  it('reads the client\'s "Unknown topic" as the topic refused', () => {
    const refusal = asKafkaRefusal(new UserError('Unknown topic outbox.missing.'));
    expect(refusal).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    expect(judgeSendFailure(refusal).verdict).toBe('topic-refused');
  });

  it('leaves a failure Kafka did not answer as it was: the rows wait', () => {
    const away = new MultipleErrors('metadata failed 3 times.', [new MultipleErrors('Cannot connect to any broker.', [new NetworkError('Connection to 127.0.0.1:9 failed.')])]);
    expect(asKafkaRefusal(away)).toBe(away);
    expect(judgeSendFailure(asKafkaRefusal(away)).verdict).toBe('unavailable');
    const other = new UserError('something else.');
    expect(asKafkaRefusal(other)).toBe(other);
  });

  it('reads a single protocol error too', () => {
    expect(asKafkaRefusal(new ProtocolError('TOPIC_AUTHORIZATION_FAILED'))).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false });
  });
});
