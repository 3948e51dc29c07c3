import { isObject } from '../common/is-object';

/** Why a completion stopped, normalized across providers. */
export type FinishReason =
  'stop' | 'length' | 'content_filter' | 'tool_calls' | 'other' | 'unknown';

const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  end_turn: 'stop',
  stop_sequence: 'stop',
  STOP: 'stop',
  completed: 'stop',
  length: 'length',
  max_tokens: 'length',
  MAX_TOKENS: 'length',
  incomplete: 'length',
  content_filter: 'content_filter',
  refusal: 'content_filter',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  tool_use: 'tool_calls',
};

/**
 * The finish reason of an OpenAI, Anthropic or Gemini response body.
 *
 * @example
 * finishReason({ choices: [{ finish_reason: 'length' }] }) // 'length'
 */
export function finishReason(response: unknown): FinishReason {
  if (!isObject(response)) return 'unknown';
  const raw =
    arr(response.choices)
      .map((c) => (isObject(c) ? c.finish_reason : undefined))
      .find(Boolean) ??
    response.stop_reason ??
    arr(response.candidates)
      .map((c) => (isObject(c) ? c.finishReason : undefined))
      .find(Boolean) ??
    (response.status === 'incomplete' ? 'incomplete' : response.status);
  if (typeof raw !== 'string') return 'unknown';
  return REASONS[raw] ?? 'other';
}

/**
 * The generated text of an OpenAI (chat, completions, responses), Anthropic or Gemini
 * response body; '' when there is none.
 *
 * @example
 * responseText({ choices: [{ message: { content: 'Hi' } }] }) // 'Hi'
 */
export function responseText(response: unknown): string {
  if (typeof response === 'string') return response;
  if (!isObject(response)) return '';
  const parts: string[] = [];
  for (const choice of arr(response.choices)) {
    if (!isObject(choice)) continue;
    const message = isObject(choice.message)
      ? choice.message
      : isObject(choice.delta)
        ? choice.delta
        : {};
    if (typeof message.content === 'string') parts.push(message.content);
    if (typeof choice.text === 'string') parts.push(choice.text);
    if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0)
      parts.push(JSON.stringify(message.tool_calls));
  }
  for (const block of arr(response.content)) {
    if (isObject(block) && typeof block.text === 'string') parts.push(block.text);
    if (isObject(block) && block.type === 'tool_use') parts.push(JSON.stringify(block.input ?? {}));
  }
  for (const candidate of arr(response.candidates)) {
    const content = isObject(candidate) && isObject(candidate.content) ? candidate.content : {};
    for (const part of arr(content.parts))
      if (isObject(part) && typeof part.text === 'string') parts.push(part.text);
  }
  if (typeof response.output_text === 'string') parts.push(response.output_text);
  if (typeof response.text === 'string') parts.push(response.text);
  return parts.join('');
}
