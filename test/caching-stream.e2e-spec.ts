import type { INestApplication } from '@nestjs/common';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LlmProvider } from '../sample/llm/llm-provider';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import { sampleRedis, uniquePrefix } from './support/test-redis';

const dataOf = (text: string): string[] =>
  text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice(6));

describe.each([
  ['memory', () => ({})],
  ['Redis', () => sampleRedis()],
])('CachingModule streaming (%s)', (_, storeOptions) => {
  let app: INestApplication;
  let url: string;
  const latency = process.env.LLM_LATENCY_MS;

  beforeAll(() => (process.env.LLM_LATENCY_MS = '60'));
  afterAll(() => (process.env.LLM_LATENCY_MS = latency));
  beforeEach(async () => {
    app = await startSampleApp({
      ...storeOptions(),
      caching: { keyPrefix: uniquePrefix('cache-stream') },
      throttling: relaxedThrottling(),
    });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/llm/generate`;
  });
  afterEach(() => app.close());

  const body = { model: 'gpt-4o-mini', prompt: 'stream me', temperature: 0 };
  const send = async (payload: object) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    return { res, text: await res.text() };
  };

  it('records an SSE stream and replays the same events on a hit, and answers a JSON request from it', async () => {
    const miss = await send({ ...body, stream: true });
    expect(miss.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(miss.res.headers.get('x-cache')).toBe('MISS');
    const events = dataOf(miss.text);
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.length).toBeGreaterThan(3);

    const hit = await send({ ...body, stream: true });
    expect(hit.res.headers.get('x-cache')).toBe('HIT');
    expect(dataOf(hit.text)).toEqual(events);

    const json = await send(body);
    expect(json.res.headers.get('x-cache')).toBe('HIT');
    const completion = JSON.parse(json.text);
    const streamed = events
      .slice(0, -1)
      .map((data) => JSON.parse(data).choices[0].delta.content ?? '')
      .join('');
    expect(completion.choices[0].message.content).toBe(streamed);
    expect(completion.usage.completion_tokens).toBeGreaterThan(0);
    expect(app.get(LlmProvider).calls).toBe(1);
  });

  it('answers a stream request from a JSON entry', async () => {
    const json = await send(body);
    const stream = await send({ ...body, stream: true });
    expect(stream.res.headers.get('x-cache')).toBe('HIT');
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = dataOf(stream.text);
    expect(events.at(-1)).toBe('[DONE]');
    const content = events
      .slice(0, -1)
      .map((data) => JSON.parse(data).choices[0].delta.content ?? '')
      .join('');
    expect(content).toBe(JSON.parse(json.text).choices[0].message.content);
  });

  it('stores nothing when the client aborts the stream', async () => {
    const payload = JSON.stringify({ ...body, prompt: 'abort me', stream: true });
    await new Promise<void>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
    const again = await send({ ...body, prompt: 'abort me', stream: true });
    expect(again.res.headers.get('x-cache')).toBe('MISS');
    expect(dataOf(again.text).at(-1)).toBe('[DONE]');
    expect(app.get(LlmProvider).calls).toBe(2);
  });
});
