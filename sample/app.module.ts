import { type DynamicModule, Module } from '@nestjs/common';
import { CachingModule, RedisModule } from '../src';
import { AuthController } from './auth/auth.controller';
import { CacheStatsController } from './caching/cache-stats.controller';
import { GithubController } from './caching/github.controller';
import { LlmModule } from './llm/llm.module';
import type { SampleOptions } from './sample-options';
import { SampleStatsController } from './stats/stats.controller';

@Module({})
export class AppModule {
  static register(options: SampleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(options.redisUrl ? [RedisModule.forRoot({ url: options.redisUrl })] : []),
        CachingModule.forRoot({
          // The sample's fixed secret is for the demo only: set CACHE_PARTITION_SECRET.
          partitionSecret: options.cachePartitionSecret ?? 'sample-only-partition-secret-change-me',
          ...options.caching,
        }),
        LlmModule,
      ],
      controllers: [AuthController, SampleStatsController, CacheStatsController, GithubController],
    };
  }
}
