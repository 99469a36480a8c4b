import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { UserCreated, UserDeactivated, UserRenamed, type DeactivationReason } from '@platform/contracts';
import { OutboxPublisher } from '@platform/messaging';
import { Transactions, type Transaction } from '@platform/service-kit';
import { randomUUID } from 'node:crypto';
import { QueryFailedError } from 'typeorm';
import { deactivate, normalizeEmail, rename, type User } from './user';
import { UserEntity } from './user.entity';
import type { UserView } from './users.dto';

const UNIQUE_VIOLATION = '23505';

function view(entity: UserEntity): UserView {
  return { ...entity, createdAt: entity.createdAt.toISOString(), updatedAt: entity.updatedAt.toISOString() };
}

/** Application service: each command is one transaction holding the state change and its event. */
@Injectable()
export class UsersService {
  constructor(
    private readonly transactions: Transactions,
    private readonly publisher: OutboxPublisher,
  ) {}

  /** `id`: the registering user's own (their token's subject), or none for a new id (an operator registering someone). */
  async register(id: string | undefined, email: string, displayName: string, correlationId: string): Promise<UserView> {
    try {
      return await this.transactions.run(async ({ manager, sql }) => {
        const user = manager.create(UserEntity, { id: id ?? randomUUID(), email: normalizeEmail(email), displayName: displayName.trim(), status: 'active' });
        await manager.insert(UserEntity, user);
        await this.publisher.publish(sql, UserCreated, { userId: user.id, email: user.email, displayName: user.displayName }, { correlationId });
        return view(await manager.findOneByOrFail(UserEntity, { id: user.id }));
      });
    } catch (error) {
      const driverError = error instanceof QueryFailedError ? (error.driverError as { code?: string; constraint?: string }) : undefined;
      if (driverError?.code === UNIQUE_VIOLATION && driverError.constraint === 'users_pkey') throw new ConflictException(`user ${id} is registered already`);
      if (driverError?.code === UNIQUE_VIOLATION) {
        throw new ConflictException(`a user with e-mail ${normalizeEmail(email)} already exists`);
      }
      throw error;
    }
  }

  async rename(id: string, displayName: string, correlationId: string): Promise<UserView> {
    return this.change(id, async (tx, user) => {
      const result = rename(user, displayName);
      if (result.event) await this.publisher.publish(tx.sql, UserRenamed, result.event, { correlationId });
      return result.user;
    });
  }

  async deactivate(id: string, reason: DeactivationReason, note: string | undefined, correlationId: string): Promise<UserView> {
    return this.change(id, async (tx, user) => {
      const result = deactivate(user, reason, note);
      await this.publisher.publish(tx.sql, UserDeactivated, result.event, { correlationId });
      return result.user;
    });
  }

  async get(id: string): Promise<UserView> {
    return this.transactions.run(async ({ manager }) => view(await this.find(manager, id)));
  }

  async list(limit: number, offset: number): Promise<UserView[]> {
    return this.transactions.run(async ({ manager }) =>
      (await manager.find(UserEntity, { order: { createdAt: 'ASC', id: 'ASC' }, take: limit, skip: offset })).map(view),
    );
  }

  /** Loads the user row locked, applies a domain decision, saves it: concurrent changes queue up. */
  private change(id: string, decide: (tx: Transaction, user: User) => Promise<User>): Promise<UserView> {
    return this.transactions.run(async (tx) => {
      const entity = await this.find(tx.manager, id, true);
      const changed = await decide(tx, entity);
      await tx.manager.update(UserEntity, { id }, { displayName: changed.displayName, status: changed.status });
      return view(await tx.manager.findOneByOrFail(UserEntity, { id }));
    });
  }

  private async find(manager: Transaction['manager'], id: string, lock = false): Promise<UserEntity> {
    const entity = await manager.findOne(UserEntity, { where: { id }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    if (!entity) throw new NotFoundException(`user ${id} not found`);
    return entity;
  }
}
