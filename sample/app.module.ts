import { type DynamicModule, Module } from '@nestjs/common';
import { RedisModule, ThrottlingModule } from '../src';
import { AuthController } from './auth/auth.controller';
import { LlmModule } from './llm/llm.module';
import type { SampleOptions } from './sample-options';
import { SampleStatsController } from './stats/stats.controller';
import { sampleThrottlingOptions } from './throttling.config';

@Module({})
export class AppModule {
  static register(options: SampleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(options.redisUrl ? [RedisModule.forRoot({ url: options.redisUrl })] : []),
        LlmModule,
        ThrottlingModule.forRoot({ ...sampleThrottlingOptions(), ...options.throttling }),
      ],
      controllers: [AuthController, SampleStatsController],
    };
  }
}
