import { isObject, type JsonObject as Json } from '../common/is-object';
import { safeJsonParse } from '../common/safe-json';
import type { RecordedEvent } from './cache-entry';

/**
 * The chat completion an OpenAI-style chunk stream adds up to (content joined, the last
 * finish reason, the usage of the final chunk), so a streamed entry can answer a JSON
 * request. Undefined when the events are not OpenAI chat chunks.
 *
 * @example
 * assembleCompletion(events)?.choices[0].message.content
 */
export function assembleCompletion(events: readonly RecordedEvent[]): Json | undefined {
  let first: Json | undefined;
  let content = '';
  let finish: unknown = null;
  let usage: unknown;
  for (const event of events) {
    const chunk = safeJsonParse(event.data);
    if (!isObject(chunk) || !Array.isArray(chunk.choices)) return undefined;
    first ??= chunk;
    const choice: unknown = chunk.choices[0];
    if (isObject(choice)) {
      const delta = isObject(choice.delta) ? choice.delta : {};
      if (typeof delta.content === 'string') content += delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (isObject(chunk.usage)) usage = chunk.usage;
  }
  if (!first) return undefined;
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  };
}

/**
 * The events a chat completion would have streamed as (one content chunk, one final chunk
 * with the finish reason and usage), so a JSON entry can answer a stream request.
 *
 * @example
 * completionEvents(completion).length // 2
 */
export function completionEvents(body: string): RecordedEvent[] {
  const completion = JSON.parse(body) as unknown;
  if (!isObject(completion) || !Array.isArray(completion.choices)) {
    return [{ data: body, atMs: 0 }];
  }
  const choice: unknown = completion.choices[0];
  const message = isObject(choice) && isObject(choice.message) ? choice.message : {};
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
  };
  return [
    {
      data: JSON.stringify({
        ...base,
        choices: [
          {
            index: 0,
            delta: { role: 'assistant', content: message.content ?? '' },
            finish_reason: null,
          },
        ],
      }),
      atMs: 0,
    },
    {
      data: JSON.stringify({
        ...base,
        choices: [
          { index: 0, delta: {}, finish_reason: isObject(choice) ? choice.finish_reason : 'stop' },
        ],
        ...(completion.usage ? { usage: completion.usage } : {}),
      }),
      atMs: 0,
    },
  ];
}
