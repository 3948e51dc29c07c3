import request from 'supertest';
import { startSampleApp } from './support/sample-app';
import { sampleRedis, uniquePrefix } from './support/test-redis';

describe('sample app throttling', () => {
  const latency = process.env.LLM_LATENCY_MS;
  beforeAll(() => (process.env.LLM_LATENCY_MS = '0'));
  afterAll(() => (process.env.LLM_LATENCY_MS = latency));

  it.each([
    ['embedded memory store', () => ({})],
    ['Redis', () => ({ ...sampleRedis(), throttling: { keyPrefix: uniquePrefix('sample-rl') } })],
  ])(
    'limits POST /llm/summarize by the expensive preset (10/min) and reports every policy (%s)',
    async (_, options) => {
      const app = await startSampleApp(options());
      const http = request(app.getHttpServer());
      const body = { model: 'gpt-4o-mini', prompt: 'A long text', max_tokens: 50 };
      const first = await http.post('/llm/summarize').send(body).expect(200);
      expect(first.headers['ratelimit-policy']).toBe(
        '"global";q=200;w=60, "expensive";q=10;w=60, "llm";q=20;w=60',
      );
      for (let i = 0; i < 9; i++) await http.post('/llm/summarize').send(body).expect(200);
      const over = await http.post('/llm/summarize').send(body).expect(429);
      expect(over.body.policies.map((p: { name: string }) => p.name)).toEqual(['expensive']);
      // /llm/generate shares the llm limit (10 of 20 left) but not the expensive one.
      const generate = await http.post('/llm/generate').send(body).expect(200);
      expect(generate.headers['ratelimit']).toMatch(/"llm";r=9;/);
      await app.close();
    },
  );

  it('answers 400, not 500, to a body nested too deep for JSON.stringify on an @LLMThrottle route', async () => {
    const app = await startSampleApp();
    const deep = `${'['.repeat(5000)}"bottom"${']'.repeat(5000)}`;
    const res = await request(app.getHttpServer())
      .post('/llm/summarize')
      .set('content-type', 'application/json')
      .send(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":${deep}}]}`);
    // The guard's budget reservation estimates the prompt before validation runs.
    expect(res.status).toBe(400);
    await app.close();
  });
});
