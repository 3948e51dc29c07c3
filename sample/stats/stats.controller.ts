import { Controller, Get } from '@nestjs/common';

@Controller('stats')
export class SampleStatsController {
  @Get()
  stats() {
    return { process: { uptimeS: Math.round(process.uptime()), memory: process.memoryUsage() } };
  }
}
