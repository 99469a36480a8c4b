import type { EventMetadata, RecordedEvent } from './event';
import { toSafeNumber } from './log-position';

/** The columns every read selects, in the shape `toRecordedEvent` maps. */
export const EVENT_COLUMNS = `e.event_id, e.event_type, e.stream_id, e.stream_version, e.global_position,
  e.transaction_id::text AS transaction_id, e.data, e.metadata, e.recorded_at`;

export interface EventRow {
  event_id: string;
  event_type: string;
  stream_id: string;
  stream_version: string;
  global_position: string;
  transaction_id: string;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

export function toRecordedEvent<T = unknown>(row: EventRow): RecordedEvent<T> {
  return {
    id: row.event_id,
    type: row.event_type,
    data: row.data as T,
    metadata: row.metadata,
    streamId: row.stream_id,
    streamVersion: toSafeNumber(row.stream_version, 'stream version'),
    globalPosition: toSafeNumber(row.global_position, 'global position'),
    transactionId: toSafeNumber(row.transaction_id, 'transaction id'),
    recordedAt: row.recorded_at,
  };
}
