import {
  BadGatewayException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  type MessageEvent,
  Module,
  Post,
  Query,
  Sse,
} from '@nestjs/common';
import { from, type Observable } from 'rxjs';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import OpenAI from 'openai';
import {
  CacheLLM,
  CachingModule,
  LLMThrottle,
  LlmCallService,
  LlmCallsModule,
  RateLimit,
  RedisModule,
  ThrottlingModule,
  wrapOpenAI,
} from '../../src';
import { completion } from './caching-test-app';
import { startTestApp } from './platform';
import { testRedisOptions, uniquePrefix } from './test-redis';

export const WRAPPED = Symbol('wrapped openai');
export const UPSTREAM = Symbol('fake upstream base url');

/** What the handlers do: count runs, and hold on `gate` while it is set (a slow upstream). */
export class Upstream {
  runs = 0;
  gate: Promise<void> | undefined;
}

@Controller()
class TelemetryController {
  constructor(
    private readonly upstream: Upstream,
    @Inject(WRAPPED) private readonly openai: OpenAI,
  ) {}

  /** A `@CacheLLM` route whose handler is the upstream call (no wrapped client). */
  @Post('chat')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  async chat(@Body() body: { prompt: string; model?: string }) {
    this.upstream.runs++;
    await this.upstream.gate;
    return {
      ...completion(`answer to ${body.prompt}`),
      model: `${body.model ?? 'gpt-4o-mini'}-2024-07-18`,
    };
  }

  /** A `@CacheLLM` route whose handler makes a wrapped (call-level) call. */
  @Post('ask')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  async ask(@Body() body: { prompt: string }) {
    const answer = await this.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: body.prompt }],
    });
    return answer;
  }

  /** A route (no `@CacheLLM`) that streams a wrapped call and answers its text. */
  @Post('stream')
  @HttpCode(200)
  async stream(@Body() body: { prompt: string }) {
    const stream = await this.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: body.prompt }],
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    return { text };
  }

  /** Budgets: a token budget per minute that a large `max_tokens` cannot fit. */
  @Post('budget')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  @LLMThrottle({ tokensPerMinute: 2_000 })
  budget(@Body() body: { prompt: string; max_tokens?: number }) {
    this.upstream.runs++;
    return completion(`budgeted ${body.prompt}`);
  }

  /** An `@LLMThrottle` route without `@CacheLLM`: its handler is the upstream call. */
  @Post('throttled')
  @HttpCode(200)
  @LLMThrottle({ policy: 'otel', tokensPerMinute: 2_000 })
  throttled(@Body() body: { prompt: string; model?: string }) {
    this.upstream.runs++;
    if (body.prompt === 'fail') throw new BadGatewayException('upstream answered 500');
    return {
      ...completion(`throttled ${body.prompt}`),
      model: `${body.model ?? 'gpt-4o-mini'}-2024-07-18`,
    };
  }

  /** An `@LLMThrottle` route without `@CacheLLM` whose handler streams chat chunks (an AsyncIterable). */
  @Post('throttled-stream')
  @HttpCode(200)
  @LLMThrottle({ policy: 'otel' })
  async *throttledStream(@Body() body: { prompt: string }) {
    this.upstream.runs++;
    const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
      id: 'chatcmpl-stream',
      object: 'chat.completion.chunk',
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });
    yield chunk({ role: 'assistant', content: 'streamed' }, null);
    yield chunk({ content: ` ${body.prompt}` }, null);
    yield chunk({}, 'length', { usage: { prompt_tokens: 6, completion_tokens: 3 } });
  }

  /** An `@LLMThrottle` route without `@CacheLLM` whose handler makes a wrapped call. */
  @Post('throttled-ask')
  @HttpCode(200)
  @LLMThrottle({ policy: 'otel' })
  throttledAsk(@Body() body: { prompt: string }) {
    return this.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: body.prompt }],
    });
  }

  /** Both decorators, `@LLMThrottle` above `@CacheLLM` (so the cache's interceptor runs first). */
  @Post('both')
  @HttpCode(200)
  @LLMThrottle({ policy: 'otel', tokensPerMinute: 2_000 })
  @CacheLLM({ scope: 'global' })
  both(@Body() body: { prompt: string }) {
    this.upstream.runs++;
    return completion(`both ${body.prompt}`);
  }

  /** An `@Sse()` route whose handler streams chat chunks itself (no wrapped client). */
  @Sse('events')
  @CacheLLM({ scope: 'global', params: (req) => req.query })
  events(@Query('prompt') prompt: string): Observable<MessageEvent> {
    this.upstream.runs++;
    const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
      data: {
        id: 'chatcmpl-sse',
        object: 'chat.completion.chunk',
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ index: 0, delta, finish_reason: finish }],
        ...extra,
      },
    });
    return from([
      chunk({ role: 'assistant', content: 'streamed' }, null),
      chunk({ content: ` ${prompt}` }, null),
      chunk({}, 'stop', { usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }),
    ]);
  }

  /** A `@CacheLLM` route whose upstream fails. */
  @Post('failing')
  @CacheLLM({ scope: 'global' })
  failing() {
    this.upstream.runs++;
    throw new BadGatewayException('upstream answered 500');
  }

  /** A route without LLM calls: one request per minute. */
  @Get('limited')
  @RateLimit({ name: 'tiny', limit: 1, ttlMs: 60_000 })
  limited() {
    return { ok: true };
  }
}

/**
 * The telemetry specs' app on the run's platform (`TEST_PLATFORM`): CachingModule, ThrottlingModule and
 * LlmCallsModule on the spec's Redis, a wrapped openai client against `upstreamUrl` (a fake
 * OpenAI server), and the routes above.
 */
export async function startTelemetryApp(upstreamUrl: string): Promise<INestApplication> {
  @Module({
    imports: [
      RedisModule.forRoot(testRedisOptions()),
      CachingModule.forRoot({
        keyPrefix: uniquePrefix('otel'),
        partitionSecret: 'test-partition-secret-0123456789abcdef',
      }),
      ThrottlingModule.forRoot({
        keyPrefix: uniquePrefix('otel-rl'),
        policies: { otel: { limit: 1_000, ttlMs: 60_000 } },
      }),
      LlmCallsModule,
    ],
    controllers: [TelemetryController],
    providers: [
      Upstream,
      {
        provide: WRAPPED,
        inject: [LlmCallService],
        useFactory: (calls: LlmCallService) =>
          wrapOpenAI(
            new OpenAI({ apiKey: 'sk-test', baseURL: `${upstreamUrl}/v1`, maxRetries: 0 }),
            calls,
            { name: 'spec.openai' },
          ),
      },
    ],
  })
  class TelemetryAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TelemetryAppModule] }).compile();
  return startTestApp(moduleRef);
}
