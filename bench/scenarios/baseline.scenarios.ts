import { Controller, Get, Inject, Module } from '@nestjs/common';
import { InjectRedis, RedisModule, type RedisConnection } from '../../src';
import { listen, PAYLOAD } from '../bench-app';
import type { Scenario } from '../scenario';

@Controller()
class BareController {
  @Get('payload')
  payload() {
    return PAYLOAD;
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

@Controller()
class RedisGetController {
  constructor(@InjectRedis() private readonly redis: RedisConnection) {}

  @Get('payload')
  async payload() {
    await this.redis.get('bench:floor');
    return PAYLOAD;
  }
}

const REDIS_URL = Symbol('REDIS_URL');
@Module({})
class RedisGetModule {
  static register(url: string) {
    return {
      module: RedisGetModule,
      imports: [RedisModule.forRoot({ url })],
      controllers: [RedisGetController],
      providers: [{ provide: REDIS_URL, useValue: url }],
    };
  }
  constructor(@Inject(REDIS_URL) readonly url: string) {}
}

export const baselineScenarios: Scenario[] = [
  {
    name: 'baseline',
    description: 'bare Nest route, ~2 KB JSON',
    start: (ctx) => listen(BareModule, { path: '/payload' }, ctx),
  },
  {
    name: 'redis-floor',
    description: 'same route + one Redis GET on the shared client',
    start: (ctx) => listen(RedisGetModule.register(ctx.redisUrl), { path: '/payload' }),
  },
];
