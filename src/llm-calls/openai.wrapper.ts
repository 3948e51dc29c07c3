import { isObject, type JsonObject as Json } from '../common/is-object';
import { facade, methodOf, apiPromise, wantsStream } from './client-facade';
import type { LlmCallService } from './llm-call.service';
import type { LlmCallSiteOptions } from './llm-call-site.interface';

/** What the wrapper needs of an `openai` client (6.x; duck-typed, never imported). */
export interface OpenAILike {
  chat: { completions: object };
  responses?: object;
}

/**
 * The response a Responses API event stream adds up to: the `response.completed` (or
 * `.incomplete`) event's response with `output_text` filled in, else the text deltas.
 */
export function assembleResponsesStream(events: readonly unknown[]): unknown {
  let text = '';
  let final: Json | undefined;
  for (const event of events) {
    if (!isObject(event)) continue;
    if (event.type === 'response.output_text.delta' && typeof event.delta === 'string')
      text += event.delta;
    if (
      (event.type === 'response.completed' || event.type === 'response.incomplete') &&
      isObject(event.response)
    )
      final = event.response;
  }
  return final ? { ...final, output_text: text } : { output_text: text, status: 'incomplete' };
}

/**
 * The same `openai` client with `chat.completions.create` and `responses.create` (with and
 * without `stream: true`) cached, coalesced, budgeted and counted under the call site. A
 * streamed hit is an SDK-like stream of the recorded chunks. Everything else passes through.
 * Streamed and JSON chat completions share entries; Responses API streams and JSON do not.
 *
 * @example
 * const planner = wrapOpenAI(new OpenAI(), llmCalls, { name: 'agent.plan', ttlMs: 600_000 });
 * const plan = await planner.chat.completions.create({ model: 'gpt-4o-mini', messages });
 */
export function wrapOpenAI<T extends OpenAILike>(
  client: T,
  calls: LlmCallService,
  site: LlmCallSiteOptions,
): T {
  const where = `wrapOpenAI(${site.name})`;
  const chatCreate = methodOf(client.chat.completions, 'create', `${where} chat.completions`);
  const completions = facade(client.chat.completions, {
    create: (body: unknown, options?: unknown) => {
      const params = { $api: 'openai.chat', ...(body as Json) };
      const upstream = () => chatCreate(body, options) as Promise<AsyncIterable<unknown>>;
      return apiPromise(
        () =>
          wantsStream(body)
            ? calls.stream(params, upstream, site)
            : calls.call(params, upstream as () => Promise<unknown>, site),
        upstream,
      );
    },
  });
  const own: Record<string, unknown> = { chat: facade(client.chat, { completions }) };
  if (client.responses) {
    const responsesCreate = methodOf(client.responses, 'create', `${where} responses`);
    own.responses = facade(client.responses, {
      create: (body: unknown, options?: unknown) => {
        const stream = wantsStream(body);
        const params = { $api: 'openai.responses', $stream: stream, ...(body as Json) };
        const upstream = () => responsesCreate(body, options) as Promise<AsyncIterable<unknown>>;
        return apiPromise(
          () =>
            stream
              ? calls.stream(params, upstream, site, { assemble: assembleResponsesStream })
              : calls.call(params, upstream as () => Promise<unknown>, site),
          upstream,
        );
      },
    });
  }
  return facade(client, own);
}
