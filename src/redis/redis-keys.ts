import { hash } from 'node:crypto';

/**
 * Wraps a key part in a Redis Cluster hash tag, so keys that share it share a slot.
 * Braces inside the part are replaced, since Redis hashes only up to the first `}`.
 *
 * @example
 * `rl:${hashTag(tracker)}:llm` // 'rl:{1.2.3.4}:llm'
 */
export function hashTag(part: string): string {
  return `{${part.replace(/[{}]/g, '_')}}`;
}

/**
 * A fixed-length, non-reversible digest for key parts that must not appear in Redis
 * (prompts, session ids, user ids).
 *
 * @example
 * digest('secret session id') // 64 hex characters
 */
export function digest(value: string | Buffer, length = 64): string {
  // One-shot: on request-sized input a third of createHash().update().digest()'s cost.
  const hex = hash('sha256', value, 'hex');
  return length >= 64 ? hex : hex.slice(0, length);
}

/**
 * A Redis URL with its password replaced by `***`, safe for logs and errors.
 *
 * @example
 * redactUrl('redis://:hunter2@cache:6379') // 'redis://:***@cache:6379'
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//***@');
  }
}
