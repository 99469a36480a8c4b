import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { TemplateUpdated } from '@platform/contracts';
import { OutboxPublisher } from '@platform/messaging';
import { Transactions } from '@platform/service-kit';
import { randomUUID } from 'node:crypto';
import { QueryFailedError } from 'typeorm';
import { createTemplate, reviseTemplate } from './template';
import { TemplateEntity } from './template.entity';
import type { CreateTemplateDto, TemplateView, UpdateTemplateDto } from './templates.dto';

const view = (e: TemplateEntity): TemplateView => ({ ...e, updatedAt: e.updatedAt.toISOString() });

@Injectable()
export class TemplatesService {
  constructor(
    private readonly transactions: Transactions,
    private readonly publisher: OutboxPublisher,
  ) {}

  async create(input: CreateTemplateDto, correlationId: string): Promise<TemplateView> {
    const { template, event } = createTemplate(randomUUID(), input);
    try {
      return await this.transactions.run(async ({ manager, sql }) => {
        await manager.insert(TemplateEntity, template);
        await this.publisher.publish(sql, TemplateUpdated, event, { correlationId });
        return view(await manager.findOneByOrFail(TemplateEntity, { id: template.id }));
      });
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505') {
        throw new ConflictException(`a template named ${input.name} already exists`);
      }
      throw error;
    }
  }

  update(id: string, change: UpdateTemplateDto, correlationId: string): Promise<TemplateView> {
    return this.transactions.run(async ({ manager, sql }) => {
      const current = await manager.findOne(TemplateEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new NotFoundException(`template ${id} not found`);
      const { template, event } = reviseTemplate(current, change);
      if (event) {
        await manager.update(TemplateEntity, { id }, { channel: template.channel, subject: template.subject, body: template.body, revision: template.revision });
        await this.publisher.publish(sql, TemplateUpdated, event, { correlationId });
      }
      return view(await manager.findOneByOrFail(TemplateEntity, { id }));
    });
  }

  async get(id: string): Promise<TemplateView> {
    const found = await this.transactions.run(({ manager }) => manager.findOneBy(TemplateEntity, { id }));
    if (!found) throw new NotFoundException(`template ${id} not found`);
    return view(found);
  }

  list(): Promise<TemplateView[]> {
    return this.transactions.run(async ({ manager }) => (await manager.find(TemplateEntity, { order: { name: 'ASC' } })).map(view));
  }
}
