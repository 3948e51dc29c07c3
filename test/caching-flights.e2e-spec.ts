import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type OpenAI from 'openai';
import request from 'supertest';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CachingModule,
  type CachingModuleOptions,
  LlmBudgetExceededError,
  LlmCallService,
  LlmCallsModule,
  RedisModule,
  type RedisModuleOptions,
  runAs,
  ThrottlingModule,
  type ThrottlingModuleOptions,
  wrapOpenAI,
} from '../src';
import { FakeProviders } from './llm-calls.fake-providers';
import { openAiClient } from './llm-calls.test-app';
import { Calls, Hooks, startCachingTestApp } from './support/caching-test-app';
import { startTestApp } from './support/platform';
import { ownRedis, type OwnRedis, testRedisOptions, uniquePrefix } from './support/test-redis';

// Single-flight at the seams of issue 20: whose failure reaches whom, a call longer than the
// lock, and a flight that holds while the store is away.

const messages = (content: string) => [{ role: 'user' as const, content }];

/** CachingModule + LlmCallsModule (+ ThrottlingModule), on Redis when given. */
async function callsApp(
  redis: RedisModuleOptions | undefined,
  caching: CachingModuleOptions = {},
  throttling?: ThrottlingModuleOptions,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(redis ? [RedisModule.forRoot(redis)] : []),
      CachingModule.forRoot({
        partitionSecret: 'test-partition-secret-0123456789abcdef',
        keyPrefix: uniquePrefix('flights'),
        ...caching,
      }),
      ...(throttling
        ? [ThrottlingModule.forRoot({ keyPrefix: uniquePrefix('flights-rl'), ...throttling })]
        : []),
      LlmCallsModule,
    ],
  }).compile();
  return startTestApp(moduleRef);
}

const stores: [string, () => RedisModuleOptions | undefined][] = [
  ['memory', () => undefined],
  ['Redis', () => testRedisOptions()],
];

describe.each(stores)('single-flight owners (%s store)', (_store, redisOf) => {
  let fake: FakeProviders;
  let app: INestApplication | undefined;

  beforeAll(async () => (fake = await new FakeProviders().start()));
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.requests = 0;
    fake.delayMs = 0;
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const client = (name: string, budget?: { tokensPerMinute: number }): OpenAI =>
    wrapOpenAI(openAiClient(fake.baseUrl), app!.get(LlmCallService), {
      name,
      scope: 'global',
      budget,
    });

  it("a leader's budget refusal is not handed to a caller of another user waiting on the same key: it gets an answer", async () => {
    app = await callsApp(redisOf(), {}, { llm: { tokensPerMinute: 100_000 } });
    fake.delayMs = 50;
    // The same parameters (one key, scope 'global'): A's budget is too small for them, B's is not.
    const tight = client('spec.tight', { tokensPerMinute: 10 });
    const loose = client('spec.loose');
    const params = { model: 'gpt-4o-mini', messages: messages('shared refusal'), max_tokens: 50 };
    const [a, b] = await Promise.allSettled([
      runAs({ userId: 'a' }, () => tight.chat.completions.create(params)),
      runAs({ userId: 'b' }, () => loose.chat.completions.create(params)),
    ]);
    expect(a.status).toBe('rejected');
    expect((a as PromiseRejectedResult).reason).toBeInstanceOf(LlmBudgetExceededError);
    expect(b.status).toBe('fulfilled');
    expect(
      (b as PromiseFulfilledResult<OpenAI.ChatCompletion>).value.choices[0]?.message.content,
    ).toBeTruthy();
    expect(fake.requests).toBe(1);
  });

  it('stores a wrapped call that ends cleanly after coalesce.lockTtlMs', async () => {
    app = await callsApp(redisOf(), { coalesce: { lockTtlMs: 200 } });
    fake.delayMs = 400;
    const openai = client('spec.long');
    const params = { model: 'gpt-4o-mini', messages: messages('a long call') };
    await runAs({ scope: 'global' }, () => openai.chat.completions.create(params));
    fake.delayMs = 0;
    await runAs({ scope: 'global' }, () => openai.chat.completions.create(params));
    expect(fake.requests).toBe(1);
  });

  it('stores a @CacheLLM route answer that ends cleanly after coalesce.lockTtlMs', async () => {
    app = await startCachingTestApp(
      { keyPrefix: uniquePrefix('flights-route'), coalesce: { lockTtlMs: 200 } },
      redisOf(),
    );
    app.get(Hooks).during = () => delay(400);
    const post = () =>
      request(app!.getHttpServer()).post('/hooked').send({ model: 'gpt-4o-mini', prompt: 'long' });
    const first = await post();
    app.get(Hooks).during = async () => undefined;
    const second = await post();
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(app.get(Calls).count).toBe(1);
  });

  it('sets no X-Cache on a request its validation pipe refused (the cache never handled it)', async () => {
    app = await startCachingTestApp({ keyPrefix: uniquePrefix('flights-400') }, redisOf());
    const res = await request(app.getHttpServer()).post('/validated').send({ prompt: 42 });
    expect(res.status).toBe(400);
    expect(res.headers['x-cache']).toBeUndefined();
  });
});

describe('single-flight while Redis is away: identical concurrent misses make one upstream call', () => {
  const BOUND_MS = 400;
  let server: OwnRedis;
  let fake: FakeProviders;
  let app: INestApplication | undefined;

  beforeAll(async () => (fake = await new FakeProviders().start()));
  afterAll(() => fake.stop());
  beforeEach(async () => {
    server = await ownRedis();
    fake.requests = 0;
  });
  afterEach(async () => {
    server.resume();
    await app?.close();
    app = undefined;
    await server.stop();
  });

  it('20 concurrent identical wrapped calls while Redis is frozen make one upstream call', async () => {
    app = await callsApp(
      { ...server.target, commandTimeoutMs: BOUND_MS },
      { l1: { ttlMs: 0 }, coalesce: { waitTimeoutMs: 10_000 } },
    );
    fake.delayMs = 300;
    const openai = wrapOpenAI(openAiClient(fake.baseUrl), app.get(LlmCallService), {
      name: 'spec.frozen',
      scope: 'global',
    });
    const params = { model: 'gpt-4o-mini', messages: messages('frozen twenty') };
    server.pause();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => openai.chat.completions.create(params)),
    );
    expect(new Set(answers.map((a) => a.choices[0]?.message.content)).size).toBe(1);
    expect(fake.requests).toBe(1);
  });

  const burst = async (outage: () => Promise<void> | void) => {
    app = await startCachingTestApp(
      { keyPrefix: uniquePrefix('flights-down'), l1: { ttlMs: 0 } },
      { ...server.target, commandTimeoutMs: BOUND_MS },
    );
    app.get(Hooks).during = () => delay(300);
    await outage();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(app!.getHttpServer())
          .post('/hooked')
          .send({ model: 'gpt-4o-mini', prompt: 'ten while down' })
          .timeout(BOUND_MS * 20),
      ),
    );
    expect(responses.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(app.get(Calls).count).toBe(1);
    expect(responses.map((res) => res.headers['x-cache']).sort()).toEqual([
      'BYPASS',
      ...Array(9).fill('COALESCED'),
    ]);
  };

  it('10 identical @CacheLLM requests while Redis is frozen: one handler run, 1 BYPASS + 9 COALESCED', () =>
    burst(() => server.pause()));

  it('10 identical @CacheLLM requests while Redis is killed: one handler run, 1 BYPASS + 9 COALESCED', () =>
    burst(() => server.stop()));
});
