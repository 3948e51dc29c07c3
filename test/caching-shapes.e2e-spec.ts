import type { INestApplication } from '@nestjs/common';
import http from 'node:http';
import OpenAI from 'openai';
import { Stream } from 'openai/streaming';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { startShapesApp, type LogCapture } from './support/caching-shapes-app';
import { FakeOpenAi, fakeAnswer } from './support/fake-openai';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { until } from './support/until';

const WAIT_TIMEOUT_MS = 3_000;
const MODEL = 'gpt-4o-mini';

/**
 * Sends a request and destroys its connection as soon as `ready()` holds, before any byte
 * of the answer (node:http, so the socket really closes: fetch may keep it for reuse).
 */
async function abortEarly(
  target: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  ready: () => boolean,
): Promise<void> {
  const req = http.request(target, { method: init.method, headers: init.headers, agent: false });
  req.on('error', () => undefined);
  let chunks = 0;
  // Counts events, not bytes: Nest's SSE may flush its headers with a blank line.
  req.on('response', (res) =>
    res.on('data', (data) => (chunks += /data:/.test(String(data)) ? 1 : 0)),
  );
  req.end(init.body);
  await until(ready, 'the upstream call');
  expect(chunks).toBe(0);
  req.destroy();
}

/** The text an OpenAI SSE body adds up to, parsed by the SDK itself. */
async function sdkText(stream: AsyncIterable<ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

const POST_SHAPES = ['awaited', 'sdk-stream', 'observable', 'async-iterable', 'passthrough'];

describe.each([
  ['memory', () => undefined],
  ['Redis', () => testRedisOptions()],
])('@CacheLLM on every handler shape, openai SDK on both sides (%s)', (_, redis) => {
  let fake: FakeOpenAi;
  let app: INestApplication;
  let url: string;
  let logs: LogCapture;
  let prompt: string;

  beforeAll(async () => (fake = await FakeOpenAi.start()));
  afterAll(() => fake.close());
  beforeEach(async () => {
    fake.calls = 0;
    fake.latencyMs = 0;
    prompt = `prompt ${uniquePrefix('p')}`;
    ({ app, url, logs } = await startShapesApp(
      fake.baseURL,
      {
        keyPrefix: uniquePrefix('cache-shapes'),
        coalesce: { waitTimeoutMs: WAIT_TIMEOUT_MS },
      },
      redis(),
    ));
  });
  afterEach(async () => {
    await app.close();
    expect(logs.lines.filter((l) => /ERR_HTTP_HEADERS_SENT/.test(l.message))).toEqual([]);
  });

  const body = (stream: boolean) => ({
    model: MODEL,
    messages: [{ role: 'user', content: prompt }],
    stream,
  });
  const postInit = (shape: string, stream: boolean) =>
    [
      `${url}/${shape}/chat/completions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(stream)),
      },
    ] as const;
  const post = (shape: string, stream: boolean) => fetch(...postInit(shape, stream));
  const read = async (res: Response) => ({
    status: res.status,
    cache: res.headers.get('x-cache'),
    type: res.headers.get('content-type'),
    etag: res.headers.get('etag'),
    age: res.headers.get('age'),
    saved: res.headers.get('x-cache-cost-saved'),
    cacheControl: res.headers.get('cache-control'),
    text: await res.text(),
  });
  const client = (shape: string) =>
    new OpenAI({ baseURL: `${url}/${shape}`, apiKey: 'unused', maxRetries: 0 });

  describe.each(POST_SHAPES)('%s', (shape) => {
    it.each([
      ['a stream', true],
      ['JSON', false],
    ])(
      'answers %s MISS then HIT byte-identical, and the SDK reads the HIT to the same text',
      async (_kind, stream) => {
        const miss = await read(await post(shape, stream));
        const hit = await read(await post(shape, stream));
        expect([miss.status, miss.cache, hit.status, hit.cache]).toEqual([200, 'MISS', 200, 'HIT']);
        expect(hit.type).toBe(miss.type);
        expect(miss.type).toMatch(stream ? /^text\/event-stream/ : /^application\/json/);
        expect(hit.text).toBe(miss.text);
        // The headers of a hit: its age and what it saved; a JSON answer's ETag as on the MISS.
        expect(hit.age).toMatch(/^\d+$/);
        expect(hit.saved).toMatch(/^\d+\.\d{6}$/);
        expect(Number(hit.saved)).toBeGreaterThan(0);
        if (stream) expect([miss.cacheControl, hit.cacheControl]).toEqual(['no-cache', 'no-cache']);
        else
          expect([miss.etag, hit.etag]).toEqual([
            expect.stringMatching(/^"[0-9a-f]{32}"$/),
            miss.etag,
          ]);
        const sdk = client(shape);
        const messages = [{ role: 'user' as const, content: prompt }];
        const text = stream
          ? await sdkText(
              await sdk.chat.completions.create({ model: MODEL, messages, stream: true }),
            )
          : (await sdk.chat.completions.create({ model: MODEL, messages })).choices[0]?.message
              .content;
        expect(text).toBe(fakeAnswer(prompt));
        expect(fake.calls).toBe(1);
      },
    );

    it('makes one upstream call for concurrent identical requests', async () => {
      fake.latencyMs = 300;
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => post(shape, i % 2 === 0).then(read)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
      expect(fake.calls).toBe(1);
      const [streamed, json] = [answers[0]!, answers[1]!];
      for (const [i, a] of answers.entries()) {
        // One content type per request, whatever the cache state.
        expect(a.type).toBe(i % 2 === 0 ? streamed.type : json.type);
        expect(a.text).toBe(i % 2 === 0 ? streamed.text : json.text);
      }
    });

    it(`answers the same request within waitTimeoutMs after a client aborted before the first chunk`, async () => {
      fake.latencyMs = 300;
      await abortEarly(...postInit(shape, true), () => fake.calls === 1);
      const started = Date.now();
      const again = await read(await post(shape, true));
      expect(Date.now() - started).toBeLessThan(WAIT_TIMEOUT_MS);
      expect(again.status).toBe(200);
      const stream = Stream.fromSSEResponse<ChatCompletionChunk>(
        new Response(again.text, { headers: { 'content-type': 'text/event-stream' } }),
        new AbortController(),
      );
      expect(await sdkText(stream)).toBe(fakeAnswer(prompt));
    });
  });

  describe('@Sse() returning Observable<MessageEvent>', () => {
    const sseUrl = () =>
      `${url}/sse/chat/completions?model=${MODEL}&prompt=${encodeURIComponent(prompt)}`;
    const sse = (accept?: string) => fetch(sseUrl(), { headers: accept ? { accept } : {} });

    it('records the events and replays them through Nest byte-identical; the SDK parses the replay', async () => {
      const miss = await sse('text/event-stream');
      const missText = await miss.text();
      const hit = await sse('text/event-stream');
      expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
      expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'));
      expect(Number(hit.headers.get('x-cache-cost-saved'))).toBeGreaterThan(0);
      expect(hit.headers.get('age')).toMatch(/^\d+$/);
      const hitText = await hit.text();
      expect(hitText).toBe(missText);
      const replay = await sse('text/event-stream');
      expect(await sdkText(Stream.fromSSEResponse(replay, new AbortController()))).toBe(
        fakeAnswer(prompt),
      );
      expect(fake.calls).toBe(1);
    });

    it('gives a client without Accept: text/event-stream what the uncached route gives it (the event stream)', async () => {
      const miss = await sse();
      const missText = await miss.text();
      const hit = await sse();
      expect(miss.status).toBe(200);
      expect(miss.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'));
      expect(await hit.text()).toBe(missText);
      expect(missText).not.toMatch(/event: error/);
      expect(fake.calls).toBe(1);
    });

    it('makes one upstream call for concurrent identical requests', async () => {
      fake.latencyMs = 300;
      const texts = await Promise.all(
        Array.from({ length: 5 }, () => sse('text/event-stream').then((r) => r.text())),
      );
      expect(new Set(texts).size).toBe(1);
      expect(fake.calls).toBe(1);
    });

    it('answers the same request within waitTimeoutMs after a client aborted before the first chunk', async () => {
      fake.latencyMs = 300;
      await abortEarly(
        sseUrl(),
        { method: 'GET', headers: { accept: 'text/event-stream' } },
        () => fake.calls === 1,
      );
      const started = Date.now();
      const again = await sse('text/event-stream');
      const text = await again.text();
      expect(Date.now() - started).toBeLessThan(WAIT_TIMEOUT_MS);
      const stream = Stream.fromSSEResponse<ChatCompletionChunk>(
        new Response(text, { headers: { 'content-type': 'text/event-stream' } }),
        new AbortController(),
      );
      expect(await sdkText(stream)).toBe(fakeAnswer(prompt));
    });
  });

  describe.each([
    ['file', 'StreamableFile', /returns bytes/],
    ['res', '@Res()', /takes @Res\(\)/],
  ])('%s (%s)', (shape, _label, why) => {
    it('is bypassed cleanly: X-Cache: BYPASS, the handler answer, one warning naming why', async () => {
      const first = await post(shape, shape === 'res');
      const firstText = await first.text();
      const second = await post(shape, shape === 'res');
      const secondText = await second.text();
      expect([first.status, second.status]).toEqual([200, 200]);
      expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual([
        'BYPASS',
        'BYPASS',
      ]);
      expect(secondText).toBe(firstText);
      expect(fake.calls).toBe(2);
      const warnings = logs.lines.filter((l) => l.level === 'warn' && why.test(l.message));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(/instead/);
    });

    it('answers the same request within waitTimeoutMs after a client aborted before the first chunk', async () => {
      fake.latencyMs = 300;
      await abortEarly(...postInit(shape, shape === 'res'), () => fake.calls === 1);
      const started = Date.now();
      const again = await post(shape, shape === 'res');
      await again.text();
      expect(Date.now() - started).toBeLessThan(WAIT_TIMEOUT_MS);
      expect(again.status).toBe(200);
    });
  });
});
