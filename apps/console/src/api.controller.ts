import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { OperatorTokenGuard } from './auth/operator-token.guard';
import { DeadLetterView, type RedriveScope } from './dead-letters/dead-letter-view';
import { LagReader } from './lag/lag-reader';
import { ProjectionsClient } from './projections/projections';
import { SagasClient } from './sagas/sagas-client';
import { CorrelationSearch } from './search/correlation-trail';
import { ServiceStatusReader } from './services/service-status';
import { ConsoleSettings } from './settings';

/** The page's data: reads are open like the services' /metrics; writes need the operator token. */
@Controller('api')
export class ApiController {
  constructor(
    private readonly settings: ConsoleSettings,
    private readonly services: ServiceStatusReader,
    private readonly lag: LagReader,
    private readonly deadLetters: DeadLetterView,
    private readonly search: CorrelationSearch,
    private readonly projections: ProjectionsClient,
    private readonly sagas: SagasClient,
  ) {}

  @Get('topology')
  topology() {
    return this.settings.topology;
  }

  @Get('services')
  serviceStatus() {
    return this.services.read();
  }

  @Get('lag')
  consumerLag() {
    return this.lag.read();
  }

  @Get('dead-letters')
  listDeadLetters() {
    return this.deadLetters.read();
  }

  @Post('dead-letters/:service/:useCase/redrive')
  @HttpCode(200)
  @UseGuards(OperatorTokenGuard)
  async redrive(@Param('service') service: string, @Param('useCase') useCase: string, @Body() body: Partial<{ scope: string; offset: string; partition: number; failure: string }>) {
    const scope = redriveScope(body ?? {});
    return { redriven: await this.deadLetters.redrive(service, useCase, scope) };
  }

  @Get('trail')
  trail(@Query('correlationId') correlationId?: string) {
    if (!correlationId || correlationId.length > 200) throw new BadRequestException('correlationId is required (at most 200 characters)');
    return this.search.search(correlationId.trim());
  }

  @Get('projections')
  listProjections() {
    return this.projections.list();
  }

  @Get('sagas')
  listSagas(@Query('state') state?: string) {
    return this.sagas.list(state);
  }

  @Get('sagas/:service/:name/instances/:id')
  sagaInstance(@Param('service') service: string, @Param('name') name: string, @Param('id') id: string) {
    return this.sagas.instance(service, name, id);
  }

  @Post('projections/:service/:name/rebuild')
  @HttpCode(200)
  @UseGuards(OperatorTokenGuard)
  rebuild(@Param('service') service: string, @Param('name') name: string) {
    return this.projections.rebuild(service, name);
  }
}

function redriveScope(body: Partial<{ scope: string; offset: string; partition: number; failure: string }>): RedriveScope {
  if (body.scope === 'all') return { scope: 'all' };
  if (body.scope === 'one' && typeof body.offset === 'string' && /^\d+$/.test(body.offset)) return { scope: 'one', offset: body.offset, ...(Number.isInteger(body.partition) ? { partition: body.partition } : {}) };
  if (body.scope === 'failure' && typeof body.failure === 'string' && body.failure.length > 0) return { scope: 'failure', failure: body.failure };
  throw new BadRequestException('body must be {"scope":"all"}, {"scope":"one","offset":"<offset>"} or {"scope":"failure","failure":"<failure id>"}');
}
