import type { INestApplication } from '@nestjs/common';
import { metrics, trace } from '@opentelemetry/api';
import request from 'supertest';
import { FakeProviders } from './llm-calls.fake-providers';
import { OtelHarness } from './support/otel-harness';
import { startTelemetryApp } from './support/telemetry-app';

/** What a client sees of a request: status, the kit's headers, the body. */
type Seen = { status: number; cache?: string; body: unknown };

/** The same requests against a fresh app: a route miss and hit, a wrapped call, a stream, a 429. */
async function exercise(upstreamUrl: string): Promise<Seen[]> {
  const app: INestApplication = await startTelemetryApp(upstreamUrl);
  try {
    const server = app.getHttpServer();
    const seen: Seen[] = [];
    const keep = (res: request.Response) => {
      expect(res.headers.traceparent).toBeUndefined();
      seen.push({ status: res.status, cache: res.headers['x-cache'], body: res.body });
    };
    const chat = { model: 'gpt-4o-mini', prompt: 'no provider' };
    keep(await request(server).post('/chat').send(chat));
    keep(await request(server).post('/chat').send(chat));
    keep(await request(server).post('/ask').send({ prompt: 'wrapped, no provider' }));
    keep(await request(server).post('/stream').send({ prompt: 'streamed, no provider' }));
    keep(await request(server).get('/limited'));
    keep(await request(server).get('/limited'));
    return seen;
  } finally {
    await app.close();
  }
}

describe('OpenTelemetry: @opentelemetry/api installed, no provider registered', () => {
  let fake: FakeProviders;
  const otel = new OtelHarness();

  beforeAll(async () => (fake = await new FakeProviders().start()));
  afterAll(async () => {
    await fake?.stop();
    await otel.stop();
  });

  it('emits nothing, registers nothing, and answers exactly as with the SDK registered', async () => {
    const without = await exercise(fake.baseUrl);
    expect(without.map((seen) => [seen.status, seen.cache])).toEqual([
      [200, 'MISS'],
      [200, 'HIT'],
      [200, 'MISS'],
      [200, undefined],
      [200, undefined],
      [429, undefined],
    ]);
    // The kit registered no provider: the API still answers with its no-op ones, and the
    // app can register its own (start() throws if a global was taken).
    expect(trace.getActiveSpan()).toBeUndefined();
    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
    otel.start();
    expect(otel.spans()).toHaveLength(0);
    expect(await otel.points('llm_kit.cache.outcomes')).toHaveLength(0);

    const withSdk = await exercise(fake.baseUrl);
    expect(withSdk).toEqual(without);
    // ...and then it is traced (the same requests, now with a provider).
    expect(otel.spans().some((span) => span.name === 'chat gpt-4o-mini')).toBe(true);
  });
});
