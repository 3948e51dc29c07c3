import { isObject, type JsonObject as Json } from '../common/is-object';
import type { LanguageModelMiddleware } from 'ai';
import type { LlmUsage } from '../llm/llm-usage';
import type { LlmCallService } from './llm-call.service';
import type { LlmCallSiteOptions } from './llm-call-site.interface';

/**
 * The AI SDK's `LanguageModelMiddleware` (v3) as `wrapLanguageModel` takes it, written
 * structurally so that the package's types do not need `ai` installed (it is an optional peer).
 *
 * @example
 * const middleware: AiSdkMiddleware = llmCallsMiddleware(llmCalls, { name: 'chat' });
 */
export interface AiSdkMiddleware {
  specificationVersion: 'v3';
  /* eslint-disable @typescript-eslint/no-explicit-any -- the AI SDK's own types are not a dependency of the package */
  wrapGenerate: (options: any) => Promise<any>;
  wrapStream: (options: any) => Promise<any>;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;

/** Token usage of an AI SDK (v3 specification) result or `finish` part. */
export function aiSdkUsage(response: unknown): LlmUsage | undefined {
  const usage = isObject(response) ? response.usage : undefined;
  if (!isObject(usage) || !isObject(usage.inputTokens) || !isObject(usage.outputTokens))
    return undefined;
  const cached = count(usage.inputTokens.cacheRead);
  return {
    inputTokens: Math.max(0, count(usage.inputTokens.total) - cached),
    cachedInputTokens: cached,
    outputTokens: count(usage.outputTokens.total),
    estimated: false,
  };
}

/** Not stored: an error part, or a finish for length, content filter or error. */
function aiSdkCacheable(response: unknown): boolean {
  if (!isObject(response) || response.failed === true) return false;
  const finish = isObject(response.finishReason) ? response.finishReason.unified : undefined;
  return finish !== 'length' && finish !== 'content-filter' && finish !== 'error';
}

/** What streamed parts add up to, for usage, cacheability and the entry's JSON form. */
function assembleParts(parts: readonly unknown[]): unknown {
  let text = '';
  let finish: Json | undefined;
  let failed = false;
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (part.type === 'text-delta' && typeof part.delta === 'string') text += part.delta;
    if (part.type === 'finish') finish = part;
    if (part.type === 'error') failed = true;
  }
  return {
    content: [{ type: 'text', text }],
    finishReason: finish?.finishReason,
    usage: finish?.usage,
    failed: failed || !finish,
  };
}

/** Parts and results carry Dates (`timestamp`): a replayed one gets its Date back. */
function reviveTimestamp<T>(value: T): T {
  if (isObject(value)) {
    const holder = value.type === 'response-metadata' ? value : value.response;
    if (isObject(holder) && typeof holder.timestamp === 'string')
      holder.timestamp = new Date(holder.timestamp);
  }
  return value;
}

/** The parameters of a call as key material: no abort signal, no headers. */
function keyParams(
  params: Json,
  model: { provider: string; modelId: string },
  stream: boolean,
): Json {
  const { abortSignal: _signal, headers: _headers, includeRawChunks: _raw, ...rest } = params;
  return {
    $api: 'ai-sdk',
    $stream: stream,
    provider: model.provider,
    model: model.modelId,
    ...rest,
    // So budgets reserve the completion cap the call asks for.
    max_tokens: params.maxOutputTokens,
  };
}

/** An object ReadableStream over an async iterable (cancel stops the iterable). */
function objectStream<T>(source: AsyncIterable<T>): ReadableStream<T> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<T>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/**
 * An AI SDK `LanguageModel` middleware (for `wrapLanguageModel`, `ai` 6) that caches,
 * coalesces, budgets and counts `generateText` / `streamText` calls under the call site. A
 * streamed hit replays the recorded stream parts (at the recorded pace with
 * `replay: 'recorded'`); `generate` and `stream` calls keep separate entries.
 *
 * @example
 * const model = wrapLanguageModel({ model: openai('gpt-4o-mini'),
 *   middleware: llmCallsMiddleware(llmCalls, { name: 'chat' }) });
 * const { text } = await generateText({ model, prompt: 'Hello' });
 */
export function llmCallsMiddleware(
  calls: LlmCallService,
  site: LlmCallSiteOptions,
): AiSdkMiddleware {
  const options: LlmCallSiteOptions = {
    ...site,
    usage: site.usage ?? aiSdkUsage,
    cacheIf: (response) => aiSdkCacheable(response) && (site.cacheIf?.(response) ?? true),
  };
  const middleware: LanguageModelMiddleware = {
    specificationVersion: 'v3',
    wrapGenerate: async ({ doGenerate, params, model }) => {
      const result = await calls.call(
        keyParams(params as unknown as Json, model, false),
        async () => {
          const { request: _request, response, ...rest } = await doGenerate();
          // The request echo and raw body are not worth storing; the metadata is.
          return {
            ...rest,
            response: response && {
              id: response.id,
              timestamp: response.timestamp,
              modelId: response.modelId,
            },
          };
        },
        options,
      );
      return reviveTimestamp(result);
    },
    wrapStream: async ({ doStream, params, model }) => {
      let meta: Omit<Awaited<ReturnType<typeof doStream>>, 'stream'> = {};
      type Part =
        Awaited<ReturnType<typeof doStream>>['stream'] extends ReadableStream<infer P> ? P : never;
      const parts = await calls.stream<Part>(
        keyParams(params as unknown as Json, model, true),
        async () => {
          const { stream, ...rest } = await doStream();
          meta = rest;
          return stream as unknown as AsyncIterable<Part>;
        },
        options,
        { assemble: assembleParts, revive: (part) => reviveTimestamp(part as Part) },
      );
      return { ...meta, stream: objectStream(parts) };
    },
  };
  return middleware as AiSdkMiddleware;
}
