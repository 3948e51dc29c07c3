import { isObject, type JsonObject as Json } from '../common/is-object';
import { facade, methodOf, apiPromise, wantsStream } from './client-facade';
import type { LlmCallService } from './llm-call.service';
import type { LlmCallSiteOptions } from './llm-call-site.interface';

/** What the wrapper needs of an `@anthropic-ai/sdk` client (duck-typed, never imported). */
export interface AnthropicLike {
  messages: object;
}

/**
 * The Message an Anthropic event stream adds up to: `message_start`'s message with the text
 * blocks joined, `message_delta`'s stop reason and output usage.
 */
export function assembleMessageStream(events: readonly unknown[]): unknown {
  let message: Json | undefined;
  let text = '';
  let stopReason: unknown = null;
  let usage: Json = {};
  for (const event of events) {
    if (!isObject(event)) continue;
    if (event.type === 'message_start' && isObject(event.message)) {
      message = event.message;
      if (isObject(message.usage)) usage = { ...message.usage };
    } else if (event.type === 'content_block_delta' && isObject(event.delta)) {
      if (typeof event.delta.text === 'string') text += event.delta.text;
    } else if (event.type === 'message_delta') {
      if (isObject(event.delta) && event.delta.stop_reason) stopReason = event.delta.stop_reason;
      if (isObject(event.usage)) usage = { ...usage, ...definedOnly(event.usage) };
    }
  }
  return {
    ...message,
    content: [{ type: 'text', text }],
    stop_reason: stopReason,
    usage,
  };
}

const definedOnly = (value: Json): Json =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));

/**
 * The same `@anthropic-ai/sdk` client with `messages.create` (with and without
 * `stream: true`) and `messages.stream` cached, coalesced, budgeted and counted under the
 * call site. `messages.stream` keeps returning the SDK's own `MessageStream` (events,
 * `finalMessage()`, `finalText()`): it reads a replayed hit as it reads the network.
 *
 * @example
 * const claude = wrapAnthropic(new Anthropic(), llmCalls, { name: 'support.reply' });
 * const text = await claude.messages.stream({ model, max_tokens: 512, messages }).finalText();
 */
export function wrapAnthropic<T extends AnthropicLike>(
  client: T,
  calls: LlmCallService,
  site: LlmCallSiteOptions,
): T {
  const where = `wrapAnthropic(${site.name})`;
  const create = methodOf(client.messages, 'create', `${where} messages`);
  const stream = (client.messages as { stream?: unknown }).stream;
  if (typeof stream !== 'function')
    throw new TypeError(
      `${where}: the client has no messages.stream(); is it an Anthropic client?`,
    );
  const own: Record<string, unknown> = {
    create: (body: unknown, options?: unknown) => {
      const streamed = wantsStream(body);
      const params = { $api: 'anthropic.messages', $stream: streamed, ...(body as Json) };
      const upstream = () => create(body, options) as Promise<AsyncIterable<unknown>>;
      return apiPromise(
        () =>
          streamed
            ? calls.stream(params, upstream, site, { assemble: assembleMessageStream })
            : calls.call(params, upstream as () => Promise<unknown>, site),
        upstream,
      );
    },
  };
  // The SDK's stream() calls `this.create({ ...params, stream: true }).withResponse()`: run it
  // with the facade as `this`, so it goes through the cached create above.
  const messages = facade(client.messages, own);
  own.stream = (body: unknown, options?: unknown): unknown =>
    (stream as (body: unknown, options?: unknown) => unknown).call(messages, body, options);
  return facade(client, { messages });
}
