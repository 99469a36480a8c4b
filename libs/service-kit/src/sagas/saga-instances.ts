import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isSaga, KafkaNaming, listSagaInstances, readSagaInstance, type AnyUseCase, type SagaInstanceSummary, type SagaInstanceView, type SagaListQuery } from '@platform/messaging';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { ServiceConfig } from '../config/service-config';
import { poolOf } from '../database/pool-of';
import type { ServiceKitOptions } from '../service-kit.options';
import { SERVICE_CONFIG, SERVICE_KIT_OPTIONS } from '../tokens';

export interface SagaDescription {
  readonly name: string;
  /** Its consumer group, also the namespace of its instances in messaging.saga_* tables. */
  readonly groupId: string;
}

/** The sagas a service declares among its use cases, and their instances, read from its own database. */
@Injectable()
export class SagaInstances {
  private sagas?: readonly SagaDescription[];

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(SERVICE_KIT_OPTIONS) private readonly options: ServiceKitOptions,
    private readonly dataSource: DataSource,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Resolved on first use: the use cases are the app module's providers, there once Nest is up. */
  list(): readonly SagaDescription[] {
    if (!this.sagas) {
      const naming = new KafkaNaming(this.config.kafkaNamespace);
      this.sagas = (this.options.useCases ?? [])
        .map((type) => this.moduleRef.get<AnyUseCase>(type, { strict: false }))
        .filter(isSaga)
        .map((saga) => ({ name: saga.name, groupId: naming.group(this.config.service, saga.name) }));
    }
    return this.sagas;
  }

  instances(name: string, query: SagaListQuery): Promise<SagaInstanceSummary[]> {
    return listSagaInstances(this.pool, this.saga(name).groupId, query);
  }

  async instance(name: string, key: string): Promise<SagaInstanceView> {
    const view = await readSagaInstance(this.pool, this.saga(name).groupId, key);
    if (!view) throw new NotFoundException(`saga ${name} has no instance ${key}`);
    return view;
  }

  private saga(name: string): SagaDescription {
    const saga = this.list().find((s) => s.name === name);
    if (!saga) throw new NotFoundException(`${this.config.service} runs no saga named ${name}`);
    return saga;
  }

  private get pool(): Pool {
    return poolOf(this.dataSource);
  }
}
