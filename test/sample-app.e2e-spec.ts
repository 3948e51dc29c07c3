import request from 'supertest';
import { LlmProvider } from '../sample/llm/llm-provider';
import { SimulatedLlmProvider } from '../sample/llm/simulated-llm.provider';
import { samplePlatformFromEnv } from '../sample/sample-options';
import { testPlatform } from './support/platform';
import { startSampleApp } from './support/sample-app';
import { sampleRedis, uniquePrefix } from './support/test-redis';

describe('sample app', () => {
  const latency = process.env.LLM_LATENCY_MS;
  beforeAll(() => (process.env.LLM_LATENCY_MS = '150'));
  afterAll(() => (process.env.LLM_LATENCY_MS = latency));

  it.each([
    ['embedded memory stores', () => ({})],
    // A cache and rate-limit counters of this run's own: every spec of a Jest run shares its
    // Redis server (the Express and Fastify projects too, when one run selects both), and a hit
    // or another spec's requests against the sample's default prefixes would change the answer.
    [
      'Redis',
      () => ({
        ...sampleRedis(),
        caching: { keyPrefix: uniquePrefix('sample-app') },
        throttling: { keyPrefix: uniquePrefix('sample-app-rl') },
      }),
    ],
  ])(
    'answers POST /llm/generate with a completion and usage after the simulated latency (%s)',
    async (_, options) => {
      const app = await startSampleApp(options());
      try {
        const started = Date.now();
        const res = await request(app.getHttpServer())
          .post('/llm/generate')
          .send({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'Hello' }],
            temperature: 0,
          })
          .expect(200);
        expect(res.headers['x-cache']).toBe('MISS');
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
        expect(res.body.choices[0].message.content).toMatch(/^Simulated answer: /);
        expect(res.body.usage.prompt_tokens).toBeGreaterThan(0);
        expect(res.body.usage.completion_tokens).toBeGreaterThan(0);
        expect(app.get(LlmProvider)).toBeInstanceOf(SimulatedLlmProvider);
        await request(app.getHttpServer()).get('/stats').expect(200);
      } finally {
        await app.close();
      }
    },
  );

  it('gives the same text for the same request (deterministic simulated LLM)', async () => {
    const app = await startSampleApp();
    const body = { model: 'gpt-4o-mini', prompt: 'Same question' };
    const a = await request(app.getHttpServer()).post('/llm/generate').send(body).expect(200);
    const b = await request(app.getHttpServer()).post('/llm/generate').send(body).expect(200);
    expect(a.body.choices[0].message.content).toBe(b.body.choices[0].message.content);
    await app.close();
  });

  it.each([
    ['an unparseable body', '{"model":', 'application/json'],
    ['a JSON array', '[1,2]', 'application/json'],
    ['no model', '{"prompt":"hi"}', 'application/json'],
    ['neither messages nor prompt', '{"model":"gpt-4o"}', 'application/json'],
    [
      'a temperature out of range',
      '{"model":"gpt-4o","prompt":"hi","temperature":7}',
      'application/json',
    ],
    [
      'a message without role',
      '{"model":"gpt-4o","messages":[{"content":"hi"}]}',
      'application/json',
    ],
    ['a text/plain body', 'hello', 'text/plain'],
  ])('answers 400 to %s on /llm/generate', async (_, body, type) => {
    const app = await startSampleApp();
    const res = await request(app.getHttpServer())
      .post('/llm/generate')
      .set('content-type', type)
      .send(body);
    expect(res.status).toBe(400);
    expect(res.body.statusCode).toBe(400);
    await app.close();
  });

  it('says what was wrong with the model name: empty, or how long', async () => {
    const app = await startSampleApp();
    const send = (model: unknown) =>
      request(app.getHttpServer()).post('/llm/generate').send({ model, prompt: 'hi' });
    const empty = await send('');
    expect(empty.status).toBe(400);
    expect(empty.body.message).toBe('"model" must be a non-empty string');
    const long = await send('m'.repeat(201));
    expect(long.status).toBe(400);
    expect(long.body.message).toBe('"model" must be at most 200 characters (got 201)');
    await app.close();
  });

  it('answers 413 to a body over 2 MB', async () => {
    const app = await startSampleApp();
    const res = await request(app.getHttpServer())
      .post('/llm/generate')
      .send({ model: 'gpt-4o', prompt: 'x'.repeat(3 * 1024 * 1024) });
    expect(res.status).toBe(413);
    await app.close();
  });

  it("runs on the run's platform (TEST_PLATFORM): the adapter the sample was built on", async () => {
    const app = await startSampleApp();
    expect(app.getHttpAdapter().getType()).toBe(testPlatform());
    await app.close();
  });

  it('reads PLATFORM: express by default, fastify, and stops on any other value saying what to set', () => {
    expect(samplePlatformFromEnv({})).toBe('express');
    expect(samplePlatformFromEnv({ PLATFORM: 'fastify' })).toBe('fastify');
    expect(samplePlatformFromEnv({ PLATFORM: 'Express' })).toBe('express');
    expect(() => samplePlatformFromEnv({ PLATFORM: 'koa' })).toThrow(
      'PLATFORM="koa" is not a platform the sample runs on: set PLATFORM=express (the default) or PLATFORM=fastify',
    );
  });
});
