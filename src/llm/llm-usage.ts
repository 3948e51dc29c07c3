import { isObject } from '../common/is-object';

/** Token usage of one LLM call, normalized across providers. */
export interface LlmUsage {
  /** Prompt tokens billed at the full input price (cached reads excluded). */
  inputTokens: number;
  /** Prompt tokens read from the provider's prompt cache (billed at the cached price). */
  cachedInputTokens: number;
  /** Completion tokens, reasoning tokens included. */
  outputTokens: number;
  /** True when the figures were estimated from text length rather than reported. */
  estimated: boolean;
}

const num = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;

/**
 * Reads token usage from an OpenAI (chat or responses), Anthropic or Gemini response body.
 * Returns undefined when the body carries no usage.
 *
 * @example
 * readUsage({ usage: { prompt_tokens: 12, completion_tokens: 30 } })
 * // { inputTokens: 12, cachedInputTokens: 0, outputTokens: 30, estimated: false }
 */
export function readUsage(response: unknown): LlmUsage | undefined {
  if (!isObject(response)) return undefined;
  const usage = response.usage;
  if (isObject(usage)) {
    if ('prompt_tokens' in usage || 'completion_tokens' in usage) {
      // OpenAI chat completions: prompt_tokens includes the cached ones.
      const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
      const cached = num(details.cached_tokens);
      return {
        inputTokens: Math.max(0, num(usage.prompt_tokens) - cached),
        cachedInputTokens: cached,
        outputTokens: num(usage.completion_tokens),
        estimated: false,
      };
    }
    if ('input_tokens' in usage || 'output_tokens' in usage) {
      if ('cache_read_input_tokens' in usage || 'cache_creation_input_tokens' in usage) {
        // Anthropic: input_tokens already excludes cache reads; cache writes bill as input.
        return {
          inputTokens: num(usage.input_tokens) + num(usage.cache_creation_input_tokens),
          cachedInputTokens: num(usage.cache_read_input_tokens),
          outputTokens: num(usage.output_tokens),
          estimated: false,
        };
      }
      // OpenAI responses API (input_tokens includes cached ones) or Anthropic without caching.
      const details = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
      const cached = num(details.cached_tokens);
      return {
        inputTokens: Math.max(0, num(usage.input_tokens) - cached),
        cachedInputTokens: cached,
        outputTokens: num(usage.output_tokens),
        estimated: false,
      };
    }
  }
  const gemini = response.usageMetadata;
  if (isObject(gemini)) {
    const cached = num(gemini.cachedContentTokenCount);
    return {
      inputTokens: Math.max(0, num(gemini.promptTokenCount) - cached),
      cachedInputTokens: cached,
      outputTokens: num(gemini.candidatesTokenCount) + num(gemini.thoughtsTokenCount),
      estimated: false,
    };
  }
  return undefined;
}

/**
 * A rough token count for text with no reported usage: about four characters a token,
 * the rule of thumb OpenAI and Anthropic both publish for English.
 *
 * @example
 * estimateTokens('Hello, world') // 3
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Estimated tokens of any JSON value (a prompt, a message list): the characters of its
 * strings, numbers and keys, about four a token. Iterative, so no nesting depth or size can
 * overflow the stack the way `JSON.stringify` would.
 *
 * @example
 * estimateValueTokens([{ role: 'user', content: 'Hello, world' }]) // 5
 */
export function estimateValueTokens(value: unknown): number {
  let chars = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') chars += item.length;
    else if (typeof item === 'number' || typeof item === 'boolean') chars += String(item).length;
    else if (Array.isArray(item)) for (const element of item) pending.push(element);
    else if (isObject(item)) {
      for (const [key, element] of Object.entries(item)) {
        chars += key.length;
        pending.push(element);
      }
    }
  }
  return Math.ceil(chars / 4);
}
