import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { BenchTarget } from './scenario';

/**
 * Starts a Nest app module on a free port and returns a target for it; with `barePath`, the
 * target's `bare` is the same request to that route of the same app.
 */
export async function listen(
  module: unknown,
  request: Omit<BenchTarget, 'url' | 'close' | 'bare'> & { path: string; barePath?: string },
  configure?: (app: INestApplication) => void,
): Promise<BenchTarget> {
  const app = await NestFactory.create(module as never, { logger: false });
  configure?.(app);
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
