import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type INestApplication, Module } from '@nestjs/common';
import { Args, GraphQLModule, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import { SkipThrottle, Throttle } from '@nestjs/throttler';
import request from 'supertest';
import {
  LLMThrottle,
  RedisModule,
  ThrottlingModule,
  type ThrottlingModuleOptions,
  ThrottlingStats,
} from '../src';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

// Resolvers on Apollo (Express 5) under ThrottlingModule's global guard, written as for
// @nestjs/throttler's GraphQL recipe: its decorators, and the context `({ req, res })`.

@Resolver()
class AppResolver {
  @Query(() => String)
  hello(): string {
    return 'hi';
  }

  @Throttle({ default: { limit: 1, ttl: 60_000 } })
  @Query(() => String)
  strict(): string {
    return 'ok';
  }

  @SkipThrottle()
  @Query(() => String)
  free(): string {
    return 'ok';
  }

  @SkipThrottle()
  @LLMThrottle({ tokensPerMinute: 1_000 })
  @Mutation(() => String)
  chat(
    @Args('prompt') prompt: string,
    @Args('max_tokens', { type: () => Int }) maxTokens: number,
  ): string {
    return `${prompt}:${maxTokens}`;
  }
}

const stores = [
  ['Redis', true],
  ['the memory store', false],
] as const;

interface GraphQlAnswer {
  data: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

describe.each(stores)('ThrottlingModule on GraphQL resolvers (%s)', (_, redis) => {
  let app: INestApplication | undefined;

  async function start(options: ThrottlingModuleOptions) {
    @Module({
      imports: [
        ...(redis ? [RedisModule.forRoot(testRedisOptions())] : []),
        ThrottlingModule.forRoot({ keyPrefix: uniquePrefix('gql'), ...options }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
        }),
      ],
      providers: [AppResolver],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const http = request(app.getHttpServer());
    return async (query: string) => {
      const res = await http.post('/graphql').send({ query }).expect(200);
      return { res, body: res.body as GraphQlAnswer };
    };
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('admits `limit` queries with the X-RateLimit-* headers, then a GraphQL error (429) with Retry-After', async () => {
    const gql = await start({ throttlers: [{ ttl: 60_000, limit: 2 }] });
    const first = await gql('{ hello }');
    expect(first.body).toEqual({ data: { hello: 'hi' } });
    expect(first.res.headers['x-ratelimit-limit']).toBe('2');
    expect(first.res.headers['x-ratelimit-remaining']).toBe('1');
    expect(Number(first.res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    expect(first.res.headers['ratelimit-policy']).toBe('"default";q=2;w=60');
    const second = await gql('{ hello }');
    expect(second.res.headers['x-ratelimit-remaining']).toBe('0');
    const third = await gql('{ hello }');
    expect(third.body.data).toBeNull();
    expect(third.body.errors).toHaveLength(1);
    // @nestjs/apollo's form of an HttpException: the message, the status, the problem body.
    expect(third.body.errors![0]).toMatchObject({
      message: 'Too many requests, retry later.',
      path: ['hello'],
      extensions: {
        code: 'INTERNAL_SERVER_ERROR',
        status: 429,
        originalError: {
          title: 'Too Many Requests',
          policies: [{ name: 'default', kind: 'requests', limit: 2, windowSeconds: 60 }],
        },
      },
    });
    expect(Number(third.res.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(third.res.headers['retry-after'])).toBeLessThanOrEqual(60);
    // A GraphQL response stays JSON: Apollo writes its own content type.
    expect(third.res.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json/);
    const stats = await app!.get(ThrottlingStats).snapshot();
    expect(stats.byPolicy.default).toEqual({ allowed: 2, rejected: 1 });
  });

  it('applies @Throttle() and @SkipThrottle() on resolvers, counted per resolver', async () => {
    const gql = await start({ throttlers: [{ ttl: 60_000, limit: 2 }] });
    expect((await gql('{ strict }')).body).toEqual({ data: { strict: 'ok' } });
    expect((await gql('{ strict }')).body.errors![0]!.extensions).toMatchObject({ status: 429 });
    for (let i = 0; i < 5; i++) {
      const free = await gql('{ free }');
      expect(free.body).toEqual({ data: { free: 'ok' } });
      expect(free.res.headers['x-ratelimit-limit']).toBeUndefined();
    }
    expect((await gql('{ hello }')).body).toEqual({ data: { hello: 'hi' } });
  });

  it('uses errorMessage for the error, as @nestjs/throttler does', async () => {
    const gql = await start({
      throttlers: [{ ttl: 60_000, limit: 1 }],
      errorMessage: 'slow down',
    });
    await gql('{ hello }');
    expect((await gql('{ hello }')).body.errors![0]!.message).toBe('slow down');
  });

  it('@LLMThrottle: budgets reserve from the resolver arguments and are charged the reservation', async () => {
    const gql = await start({});
    const chat = 'mutation { chat(prompt: "hi", max_tokens: 400) }';
    expect((await gql(chat)).body).toEqual({ data: { chat: 'hi:400' } });
    expect((await gql(chat)).body).toEqual({ data: { chat: 'hi:400' } });
    const refused = await gql(chat);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ status: 429 });
    const huge = await gql('mutation { chat(prompt: "hi", max_tokens: 5000) }');
    expect(huge.body.errors![0]!.extensions).toMatchObject({ status: 413 });
    const stats = await app!.get(ThrottlingStats).snapshot();
    expect(stats.budgets['llm:tokens']).toMatchObject({ kind: 'tokens', rejected: 1 });
    expect(stats.budgets['llm:tokens']!.consumed).toBeGreaterThan(800);
  });
});
