import type { INestApplication } from '@nestjs/common';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { FakeOpenAi } from './support/fake-openai';
import { countFlightJoins } from './support/flight-joins';
import { OtelHarness, until } from './support/otel-harness';
import { startTelemetryApp, Upstream } from './support/telemetry-app';

const CLIENT = 2;
const INTERNAL = 0;

describe('OpenTelemetry: @CacheLLM and throttled routes (real SDK, in-memory exporters)', () => {
  const otel = new OtelHarness();
  let fake: FakeOpenAi;
  let app: INestApplication;

  beforeAll(async () => {
    otel.start();
    fake = await FakeOpenAi.start();
    app = await startTelemetryApp(fake.baseURL.replace(/\/v1$/, ''));
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
    await otel.stop();
  });
  beforeEach(() => otel.reset());

  /** The LLM-call spans (`chat {model}`, or `chat` for a request without a model). */
  const chatSpans = (): ReadableSpan[] =>
    otel.spans().filter((span) => span.attributes['gen_ai.operation.name'] === 'chat');

  it('traces a route miss then a hit: one CLIENT LLM-call span each, child of the HTTP server span', async () => {
    const body = { model: 'gpt-4o-mini', prompt: 'miss then hit', max_tokens: 50 };
    const miss = await request(app.getHttpServer()).post('/chat').send(body).expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await request(app.getHttpServer()).post('/chat').send(body).expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');

    const [missSpan, hitSpan] = chatSpans();
    expect(chatSpans()).toHaveLength(2);
    const servers = otel.server('/chat');
    expect(servers).toHaveLength(2);
    for (const [span, server] of [
      [missSpan!, servers[0]!],
      [hitSpan!, servers[1]!],
    ] as const) {
      expect(span.name).toBe('chat gpt-4o-mini');
      expect(span.kind).toBe(CLIENT);
      expect(otel.parentOf(span)).toBe(server);
      expect(span.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.request.max_tokens': 50,
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
        'llm_kit.call_site': 'POST /chat',
      });
    }
    expect(missSpan!.attributes).toMatchObject({
      'llm_kit.cache.outcome': 'miss',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 20,
    });
    const [upstream] = otel.named('llm_kit.upstream');
    expect(otel.parentOf(upstream!)).toBe(missSpan);
    expect(upstream!.kind).toBe(CLIENT);

    expect(hitSpan!.attributes['llm_kit.cache.outcome']).toBe('hit');
    expect(hitSpan!.attributes['llm_kit.cache.age_ms']).toEqual(expect.any(Number));
    expect(hitSpan!.attributes['llm_kit.cache.saved_usd']).toBeGreaterThan(0);
    // A hit used no tokens.
    expect(hitSpan!.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    expect(otel.named('llm_kit.upstream')).toHaveLength(1);
    // No prompt text, no cache key without the opt-in.
    const text = JSON.stringify(otel.spans().map((span) => span.attributes));
    expect(text).not.toContain('miss then hit');
    expect(text).not.toContain('gen_ai.input.messages');

    const outcomes = await otel.points('llm_kit.cache.outcomes');
    const count = (outcome: string) =>
      outcomes
        .filter(
          (p) =>
            p.attributes['llm_kit.cache.outcome'] === outcome &&
            p.attributes['llm_kit.call_site'] === 'POST /chat',
        )
        .reduce((sum, p) => sum + (p.value as number), 0);
    expect(count('miss')).toBeGreaterThanOrEqual(1);
    expect(count('hit')).toBeGreaterThanOrEqual(1);
    const usage = await otel.points('gen_ai.client.token.usage');
    const input = usage.find(
      (p) =>
        p.attributes['gen_ai.token.type'] === 'input' &&
        p.attributes['gen_ai.request.model'] === 'gpt-4o-mini',
    );
    expect(input?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    });
    const durations = await otel.points('gen_ai.client.operation.duration');
    expect(
      durations.some(
        (p) =>
          p.attributes['llm_kit.cache.outcome'] === 'hit' &&
          p.attributes['gen_ai.request.model'] === 'gpt-4o-mini',
      ),
    ).toBe(true);
    expect(await otel.points('llm_kit.cache.saved_usd')).not.toHaveLength(0);
  });

  it('traces a coalesced burst: one upstream child under the leader, a wait child under each follower', async () => {
    const upstream = app.get(Upstream);
    const joins = countFlightJoins(app);
    let open!: () => void;
    upstream.gate = new Promise<void>((resolve) => (open = resolve));
    const runs = upstream.runs;
    try {
      const body = { model: 'gpt-4o-mini', prompt: 'burst' };
      const post = () => request(app.getHttpServer()).post('/chat').send(body);
      const leader = post().then((res) => res);
      await until(() => upstream.runs === runs + 1, 'the leader to run its handler');
      const followers = [post().then((res) => res), post().then((res) => res)];
      await until(() => joins.count === 3, 'both followers to join the flight');
      open();
      const answers = await Promise.all([leader, ...followers]);
      expect(answers.map((res) => res.headers['x-cache'])).toEqual([
        'MISS',
        'COALESCED',
        'COALESCED',
      ]);
    } finally {
      joins.restore();
      upstream.gate = undefined;
    }
    const spans = chatSpans();
    expect(spans.map((span) => span.attributes['llm_kit.cache.outcome']).sort()).toEqual([
      'coalesced',
      'coalesced',
      'miss',
    ]);
    const leaderSpan = spans.find((span) => span.attributes['llm_kit.cache.outcome'] === 'miss')!;
    const upstreams = otel.named('llm_kit.upstream');
    expect(upstreams).toHaveLength(1);
    expect(otel.parentOf(upstreams[0]!)).toBe(leaderSpan);
    const waits = otel.named('llm_kit.coalesced_wait');
    expect(waits).toHaveLength(2);
    for (const wait of waits) {
      expect(wait.kind).toBe(INTERNAL);
      const parent = otel.parentOf(wait)!;
      expect(parent.attributes['llm_kit.cache.outcome']).toBe('coalesced');
      expect(parent.attributes['llm_kit.cache.saved_usd']).toBeGreaterThan(0);
    }
    // Each call span is a child of its own request's server span.
    const servers = new Set(spans.map((span) => otel.parentOf(span)));
    expect(servers.size).toBe(3);
    for (const server of servers) expect(server?.kind).toBe(1);
  });

  it("traces a GET @Sse() route keyed on its query: named by the query's model, the miss from its recorded events, then the replayed hit", async () => {
    const get = () =>
      request(app.getHttpServer())
        .get('/events?prompt=sse&model=gpt-4o-mini')
        .set('Accept', 'text/event-stream')
        .expect(200);
    expect((await get()).headers['x-cache']).toBe('MISS');
    expect((await get()).headers['x-cache']).toBe('HIT');
    const [miss, hit] = chatSpans();
    expect(chatSpans()).toHaveLength(2);
    const servers = otel.server('/events');
    expect(otel.parentOf(miss!)).toBe(servers[0]);
    expect(otel.parentOf(hit!)).toBe(servers[1]);
    // A GET has no body: the request attributes come from its query.
    expect(miss!.name).toBe('chat gpt-4o-mini');
    expect(hit!.name).toBe('chat gpt-4o-mini');
    expect(miss!.attributes).toMatchObject({
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
      'llm_kit.cache.outcome': 'miss',
      'llm_kit.call_site': 'GET /events',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 5,
      'gen_ai.usage.output_tokens': 2,
    });
    expect(otel.parentOf(otel.named('llm_kit.upstream')[0]!)).toBe(miss);
    expect(hit!.attributes['llm_kit.cache.outcome']).toBe('hit');
  });

  it('records a failed route call as the conventions say (exception, ERROR, error.type)', async () => {
    await request(app.getHttpServer())
      .post('/failing')
      .send({ model: 'gpt-4o-mini', prompt: 'fail' })
      .expect(502);
    const [span] = chatSpans();
    expect(chatSpans()).toHaveLength(1);
    expect(span!.status.code).toBe(2);
    expect(span!.attributes).toMatchObject({
      'error.type': '502',
      'llm_kit.cache.outcome': 'miss',
    });
    expect(span!.events.map((event) => event.name)).toContain('exception');
    const [upstream] = otel.named('llm_kit.upstream');
    expect(otel.parentOf(upstream!)).toBe(span);
    const durations = await otel.points('gen_ai.client.operation.duration');
    expect(durations.some((p) => p.attributes['error.type'] === '502')).toBe(true);
  });

  it('puts a route limit decision on the HTTP span, and a 429 as a refusal event there', async () => {
    await request(app.getHttpServer()).get('/limited').expect(200);
    await request(app.getHttpServer()).get('/limited').expect(429);
    const [allowed, refused] = otel.server('/limited');
    expect(allowed!.attributes).toMatchObject({
      'llm_kit.throttle.decision': 'allowed',
      'llm_kit.throttle.policy': 'tiny',
      'llm_kit.throttle.remaining': 0,
    });
    expect(allowed!.events).toHaveLength(0);
    expect(refused!.attributes).toMatchObject({
      'llm_kit.throttle.decision': 'refused',
      'llm_kit.throttle.policy': 'tiny',
      'llm_kit.throttle.retry_after_s': expect.any(Number),
    });
    expect(refused!.attributes['llm_kit.throttle.retry_after_s']).toBeGreaterThan(0);
    const event = refused!.events.find((e) => e.name === 'llm_kit.refusal');
    expect(event?.attributes).toMatchObject({
      'llm_kit.refusal.reason': 'requests',
      'llm_kit.throttle.policy': 'tiny',
    });
    // A route without an LLM call gets no LLM-call span.
    expect(chatSpans()).toHaveLength(0);
    const decisions = await otel.points('llm_kit.throttle.decisions');
    expect(
      decisions.find(
        (p) =>
          p.attributes['llm_kit.throttle.decision'] === 'refused' &&
          p.attributes['llm_kit.throttle.policy'] === 'tiny',
      )?.value,
    ).toBe(1);
  });

  it('puts a budget reservation and its settlement on the HTTP span, and a budget refusal as an event', async () => {
    const ok = await request(app.getHttpServer())
      .post('/budget')
      .send({ model: 'gpt-4o-mini', prompt: 'small', max_tokens: 20 })
      .expect(200);
    expect(ok.headers['x-cache']).toBe('MISS');
    await request(app.getHttpServer())
      .post('/budget')
      // Fits the budget's whole limit, not what is left of it this minute: a 429, not a 413.
      .send({ model: 'gpt-4o-mini', prompt: 'too large', max_tokens: 1_990 })
      .expect(429);
    const [admitted, refused] = otel.server('/budget');
    expect(admitted!.attributes).toMatchObject({
      'llm_kit.throttle.decision': 'allowed',
      'llm_kit.budget.reserved_tokens': expect.any(Number),
      'llm_kit.budget.reserved_usd': expect.any(Number),
      'llm_kit.budget.settled_tokens': 30,
    });
    expect(admitted!.attributes['llm_kit.budget.reserved_tokens']).toBeGreaterThanOrEqual(20);
    expect(refused!.attributes).toMatchObject({
      'llm_kit.throttle.decision': 'refused',
      'llm_kit.throttle.policy': 'llm:tokens',
    });
    const event = refused!.events.find((e) => e.name === 'llm_kit.refusal');
    expect(event?.attributes).toMatchObject({
      'llm_kit.refusal.reason': 'tokens',
      'llm_kit.throttle.policy': 'llm:tokens',
    });
    // The admitted request's LLM call; the refused one made none.
    expect(chatSpans()).toHaveLength(1);
    expect(otel.parentOf(chatSpans()[0]!)).toBe(admitted);
  });

  it('traces an @LLMThrottle route without @CacheLLM: one CLIENT LLM-call span under the HTTP span, the budget on the HTTP span, none for a refusal', async () => {
    const ok = await request(app.getHttpServer())
      .post('/throttled')
      .send({ model: 'gpt-4o-mini', prompt: 'throttled only', max_tokens: 40 })
      .expect(200);
    expect(ok.headers['x-cache']).toBeUndefined();
    await request(app.getHttpServer())
      .post('/throttled')
      // More than the 2,000-token budget has left after the first request: a 429.
      .send({ model: 'gpt-4o-mini', prompt: 'too large', max_tokens: 1_990 })
      .expect(429);
    const [admitted, refused] = otel.server('/throttled');
    const spans = chatSpans();
    expect(spans).toHaveLength(1);
    const [span] = spans;
    expect(span!.name).toBe('chat gpt-4o-mini');
    expect(span!.kind).toBe(CLIENT);
    expect(otel.parentOf(span!)).toBe(admitted);
    expect(span!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.max_tokens': 40,
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 20,
      'llm_kit.call_site': 'POST /throttled',
    });
    // No cache on the route: no cache outcome.
    expect(span!.attributes['llm_kit.cache.outcome']).toBeUndefined();
    const [upstream] = otel.named('llm_kit.upstream');
    expect(otel.parentOf(upstream!)).toBe(span);
    expect(otel.named('llm_kit.upstream')).toHaveLength(1);
    // The guard's decision and the budget stay on the HTTP span, as on a @CacheLLM route.
    expect(admitted!.attributes).toMatchObject({
      'llm_kit.throttle.decision': 'allowed',
      'llm_kit.throttle.policy': 'otel',
      'llm_kit.budget.reserved_tokens': expect.any(Number),
      'llm_kit.budget.settled_tokens': 30,
    });
    // The refusal: an event on its HTTP span, no LLM-call span (no call was made).
    expect(refused!.attributes['llm_kit.throttle.decision']).toBe('refused');
    expect(refused!.events.find((e) => e.name === 'llm_kit.refusal')?.attributes).toMatchObject({
      'llm_kit.refusal.reason': 'tokens',
      'llm_kit.throttle.policy': 'otel:tokens',
    });
    const durations = await otel.points('gen_ai.client.operation.duration');
    expect(
      durations.some(
        (p) =>
          p.attributes['gen_ai.request.model'] === 'gpt-4o-mini' &&
          p.attributes['gen_ai.response.model'] === 'gpt-4o-mini-2024-07-18' &&
          p.attributes['llm_kit.cache.outcome'] === undefined,
      ),
    ).toBe(true);
  });

  it('traces a streamed @LLMThrottle route without @CacheLLM from its chunks (no budget: the span alone)', async () => {
    const res = await request(app.getHttpServer())
      .post('/throttled-stream')
      .send({ model: 'gpt-4o-mini', prompt: 'chunks' })
      .expect(200);
    expect(res.text).toContain('chunks');
    const [span] = chatSpans();
    expect(chatSpans()).toHaveLength(1);
    expect(otel.parentOf(span!)).toBe(otel.server('/throttled-stream')[0]);
    expect(span!.name).toBe('chat gpt-4o-mini');
    expect(span!.attributes).toMatchObject({
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.finish_reasons': ['length'],
      'gen_ai.usage.input_tokens': 6,
      'gen_ai.usage.output_tokens': 3,
      'llm_kit.call_site': 'POST /throttled-stream',
    });
  });

  it('records a failed @LLMThrottle route call as the conventions say', async () => {
    await request(app.getHttpServer())
      .post('/throttled')
      .send({ model: 'gpt-4o-mini', prompt: 'fail', max_tokens: 10 })
      .expect(502);
    const [span] = chatSpans();
    expect(chatSpans()).toHaveLength(1);
    expect(span!.status.code).toBe(2);
    expect(span!.attributes['error.type']).toBe('502');
    expect(span!.events.map((event) => event.name)).toContain('exception');
    expect(otel.parentOf(span!)).toBe(otel.server('/throttled')[0]);
  });

  it('gives a wrapped call inside an @LLMThrottle route its own span, and the route none of its own', async () => {
    await request(app.getHttpServer())
      .post('/throttled-ask')
      .send({ prompt: 'wrapped inside a throttled route' })
      .expect(200);
    const spans = chatSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes['llm_kit.call_site']).toBe('spec.openai');
    expect(otel.parentOf(spans[0]!)).toBe(otel.server('/throttled-ask')[0]);
  });

  it.each([
    ['/both', '@LLMThrottle above @CacheLLM'],
    ['/budget', '@CacheLLM above @LLMThrottle'],
  ])('gives a route with both decorators one LLM-call span per request (%s: %s)', async (path) => {
    const body = { model: 'gpt-4o-mini', prompt: `one span on ${path}`, max_tokens: 20 };
    const miss = await request(app.getHttpServer()).post(path).send(body).expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await request(app.getHttpServer()).post(path).send(body).expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    const spans = chatSpans();
    expect(spans.map((span) => span.attributes['llm_kit.cache.outcome'])).toEqual(['miss', 'hit']);
    const servers = otel.server(path);
    expect(spans.map((span) => otel.parentOf(span))).toEqual(servers);
    for (const span of spans) expect(span.attributes['llm_kit.call_site']).toBe(`POST ${path}`);
    expect(otel.named('llm_kit.upstream')).toHaveLength(1);
  });

  it('captures a bare prompt as the conventions shape it with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true', async () => {
    process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true';
    try {
      await request(app.getHttpServer())
        .post('/throttled')
        .send({ model: 'gpt-4o-mini', prompt: 'a bare prompt', max_tokens: 10 })
        .expect(200);
    } finally {
      delete process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
    }
    const [span] = chatSpans();
    expect(JSON.parse(span!.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'a bare prompt' }] },
    ]);
    expect(JSON.parse(span!.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'throttled a bare prompt' }] },
    ]);
  });

  it('gives a wrapped call inside a @CacheLLM route its own span, and the route none of its own', async () => {
    const res = await request(app.getHttpServer())
      .post('/ask')
      .send({ prompt: 'wrapped inside a route' })
      .expect(200);
    expect(res.headers['x-cache']).toBe('MISS');
    const spans = chatSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes).toMatchObject({
      'llm_kit.call_site': 'spec.openai',
      'llm_kit.cache.outcome': 'miss',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 9,
    });
    const [server] = otel.server('/ask');
    expect(otel.parentOf(spans[0]!)).toBe(server);
    // The route's own decision is on the HTTP span.
    expect(server!.attributes).toMatchObject({
      'llm_kit.cache.outcome': 'miss',
      'llm_kit.call_site': 'POST /ask',
    });
  });
});
