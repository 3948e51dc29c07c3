import {
  Body,
  Controller,
  HttpCode,
  Inject,
  type LoggerService,
  type MessageEvent,
  Module,
  Post,
  Query,
  Res,
  Sse,
  StreamableFile,
  type DynamicModule,
} from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Response } from 'express';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import { from, map, mergeMap, type Observable } from 'rxjs';
import {
  CacheLLM,
  CachingModule,
  type CachingModuleOptions,
  RedisModule,
  type RedisModuleOptions,
} from '../../src';
import { takeOverResponse } from '../../src/common/http-exchange';
import { startTestApp } from './platform';

const OPENAI = Symbol('OPENAI');
type ChatBody = Omit<ChatCompletionCreateParamsBase, 'stream'> & { stream?: boolean };

/**
 * One `@CacheLLM` route per handler shape, each calling the real `openai` SDK. Every POST
 * route sits at `/<shape>/chat/completions`, so an `openai` client whose `baseURL` is
 * `<app>/<shape>` is a client of it.
 */
@Controller()
class ShapesController {
  constructor(@Inject(OPENAI) private readonly openai: OpenAI) {}

  @Post('awaited/chat/completions')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  async awaited(@Body() body: ChatBody) {
    return await this.openai.chat.completions.create({ ...body, stream: false });
  }

  /** The SDK's stream object, returned as is. */
  @Post('sdk-stream/chat/completions')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  sdkStream(@Body() body: ChatBody) {
    return this.openai.chat.completions.create({ ...body, stream: true });
  }

  @Post('observable/chat/completions')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  observable(@Body() body: ChatBody) {
    return from(this.openai.chat.completions.create({ ...body, stream: true })).pipe(
      mergeMap((stream) => from(stream)),
    );
  }

  @Post('async-iterable/chat/completions')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  async *asyncIterable(@Body() body: ChatBody) {
    const stream = await this.openai.chat.completions.create({ ...body, stream: true });
    for await (const chunk of stream) yield chunk;
  }

  @Post('passthrough/chat/completions')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  async passthrough(
    @Body() body: ChatBody,
    @Res({ passthrough: true }) res: Response | { header(name: string, value: string): void },
  ) {
    // Express's `res.setHeader`, Fastify's `reply.header`.
    if ('setHeader' in res) res.setHeader('x-handler', 'passthrough');
    else res.header('x-handler', 'passthrough');
    return await this.openai.chat.completions.create({ ...body, stream: false });
  }

  /** Nest's SSE: GET, one MessageEvent per SDK chunk. */
  @Sse('sse/chat/completions')
  @CacheLLM({ scope: 'global', params: (req) => req.query })
  sse(@Query('model') model: string, @Query('prompt') prompt: string): Observable<MessageEvent> {
    const stream = this.openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: prompt }],
      stream: true,
    });
    return from(stream).pipe(
      mergeMap((chunks) => from(chunks)),
      map((chunk) => ({ data: chunk })),
    );
  }

  @Post('file/chat/completions')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  async file(@Body() body: ChatBody) {
    const completion = await this.openai.chat.completions.create({ ...body, stream: false });
    return new StreamableFile(Buffer.from(JSON.stringify(completion)), {
      type: 'application/json',
    });
  }

  /**
   * Pipes the SDK stream into Node's response itself: Express's `res`, or Fastify's
   * `reply.raw` after `reply.hijack()` (as Fastify asks of a handler that writes `reply.raw`).
   */
  @Post('res/chat/completions')
  @CacheLLM({ scope: 'global' })
  async piped(@Body() body: ChatBody, @Res() res: unknown) {
    const stream = await this.openai.chat.completions.create({ ...body, stream: true });
    const out = takeOverResponse(res);
    out.statusCode = 200;
    out.setHeader('content-type', 'text/event-stream');
    for await (const chunk of stream) out.write(`data: ${JSON.stringify(chunk)}\n\n`);
    out.end('data: [DONE]\n\n');
  }
}

@Module({})
class ShapesModule {
  static register(
    upstream: string,
    options: CachingModuleOptions,
    redis?: RedisModuleOptions,
  ): DynamicModule {
    return {
      module: ShapesModule,
      imports: [
        ...(redis ? [RedisModule.forRoot(redis)] : []),
        CachingModule.forRoot({
          partitionSecret: 'test-partition-secret-0123456789abcdef',
          ...options,
        }),
      ],
      controllers: [ShapesController],
      providers: [
        {
          provide: OPENAI,
          useValue: new OpenAI({ baseURL: upstream, apiKey: 'test', maxRetries: 0 }),
        },
      ],
    };
  }
}

/** Keeps what the app logs, to assert on warnings and on errors that must not happen. */
export class LogCapture implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  private add(level: string, message: unknown): void {
    this.lines.push({
      level,
      message: message instanceof Error ? `${message.name}: ${message.message}` : String(message),
    });
  }
  log(message: unknown) {
    this.add('log', message);
  }
  error(message: unknown) {
    this.add('error', message);
  }
  warn(message: unknown) {
    this.add('warn', message);
  }
}

/** The shapes app on the run's platform, listening on a free port, with the `openai` SDK calling `upstream`. */
export async function startShapesApp(
  upstream: string,
  options: CachingModuleOptions,
  redis?: RedisModuleOptions,
): Promise<{ app: INestApplication; url: string; logs: LogCapture }> {
  const moduleRef = await Test.createTestingModule({
    imports: [ShapesModule.register(upstream, options, redis)],
  }).compile();
  const logs = new LogCapture();
  const app = await startTestApp(moduleRef, { logger: logs });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, logs };
}
