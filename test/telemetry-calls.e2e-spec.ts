import { createOpenAI } from '@ai-sdk/openai';
import type { INestApplication } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { generateText, type LanguageModel, wrapLanguageModel } from 'ai';
import request from 'supertest';
import { LlmBudgetExceededError, LlmCallService, llmCallsMiddleware, runAs } from '../src';
import { completion } from './support/caching-test-app';
import { countFlightJoins } from './support/flight-joins';
import { OtelHarness, until } from './support/otel-harness';
import { startTelemetryApp } from './support/telemetry-app';
import { FakeProviders } from './llm-calls.fake-providers';

const CLIENT = 2;
const SERVER = 1;
const ERROR = 2;

describe('OpenTelemetry: call-level LLM calls (wrapped SDK, AI SDK, LlmCallService under runAs)', () => {
  const otel = new OtelHarness();
  let fake: FakeProviders;
  let app: INestApplication;
  let calls: LlmCallService;

  beforeAll(async () => {
    otel.start();
    fake = await new FakeProviders().start();
    app = await startTelemetryApp(fake.baseUrl);
    calls = app.get(LlmCallService);
  });
  afterAll(async () => {
    await app?.close();
    await fake?.stop();
    await otel.stop();
  });
  beforeEach(() => otel.reset());

  const callSpans = (site: string): ReadableSpan[] =>
    otel.spans().filter((span) => span.attributes['llm_kit.call_site'] === site);
  const childrenOf = (parent: ReadableSpan, name: string): ReadableSpan[] =>
    otel.named(name).filter((span) => otel.parentOf(span) === parent);
  /** Runs `fn` under a job's span (as a queue consumer's instrumentation makes one), as a user. */
  const asJob = <T>(name: string, fn: () => Promise<T>): Promise<T> =>
    trace
      .getTracer('spec')
      .startActiveSpan(name, (span) => runAs({ userId: 'job-user' }, fn).finally(() => span.end()));

  it('traces a streamed wrapped call: its span is the HTTP span child and ends with the stream', async () => {
    const first = await request(app.getHttpServer())
      .post('/stream')
      .send({ prompt: 'stream me' })
      .expect(200);
    const second = await request(app.getHttpServer())
      .post('/stream')
      .send({ prompt: 'stream me' })
      .expect(200);
    expect(second.body).toEqual(first.body);
    expect(fake.requests).toBe(1);

    const [miss, hit] = callSpans('spec.openai');
    expect(callSpans('spec.openai')).toHaveLength(2);
    const servers = otel.server('/stream');
    expect(otel.parentOf(miss!)).toBe(servers[0]);
    expect(otel.parentOf(hit!)).toBe(servers[1]);
    expect(miss!.name).toBe('chat gpt-4o-mini');
    expect(miss!.kind).toBe(CLIENT);
    expect(miss!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.max_tokens': 64,
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 11,
      'llm_kit.cache.outcome': 'miss',
    });
    expect(miss!.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    const [upstream] = childrenOf(miss!, 'llm_kit.upstream');
    expect(upstream?.kind).toBe(CLIENT);
    // The upstream span covers the stream's reading, not only its start.
    expect(upstream!.endTime).toEqual(miss!.endTime);
    expect(hit!.attributes).toMatchObject({
      'llm_kit.cache.outcome': 'hit',
      'gen_ai.response.model': 'gpt-4o-mini',
    });
    expect(hit!.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    expect(childrenOf(hit!, 'llm_kit.upstream')).toHaveLength(0);
  });

  it('traces an AI SDK call (middleware) under a job span: provider and site from the model', async () => {
    const provider = createOpenAI({ apiKey: 'sk-test', baseURL: `${fake.baseUrl}/v1` });
    const model = wrapLanguageModel({
      model: provider.chat('gpt-4o-mini'),
      middleware: llmCallsMiddleware(calls, { name: 'spec.ai-sdk' }),
    }) as Exclude<LanguageModel, string>;
    const ask = () =>
      generateText({ model, prompt: 'ai sdk traced', maxOutputTokens: 40, maxRetries: 0 });
    const first = await asJob('job ai-sdk', ask);
    const second = await asJob('job ai-sdk', ask);
    expect(second.text).toBe(first.text);

    const spans = callSpans('spec.ai-sdk');
    expect(spans).toHaveLength(2);
    const jobs = otel.named('job ai-sdk');
    spans.forEach((span, i) => {
      expect(span.name).toBe('chat gpt-4o-mini');
      expect(otel.parentOf(span)).toBe(jobs[i]);
      expect(span.attributes).toMatchObject({
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.request.max_tokens': 40,
      });
    });
    expect(spans.map((span) => span.attributes['llm_kit.cache.outcome'])).toEqual(['miss', 'hit']);
    expect(spans[0]!.attributes['gen_ai.usage.input_tokens']).toBe(11);
    expect(spans[0]!.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
  });

  it('traces a queue-style LlmCallService call under runAs as a child of the job span, and a coalesced one', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let upstreamCalls = 0;
    const params = {
      model: 'claude-haiku-4-5',
      max_tokens: 30,
      messages: [{ role: 'user', content: 'job' }],
    };
    const fn = async () => {
      upstreamCalls++;
      await gate;
      return { ...completion('summary'), model: 'claude-haiku-4-5' };
    };
    const joins = countFlightJoins(app);
    try {
      const leader = asJob('job summarize', () =>
        calls.call(params, fn, { name: 'job.summarize' }),
      );
      await until(() => upstreamCalls === 1, 'the leader to call upstream');
      const follower = asJob('job summarize', () =>
        calls.call(params, fn, { name: 'job.summarize' }),
      );
      await until(() => joins.count === 2, 'the follower to join the flight');
      open();
      await Promise.all([leader, follower]);
    } finally {
      joins.restore();
    }
    expect(upstreamCalls).toBe(1);
    const spans = callSpans('job.summarize');
    expect(spans).toHaveLength(2);
    const jobs = new Set(otel.named('job summarize'));
    for (const span of spans) {
      expect(jobs.has(otel.parentOf(span)!)).toBe(true);
      expect(span.name).toBe('chat claude-haiku-4-5');
      expect(span.attributes['gen_ai.provider.name']).toBe('anthropic');
    }
    const lead = spans.find((span) => span.attributes['llm_kit.cache.outcome'] === 'miss')!;
    const waiter = spans.find((span) => span.attributes['llm_kit.cache.outcome'] === 'coalesced')!;
    expect(childrenOf(lead, 'llm_kit.upstream')).toHaveLength(1);
    expect(childrenOf(lead, 'llm_kit.coalesced_wait')).toHaveLength(0);
    expect(childrenOf(waiter, 'llm_kit.coalesced_wait')).toHaveLength(1);
    expect(childrenOf(waiter, 'llm_kit.upstream')).toHaveLength(0);
    expect(waiter.attributes['llm_kit.cache.saved_usd']).toBeGreaterThan(0);
    // No HTTP span anywhere in a job's trace.
    expect(otel.spans().filter((span) => span.kind === SERVER)).toHaveLength(0);
  });

  it('records a call-level budget refusal: the refusal event and the error on the call span', async () => {
    const params = {
      model: 'gpt-4o-mini',
      max_tokens: 500,
      messages: [{ role: 'user', content: 'over budget' }],
    };
    const error = await asJob('job refused', () =>
      calls.call(params, async () => completion('never'), {
        name: 'job.budgeted',
        budget: { policy: 'job', tokensPerMinute: 100 },
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmBudgetExceededError);
    const [span] = callSpans('job.budgeted');
    expect(span!.status.code).toBe(ERROR);
    expect(span!.attributes['error.type']).toBe(
      String((error as LlmBudgetExceededError).getStatus()),
    );
    expect(span!.events.map((event) => event.name)).toEqual(
      expect.arrayContaining(['llm_kit.refusal', 'exception']),
    );
    const refusal = span!.events.find((event) => event.name === 'llm_kit.refusal');
    expect(refusal?.attributes).toMatchObject({
      'llm_kit.refusal.reason': 'tokens',
      'llm_kit.throttle.policy': 'job:tokens',
    });
    expect(childrenOf(span!, 'llm_kit.upstream')).toHaveLength(0);
    const durations = await otel.points('gen_ai.client.operation.duration');
    expect(
      durations.some(
        (p) => p.attributes['error.type'] === (span!.attributes['error.type'] as string),
      ),
    ).toBe(true);
  });

  it('puts a call budget reservation and its settlement on the call span', async () => {
    const params = {
      model: 'gpt-4o-mini',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'budgeted' }],
    };
    await asJob('job budget', () =>
      calls.call(params, async () => completion('within budget'), {
        name: 'job.within-budget',
        budget: { policy: 'job2', tokensPerMinute: 10_000 },
      }),
    );
    const [span] = callSpans('job.within-budget');
    expect(span!.attributes).toMatchObject({
      'llm_kit.budget.reserved_tokens': expect.any(Number),
      'llm_kit.budget.settled_tokens': 30,
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 20,
    });
  });

  it('adds the prompt and completion only with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true', async () => {
    const params = (content: string) => ({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content }],
    });
    const call = (content: string, site: string) =>
      asJob('job content', () =>
        calls.call(params(content), async () => completion(`reply to ${content}`), { name: site }),
      );
    await call('private prompt', 'job.quiet');
    process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true';
    try {
      await call('shared prompt', 'job.captured');
    } finally {
      delete process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
    }
    const [quiet] = callSpans('job.quiet');
    expect(JSON.stringify(quiet!.attributes)).not.toContain('private prompt');
    const [captured] = callSpans('job.captured');
    expect(JSON.parse(captured!.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'shared prompt' }] },
    ]);
    expect(JSON.parse(captured!.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'reply to shared prompt' }] },
    ]);
  });
});
