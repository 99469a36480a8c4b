import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ProjectionProgress, ProjectionStatus } from '@platform/event-store';
import { OPERATOR_ROLE, RequireRoles, serviceLogger } from '@platform/service-kit';
import { Projections } from '../event-store/event-store.providers';

/** Operating the read models: where each projection is, and rebuilding one from zero. Operators only. */
@ApiTags('projections')
@RequireRoles(OPERATOR_ROLE)
@Controller('projections')
export class ProjectionsController {
  private readonly logger = serviceLogger('Projection');

  constructor(private readonly projections: Projections) {}

  @Get()
  @ApiOkResponse({ description: "Each projection's status ('active', 'rebuilding', 'failed' with the event it stopped at) and checkpoint." })
  async status(): Promise<ProjectionStatus[]> {
    return [await this.projections.catalog.status()];
  }

  @Post('api-catalog/rebuild')
  @HttpCode(200)
  @ApiOperation({ summary: 'Empties the api-catalog views and replays every event into them; progress goes to the log.' })
  async rebuild(): Promise<ProjectionProgress> {
    await this.projections.catalog.stop();
    try {
      return await this.projections.catalog.rebuild({ onProgress: (p) => this.logger.info('rebuilding api-catalog', { ...p }) });
    } finally {
      this.projections.catalog.start();
    }
  }
}
