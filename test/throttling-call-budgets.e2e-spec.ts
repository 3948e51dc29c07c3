import { type INestApplication, Module } from '@nestjs/common';
import type OpenAI from 'openai';
import {
  CachingModule,
  LlmCallService,
  LlmCallsModule,
  RedisModule,
  ThrottlingModule,
  runAs,
  wrapOpenAI,
} from '../src';
import { FakeProviders } from './llm-calls.fake-providers';
import { openAiClient } from './llm-calls.test-app';
import { bootApp } from './support/boot-app';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

// Call-level budgets (wrapped clients) settle a reservation to the call's real usage, on the
// memory store and on Redis alike: the fake upstream reports about 20 tokens a call, far
// below the reservations (prompt estimate + max_tokens).

async function start(redis: boolean, tokensPerMinute: number): Promise<INestApplication> {
  @Module({
    imports: [
      ...(redis ? [RedisModule.forRoot(testRedisOptions())] : []),
      CachingModule.forRoot({
        keyPrefix: uniquePrefix('call-budget-cache'),
        partitionSecret: 'call-budget-spec-secret-0123456789abcdef',
      }),
      ThrottlingModule.forRoot({
        keyPrefix: uniquePrefix('call-budget'),
        llm: { tokensPerMinute },
      }),
      LlmCallsModule,
    ],
  })
  class AppModule {}
  return bootApp(AppModule);
}

describe.each([
  ['memory', false],
  ['Redis', true],
])('call-level budgets settle to the real usage (%s)', (_, redis) => {
  let fake: FakeProviders;
  let app: INestApplication | undefined;
  let openai: OpenAI;

  beforeAll(async () => (fake = await new FakeProviders().start()));
  afterAll(() => fake.stop());
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const use = async (tokensPerMinute: number) => {
    app = await start(redis, tokensPerMinute);
    openai = wrapOpenAI(openAiClient(fake.baseUrl), app.get(LlmCallService), {
      name: 'spec.call-budget',
    });
    fake.requests = 0;
  };
  // Distinct prompts: no call is a cache hit, every one reserves and settles.
  const call = (content: string, max_tokens: number) =>
    runAs({ userId: 'payer' }, () =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content }],
        max_tokens,
      }),
    );

  it('admits two max_tokens 600 calls on 1000 tokens/min when each used about 20', async () => {
    await use(1000);
    await call('first of two', 600);
    await call('second of two', 600);
    expect(fake.requests).toBe(2);
  });

  it('fits ten sequential max_tokens 100 calls in 300 tokens/min when each used about 20', async () => {
    await use(300);
    for (let i = 0; i < 10; i++) await call(`sequential call ${i}`, 100);
    expect(fake.requests).toBe(10);
  });

  it('still refuses a call whose reservation does not fit what the earlier calls used', async () => {
    await use(300);
    await call('one small', 100);
    // About 20 used + a reservation of 290 and its prompt: over 300.
    await expect(call('too big now', 290)).rejects.toMatchObject({ policies: ['llm:tokens'] });
    expect(fake.requests).toBe(1);
  });
});
