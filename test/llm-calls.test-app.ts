import {
  Body,
  Controller,
  Inject,
  Module,
  Post,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import OpenAI from 'openai';
import {
  CachingModule,
  type CachingModuleOptions,
  LlmCallService,
  LlmCallsModule,
  RedisModule,
  ThrottlingModule,
  wrapOpenAI,
  type ThrottlingModuleOptions,
} from '../src';
import { authFromHeaders, userFromHeader } from './support/header-user';
import { startTestApp } from './support/platform';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

export const WRAPPED_OPENAI = Symbol('wrapped openai');

/** An OpenAI client of the real SDK against the fake server (no retries: a count is a count). */
export const openAiClient = (baseUrl: string): OpenAI =>
  new OpenAI({ apiKey: 'sk-test', baseURL: `${baseUrl}/v1`, maxRetries: 0 });

@Controller()
class AskController {
  constructor(@Inject(WRAPPED_OPENAI) private readonly openai: OpenAI) {}

  /** A service-style call deep in a handler: no `req` passed anywhere. */
  @Post('ask')
  async ask(@Body() body: { prompt: string; max_tokens?: number }) {
    const completion = await this.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: body.prompt }],
      max_tokens: body.max_tokens,
    });
    return { text: completion.choices[0]?.message.content };
  }
}

@Module({})
class LlmCallsTestModule {
  static register(
    baseUrl: string,
    throttling: ThrottlingModuleOptions,
    caching: CachingModuleOptions,
  ): DynamicModule {
    return {
      module: LlmCallsTestModule,
      imports: [
        RedisModule.forRoot(testRedisOptions()),
        CachingModule.forRoot({
          partitionSecret: 'test-partition-secret-0123456789abcdef',
          ...caching,
        }),
        ThrottlingModule.forRoot({ keyPrefix: uniquePrefix('rl'), ...throttling }),
        LlmCallsModule,
      ],
      controllers: [AskController],
      providers: [
        {
          provide: WRAPPED_OPENAI,
          inject: [LlmCallService],
          useFactory: (calls: LlmCallService) =>
            wrapOpenAI(openAiClient(baseUrl), calls, { name: 'test.ask' }),
        },
      ],
    };
  }
}

/**
 * A Nest app on the spec's Redis with CachingModule, ThrottlingModule and LlmCallsModule;
 * `POST /ask` calls the wrapped openai client; `x-user` sets `req.user.id`. Give the same
 * `keyPrefix` to two apps to make them two instances of one service.
 */
export async function startLlmCallsApp(
  baseUrl: string,
  throttling: ThrottlingModuleOptions = {},
  caching: CachingModuleOptions = { keyPrefix: uniquePrefix('llm') },
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [LlmCallsTestModule.register(baseUrl, throttling, caching)],
  }).compile();
  return startTestApp(moduleRef, {}, (app) => authFromHeaders(app, userFromHeader('x-user')));
}

/** Every chunk of a stream, as plain JSON (what a reader sees, minus class identity). */
export async function collect<T>(stream: AsyncIterable<T>): Promise<unknown[]> {
  const chunks: unknown[] = [];
  for await (const chunk of stream) chunks.push(JSON.parse(JSON.stringify(chunk)));
  return chunks;
}
