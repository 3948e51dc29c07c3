import { createHash } from 'node:crypto';
import type { RedisConnection } from './redis.types';

/** What a Lua script returns, as node-redis decodes it. */
export type RedisScriptReply = string | number | null | RedisScriptReply[];

/**
 * A Lua script called by SHA (EVALSHA), loaded on first use and again whenever Redis
 * answers NOSCRIPT (after a restart or SCRIPT FLUSH). On a cluster the first key routes it,
 * so every key of one call must share a hash tag.
 *
 * @example
 * const incr = new RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
 * await incr.run(redis, ['counter'], ['2']);
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisConnection, keys: string[], args: string[]): Promise<RedisScriptReply> {
    const options = { keys, arguments: args };
    try {
      return (await redis.evalSha(this.sha, options)) as RedisScriptReply;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // EVAL runs the script and caches it, so the next EVALSHA finds it.
      return (await redis.eval(this.source, options)) as RedisScriptReply;
    }
  }
}
