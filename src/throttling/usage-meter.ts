import { isObservable } from 'rxjs';
import { isObject } from '../common/is-object';
import { safeJsonParse } from '../common/safe-json';
import type { PriceTable } from '../llm/llm-pricing';
import { finishReason, responseText } from '../llm/llm-response';
import { readUsage, type LlmUsage } from '../llm/llm-usage';
import type { ResponseFacts } from '../telemetry/genai-attributes';
import type { Reservation } from './budget-reservation';

/** Whether a handler's value is a stream to iterate (an AsyncIterable, an SDK stream object). */
export const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !isObservable(value) &&
  typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';

/**
 * What a response used, from every value it produced: a JSON body, the chunks of a stream
 * (OpenAI, Anthropic, Gemini; as objects, as `@Sse()` `{ data }` events or as SSE text). Usage a
 * chunk reports wins (per field the largest, as streams report running totals); with none, the
 * prompt's reservation plus the streamed text, about four characters a token, so a stream that
 * produced output is never charged nothing.
 *
 * @example
 * const meter = new UsageMeter();
 * for await (const chunk of stream) meter.add(chunk);
 * meter.cost(reservation, pricing); // { tokens, usd }
 */
export class UsageMeter {
  private usage?: LlmUsage;
  private chars = 0;
  private model?: string;
  private finish?: string;
  /** Whether anything was produced (a failed request with no output settles to nothing). */
  produced = false;

  add(value: unknown): void {
    this.produced = true;
    if (typeof value === 'string') {
      for (const item of jsonOf(value))
        if (typeof item === 'string') this.chars += item.length;
        else this.addObject(item);
      return;
    }
    if (isObject(value) && 'data' in value && !('choices' in value)) {
      // Nest's MessageEvent (@Sse()): the payload is its data.
      this.add(value.data);
      return;
    }
    this.addObject(value);
  }

  cost(reservation: Reservation, pricing: PriceTable): { tokens: number; usd: number } {
    const usage = this.usage ?? {
      inputTokens: reservation.promptTokens,
      cachedInputTokens: 0,
      outputTokens: Math.ceil(this.chars / 4),
      estimated: true,
    };
    return {
      tokens: usage.inputTokens + usage.cachedInputTokens + usage.outputTokens,
      usd: pricing.cost(this.model ?? reservation.model, usage),
    };
  }

  /** What the chunks said (reported usage only, no estimate): a streamed answer's span facts. */
  facts(): ResponseFacts {
    return {
      model: this.model,
      finishReasons: this.finish ? [this.finish] : undefined,
      usage: this.usage,
    };
  }

  private addObject(value: unknown): void {
    if (!isObject(value)) return;
    // Anthropic streams: message_start carries the message (and its input usage).
    const inner = isObject(value.message) ? value.message : undefined;
    const usage = readUsage(value) ?? (inner ? readUsage(inner) : undefined);
    if (usage) this.usage = this.usage ? largest(this.usage, usage) : usage;
    const model = value.model ?? inner?.model;
    if (typeof model === 'string' && model) this.model = model;
    this.chars += responseText(value).length;
    // Anthropic content_block_delta: { delta: { text } }.
    const delta = value.delta;
    if (isObject(delta) && typeof delta.text === 'string') this.chars += delta.text.length;
    // The last chunk that names a finish reason (Anthropic's message_delta: in its delta).
    const reason = finishReason(isObject(delta) && 'stop_reason' in delta ? delta : value);
    if (reason !== 'unknown') this.finish = reason;
  }
}

function largest(a: LlmUsage, b: LlmUsage): LlmUsage {
  return {
    inputTokens: Math.max(a.inputTokens, b.inputTokens),
    cachedInputTokens: Math.max(a.cachedInputTokens, b.cachedInputTokens),
    outputTokens: Math.max(a.outputTokens, b.outputTokens),
    estimated: false,
  };
}

/** The JSON values in a text: a JSON body, or the `data:` lines of SSE frames. */
function jsonOf(text: string): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    const one = safeJsonParse(trimmed);
    return one === undefined ? [text] : [one];
  }
  if (!/^(data|event|id):/m.test(text)) return [text];
  const out: unknown[] = [];
  for (const line of text.split('\n'))
    if (line.startsWith('data:')) {
      const data = line.slice(5).trim();
      if (data && data !== '[DONE]') out.push(safeJsonParse(data) ?? data);
    }
  return out;
}
