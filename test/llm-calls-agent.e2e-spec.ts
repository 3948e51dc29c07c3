import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DigestQueue } from '../sample/agent/digest.queue';
import { LlmProvider } from '../sample/llm/llm-provider';
import { LlmCacheService } from '../src';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import { sampleRedis, uniquePrefix } from './support/test-redis';

describe('the sample agent, queue job and AI SDK chat (wrapped openai client, simulated LLM)', () => {
  let app: INestApplication;
  const latency = process.env.LLM_LATENCY_MS;

  beforeAll(async () => {
    process.env.LLM_LATENCY_MS = '20';
    app = await startSampleApp({
      ...sampleRedis(),
      caching: { keyPrefix: uniquePrefix('agent') },
      throttling: relaxedThrottling(),
    });
  });
  afterAll(async () => {
    process.env.LLM_LATENCY_MS = latency;
    await app.close();
  });

  const upstream = () => app.get(LlmProvider).calls;

  it('makes 3 upstream calls on the first run of the agent route and 0 on a second identical run', async () => {
    const before = upstream();
    const first = await request(app.getHttpServer())
      .post('/agent/run')
      .send({ question: 'What does a cache save?' })
      .expect(200);
    expect(upstream() - before).toBe(3);
    expect(first.body.answer).toBeTruthy();
    const second = await request(app.getHttpServer())
      .post('/agent/run')
      .send({ question: 'What does a cache save?' })
      .expect(200);
    expect(upstream() - before).toBe(3);
    expect(second.body).toEqual(first.body);
    const stats = await app.get(LlmCacheService).stats();
    for (const site of ['agent.plan', 'agent.draft', 'agent.review'])
      expect(stats.bySite?.[site]).toMatchObject({ hits: 1, misses: 1 });
  });

  it("runs a queue job outside any request in its user's partition", async () => {
    const queue = app.get(DigestQueue);
    const before = upstream();
    const first = await queue.enqueue({ userId: 'dana', text: 'A long document.' }).done;
    const again = await queue.enqueue({ userId: 'dana', text: 'A long document.' }).done;
    expect(again).toBe(first);
    expect(upstream() - before).toBe(1);
    await queue.enqueue({ userId: 'eli', text: 'A long document.' }).done;
    expect(upstream() - before).toBe(2);
  });

  it('accepts a job over HTTP and reports its summary', async () => {
    const { body } = await request(app.getHttpServer())
      .post('/agent/jobs')
      .send({ userId: 'fay', text: 'Another document.' })
      .expect(202);
    await request(app.getHttpServer()).get(`/agent/jobs/${body.id}`).expect(200);
    // Wait for the worker through the queue, not a sleep: the job is next in line.
    await app.get(DigestQueue).enqueue({ userId: 'fay', text: 'Another document.' }).done;
    const job = await request(app.getHttpServer()).get(`/agent/jobs/${body.id}`).expect(200);
    expect(job.body).toMatchObject({ status: 'done', summary: expect.any(String) });
  });

  it('streams an SSE chat through the AI SDK and replays it from the cache', async () => {
    const before = upstream();
    const chat = () =>
      request(app.getHttpServer()).post('/agent/chat').send({ prompt: 'Say hello' }).expect(200);
    const first = await chat();
    expect(first.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(first.text).toContain('data: [DONE]');
    const second = await chat();
    expect(second.text).toBe(first.text);
    expect(upstream() - before).toBe(1);
  });
});
