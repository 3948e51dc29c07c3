import { Controller, Get } from '@nestjs/common';
import { LlmCacheService } from '../../src';

/** `GET /stats/cache`: the seed's shape, until StatsModule serves every section. */
@Controller('stats')
export class CacheStatsController {
  constructor(private readonly cache: LlmCacheService) {}

  @Get('cache')
  cacheStats() {
    return this.cache.stats();
  }
}
