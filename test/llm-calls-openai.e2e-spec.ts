import type { INestApplication } from '@nestjs/common';
import type OpenAI from 'openai';
import request from 'supertest';
import {
  LlmBudgetExceededError,
  LlmCacheService,
  LlmCallIdentityError,
  LlmCallService,
  runAs,
  wrapOpenAI,
} from '../src';
import { FakeProviders } from './llm-calls.fake-providers';
import { collect, openAiClient, startLlmCallsApp } from './llm-calls.test-app';
import { uniquePrefix } from './support/test-redis';

const messages = (content: string) => [{ role: 'user' as const, content }];

describe('wrapOpenAI (real openai SDK against a fake OpenAI server)', () => {
  let fake: FakeProviders;
  let app: INestApplication;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await new FakeProviders().start();
    app = await startLlmCallsApp(fake.baseUrl);
    openai = wrapOpenAI(openAiClient(fake.baseUrl), app.get(LlmCallService), {
      name: 'spec.openai',
    });
  });
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });
  beforeEach(() => {
    fake.requests = 0;
    fake.delayMs = 0;
  });

  const global = <T>(fn: () => Promise<T>): Promise<T> => runAs({ scope: 'global' }, fn);

  it('answers a second identical chat.completions.create from the cache, with no upstream request', async () => {
    const params = { model: 'gpt-4o-mini', messages: messages('json twice') };
    const first = await global(() => openai.chat.completions.create(params));
    const second = await global(() => openai.chat.completions.create(params));
    expect(fake.requests).toBe(1);
    expect(second).toEqual(JSON.parse(JSON.stringify(first)));
    expect(second.choices[0]?.message.content).toBeTruthy();
  });

  it('replays a streamed chat completion as the same chunks, with no upstream request', async () => {
    const params = {
      model: 'gpt-4o-mini',
      messages: messages('stream twice'),
      stream: true as const,
    };
    const original = await collect(await global(() => openai.chat.completions.create(params)));
    const replayed = await collect(await global(() => openai.chat.completions.create(params)));
    expect(fake.requests).toBe(1);
    expect(original.length).toBeGreaterThan(2);
    expect(replayed).toEqual(original);
  });

  it('keeps the SDK stream surface on a hit: controller, tee() and toReadableStream()', async () => {
    const params = {
      model: 'gpt-4o-mini',
      messages: messages('stream surface'),
      stream: true as const,
    };
    const original = await collect(await global(() => openai.chat.completions.create(params)));
    const hit = await global(() => openai.chat.completions.create(params));
    expect(hit.controller).toBeInstanceOf(AbortController);
    const [left, right] = hit.tee();
    expect(await collect(left)).toEqual(original);
    expect(await collect(right)).toEqual(original);
    const bytes = (await global(() => openai.chat.completions.create(params))).toReadableStream();
    const text = await new Response(bytes).text();
    expect(
      text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual(original);
    expect(fake.requests).toBe(1);
  });

  it('caches responses.create with and without stream: true', async () => {
    const body = { model: 'gpt-4o-mini', input: 'responses api' };
    const first = await global(() => openai.responses.create(body));
    const second = await global(() => openai.responses.create(body));
    expect(second.output_text).toBe(first.output_text);
    expect(second.output_text).toBeTruthy();
    const streamed = await collect(
      await global(() => openai.responses.create({ ...body, stream: true })),
    );
    const replayed = await collect(
      await global(() => openai.responses.create({ ...body, stream: true })),
    );
    expect(replayed).toEqual(streamed);
    // One JSON and one streamed upstream call: the two shapes keep separate entries.
    expect(fake.requests).toBe(2);
  });

  it('create(p).asResponse() on a miss makes one upstream request and answers the raw response', async () => {
    const params = { model: 'gpt-4o-mini', messages: messages('raw response') };
    const response = await global(() => openai.chat.completions.create(params).asResponse());
    expect(response.status).toBe(200);
    // One more round trip to the fake server: a second request made alongside has ended by then.
    await global(() =>
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: messages('after raw') }),
    );
    expect(fake.requests).toBe(2);
  });

  it('create(p).asResponse() of an upstream 500 rejects for its caller only: one request, no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const params = { model: 'gpt-4o-mini', messages: messages('upstream-500 raw') };
      const error: unknown = await global(() =>
        openai.chat.completions.create(params).asResponse(),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 500 });
      // One more round trip to the fake server: a second request made alongside has ended by then.
      await global(() =>
        openai.chat.completions.create({ model: 'gpt-4o-mini', messages: messages('after 500') }),
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(fake.requests).toBe(2);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('makes one upstream request for 10 concurrent identical calls', async () => {
    fake.delayMs = 150;
    const params = { model: 'gpt-4o-mini', messages: messages('ten at once') };
    const answers = await global(() =>
      Promise.all(Array.from({ length: 10 }, () => openai.chat.completions.create(params))),
    );
    expect(fake.requests).toBe(1);
    expect(new Set(answers.map((a) => a.choices[0]?.message.content)).size).toBe(1);
  });

  it('makes one upstream request for 10 concurrent identical streamed calls', async () => {
    fake.delayMs = 150;
    const params = {
      model: 'gpt-4o-mini',
      messages: messages('ten streams'),
      stream: true as const,
    };
    const streams = await global(() =>
      Promise.all(
        Array.from({ length: 10 }, async () =>
          collect(await openai.chat.completions.create(params)),
        ),
      ),
    );
    expect(fake.requests).toBe(1);
    for (const chunks of streams) expect(chunks).toEqual(streams[0]);
  });

  it('coalesces identical calls of two app instances on one Redis into one upstream request', async () => {
    const keyPrefix = uniquePrefix('llm-shared');
    const a = await startLlmCallsApp(fake.baseUrl, {}, { keyPrefix });
    const b = await startLlmCallsApp(fake.baseUrl, {}, { keyPrefix });
    try {
      fake.delayMs = 300;
      const [ra, rb] = await Promise.all([
        request(a.getHttpServer())
          .post('/ask')
          .set('x-user', 'ann')
          .send({ prompt: 'two instances' }),
        request(b.getHttpServer())
          .post('/ask')
          .set('x-user', 'ann')
          .send({ prompt: 'two instances' }),
      ]);
      expect(ra.body).toEqual(rb.body);
      expect(fake.requests).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("partitions a call made inside an HTTP request by that request's user", async () => {
    const server = app.getHttpServer();
    const ask = (user: string) =>
      request(server).post('/ask').set('x-user', user).send({ prompt: 'per user' });
    const alice1 = await ask('alice');
    const alice2 = await ask('alice');
    expect(fake.requests).toBe(1);
    const bob = await ask('bob');
    expect(fake.requests).toBe(2);
    expect(alice1.body).toEqual(alice2.body);
    expect(bob.status).toBe(201);
    // A runAs() identity is the same partition as that user's requests.
    await runAs({ userId: 'bob' }, () =>
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: messages('per user') }),
    );
    // runAs({ userId }) is the same partition as that user's requests: bob's entry answers.
    expect(fake.requests).toBe(2);
  });

  it('stores nothing when the upstream call fails: the next identical call goes upstream again', async () => {
    const params = { model: 'gpt-4o-mini', messages: messages('upstream-500') };
    await expect(global(() => openai.chat.completions.create(params))).rejects.toMatchObject({
      status: 500,
    });
    await expect(global(() => openai.chat.completions.create(params))).rejects.toMatchObject({
      status: 500,
    });
    expect(fake.requests).toBe(2);
  });

  it('stores nothing for a stream its reader left early: the next identical call goes upstream again', async () => {
    const params = {
      model: 'gpt-4o-mini',
      messages: messages('left early'),
      stream: true as const,
    };
    const stream = await global(() => openai.chat.completions.create(params));
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      break;
    }
    const full = await collect(await global(() => openai.chat.completions.create(params)));
    expect(fake.requests).toBe(2);
    const replayed = await collect(await global(() => openai.chat.completions.create(params)));
    expect(replayed).toEqual(full);
    expect(fake.requests).toBe(2);
  });

  it('lets a waiter on a stream nobody reads call upstream itself within the lock TTL', async () => {
    const short = await startLlmCallsApp(
      fake.baseUrl,
      {},
      {
        keyPrefix: uniquePrefix('llm-unread'),
        coalesce: { lockTtlMs: 300, waitTimeoutMs: 300 },
      },
    );
    try {
      const client = wrapOpenAI(openAiClient(fake.baseUrl), short.get(LlmCallService), {
        name: 'spec.unread',
      });
      const params = { model: 'gpt-4o-mini', messages: messages('never read') };
      const started = Date.now();
      const unread = await global(() =>
        client.chat.completions.create({ ...params, stream: true }),
      );
      const waiter = await global(() => client.chat.completions.create(params));
      expect(waiter.choices[0]?.message.content).toBeTruthy();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(fake.requests).toBe(2);
      unread.controller.abort();
    } finally {
      await short.close();
    }
  });

  it('LlmCacheService.wrapStream caches any AsyncIterable-returning call (here the bare SDK stream)', async () => {
    const bare = openAiClient(fake.baseUrl);
    const cache = app.get(LlmCacheService);
    const params = {
      model: 'gpt-4o-mini',
      messages: messages('wrapStream'),
      stream: true as const,
    };
    const call = () =>
      cache.wrapStream(params, () => bare.chat.completions.create(params), { scope: 'global' });
    const original = await collect(await call());
    const replayed = await collect(await call());
    expect(replayed).toEqual(original);
    expect(fake.requests).toBe(1);
  });

  it('refuses a call outside any request that names no identity', async () => {
    await expect(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: messages('who am i') }),
    ).rejects.toBeInstanceOf(LlmCallIdentityError);
    expect(fake.requests).toBe(0);
  });

  it('shows the call site in the cache stats', async () => {
    await app.get(LlmCacheService).stats(); // flush what came before
    const params = { model: 'gpt-4o-mini', messages: messages('stats by site') };
    await global(() => openai.chat.completions.create(params));
    await global(() => openai.chat.completions.create(params));
    const stats = await app.get(LlmCacheService).stats();
    expect(stats.bySite?.['spec.openai']?.hits).toBeGreaterThanOrEqual(1);
    expect(stats.bySite?.['spec.openai']?.misses).toBeGreaterThanOrEqual(1);
    expect(stats.bySite?.['test.ask']).toBeDefined();
  });
});

describe('wrapOpenAI budgets', () => {
  let fake: FakeProviders;
  let app: INestApplication;

  beforeAll(async () => {
    fake = await new FakeProviders().start();
    app = await startLlmCallsApp(fake.baseUrl, { llm: { tokensPerMinute: 500 } });
  });
  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it("refuses a call whose caller's budget is spent with LlmBudgetExceededError, before any upstream request", async () => {
    const openai = wrapOpenAI(openAiClient(fake.baseUrl), app.get(LlmCallService), {
      name: 'spec.budget',
    });
    const call = (content: string, max_tokens: number) =>
      runAs({ userId: 'spender' }, () =>
        openai.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: messages(content),
          max_tokens,
        }),
      );
    await call('first', 300);
    expect(fake.requests).toBe(1);
    const refused = call('second', 490);
    await expect(refused).rejects.toBeInstanceOf(LlmBudgetExceededError);
    await expect(refused).rejects.toMatchObject({ policies: ['llm:tokens'] });
    expect(fake.requests).toBe(1);
    // Another user's budget is untouched.
    await runAs({ userId: 'saver' }, () =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: messages('third'),
        max_tokens: 300,
      }),
    );
    expect(fake.requests).toBe(2);
  });

  it('answers 429 problem+json when a call inside a request is refused by the budget', async () => {
    const res = await request(app.getHttpServer())
      .post('/ask')
      .set('x-user', 'carol')
      .send({ prompt: 'too big', max_tokens: 600 });
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.body.policies).toEqual([expect.objectContaining({ name: 'llm:tokens' })]);
  });
});
