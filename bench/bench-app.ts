import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import type { BenchPlatform, BenchTarget } from './scenario';

/**
 * Starts a Nest app module on a free port, on `options.platform` (Express unless `'fastify'`,
 * with the adapter's defaults), and returns a target for it; with `barePath`, the target's
 * `bare` is the same request to that route of the same app.
 */
export async function listen(
  module: unknown,
  request: Omit<BenchTarget, 'url' | 'close' | 'bare'> & { path: string; barePath?: string },
  options: {
    platform?: BenchPlatform;
    configure?: (app: INestApplication) => void | Promise<void>;
  } = {},
): Promise<BenchTarget> {
  const app =
    options.platform === 'fastify'
      ? await NestFactory.create(module as never, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(module as never, { logger: false });
  await options.configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const { path, barePath, ...rest } = request;
  const origin = `http://127.0.0.1:${port}`;
  return {
    ...rest,
    url: `${origin}${path}`,
    ...(barePath ? { bare: { ...rest, url: `${origin}${barePath}` } } : {}),
    close: () => app.close(),
  };
}

/** A ~2 KB JSON body, the payload of every route in the bench. */
export const PAYLOAD = {
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  model: 'gpt-4o-mini',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'x'.repeat(1800) }, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 20, completion_tokens: 450, total_tokens: 470 },
};

/**
 * Under callgrind (bench/hit-instructions.sh sets BENCH_UNDER_CALLGRIND=1) a request runs tens
 * of times slower: the kit's Redis deadlines are raised so that a slow count is not a timeout
 * answer (503, a cache BYPASS). A deadline costs the same instructions whatever its length.
 */
export const UNDER_CALLGRIND = process.env.BENCH_UNDER_CALLGRIND === '1';
const SLOW_MS = 60_000;

/** RedisModule.forRoot's options for the bench's Redis. */
export const benchRedis = (url: string) =>
  UNDER_CALLGRIND ? { url, commandTimeoutMs: SLOW_MS } : { url };

/** SessionModule's store deadline under callgrind (its default otherwise). */
export const benchStoreTimeout = (): { storeTimeoutMs?: number } =>
  UNDER_CALLGRIND ? { storeTimeoutMs: SLOW_MS } : {};
