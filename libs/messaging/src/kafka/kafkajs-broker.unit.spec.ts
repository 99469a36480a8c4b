import { logLevel, type LogEntry } from 'kafkajs';
import { kafkajsLogLine } from './kafkajs-broker';

const entry = (level: logLevel, log: Record<string, unknown>): LogEntry => ({ namespace: 'Connection', level, label: 'ERROR', log: { timestamp: '2026-11-30T00:00:00.000Z', message: 'Response ListOffsets', ...log } });

describe('kafkajsLogLine', () => {
  it("keeps kafkajs's request number out of the correlationId field, and drops its timestamp", () => {
    expect(kafkajsLogLine(entry(logLevel.ERROR, { broker: '127.0.0.1:9092', correlationId: 8, error: 'not the leader' }))).toEqual({
      level: 'warn',
      message: 'kafkajs Connection: Response ListOffsets',
      fields: { broker: '127.0.0.1:9092', error: 'not the leader', kafkaCorrelationId: 8 },
    });
  });

  it('logs below warn at debug, and leaves out the idempotent producer notice', () => {
    expect(kafkajsLogLine(entry(logLevel.INFO, {}))).toMatchObject({ level: 'debug', fields: {} });
    expect(kafkajsLogLine(entry(logLevel.WARN, { message: 'Limiting retries for the idempotent producer to 5' }))).toBeUndefined();
  });
});
