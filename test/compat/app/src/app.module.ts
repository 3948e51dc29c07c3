// A consumer app of the packed kit: every module, a cached LLM route, a rate-limited route, a
// login / logout, a wrapped SDK client called inside requests, /stats. The same module on
// Express and on Fastify (test/compat/platform/<name>/ adds what differs: main.ts, the spec's
// app factory).
import { Body, Controller, Get, HttpCode, Inject, Module, Post, Req, Res } from '@nestjs/common';
import {
  CacheLLM,
  CachingModule,
  LLMThrottle,
  LlmCallService,
  LlmCallsModule,
  RateLimit,
  RedisModule,
  Session,
  SessionModule,
  SessionService,
  StatsModule,
  ThrottlingModule,
  wrapOpenAI,
  type CacheStatsSnapshot,
  type StatsReport,
} from 'nestjs-llm-kit';

export type { CacheStatsSnapshot, StatsReport };

/** The request and response objects SessionService takes, on whichever platform. */
type SessionRequest = Parameters<SessionService['create']>[0];
type SessionResponse = Parameters<SessionService['destroy']>[1];

interface ChatBody {
  model: string;
  prompt: string;
}

const completion = (model: string, content: string) => ({
  model,
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
});

/** An `openai`-shaped client (the SDK is an optional peer, not installed): counts its calls. */
export const upstream = {
  calls: 0,
  chat: {
    completions: {
      create: async (body: { model: string; messages: { content: string }[] }) => {
        upstream.calls += 1;
        return completion(body.model, `answer to ${body.messages[0]?.content}`);
      },
    },
  },
};

export const PLANNER = 'PLANNER';

@Controller()
export class ChatController {
  constructor(
    private readonly sessions: SessionService,
    @Inject(PLANNER) private readonly planner: typeof upstream,
  ) {}

  @Post('chat')
  @HttpCode(200)
  @CacheLLM()
  @LLMThrottle()
  chat(@Body() body: ChatBody) {
    return completion(body.model, `echo ${body.prompt}`);
  }

  @Post('limited')
  @HttpCode(200)
  @RateLimit({ name: 'compat', limit: 2, ttlMs: 60_000 })
  limited() {
    return { ok: true };
  }

  /** A service-level LLM call: no `req` passed, the caller is the request's session user. */
  @Post('ask')
  @HttpCode(200)
  async ask(@Body() body: { question: string }) {
    const answer = await this.planner.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ content: body.question }],
    });
    return { content: answer.choices[0]?.message.content, upstreamCalls: upstream.calls };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { user: string }, @Req() req: SessionRequest) {
    await this.sessions.create(req, { userId: body.user });
    return { ok: true };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: SessionRequest, @Res({ passthrough: true }) res: SessionResponse) {
    await this.sessions.destroy(req, res);
    return { ok: true };
  }

  @Get('me')
  me(@Session('userId') userId: string | undefined) {
    return { userId: userId ?? null };
  }
}

const prefix = `compat:${process.env.COMPAT_RUN ?? 'app'}:`;

@Module({
  imports: [
    // Without REDIS_URL every module runs on its embedded in-memory store.
    ...(process.env.REDIS_URL ? [RedisModule.forRoot({ url: process.env.REDIS_URL })] : []),
    CachingModule.forRoot({
      keyPrefix: `${prefix}cache`,
      partitionSecret: 'compat-partition-secret-0123456789abcdef',
    }),
    ThrottlingModule.forRoot({ keyPrefix: `${prefix}rl` }),
    SessionModule.forRoot({
      secret: 'compat-session-secret-0123456789abcdefghij',
      prefix: `${prefix}sess:`,
      // Tests talk plain http: a Secure cookie would never be sent back.
      cookie: { secure: false },
    }),
    StatsModule.forRoot(),
    LlmCallsModule,
  ],
  controllers: [ChatController],
  providers: [
    {
      provide: PLANNER,
      inject: [LlmCallService],
      useFactory: (calls: LlmCallService) => wrapOpenAI(upstream, calls, { name: 'compat.ask' }),
    },
  ],
})
export class AppModule {}
