import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CacheLLM } from '../../src';
import type { ChatCompletion, ChatCompletionChunk } from './chat-completion';
import { parseGenerateRequest } from './generate-request.parser';
import { LlmProvider } from './llm-provider';

@Controller('llm')
export class LlmController {
  constructor(private readonly llm: LlmProvider) {}

  @Post('generate')
  @HttpCode(200)
  @CacheLLM()
  generate(@Body() body: unknown): Promise<ChatCompletion> | AsyncIterable<ChatCompletionChunk> {
    const request = parseGenerateRequest(body);
    // A stream is sent as SSE by the @CacheLLM interceptor (and recorded for replay).
    return request.stream ? this.llm.stream(request) : this.llm.complete(request);
  }
}
