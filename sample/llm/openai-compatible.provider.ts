import { BadGatewayException, Injectable } from '@nestjs/common';
import type { ChatCompletion, ChatCompletionChunk, GenerateRequest } from './chat-completion';
import { LlmProvider } from './llm-provider';

/** A real upstream: any OpenAI-compatible `/chat/completions` at `LLM_BASE_URL`. */
@Injectable()
export class OpenAiCompatibleProvider extends LlmProvider {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {
    super();
  }

  async complete(request: GenerateRequest): Promise<ChatCompletion> {
    const response = await this.post({ ...this.body(request), stream: false });
    return (await response.json()) as ChatCompletion;
  }

  async *stream(request: GenerateRequest): AsyncIterable<ChatCompletionChunk> {
    const response = await this.post({
      ...this.body(request),
      stream: true,
      stream_options: { include_usage: true },
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('');
        if (data && data !== '[DONE]') yield JSON.parse(data) as ChatCompletionChunk;
      }
    }
  }

  private body(request: GenerateRequest): Record<string, unknown> {
    const { provider: _provider, stream: _stream, ...rest } = request;
    return rest;
  }

  private async post(body: Record<string, unknown>): Promise<Response> {
    this.calls++;
    const response = await fetch(`${this.baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new BadGatewayException(`Upstream LLM answered ${response.status}`);
    return response;
  }
}
