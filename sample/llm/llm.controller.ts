import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { LLMThrottle, RateLimit } from '../../src';
import type { ChatCompletion } from './chat-completion';
import { parseGenerateRequest } from './generate-request.parser';
import { LlmProvider } from './llm-provider';

@Controller('llm')
export class LlmController {
  constructor(private readonly llm: LlmProvider) {}

  /** 20 requests/min per client plus the token and dollar budgets (see throttling.config.ts). */
  @LLMThrottle()
  @Post('generate')
  @HttpCode(200)
  generate(@Body() body: unknown): Promise<ChatCompletion> {
    return this.llm.complete(parseGenerateRequest(body));
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
