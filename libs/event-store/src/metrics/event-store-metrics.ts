/** The metric families of libs/event-store (Prometheus names: base units, `_total` counters). */
export const EVENT_STORE_METRICS = {
  projectionPosition: {
    name: 'event_store_projection_position',
    help: "Global position of the projection's checkpoint (the last event it applied, or the readable frontier it moved to).",
    labelNames: ['projection'],
  },
  projectionLag: {
    name: 'event_store_projection_lag_events',
    help: 'Committed events after the checkpoint in the global order (readable or held back), counted up to 1,000,000.',
    labelNames: ['projection'],
  },
  heldBackEvents: {
    name: 'event_store_held_back_events',
    help: 'Committed events readers cannot see yet because a transaction that appended before them is still open.',
  },
  heldBackSeconds: {
    name: 'event_store_held_back_seconds',
    help: 'Since the oldest held-back event was recorded; 0 when none is held back.',
  },
  streamLengthCrossings: {
    name: 'event_store_stream_length_crossings_total',
    help: "Appends that carried a stream's open books (its events since its books were last closed) past the configured length (streamLengthWarning) or a multiple of it.",
  },
} as const;

/** Events counted behind a checkpoint at most: a rebuild from zero must not make each scrape scan the whole store. */
export const PROJECTION_LAG_COUNT_LIMIT = 1_000_000;
