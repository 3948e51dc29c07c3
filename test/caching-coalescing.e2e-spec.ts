import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { LlmProvider } from '../sample/llm/llm-provider';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import { sampleRedis, uniquePrefix } from './support/test-redis';

async function listening(
  keyPrefix: string,
  coalesce?: { pollIntervalMs: number; waitTimeoutMs: number },
): Promise<{ app: INestApplication; url: string }> {
  const app = await startSampleApp({
    ...sampleRedis(),
    caching: { keyPrefix, coalesce },
    throttling: relaxedThrottling(),
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}/llm/generate` };
}

describe('CachingModule single-flight', () => {
  const latency = process.env.LLM_LATENCY_MS;
  beforeAll(() => (process.env.LLM_LATENCY_MS = '400'));
  afterAll(() => (process.env.LLM_LATENCY_MS = latency));

  it('makes exactly one upstream call for 100 concurrent identical misses across two instances on one Redis', async () => {
    const prefix = uniquePrefix('coalesce');
    const a = await listening(prefix);
    const b = await listening(prefix);
    try {
      const body = JSON.stringify({ model: 'gpt-4o-mini', prompt: 'coalesce me', temperature: 0 });
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          fetch(i % 2 === 0 ? a.url : b.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          }).then(async (res) => ({
            status: res.status,
            cache: res.headers.get('x-cache'),
            text: await res.text(),
          })),
        ),
      );
      const calls = a.app.get(LlmProvider).calls + b.app.get(LlmProvider).calls;
      expect(calls).toBe(1);
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(new Set(responses.map((r) => r.text)).size).toBe(1);
      const byStatus = responses.reduce<Record<string, number>>((counts, r) => {
        counts[r.cache ?? 'none'] = (counts[r.cache ?? 'none'] ?? 0) + 1;
        return counts;
      }, {});
      expect(byStatus.MISS).toBe(1);
      expect((byStatus.COALESCED ?? 0) + (byStatus.HIT ?? 0)).toBe(99);
    } finally {
      await a.app.close();
      await b.app.close();
    }
  });

  it('wakes a waiter on another instance when the leader releases its lock, not at its next poll', async () => {
    // Polling once a minute: within the test's timeout only the lock-release notification
    // can answer the second instance's request.
    const slow = { pollIntervalMs: 60_000, waitTimeoutMs: 120_000 };
    const prefix = uniquePrefix('coalesce-notify');
    const a = await listening(prefix, slow);
    const b = await listening(prefix, slow);
    try {
      const body = JSON.stringify({ model: 'gpt-4o-mini', prompt: 'notify me', temperature: 0 });
      const post = (url: string) =>
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const leader = post(a.url);
      // Let the leader take the lock before the follower asks.
      while (a.app.get(LlmProvider).calls === 0) await new Promise((r) => setImmediate(r));
      const follower = await post(b.url);
      expect((await leader).headers.get('x-cache')).toBe('MISS');
      expect(follower.status).toBe(200);
      expect(follower.headers.get('x-cache')).toBe('COALESCED');
      expect(a.app.get(LlmProvider).calls + b.app.get(LlmProvider).calls).toBe(1);
    } finally {
      await a.app.close();
      await b.app.close();
    }
  }, 20_000);
});
