import { type DynamicModule, Module } from '@nestjs/common';
import { CachingModule, RedisModule, SessionModule, StatsModule, ThrottlingModule } from '../src';
import { AuthController } from './auth/auth.controller';
import { sampleSessionSecret } from './auth/session-secret';
import { GithubController } from './caching/github.controller';
import { LlmModule } from './llm/llm.module';
import type { SampleOptions } from './sample-options';
import { sampleThrottlingOptions } from './throttling.config';

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
        SessionModule.forRoot({
          secret: sampleSessionSecret(options.sessionSecret) as string,
          maxSessionsPerUser: 5,
          ...options.session,
        }),
        LlmModule,
        ThrottlingModule.forRoot({ ...sampleThrottlingOptions(), ...options.throttling }),
        // GET /stats, /stats/cache, /stats/metrics, /stats/dashboard; STATS_TOKEN protects them
        // and enables reset.
        StatsModule.forRoot({ token: options.statsToken }),
      ],
      controllers: [AuthController, GithubController],
    };
  }
}
