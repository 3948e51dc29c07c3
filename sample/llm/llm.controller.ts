import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import type { ChatCompletion } from './chat-completion';
import { parseGenerateRequest } from './generate-request.parser';
import { LlmProvider } from './llm-provider';

@Controller('llm')
export class LlmController {
  constructor(private readonly llm: LlmProvider) {}

  @Post('generate')
  @HttpCode(200)
  generate(@Body() body: unknown): Promise<ChatCompletion> {
    return this.llm.complete(parseGenerateRequest(body));
  }
}
