import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import type { ChatCompletion, ChatCompletionChunk, GenerateRequest } from './chat-completion';
import { LlmProvider } from './llm-provider';

const WORDS =
  'the a cache saves tokens money time answer model request user prompt reply fast cheap'.split(
    ' ',
  );

/**
 * A deterministic stand-in for an LLM: the same request always gets the same text, after
 * `latencyMs`, with OpenAI-style `usage`.
 */
@Injectable()
export class SimulatedLlmProvider extends LlmProvider {
  constructor(readonly latencyMs = Number(process.env.LLM_LATENCY_MS ?? 2000)) {
    super();
  }

  async complete(request: GenerateRequest): Promise<ChatCompletion> {
    this.calls++;
    await delay(this.latencyMs);
    const { text, finish, promptTokens, completionTokens } = this.answer(request);
    return {
      id: `chatcmpl-sim-${this.seed(request).slice(0, 12)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  }

  async *stream(request: GenerateRequest): AsyncIterable<ChatCompletionChunk> {
    this.calls++;
    const { text, finish, promptTokens, completionTokens } = this.answer(request);
    const words = text.split(' ');
    const id = `chatcmpl-sim-${this.seed(request).slice(0, 12)}`;
    const created = Math.floor(Date.now() / 1000);
    const step = this.latencyMs / (words.length + 1);
    const chunk = (
      delta: { content?: string },
      finishReason: string | null,
      usage?: ChatCompletionChunk['usage'],
    ): ChatCompletionChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: request.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
      ...(usage ? { usage } : {}),
    });
    for (const [i, word] of words.entries()) {
      await delay(step);
      yield chunk({ content: i === 0 ? word : ` ${word}` }, null);
    }
    await delay(step);
    yield chunk({}, finish, {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    });
  }

  private seed(request: GenerateRequest): string {
    return createHash('sha256')
      .update(JSON.stringify([request.model, request.messages, request.temperature ?? 1]))
      .digest('hex');
  }

  private answer(request: GenerateRequest) {
    const seed = this.seed(request);
    const wanted = 12 + (parseInt(seed.slice(0, 2), 16) % 24);
    const count = Math.min(wanted, request.max_tokens ?? Infinity);
    const text = Array.from(
      { length: count },
      (_, i) => WORDS[parseInt(seed.slice(i % 60, (i % 60) + 2), 16) % WORDS.length],
    ).join(' ');
    const promptChars = JSON.stringify(request.messages).length;
    return {
      text: `Simulated answer: ${text}.`,
      finish: count < wanted ? 'length' : 'stop',
      promptTokens: Math.ceil(promptChars / 4),
      completionTokens: count + 3,
    };
  }
}
