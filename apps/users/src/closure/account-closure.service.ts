import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { AccountClosureRequested, UserDeactivated } from '@platform/contracts';
import { KafkaNaming, OutboxPublisher, readSagaInstance } from '@platform/messaging';
import { SERVICE_CONFIG, Transactions, type ServiceConfig } from '@platform/service-kit';
import { randomUUID } from 'node:crypto';
import { deactivate, type User } from '../users/user';
import { AccountClosureSaga, type ClosureState } from './account-closure.saga';
import type { ClosureAcceptedView, ClosureView } from './closure.dto';

/** Where the closure of a user is watched. */
export const closurePath = (userId: string): string => `/users/${userId}/closure`;

/**
 * Requests a closure (the user is deactivated, and the saga started, in one transaction) and
 * shows it: the saga's state, its steps with their times, and its history.
 */
@Injectable()
export class AccountClosureService {
  private readonly group: string;

  constructor(
    private readonly transactions: Transactions,
    private readonly publisher: OutboxPublisher,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.group = new KafkaNaming(config.kafkaNamespace).group(config.service, new AccountClosureSaga().name);
  }

  async request(userId: string, correlationId: string): Promise<ClosureAcceptedView> {
    const closureId = randomUUID();
    await this.transactions.run(async ({ sql }) => {
      const { rows } = await sql.query<{ id: string; email: string; display_name: string; status: User['status'] }>('SELECT id, email, display_name, status FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const row = rows[0];
      if (!row) throw new NotFoundException(`user ${userId} not found`);
      const user: User = { id: row.id, email: row.email, displayName: row.display_name, status: row.status };
      // A deactivated user (by an admin, or by a closure still running) cannot be closed: 422.
      const { event } = deactivate(user, 'requested', `account closure ${closureId}`);
      await sql.query("UPDATE users SET status = 'deactivated', updated_at = now() WHERE id = $1", [userId]);
      await sql.query("INSERT INTO account_closures (closure_id, user_id, status) VALUES ($1, $2, 'closing')", [closureId, userId]);
      await this.publisher.publishAll(sql, [
        { event: UserDeactivated, payload: event, metadata: { correlationId } },
        { event: AccountClosureRequested, payload: { closureId, userId, email: user.email, displayName: user.displayName }, metadata: { correlationId } },
      ]);
    });
    return { closureId, userId, status: 'accepted', watch: closurePath(userId) };
  }

  /** The latest closure of the user. */
  async view(userId: string): Promise<ClosureView> {
    return this.transactions.run(async ({ sql }) => {
      const { rows } = await sql.query<{ closure_id: string; requested_at: Date }>(
        'SELECT closure_id, requested_at FROM account_closures WHERE user_id = $1 ORDER BY requested_at DESC LIMIT 1',
        [userId],
      );
      const closure = rows[0];
      if (!closure) throw new NotFoundException(`user ${userId} has no account closure`);
      const instance = await readSagaInstance(sql, this.group, closure.closure_id);
      const state = (instance?.status === 'waiting' ? null : (instance?.state ?? null)) as ClosureState | null;
      return {
        closureId: closure.closure_id,
        userId,
        requestedAt: closure.requested_at.toISOString(),
        // Not started yet: the request is on its way to the saga through Kafka.
        state: state?.phase ?? 'requested',
        sagaStatus: instance?.status ?? null,
        reason: state?.reason ?? null,
        endedAt: instance?.endedAt ?? null,
        steps: (state?.steps ?? []).map((s) => ({ ...s })),
        history: [...(instance?.history ?? [])],
        pendingTimeouts: [...(instance?.pendingTimeouts ?? [])],
      };
    });
  }
}
