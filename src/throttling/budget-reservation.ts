import { isObject } from '../common/is-object';
import { estimateValueTokens, type LlmUsage } from '../llm/llm-usage';
import type { PriceTable } from '../llm/llm-pricing';

const positiveNumber = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;

/** What a request is expected to cost before the LLM answers. */
export interface Reservation {
  model: string;
  promptTokens: number;
  maxTokens: number;
  tokens: number;
  usd: number;
}

/**
 * The reservation of an LLM request body (OpenAI, Anthropic or Gemini shape): the prompt
 * estimated from its text plus the completion cap it asks for (`max_tokens`,
 * `max_completion_tokens`, `max_output_tokens`, `generationConfig.maxOutputTokens`).
 */
export function reserveFor(
  body: unknown,
  defaults: { defaultMaxTokens: number; defaultModel: string },
  pricing: PriceTable,
): Reservation {
  const b = isObject(body) ? body : {};
  const prompt = b.messages ?? b.prompt ?? b.input ?? b.contents ?? b.system ?? '';
  // Iterative: a body nested thousands deep must not overflow the stack (JSON.stringify does).
  const promptTokens = estimateValueTokens(prompt);
  const generation = isObject(b.generationConfig) ? b.generationConfig : {};
  const maxTokens =
    positiveNumber(b.max_tokens) ??
    positiveNumber(b.max_completion_tokens) ??
    positiveNumber(b.max_output_tokens) ??
    positiveNumber(generation.maxOutputTokens) ??
    defaults.defaultMaxTokens;
  const model = typeof b.model === 'string' && b.model ? b.model : defaults.defaultModel;
  const usage: LlmUsage = {
    inputTokens: promptTokens,
    cachedInputTokens: 0,
    outputTokens: maxTokens,
    estimated: true,
  };
  return {
    model,
    promptTokens,
    maxTokens,
    tokens: promptTokens + maxTokens,
    usd: pricing.cost(model, usage),
  };
}
