import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { BenchTarget } from './scenario';

/** Starts a Nest app module on a free port and returns a target for it. */
export async function listen(
  module: unknown,
  request: Omit<BenchTarget, 'url' | 'close'> & { path: string },
  configure?: (app: INestApplication) => void,
): Promise<BenchTarget> {
  const app = await NestFactory.create(module as never, { logger: false });
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const { path, ...rest } = request;
  return { ...rest, url: `http://127.0.0.1:${port}${path}`, close: () => app.close() };
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
