import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { assertMayChange, assertMayRead, CorrelationId, CurrentCaller, type Caller } from '@platform/service-kit';
import type { Response } from 'express';
import { AccountClosureService } from './account-closure.service';
import { ClosureAcceptedView, ClosureView } from './closure.dto';

@ApiTags('account closure')
@Controller('users')
export class AccountClosureController {
  constructor(private readonly closures: AccountClosureService) {}

  @Post(':id/close')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: ClosureAcceptedView, description: 'The user is deactivated and the account-closure saga started; watch it at Location.' })
  @ApiUnprocessableEntityResponse({ description: 'The user is deactivated already (or a closure of theirs is running).' })
  @ApiNotFoundResponse()
  async close(@Param('id', ParseUUIDPipe) id: string, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string, @Res({ passthrough: true }) res: Response): Promise<ClosureAcceptedView> {
    assertMayChange(caller, id, `user ${id}`);
    const accepted = await this.closures.request(id, correlationId);
    res.setHeader('Location', accepted.watch);
    return accepted;
  }

  @Get(':id/closure')
  @ApiOkResponse({ type: ClosureView, description: "The user's latest closure: state, steps with times, history." })
  @ApiNotFoundResponse()
  closure(@Param('id', ParseUUIDPipe) id: string, @CurrentCaller() caller: Caller): Promise<ClosureView> {
    assertMayRead(caller, id, `user ${id}`);
    return this.closures.view(id);
  }
}
