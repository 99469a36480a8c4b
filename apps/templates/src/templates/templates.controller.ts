import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiConflictResponse, ApiForbiddenResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { CorrelationId, OPERATOR_ROLE, RequireRoles } from '@platform/service-kit';
import { CreateTemplateDto, TemplateView, UpdateTemplateDto } from './templates.dto';
import { TemplatesService } from './templates.service';

@ApiTags('templates')
@Controller('templates')
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @Post()
  @RequireRoles(OPERATOR_ROLE)
  @ApiForbiddenResponse({ description: 'Templates are written by operators only.' })
  @ApiCreatedResponse({ type: TemplateView, description: 'Created as revision 1; TemplateUpdated is published.' })
  @ApiConflictResponse({ description: 'A template with that name exists.' })
  @ApiUnprocessableEntityResponse({ description: 'Malformed placeholders.' })
  create(@Body() body: CreateTemplateDto, @CorrelationId() correlationId: string): Promise<TemplateView> {
    return this.templates.create(body, correlationId);
  }

  @Put(':id')
  @RequireRoles(OPERATOR_ROLE)
  @ApiForbiddenResponse({ description: 'Templates are written by operators only.' })
  @ApiOkResponse({ type: TemplateView, description: 'A new revision; TemplateUpdated is published (nothing when unchanged).' })
  @ApiNotFoundResponse()
  update(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateTemplateDto, @CorrelationId() correlationId: string): Promise<TemplateView> {
    return this.templates.update(id, body, correlationId);
  }

  @Get()
  @ApiOkResponse({ type: [TemplateView] })
  list(): Promise<TemplateView[]> {
    return this.templates.list();
  }

  @Get(':id')
  @ApiOkResponse({ type: TemplateView })
  @ApiNotFoundResponse()
  get(@Param('id', ParseUUIDPipe) id: string): Promise<TemplateView> {
    return this.templates.get(id);
  }
}
