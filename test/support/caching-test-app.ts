import {
  BadGatewayException,
  BadRequestException,
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Module,
  type PipeTransform,
  Post,
  Query,
  Req,
  UseGuards,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import { from } from 'rxjs';
import {
  ApiCacheClient,
  CacheApi,
  CacheLLM,
  CachingModule,
  type CachingModuleOptions,
  RedisModule,
  type RedisModuleOptions,
} from '../../src';
import { LLM_CACHE_PROBE, type LlmCacheProbe } from '../../src/common/cache-probe';
import { rawResponse } from '../../src/common/http-exchange';
import { startTestApp, testPlatform } from './platform';

/** An OpenAI-style completion whose text is `text`. */
export const completion = (text: string, finish = 'stop') => ({
  id: 'chatcmpl-test',
  object: 'chat.completion',
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
  usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
});

/** Counts handler calls, for the specs. */
export class Calls {
  count = 0;
}

/** What the `/hooked` handler runs while it is in flight (e.g. killing Redis). */
export class Hooks {
  during: () => Promise<void> = async () => undefined;
  /** What `/throws` waits for before it throws (a spec holds the leader while waiters join). */
  beforeThrow: () => Promise<void> = async () => undefined;
  /** `/flaky` throws this while set (an upstream outage). */
  failure: Error | undefined;
  /** What `GET /api-proxy` fetches through `ApiCacheClient`. */
  apiUrl = 'http://127.0.0.1:9/';
}

/** A validation pipe: a body without a string `prompt` is a 400 before the handler runs. */
@Injectable()
class PromptPipe implements PipeTransform {
  transform(value: unknown): { prompt: string } {
    const prompt = (value as { prompt?: unknown } | undefined)?.prompt;
    if (typeof prompt !== 'string') throw new BadRequestException('"prompt" must be a string');
    return { prompt };
  }
}

@Injectable()
class ProbeGuard implements CanActivate {
  constructor(@Inject(LLM_CACHE_PROBE) private readonly probe: LlmCacheProbe) {}
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const hit = await this.probe.willHit(context);
    rawResponse(context.switchToHttp().getResponse()).setHeader('x-probe', String(hit));
    return true;
  }
}

type WithUser = Request & { user?: { id: string } };

/** An auth guard that runs after the probe guard and only then sets `req.user`. */
@Injectable()
class LateAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<WithUser>();
    const user = req.headers['x-late-user'];
    if (typeof user === 'string') req.user = { id: user };
    return true;
  }
}

@Controller()
class TestLlmController {
  constructor(
    private readonly calls: Calls,
    private readonly hooks: Hooks,
    private readonly api: ApiCacheClient,
  ) {}

  @Post('hooked')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  async hooked(@Body() body: { prompt: string }) {
    this.calls.count++;
    await this.hooks.during();
    return completion(body.prompt);
  }

  @Post('user-scope')
  @HttpCode(200)
  @CacheLLM({ scope: 'user' })
  userScope(@Body() body: { prompt: string }, @Req() req: WithUser) {
    this.calls.count++;
    return completion(`${body.prompt} for ${req.user?.id ?? 'nobody'}`);
  }

  // A handler that adds per-user context, under the default scope.
  @Post('default-scope')
  @HttpCode(200)
  @CacheLLM()
  defaultScope(@Body() body: { prompt: string }, @Req() req: WithUser) {
    this.calls.count++;
    return completion(`${body.prompt} for ${req.user?.id ?? 'anonymous'}`);
  }

  @Get('by-query')
  @CacheLLM({ scope: 'global', params: (req) => req.query })
  byQuery(@Query('prompt') prompt: string) {
    this.calls.count++;
    return completion(prompt);
  }

  @Post('global-scope')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  globalScope(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(body.prompt);
  }

  @Post('throws')
  @CacheLLM()
  async throws() {
    this.calls.count++;
    await this.hooks.beforeThrow();
    throw new BadGatewayException('upstream answered 500');
  }

  @Post('status-500')
  @HttpCode(500)
  @CacheLLM()
  status500(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(body.prompt);
  }

  @Post('empty')
  @HttpCode(200)
  @CacheLLM()
  empty() {
    this.calls.count++;
    return completion('');
  }

  @Post('filtered')
  @HttpCode(200)
  @CacheLLM({ cacheIf: (response) => !JSON.stringify(response).includes('nocache') })
  filtered(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(body.prompt);
  }

  // Nest's MessageEvent shape: { data }.
  @Post('observable')
  @HttpCode(200)
  @CacheLLM({ scope: 'global', replay: 'recorded' })
  observable(@Body() body: { prompt: string }) {
    this.calls.count++;
    const chunk = (content: string | undefined, finish: string | null) => ({
      data: {
        id: 'chatcmpl-obs',
        object: 'chat.completion.chunk',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, delta: content ? { content } : {}, finish_reason: finish }],
      },
    });
    return from([chunk(body.prompt, null), chunk(' done', null), chunk(undefined, 'stop')]);
  }

  @Post('late-user')
  @HttpCode(200)
  @UseGuards(ProbeGuard, LateAuthGuard)
  @CacheLLM()
  lateUser(@Body() body: { prompt: string }, @Req() req: WithUser) {
    this.calls.count++;
    return completion(`${body.prompt} for ${req.user?.id ?? 'anonymous'}`);
  }

  // Two routes given the same body: each keeps its own entries (the route is in the key).
  @Post('translate')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  translate(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(`translated: ${body.prompt}`);
  }

  @Post('summarize')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  summarize(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(`summary: ${body.prompt}`);
  }

  // Two routes that share entries on purpose.
  @Post('shared-a')
  @HttpCode(200)
  @CacheLLM({ scope: 'global', namespace: 'shared' })
  sharedA(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(`a: ${body.prompt}`);
  }

  @Post('shared-b')
  @HttpCode(200)
  @CacheLLM({ scope: 'global', namespace: 'shared' })
  sharedB(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(`b: ${body.prompt}`);
  }

  @Post('validated')
  @HttpCode(200)
  @CacheLLM({ scope: 'global' })
  validated(@Body(PromptPipe) body: { prompt: string }) {
    this.calls.count++;
    return completion(body.prompt);
  }

  // Entries expire after 1 ms but are kept a minute to answer upstream failures.
  @Post('flaky')
  @HttpCode(200)
  @CacheLLM({ scope: 'global', ttlMs: 1, staleIfErrorMs: 60_000 })
  flaky(@Body() body: { prompt: string }) {
    this.calls.count++;
    if (this.hooks.failure) throw this.hooks.failure;
    return completion(`${body.prompt} #${this.calls.count}`);
  }

  @Get('api-proxy')
  @CacheApi({ ttlMs: 1, staleIfErrorMs: 60_000 })
  async apiProxy() {
    const answer = await this.api.get(this.hooks.apiUrl, { ttlMs: 0, timeoutMs: 1_000 });
    return answer.body;
  }

  @Post('probed')
  @HttpCode(200)
  @UseGuards(ProbeGuard)
  @CacheLLM({ scope: 'global' })
  probed(@Body() body: { prompt: string }) {
    this.calls.count++;
    return completion(body.prompt);
  }
}

@Module({})
class TestLlmModule {
  static register(options: CachingModuleOptions, redis?: RedisModuleOptions): DynamicModule {
    return {
      module: TestLlmModule,
      imports: [
        ...(redis ? [RedisModule.forRoot(redis)] : []),
        CachingModule.forRoot({
          partitionSecret: 'test-partition-secret-0123456789abcdef',
          ...options,
        }),
      ],
      controllers: [TestLlmController],
      providers: [Calls, Hooks, ProbeGuard, LateAuthGuard, PromptPipe],
    };
  }
}

type FastifyHooks = {
  addHook(name: 'onRequest', hook: (req: WithUser, reply: unknown, done: () => void) => void): void;
};

/**
 * Runs `hook` on every request before its route, with the platform's request: an Express
 * middleware, or on Fastify an `onRequest` hook (Fastify's `request`, which the kit reads).
 */
export function onEveryRequest(app: INestApplication, hook: (req: WithUser) => void): void {
  if (testPlatform() === 'fastify') {
    const fastify = app.getHttpAdapter().getInstance() as FastifyHooks;
    fastify.addHook('onRequest', (req, _reply, done) => {
      hook(req);
      done();
    });
    return;
  }
  app.use((req: WithUser, _res: unknown, next: () => void) => {
    hook(req);
    next();
  });
}

/** The app's auth, as the specs fake it: `x-user` sets `req.user.id` (as Passport would). */
export function userFromHeader(app: INestApplication): void {
  onEveryRequest(app, (req) => {
    const user = req.headers['x-user'];
    if (typeof user === 'string') req.user = { id: user };
  });
}

/**
 * A Nest app on the run's platform with `@CacheLLM` test routes (on Redis when given);
 * `x-user` sets `req.user.id`.
 */
export async function startCachingTestApp(
  options: CachingModuleOptions,
  redis?: RedisModuleOptions,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [TestLlmModule.register(options, redis)],
  }).compile();
  return startTestApp(moduleRef, {}, userFromHeader);
}
