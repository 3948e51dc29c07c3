import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import { streamText } from 'ai';
import type { ServerResponse } from 'node:http';
import { AGENT_CLIENTS, type AgentClients } from './agent.clients';
import { AgentService } from './agent.service';
import { DigestQueue } from './digest.queue';

function text(body: unknown, field: string, max = 4000): string {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw new BadRequestException(`"${field}" must be a string of 1 to ${max} characters`);
  return value;
}

/**
 * Node's response to stream on: Express's `res` is one; Fastify's `reply` keeps it as `raw`,
 * after `hijack()` tells Fastify the handler answers by itself.
 */
function streamingResponse(
  res: ServerResponse | { raw: ServerResponse; hijack(): unknown },
): ServerResponse {
  if (!('hijack' in res)) return res;
  res.hijack();
  return res.raw;
}

/**
 * LLM calls made in services, not route bodies: an agent (three dependent calls through the
 * wrapped `openai` client), a queue job (outside any request), and a chat streamed through the
 * AI SDK. All cached, coalesced, budgeted and counted by call site (`GET /stats/cache`).
 */
@Controller('agent')
export class AgentController {
  constructor(
    private readonly agent: AgentService,
    private readonly queue: DigestQueue,
    @Inject(AGENT_CLIENTS) private readonly clients: AgentClients,
  ) {}

  /** `{ question }` -> `{ plan, draft, answer }`: three upstream calls the first time, none after. */
  @Post('run')
  @HttpCode(200)
  run(@Body() body: unknown) {
    return this.agent.run(text(body, 'question'));
  }

  /** `{ userId, text }` -> 202 `{ id }`; the worker summarizes it as that user. */
  @Post('jobs')
  @HttpCode(202)
  enqueue(@Body() body: unknown) {
    const { id } = this.queue.enqueue({
      userId: text(body, 'userId', 100),
      text: text(body, 'text'),
    });
    return { id };
  }

  @Get('jobs/:id')
  job(@Param('id') id: string) {
    const result = this.queue.results.get(id);
    if (!result) throw new NotFoundException('no such job');
    return result;
  }

  /** `{ prompt }` -> SSE of `{ delta }` events, streamed through the AI SDK (a hit replays at the recorded pace). */
  @Post('chat')
  async chat(
    @Body() body: unknown,
    @Res() reply: ServerResponse | { raw: ServerResponse; hijack(): unknown },
  ): Promise<void> {
    const result = streamText({
      model: this.clients.chat,
      prompt: text(body, 'prompt'),
      maxRetries: 0,
    });
    const res = streamingResponse(reply);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.flushHeaders();
    try {
      for await (const delta of result.textStream)
        res.write(`data: ${JSON.stringify({ delta })}\n\n`);
      res.end('data: [DONE]\n\n');
    } catch {
      res.end(`event: error\ndata: ${JSON.stringify({ error: 'upstream stream failed' })}\n\n`);
    }
  }
}
