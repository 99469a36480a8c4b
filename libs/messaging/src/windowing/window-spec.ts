/** How a windowed use case cuts its events into windows. */
export interface WindowSpec {
  readonly kind: 'tumbling' | 'hopping';
  /** Window length. */
  readonly sizeMs: number;
  /** Distance between window starts; equals sizeMs for tumbling windows. */
  readonly advanceMs?: number;
  /** How long after its end a window still accepts events before it closes and is handled. */
  readonly graceMs: number;
  /** `event`: by the event's ce_time; `processing`: by when this use case receives it. */
  readonly time: 'event' | 'processing';
}

export interface WindowBounds {
  readonly start: number;
  readonly end: number;
}

export function validateWindowSpec(spec: WindowSpec): Required<WindowSpec> {
  const advanceMs = spec.kind === 'tumbling' ? spec.sizeMs : (spec.advanceMs ?? spec.sizeMs);
  const problems: string[] = [];
  if (!(spec.sizeMs > 0)) problems.push(`sizeMs must be > 0 (got ${spec.sizeMs})`);
  if (!(advanceMs > 0) || advanceMs > spec.sizeMs) problems.push(`advanceMs must be in (0, sizeMs] (got ${advanceMs})`);
  if (spec.kind === 'tumbling' && spec.advanceMs !== undefined && spec.advanceMs !== spec.sizeMs) problems.push('tumbling windows advance by their size');
  if (!(spec.graceMs >= 0)) problems.push(`graceMs must be >= 0 (got ${spec.graceMs})`);
  if (problems.length > 0) throw new Error(`invalid window: ${problems.join('; ')}`);
  return { ...spec, advanceMs };
}

/** The windows a timestamp falls into: one for tumbling windows, size/advance for hopping ones. */
export function windowsFor(spec: Required<WindowSpec>, timestampMs: number): WindowBounds[] {
  const windows: WindowBounds[] = [];
  const lastStart = Math.floor(timestampMs / spec.advanceMs) * spec.advanceMs;
  for (let start = lastStart; start > timestampMs - spec.sizeMs; start -= spec.advanceMs) {
    windows.unshift({ start, end: start + spec.sizeMs });
  }
  return windows;
}

/**
 * When a window is due: grace after its end. It is handled once it is due and every partition
 * of the group has been read past that time (the watermarks), so a backlog after downtime is
 * read completely before its windows are handled, and late means late.
 */
export function closeAt(spec: Required<WindowSpec>, window: WindowBounds): number {
  return window.end + spec.graceMs;
}
