import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FakeOpenAi, fakeAnswer } from './support/fake-openai';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import { uniquePrefix } from './support/test-redis';

const contentOf = (sse: string): string =>
  sse
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: ') && frame !== 'data: [DONE]')
    .map((frame) => JSON.parse(frame.slice(6)).choices[0]?.delta?.content ?? '')
    .join('');

describe('The sample OpenAI-compatible provider (the openai SDK against a local server)', () => {
  let fake: FakeOpenAi;
  let app: INestApplication;
  const baseUrl = process.env.LLM_BASE_URL;

  beforeAll(async () => {
    fake = await FakeOpenAi.start();
    process.env.LLM_BASE_URL = fake.baseURL;
  });
  afterAll(async () => {
    process.env.LLM_BASE_URL = baseUrl;
    await fake.close();
  });
  beforeEach(async () => {
    app = await startSampleApp({
      caching: { keyPrefix: uniquePrefix('cache-sample-openai') },
      throttling: relaxedThrottling(),
    });
  });
  afterEach(() => app.close());

  it.each([
    ['\\n', '\n'],
    ['\\r\\n with multi-line data fields', '\r\n'],
  ] as const)(
    'streams an upstream SSE with %s line endings, then answers JSON from the recording',
    async (_, eol) => {
      fake.eol = eol;
      const prompt = `sample ${uniquePrefix('p')}`;
      const body = { model: 'gpt-4o-mini', prompt, temperature: 0 };
      const streamed = await request(app.getHttpServer())
        .post('/llm/generate')
        .send({ ...body, stream: true });
      expect(streamed.status).toBe(200);
      expect(contentOf(streamed.text)).toBe(fakeAnswer(prompt));
      const json = await request(app.getHttpServer()).post('/llm/generate').send(body);
      expect(json.headers['x-cache']).toBe('HIT');
      expect(json.body.choices[0].message.content).toBe(fakeAnswer(prompt));
      expect(fake.calls).toBeGreaterThan(0);
    },
  );

  it('answers 502 naming the upstream status when the upstream fails', async () => {
    fake.failWith = 500;
    try {
      const res = await request(app.getHttpServer())
        .post('/llm/generate')
        .send({ model: 'gpt-4o-mini', prompt: `down ${uniquePrefix('p')}` });
      expect(res.status).toBe(502);
      expect(res.body.message).toMatch(/500/);
    } finally {
      fake.failWith = undefined;
    }
  });
});
