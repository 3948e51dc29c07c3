import { isObject } from '../common/is-object';
import { finishReason, responseText } from '../llm/llm-response';
import { type LlmUsage, readUsage } from '../llm/llm-usage';

/**
 * OTel's `Attributes`, written out: `UsageMeter` (in the public types) returns this file's
 * `ResponseFacts`, and an app without the optional `@opentelemetry/api` must still compile
 * the kit's declarations (the compat apps check it with skipLibCheck off).
 */
type Attributes = Record<string, string | number | boolean | string[] | number[] | undefined>;

/** What the GenAI semantic conventions say about a call before it runs. */
export interface RequestAttributes {
  'gen_ai.operation.name': string;
  'gen_ai.provider.name'?: string;
  'gen_ai.request.model'?: string;
  'gen_ai.request.max_tokens'?: number;
}

/** Longest model name kept in an attribute (model names come from requests). */
const MAX_NAME_LENGTH = 128;
/** Model names with a metric series of their own; later ones are counted as `_OTHER`. */
const MAX_METRIC_MODELS = 50;
const metricModels = new Set<string>();

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value.slice(0, MAX_NAME_LENGTH) : undefined;
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;

/** A provider name as the conventions spell it, from an SDK's or the AI SDK's own name. */
function providerName(name: string): string {
  const first = name.split('.')[0]!.toLowerCase();
  if (first === 'google') return 'gcp.gemini';
  if (first === 'vertex') return 'gcp.vertex_ai';
  if (first === 'bedrock' || first === 'amazon-bedrock') return 'aws.bedrock';
  return first.slice(0, MAX_NAME_LENGTH);
}

/** The provider of a call with no wrapper to name it, guessed from the model's family. */
function providerOfModel(model: string | undefined): string | undefined {
  if (!model) return undefined;
  if (/^(gpt-|o\d|chatgpt-|text-embedding-|davinci|babbage)/.test(model)) return 'openai';
  if (model.startsWith('claude')) return 'anthropic';
  if (model.startsWith('gemini')) return 'gcp.gemini';
  if (/^(mistral|mixtral|codestral)/.test(model)) return 'mistral_ai';
  return undefined;
}

/**
 * The conventions' request attributes of a call's parameters: the wrappers' `$api` tag
 * (`openai.chat`, `anthropic.messages`, `ai-sdk` with the AI SDK's provider) names the
 * provider; a bare body (a `@CacheLLM` route's, `LlmCacheService.wrap`'s) is named by its model.
 */
export function requestAttributes(params: unknown): RequestAttributes {
  const body = isObject(params) ? params : {};
  const model = text(body.model);
  const api = typeof body.$api === 'string' ? body.$api : undefined;
  const provider =
    api === 'ai-sdk' && typeof body.provider === 'string'
      ? providerName(body.provider)
      : api
        ? providerName(api)
        : providerOfModel(model);
  // Every call the kit wraps is a chat call (chat completions, responses, messages, the AI
  // SDK's generate/stream); embeddings are not cached through it.
  const attributes: RequestAttributes = { 'gen_ai.operation.name': 'chat' };
  if (provider) attributes['gen_ai.provider.name'] = provider;
  if (model) attributes['gen_ai.request.model'] = model;
  const maxTokens = count(body.max_tokens ?? body.max_completion_tokens ?? body.max_output_tokens);
  if (maxTokens !== undefined) attributes['gen_ai.request.max_tokens'] = maxTokens;
  return attributes;
}

/** The span name the conventions give a call: `{operation} {model}`. */
export function spanName(request: RequestAttributes): string {
  const model = request['gen_ai.request.model'];
  return model ? `${request['gen_ai.operation.name']} ${model}` : request['gen_ai.operation.name'];
}

/** The metric attributes of a call: the request's, with its model bounded to a few series. */
export function metricAttributes(request: RequestAttributes, responseModel?: string): Attributes {
  const attributes: Attributes = {
    'gen_ai.operation.name': request['gen_ai.operation.name'],
    'gen_ai.provider.name': request['gen_ai.provider.name'],
    'gen_ai.request.model': boundedModel(request['gen_ai.request.model']),
  };
  if (responseModel) attributes['gen_ai.response.model'] = boundedModel(text(responseModel));
  return attributes;
}

function boundedModel(model: string | undefined): string | undefined {
  if (model === undefined || metricModels.has(model)) return model;
  if (metricModels.size >= MAX_METRIC_MODELS) return '_OTHER';
  metricModels.add(model);
  return model;
}

/** What a response says: its model, finish reasons and usage (read as the cache reads it). */
export interface ResponseFacts {
  model?: string;
  finishReasons?: string[];
  usage?: LlmUsage;
}

/** The facts of a response body (OpenAI, Anthropic, Gemini or the AI SDK's result). */
export function responseFacts(
  response: unknown,
  usageOf?: (response: unknown) => LlmUsage | undefined,
): ResponseFacts {
  if (!isObject(response)) return {};
  const meta = isObject(response.response) ? response.response : {};
  const facts: ResponseFacts = { model: text(response.model) ?? text(meta.modelId) };
  const reason = finishReason(response);
  const aiSdk = isObject(response.finishReason)
    ? response.finishReason.unified
    : response.finishReason;
  if (reason !== 'unknown') facts.finishReasons = [reason];
  else if (typeof aiSdk === 'string') facts.finishReasons = [aiSdk];
  try {
    facts.usage = usageOf?.(response) ?? readUsage(response);
  } catch {
    // A usage hook that throws costs the span its usage, nothing else.
  }
  return facts;
}

/** The span attributes of response facts (usage only for a call that went upstream). */
export function responseAttributes(facts: ResponseFacts, upstream: boolean): Attributes {
  const attributes: Attributes = {};
  if (facts.model) attributes['gen_ai.response.model'] = text(facts.model);
  if (facts.finishReasons) attributes['gen_ai.response.finish_reasons'] = facts.finishReasons;
  if (upstream && facts.usage) {
    attributes['gen_ai.usage.input_tokens'] =
      facts.usage.inputTokens + facts.usage.cachedInputTokens;
    attributes['gen_ai.usage.output_tokens'] = facts.usage.outputTokens;
  }
  return attributes;
}

/** The conventions' `error.type`: an HTTP status as a string, else the error's class name. */
export function errorType(error: unknown): string {
  if (isObject(error)) {
    const status =
      typeof error.getStatus === 'function' ? (error.getStatus as () => unknown)() : error.status;
    if (typeof status === 'number' && status >= 400) return String(status);
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name !== 'Object') return name;
  }
  return '_OTHER';
}

/** Whether the app opted in to prompt and completion text (the conventions' env var). */
export function capturesContent(): boolean {
  return process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === 'true';
}

/** One message of the conventions' `gen_ai.input.messages` / `gen_ai.output.messages`. */
const textMessage = (role: string, content: string) => ({
  role,
  parts: [{ type: 'text', content }],
});

/**
 * A request message in the conventions' shape (`{ role, parts }`): a string content is one
 * text part, and text blocks (`{ type: 'text', text }`: OpenAI, Anthropic, the AI SDK) are text
 * parts; other parts (images, tool calls) stay as the request has them.
 */
function conventionMessage(message: unknown): unknown {
  if (!isObject(message) || typeof message.role !== 'string') return message;
  const { role, content } = message;
  if (typeof content === 'string') return textMessage(role, content);
  if (!Array.isArray(content)) return message;
  const parts = content.map((part: unknown) =>
    isObject(part) && part.type === 'text' && typeof part.text === 'string'
      ? { type: 'text', content: part.text }
      : part,
  );
  return { role, parts };
}

/**
 * `gen_ai.input.messages`: the call's messages (or prompt / input), as JSON in the conventions'
 * shape: a bare prompt (a string) is one user message of one text part.
 */
export function inputMessages(params: unknown): string | undefined {
  if (!isObject(params)) return undefined;
  const messages = params.messages ?? params.prompt ?? params.input;
  if (messages === undefined) return undefined;
  const shaped =
    typeof messages === 'string'
      ? [textMessage('user', messages)]
      : Array.isArray(messages)
        ? messages.map(conventionMessage)
        : messages;
  try {
    return JSON.stringify(shaped);
  } catch {
    return undefined;
  }
}

/** `gen_ai.output.messages`: the completion's text as one assistant message, as JSON. */
export function outputMessages(response: unknown): string | undefined {
  const content = responseText(response);
  if (!content) return undefined;
  return JSON.stringify([textMessage('assistant', content)]);
}
