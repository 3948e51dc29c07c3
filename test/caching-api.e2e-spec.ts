import type { INestApplication } from '@nestjs/common';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ApiCacheClient, ApiUpstreamError } from '../src';
import { Hooks, startCachingTestApp } from './support/caching-test-app';
import { relaxedThrottling, startSampleApp } from './support/sample-app';
import { sampleRedis, testRedisOptions, uniquePrefix } from './support/test-redis';

/** A local stand-in for the GitHub API that answers If-None-Match with 304. */
class FakeGithub {
  hits: { url?: string; ifNoneMatch?: string }[] = [];
  etag = '"v1"';
  private readonly server = http.createServer((req, res) => {
    this.hits.push({ url: req.url, ifNoneMatch: req.headers['if-none-match'] });
    if (req.url === '/repos/nestjs/missing') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    if (req.headers['if-none-match'] === this.etag) {
      res.writeHead(304, { etag: this.etag }).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json', etag: this.etag })
      .end(JSON.stringify({ full_name: req.url?.slice(7), stargazers_count: 42 }));
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe.each([
  ['memory', () => ({})],
  ['Redis', () => sampleRedis()],
])('@CacheApi and ApiCacheClient (%s)', (_, storeOptions) => {
  let github: FakeGithub;
  let app: INestApplication;
  const previous = process.env.GITHUB_API_URL;

  beforeEach(async () => {
    github = new FakeGithub();
    process.env.GITHUB_API_URL = await github.start();
    app = await startSampleApp({
      ...storeOptions(),
      caching: { keyPrefix: uniquePrefix('cache-api') },
      throttling: relaxedThrottling(),
    });
  });
  afterEach(async () => {
    await app.close();
    await github.close();
    process.env.GITHUB_API_URL = previous;
  });

  it('proxies GET /github/repos/:owner/:repo once, then answers from the cache and 304s a matching If-None-Match', async () => {
    const server = app.getHttpServer();
    const miss = await request(server).get('/github/repos/nestjs/nest').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.body).toEqual({ full_name: 'nestjs/nest', stargazers_count: 42 });
    const etag = miss.headers['etag'] as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const hit = await request(server).get('/github/repos/nestjs/nest').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual(miss.body);
    const notModified = await request(server)
      .get('/github/repos/nestjs/nest')
      .set('if-none-match', etag);
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(github.hits).toHaveLength(1);
  });

  it('does not cache an upstream error', async () => {
    const server = app.getHttpServer();
    await request(server).get('/github/repos/nestjs/missing').expect(404);
    await request(server).get('/github/repos/nestjs/missing').expect(404);
    expect(github.hits).toHaveLength(2);
  });

  it('revalidates a stale outbound entry with If-None-Match and keeps it on a 304', async () => {
    const client = app.get(ApiCacheClient);
    const url = `${process.env.GITHUB_API_URL}/repos/a/b`;
    const first = await client.get(url, { ttlMs: 60_000 });
    expect([first.cache, first.etag]).toEqual(['MISS', '"v1"']);
    expect((await client.get(url, { ttlMs: 60_000 })).cache).toBe('HIT');
    expect(github.hits).toHaveLength(1);
    // ttlMs 0: always stale, so every get revalidates.
    const revalidated = await client.get(url, { ttlMs: 0 });
    expect(revalidated.cache).toBe('REVALIDATED');
    expect(revalidated.body).toEqual(first.body);
    expect(github.hits[1]?.ifNoneMatch).toBe('"v1"');
    github.etag = '"v2"';
    const changed = await client.get(url, { ttlMs: 0 });
    expect([changed.cache, changed.etag]).toEqual(['MISS', '"v2"']);
  });
});

describe.each([
  ['memory', undefined],
  ['Redis', 'redis'],
])('ApiCacheClient and @CacheApi when the upstream fails (%s)', (_, redis) => {
  let app: INestApplication;
  let github: FakeGithub;
  let base: string;
  beforeEach(async () => {
    github = new FakeGithub();
    base = await github.start();
    app = await startCachingTestApp(
      { keyPrefix: uniquePrefix('cache-api-fail') },
      redis ? testRedisOptions() : undefined,
    );
  });
  afterEach(async () => {
    await app.close();
    await github.close().catch(() => undefined);
  });

  /** A server that accepts connections and never answers. */
  async function silentServer(): Promise<{ url: string; close(): void }> {
    const server = http.createServer(() => undefined);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`,
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  it('gives up on a silent upstream within timeoutMs with an error naming its host', async () => {
    const silent = await silentServer();
    try {
      const started = Date.now();
      const failure = await app
        .get(ApiCacheClient)
        .get(silent.url, { timeoutMs: 300 })
        .catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(failure).toBeInstanceOf(ApiUpstreamError);
      expect((failure as ApiUpstreamError).host).toBe(new URL(silent.url).host);
      expect((failure as Error).message).toMatch(/did not answer in time/);
    } finally {
      silent.close();
    }
  });

  it('answers a stale entry marked STALE when the upstream is down, within staleIfErrorMs', async () => {
    const client = app.get(ApiCacheClient);
    const url = `${base}/repos/stale/one`;
    const fresh = await client.get(url, { ttlMs: 0, staleIfErrorMs: 60_000 });
    expect(fresh.cache).toBe('MISS');
    await github.close();
    const stale = await client.get(url, { ttlMs: 0, staleIfErrorMs: 60_000 });
    expect([stale.cache, stale.body]).toEqual(['STALE', fresh.body]);
    await expect(client.get(url, { ttlMs: 0 })).rejects.toBeInstanceOf(ApiUpstreamError);
  });

  it('answers a @CacheApi route 502 problem+json naming the upstream host, or its stale entry (STALE)', async () => {
    const hooks = app.get(Hooks);
    const server = app.getHttpServer();
    hooks.apiUrl = `${base}/repos/route/one`;
    const first = await request(server).get('/api-proxy').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    await github.close();
    await new Promise((resolve) => setTimeout(resolve, 5)); // the route's TTL is 1 ms
    const stale = await request(server).get('/api-proxy').expect(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body).toEqual(first.body);
    // Another URL of the route: no entry to fall back on.
    hooks.apiUrl = `${base}/repos/route/never-cached`;
    const down = await request(server).get('/api-proxy?case=never-cached');
    expect(down.status).toBe(502);
    expect(down.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(down.body).toMatchObject({ status: 502, upstream: new URL(base).host });
    expect(down.body.detail).toContain(new URL(base).host);
    expect(JSON.stringify(down.body)).not.toContain('never-cached');
  });
});
