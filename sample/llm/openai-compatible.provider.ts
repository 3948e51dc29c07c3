import { BadGatewayException, Injectable } from '@nestjs/common';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ChatCompletion, ChatCompletionChunk, GenerateRequest } from './chat-completion';
import { LlmProvider } from './llm-provider';

/**
 * A real upstream: any OpenAI-compatible `/chat/completions` at `LLM_BASE_URL`, called
 * through the official `openai` SDK (its SSE parser, retries and errors).
 */
@Injectable()
export class OpenAiCompatibleProvider extends LlmProvider {
  private readonly client: OpenAI;

  constructor(baseUrl: string, apiKey?: string, timeoutMs = 60_000) {
    super();
    this.client = new OpenAI({
      baseURL: baseUrl,
      // Local OpenAI-compatible servers take no key; the SDK insists on one.
      apiKey: apiKey ?? 'unused',
      timeout: timeoutMs,
      maxRetries: 1,
    });
  }

  async complete(request: GenerateRequest): Promise<ChatCompletion> {
    this.calls++;
    try {
      const completion = await this.client.chat.completions.create({
        ...this.params(request),
        stream: false,
      });
      return completion as unknown as ChatCompletion;
    } catch (error) {
      throw upstreamError(error);
    }
  }

  async *stream(request: GenerateRequest): AsyncIterable<ChatCompletionChunk> {
    this.calls++;
    let stream;
    try {
      stream = await this.client.chat.completions.create({
        ...this.params(request),
        stream: true,
        stream_options: { include_usage: true },
      });
    } catch (error) {
      throw upstreamError(error);
    }
    for await (const chunk of stream) yield chunk as unknown as ChatCompletionChunk;
  }

  private params(request: GenerateRequest) {
    return {
      model: request.model,
      messages: request.messages as ChatCompletionMessageParam[],
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.max_tokens !== undefined ? { max_tokens: request.max_tokens } : {}),
      ...(request.user !== undefined ? { user: request.user } : {}),
    };
  }
}

/** An upstream failure as the 502 the sample's clients get (status only, never the prompt). */
function upstreamError(error: unknown): BadGatewayException {
  const status = error instanceof OpenAI.APIError ? error.status : undefined;
  return new BadGatewayException(
    status ? `Upstream LLM answered ${status}` : 'Upstream LLM unreachable',
  );
}
