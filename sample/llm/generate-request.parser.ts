import { BadRequestException } from '@nestjs/common';
import type { GenerateRequest } from './chat-completion';

const MAX_MESSAGES = 1000;
const MAX_CONTENT_DEPTH = 32;
const MAX_MODEL_LENGTH = 200;

/** Nesting depth of a JSON value, stopping once past `limit` (no recursion, no stack overflow). */
function depthExceeds(value: unknown, limit: number): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > limit) return true;
    const next: unknown[] = [];
    for (const item of level)
      if (typeof item === 'object' && item !== null) next.push(...Object.values(item));
    level = next;
  }
  return false;
}
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function optionalNumber(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new BadRequestException(`"${field}" must be a number from ${min} to ${max}`);
  }
  return value;
}

/**
 * Validates the body of `POST /llm/generate`: `model` plus `messages` (or a `prompt`
 * string, turned into one user message). Anything unusable is a 400 that names the field.
 */
export function parseGenerateRequest(body: unknown): GenerateRequest {
  if (!isObject(body)) throw new BadRequestException('The body must be a JSON object');
  const { model, prompt, messages, provider, stream, user } = body;
  if (typeof model !== 'string' || model.length === 0)
    throw new BadRequestException('"model" must be a non-empty string');
  if (model.length > MAX_MODEL_LENGTH)
    throw new BadRequestException(
      `"model" must be at most ${MAX_MODEL_LENGTH} characters (got ${model.length})`,
    );
  let parsed: GenerateRequest['messages'];
  if (messages !== undefined) {
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_MESSAGES) {
      throw new BadRequestException(`"messages" must be an array of 1 to ${MAX_MESSAGES} messages`);
    }
    parsed = messages.map((message, i) => {
      if (!isObject(message) || typeof message.role !== 'string' || message.content === undefined) {
        throw new BadRequestException(`"messages[${i}]" must have a string "role" and a "content"`);
      }
      if (depthExceeds(message.content, MAX_CONTENT_DEPTH)) {
        throw new BadRequestException(
          `"messages[${i}].content" nests deeper than ${MAX_CONTENT_DEPTH} levels`,
        );
      }
      return { role: message.role, content: message.content };
    });
  } else if (typeof prompt === 'string' && prompt.length > 0) {
    parsed = [{ role: 'user', content: prompt }];
  } else {
    throw new BadRequestException('Give "messages" (an array) or "prompt" (a string)');
  }
  if (provider !== undefined && typeof provider !== 'string')
    throw new BadRequestException('"provider" must be a string');
  if (stream !== undefined && typeof stream !== 'boolean')
    throw new BadRequestException('"stream" must be a boolean');
  if (user !== undefined && typeof user !== 'string')
    throw new BadRequestException('"user" must be a string');
  return {
    provider,
    model,
    messages: parsed,
    temperature: optionalNumber(body, 'temperature', 0, 2),
    max_tokens: optionalNumber(body, 'max_tokens', 1, 1_000_000),
    stream,
    user,
  };
}
