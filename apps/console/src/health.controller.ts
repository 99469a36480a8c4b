import { Controller, Get } from '@nestjs/common';

/** Probes: the console holds no state, so serving is being alive and ready; Kafka's state shows on the page. */
@Controller('health')
export class HealthController {
  @Get('live')
  live() {
    return { status: 'up' };
  }

  @Get('ready')
  ready() {
    return { status: 'up' };
  }
}
