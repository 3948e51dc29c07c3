// The app of the throttling e2e specs (not a spec itself): small routes under each decorator,
// real ThrottlingModule, optional real RedisModule, optional cache probe.
import {
  Body,
  Controller,
  type DynamicModule,
  Get,
  Global,
  HttpCode,
  type INestApplication,
  type MessageEvent,
  Module,
  Post,
  Query,
  Sse,
  type Provider,
} from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { from, type Observable, of } from 'rxjs';
import { Stream as OpenAiStream } from 'openai/streaming';
import { authFromHeaders } from './support/header-user';
import { startTestApp, testPlatform } from './support/platform';
import {
  LLMThrottle,
  RateLimit,
  RedisModule,
  SkipRateLimit,
  ThrottlingModule,
  type RedisModuleOptions,
  type ThrottlingModuleOptions,
} from '../src';

export const HOUR_MS = 3_600_000;

/** The policies the test routes name; a spec may override them. */
export const TEST_POLICIES = {
  first: { limit: 5, ttlMs: HOUR_MS },
  second: { limit: 2, ttlMs: HOUR_MS },
  a: { limit: 1000, ttlMs: HOUR_MS },
  b: { limit: 1000, ttlMs: HOUR_MS },
  c: { limit: 1000, ttlMs: HOUR_MS },
  /** Counts per `x-user` header: another tracker than 'first' (by IP), so another cluster slot. */
  'user-pair': {
    limit: 2,
    ttlMs: HOUR_MS,
    by: (req: import('express').Request) => req.headers['x-user'] as string | undefined,
  },
  'p-open': { limit: 5, ttlMs: HOUR_MS, onRedisError: 'open' as const },
  'p-closed': { limit: 5, ttlMs: HOUR_MS, onRedisError: 'closed' as const },
  'p-local': { limit: 5, ttlMs: HOUR_MS, onRedisError: 'local' as const },
};

/** Lets a spec hold `/hang` open and know when its handler was entered. */
export class HangControl {
  entered!: Promise<void>;
  release!: () => void;
  private enter!: () => void;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.entered = new Promise((resolve) => (this.enter = resolve));
  }
  wait(): Promise<void> {
    this.enter();
    return new Promise((resolve) => (this.release = resolve));
  }
}
export const hang = new HangControl();

interface FakeLlmBody {
  prompt?: string;
  /** The model the fake LLM answers as. @default 'gpt-4o-mini' */
  model?: string;
  /** Usage the fake LLM reports. */
  usageIn?: number;
  usageOut?: number;
  fail?: boolean;
}

function completion(body: FakeLlmBody) {
  if (body.fail) throw new Error('upstream failed');
  return {
    object: 'chat.completion',
    model: body.model ?? 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: body.usageIn ?? 10, completion_tokens: body.usageOut ?? 10 },
  };
}

@Controller()
export class ThrottledController {
  @Get('open')
  open() {
    return { ok: true };
  }

  @SkipRateLimit()
  @Get('health')
  health() {
    return { ok: true };
  }

  @RateLimit('first')
  @Get('one')
  one() {
    return { ok: true };
  }

  @RateLimit('first', 'second')
  @Get('two')
  two() {
    return { ok: true };
  }

  @RateLimit('first', 'user-pair')
  @Get('mixed')
  mixed() {
    return { ok: true };
  }

  @RateLimit('a', 'b', 'c')
  @Get('three')
  three() {
    return { ok: true };
  }

  @RateLimit('p-open')
  @Get('p-open')
  pOpen() {
    return { ok: true };
  }

  @RateLimit('p-closed')
  @Get('p-closed')
  pClosed() {
    return { ok: true };
  }

  @RateLimit('p-local')
  @Get('p-local')
  pLocal() {
    return { ok: true };
  }

  @RateLimit({ name: 'burst', limit: 100, ttlMs: HOUR_MS })
  @Get('burst')
  burst() {
    return { ok: true };
  }

  @RateLimit({ name: 'by-user', limit: 1, ttlMs: HOUR_MS, by: 'user' })
  @Get('by-user')
  byUser() {
    return { ok: true };
  }

  @RateLimit({ name: 'by-session', limit: 1, ttlMs: HOUR_MS, by: 'session' })
  @Get('by-session')
  bySession() {
    return { ok: true };
  }

  @RateLimit({ name: 'by-api-key', limit: 1, ttlMs: HOUR_MS, by: 'apiKey' })
  @Get('by-api-key')
  byApiKey() {
    return { ok: true };
  }

  @RateLimit({ name: 'by-ip', limit: 1, ttlMs: HOUR_MS })
  @Get('by-ip')
  byIp() {
    return { ok: true };
  }

  @LLMThrottle()
  @Post('llm')
  @HttpCode(200)
  llm(@Body() body: FakeLlmBody) {
    return completion(body);
  }

  @LLMThrottle({ countCacheHits: true })
  @Post('llm-counted')
  @HttpCode(200)
  llmCounted(@Body() body: FakeLlmBody) {
    return completion(body);
  }

  /** A streamed answer: chunks, the last one carrying the usage (OpenAI include_usage style). */
  @LLMThrottle()
  @Post('llm-stream')
  @HttpCode(200)
  llmStream(@Body() body: FakeLlmBody) {
    return of(
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'o' } }] },
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'k' } }] },
      { ...completion(body), object: 'chat.completion.chunk', choices: [] },
    );
  }

  /** An AsyncIterable of chat chunks that reports no usage: `chunks` chunks of 40 characters. */
  @LLMThrottle()
  @Post('llm-async')
  @HttpCode(200)
  async *llmAsync(@Body() body: FakeLlmBody & { chunks?: number }) {
    for (let i = 0; i < (body.chunks ?? 20); i++) {
      await Promise.resolve();
      yield {
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: 'x'.repeat(40) } }],
      };
    }
  }

  /** The openai SDK's own Stream object over an SSE body whose last chunk reports usage. */
  @LLMThrottle()
  @Post('llm-sdk-stream')
  @HttpCode(200)
  llmSdkStream(@Body() body: FakeLlmBody) {
    const chunks = [
      {
        object: 'chat.completion.chunk',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, delta: { content: 'hello' } }],
      },
      { ...completion(body), object: 'chat.completion.chunk', choices: [] },
    ];
    const sse = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
    return OpenAiStream.fromSSEResponse(new Response(sse), new AbortController());
  }

  /** @Sse(): MessageEvents, the final one carrying usage unless `?noUsage`. */
  @LLMThrottle()
  @Sse('llm-sse')
  llmSse(@Query('noUsage') noUsage?: string): Observable<MessageEvent> {
    const chunk = (content: string) => ({
      data: { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] },
    });
    const events: MessageEvent[] = Array.from({ length: 10 }, () => chunk('y'.repeat(40)));
    if (!noUsage)
      events.push({ data: { ...completion({ usageIn: 30, usageOut: 470 }), choices: [] } });
    return from(events);
  }

  @LLMThrottle()
  @Post('hang')
  @HttpCode(200)
  async hang(@Body() body: FakeLlmBody) {
    await hang.wait();
    return completion(body);
  }
}

export interface TestAppOptions {
  throttling: ThrottlingModuleOptions;
  redis?: RedisModuleOptions;
  /** Providers of a global module, e.g. the cache probe. */
  globalProviders?: Provider[];
  /**
   * The platform trusts X-Forwarded-For (`req.ip`, `req.ips`): Express's `trust proxy`,
   * Fastify's `trustProxy` (the kit's own `trustProxy` option is the throttling one's).
   */
  platformTrustsProxy?: boolean;
}

@Global()
@Module({})
class GlobalExtras {
  static register(providers: Provider[]): DynamicModule {
    return {
      module: GlobalExtras,
      providers,
      exports: providers.map((p) => ('provide' in p ? p.provide : p)),
    };
  }
}

/** Builds and initializes the test app (not listening). */
export async function throttledApp(options: TestAppOptions): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(options.redis ? [RedisModule.forRoot(options.redis)] : []),
      GlobalExtras.register(options.globalProviders ?? []),
      ThrottlingModule.forRoot({
        ...options.throttling,
        policies: { ...TEST_POLICIES, ...options.throttling.policies },
      }),
    ],
    controllers: [ThrottledController],
  }).compile();
  // Stand-ins for the app's auth (req.user) and express-session with a stored session its
  // cookie carried (req.session, req.sessionID; test/session-throttling covers the real one).
  const trustProxy = options.platformTrustsProxy ?? false;
  return startTestApp(moduleRef, { trustProxy }, (app) => {
    if (trustProxy && testPlatform() === 'express')
      (app as NestExpressApplication).set('trust proxy', true);
    authFromHeaders(app, (req) => {
      const user = req.headers['x-test-user'];
      const session = req.headers['x-test-session'];
      const fields: Record<string, unknown> =
        typeof user === 'string' ? { user: { id: user } } : {};
      if (typeof session === 'string') {
        req.headers.cookie = `sid=s%3A${session}.signature`;
        Object.assign(fields, { sessionID: session, session: {} });
      }
      return fields;
    });
  });
}
