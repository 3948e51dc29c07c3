import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CacheLLM, LLMThrottle, RateLimit } from '../../src';
import type { ChatCompletion, ChatCompletionChunk } from './chat-completion';
import { parseGenerateRequest } from './generate-request.parser';
import { LlmProvider } from './llm-provider';

@Controller('llm')
export class LlmController {
  constructor(private readonly llm: LlmProvider) {}

  /** 20 requests/min per client plus the token and dollar budgets (see throttling.config.ts). */
  @LLMThrottle()
  @Post('generate')
  @HttpCode(200)
  @CacheLLM()
  generate(@Body() body: unknown): Promise<ChatCompletion> | AsyncIterable<ChatCompletionChunk> {
    const request = parseGenerateRequest(body);
    // A stream is sent as SSE by the @CacheLLM interceptor (and recorded for replay).
    return request.stream ? this.llm.stream(request) : this.llm.complete(request);
  }

  /** An expensive route: the `expensive` preset (10/min) on top of the LLM limits. */
  @RateLimit('expensive')
  @LLMThrottle()
  @Post('summarize')
  @HttpCode(200)
  summarize(@Body() body: unknown): Promise<ChatCompletion> {
    const request = parseGenerateRequest(body);
    return this.llm.complete({
      ...request,
      messages: [
        { role: 'system', content: 'Summarize the conversation below in three sentences.' },
        ...request.messages,
      ],
    });
  }
}
