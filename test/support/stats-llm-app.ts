import {
  Body,
  Controller,
  Get,
  type INestApplication,
  Module,
  Param,
  Post,
  Req,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import {
  CacheLLM,
  CachingModule,
  RedisModule,
  RequireSession,
  Session,
  SessionModule,
  SessionService,
  StatsModule,
} from '../../src';
import { trustLoopbackProxy } from '../session-support/session-test-app';
import { startTestApp } from './platform';
import type { RedisTarget } from './test-redis';

const SECRET = 'stats-llm-app-secret-0123456789-abcdef';

@Controller()
class ChatController {
  constructor(private readonly sessions: SessionService) {}

  /** An OpenAI-style completion that answers with the model the request named. */
  @Post('chat')
  @CacheLLM({ scope: 'global' })
  chat(@Body() body: { model?: string; prompt?: string }) {
    return {
      id: 'chatcmpl-stats',
      object: 'chat.completion',
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: `re: ${body.prompt}` } }],
      usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
    };
  }

  @Post('login/:user')
  async login(@Param('user') user: string, @Req() req: Request) {
    return { id: await this.sessions.create(req, { userId: user }) };
  }

  @Get('me')
  @RequireSession()
  me(@Session('userId') userId: string) {
    return { userId };
  }
}

/**
 * The real caching, session and stats modules together (on Redis when `redis` is given),
 * with a cached chat route, a login and a session route.
 */
export async function startStatsLlmApp(options: {
  prefix: string;
  redis?: RedisTarget;
}): Promise<INestApplication> {
  const { prefix, redis } = options;
  @Module({
    imports: [
      ...(redis ? [RedisModule.forRoot(redis)] : []),
      CachingModule.forRoot({ keyPrefix: `${prefix}llm`, partitionSecret: SECRET }),
      SessionModule.forRoot({ secret: SECRET, prefix: `${prefix}sess:` }),
      StatsModule.forRoot({ keyPrefix: `${prefix}stats:` }),
    ],
    controllers: [ChatController],
  })
  class StatsLlmAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [StatsLlmAppModule] }).compile();
  // The proxy in front (X-Forwarded-Proto: https for the Secure cookie) is trusted.
  return startTestApp(moduleRef, { trustProxy: true }, trustLoopbackProxy);
}
