import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { SAGA_STATUSES, type SagaInstanceSummary, type SagaInstanceView, type SagaStatus } from '@platform/messaging';
import { OPERATOR_ROLE } from '../auth/auth-settings';
import { RequireRoles } from '../auth/auth.decorators';
import { SagaInstances, type SagaDescription } from './saga-instances';

const MAX_LIMIT = 500;

/**
 * The service's sagas and their instances, read-only: for operators and the console, which
 * reads services only through their HTTP APIs (with an operator token: instances span users).
 * Every service has it; one without sagas lists none.
 */
@ApiTags('sagas')
@RequireRoles(OPERATOR_ROLE)
@Controller('sagas')
export class SagasController {
  constructor(private readonly sagas: SagaInstances) {}

  @Get()
  @ApiOkResponse({ description: 'The sagas the service runs: name and consumer group.' })
  list(): readonly SagaDescription[] {
    return this.sagas.list();
  }

  @Get(':name/instances')
  @ApiQuery({ name: 'state', required: false, enum: SAGA_STATUSES })
  @ApiQuery({ name: 'limit', required: false, description: `1 to ${MAX_LIMIT}, default 50` })
  @ApiOkResponse({ description: 'Its instances, the latest updated first: key, state, phase, current step, correlation id, times.' })
  @ApiNotFoundResponse({ description: 'The service runs no saga of that name.' })
  instances(@Param('name') name: string, @Query('state') state?: string, @Query('limit') limit?: string): Promise<SagaInstanceSummary[]> {
    return this.sagas.instances(name, { status: parseState(state), limit: parseLimit(limit) });
  }

  @Get(':name/instances/:id')
  @ApiOkResponse({ description: 'One instance: its state, steps (a compensating process), history of inputs and decisions, pending timeouts.' })
  @ApiNotFoundResponse()
  instance(@Param('name') name: string, @Param('id') id: string): Promise<SagaInstanceView> {
    return this.sagas.instance(name, id);
  }
}

function parseState(state: string | undefined): SagaStatus | undefined {
  if (state === undefined || state === '') return undefined;
  if (!(SAGA_STATUSES as readonly string[]).includes(state)) throw new BadRequestException(`state must be one of ${SAGA_STATUSES.join(', ')}`);
  return state as SagaStatus;
}

function parseLimit(limit: string | undefined): number | undefined {
  if (limit === undefined || limit === '') return undefined;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new BadRequestException(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}
