import type { SqlClient } from '@platform/core';
import { currentProcessStep, isProcessState, type StepRecord } from './compensating-process';
import type { SagaJson } from './saga';
import type { SagaStatus } from './saga-store';

export const SAGA_STATUSES: readonly SagaStatus[] = ['waiting', 'active', 'completed', 'compensated', 'failed', 'abandoned'];

/** One saga instance in a list: what an operator scans for (state, when, where it stands). */
export interface SagaInstanceSummary {
  /** The instance's correlation key: each of its messages names it. */
  readonly key: string;
  readonly status: SagaStatus;
  /** A compensating process's phase (running, compensating, ...); null for other sagas, or before it started. */
  readonly phase: string | null;
  /** The step it waits for (`undo <step>` while compensating); null when it waits for none or is no process. */
  readonly currentStep: string | null;
  /** The correlation id of the conversation that started it. */
  readonly correlationId: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly endedAt: string | null;
}

/** What the library knows of one saga instance: for a service's HTTP view of its processes. */
export interface SagaInstanceView extends SagaInstanceSummary {
  readonly state: SagaJson | null;
  /** A compensating process's steps, with times and compensations; empty for other sagas. */
  readonly steps: readonly StepRecord[];
  /** Every input in order, what it was and what the instance decided, with when. */
  readonly history: readonly { readonly version: number; readonly at: string; readonly input: SagaJson; readonly decision: SagaJson }[];
  readonly pendingTimeouts: readonly { readonly name: string; readonly dueAt: string; readonly attempts: number }[];
}

export interface SagaListQuery {
  /** Only instances in this status. */
  readonly status?: SagaStatus;
  /** At most this many, the latest updated first (capped at 500). */
  readonly limit?: number;
}

const MAX_LIST = 500;

type InstanceRow = { instance_key: string; status: SagaStatus; state: SagaJson | null; correlation_id: string | null; version: number; created_at: Date; updated_at: Date; ended_at: Date | null };
const COLUMNS = 'instance_key, status, state, correlation_id, version, created_at, updated_at, ended_at';

function summary(row: InstanceRow): SagaInstanceSummary {
  // A waiting instance has no state yet: messages came before the one that starts it.
  const process = row.status !== 'waiting' && isProcessState(row.state) ? row.state : undefined;
  return {
    key: row.instance_key,
    status: row.status,
    phase: process?.phase ?? null,
    currentStep: process ? currentProcessStep(process) : null,
    correlationId: row.correlation_id,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    endedAt: row.ended_at?.toISOString() ?? null,
  };
}

/** The instances of the saga whose consumer group is `group`, the latest updated first. */
export async function listSagaInstances(client: SqlClient, group: string, query: SagaListQuery = {}): Promise<SagaInstanceSummary[]> {
  const limit = Math.max(1, Math.min(query.limit ?? 50, MAX_LIST));
  const { rows } = await client.query<InstanceRow>(
    `SELECT ${COLUMNS} FROM messaging.saga_instances WHERE saga = $1 AND ($2::text IS NULL OR status = $2) ORDER BY updated_at DESC, instance_key LIMIT $3`,
    [group, query.status ?? null, limit],
  );
  return rows.map(summary);
}

/** Reads one instance of the saga whose consumer group is `group`; undefined when it does not exist (yet). */
export async function readSagaInstance(client: SqlClient, group: string, key: string): Promise<SagaInstanceView | undefined> {
  const { rows } = await client.query<InstanceRow>(`SELECT ${COLUMNS} FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2`, [group, key]);
  const row = rows[0];
  if (!row) return undefined;
  const history = await client.query<{ version: number; at: Date; input: SagaJson; decision: SagaJson }>(
    'SELECT version, at, input, decision FROM messaging.saga_history WHERE saga = $1 AND instance_key = $2 ORDER BY version',
    [group, key],
  );
  const timeouts = await client.query<{ name: string; due_at: Date; attempts: number }>(
    'SELECT name, due_at, attempts FROM messaging.saga_timeouts WHERE saga = $1 AND instance_key = $2 ORDER BY due_at',
    [group, key],
  );
  return {
    ...summary(row),
    state: row.state,
    steps: row.status !== 'waiting' && isProcessState(row.state) ? row.state.steps : [],
    history: history.rows.map((h) => ({ version: h.version, at: h.at.toISOString(), input: h.input, decision: h.decision })),
    pendingTimeouts: timeouts.rows.map((t) => ({ name: t.name, dueAt: t.due_at.toISOString(), attempts: t.attempts })),
  };
}
