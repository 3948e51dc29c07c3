// A consumer app of the packed kit: every module, a cached LLM route, a login, /stats.
import { Body, Controller, Get, HttpCode, Module, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import {
  CacheLLM,
  CachingModule,
  LLMThrottle,
  RedisModule,
  Session,
  SessionModule,
  SessionService,
  StatsModule,
  ThrottlingModule,
  type CacheStatsSnapshot,
  type StatsReport,
} from 'nestjs-llm-kit';

export type { CacheStatsSnapshot, StatsReport };

interface ChatBody {
  model: string;
  prompt: string;
}

@Controller()
export class ChatController {
  constructor(private readonly sessions: SessionService) {}

  @Post('chat')
  @HttpCode(200)
  @CacheLLM()
  @LLMThrottle()
  chat(@Body() body: ChatBody) {
    return {
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: `echo ${body.prompt}` },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
    };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { user: string }, @Req() req: Request) {
    await this.sessions.create(req, { userId: body.user });
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
  ],
  controllers: [ChatController],
})
export class AppModule {}
