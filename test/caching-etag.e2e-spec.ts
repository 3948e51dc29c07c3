import type { INestApplication } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Calls, Hooks, startCachingTestApp } from './support/caching-test-app';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

const etagOf = (body: string) =>
  `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;

describe('@CacheLLM ETag', () => {
  let app: INestApplication;
  afterEach(() => app.close());

  it('sends one ETag, the digest of the body, with the MISS and every HIT', async () => {
    app = await startCachingTestApp(
      { keyPrefix: uniquePrefix('etag'), l1: { ttlMs: 0 } },
      testRedisOptions(),
    );
    const post = () =>
      request(app.getHttpServer())
        .post('/global-scope')
        .send({ model: 'gpt-4o-mini', prompt: 'tag me' });
    const miss = await post();
    const hit = await post();
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(miss.headers.etag).toBe(etagOf(miss.text));
    expect(hit.headers.etag).toBe(miss.headers.etag);
    expect(hit.text).toBe(miss.text);
    // Only a GET or HEAD is conditional.
    const posted = await post().set('If-None-Match', miss.headers.etag!);
    expect([posted.status, posted.text]).toEqual([200, miss.text]);
  });

  it('answers a GET hit whose If-None-Match matches with 304 and no body, without the handler', async () => {
    app = await startCachingTestApp({ keyPrefix: uniquePrefix('etag-get') });
    const get = () => request(app.getHttpServer()).get('/by-query').query({ prompt: 'revalidate' });
    const miss = await get().expect(200);
    const etag = miss.headers.etag!;
    const revalidated = await get().set('If-None-Match', etag);
    expect([revalidated.status, revalidated.headers['x-cache'], revalidated.text]).toEqual([
      304,
      'HIT',
      '',
    ]);
    // As Express answers a 304: the ETag, and none of the headers of the body it leaves out.
    expect(revalidated.headers.etag).toBe(etag);
    expect(revalidated.headers['content-type']).toBeUndefined();
    const weak = await get().set('If-None-Match', `"other", W/${etag}`);
    expect(weak.status).toBe(304);
    // A client that asks for a fresh answer gets one (the cache refreshes the entry).
    const refreshed = await get().set('If-None-Match', etag).set('Cache-Control', 'no-cache');
    expect([refreshed.status, refreshed.text]).toEqual([200, miss.text]);
    const changed = await get().set('If-None-Match', '"something-else"');
    expect([changed.status, changed.text]).toEqual([200, miss.text]);
    expect(app.get(Calls).count).toBe(2);
  });

  it('answers a @CacheApi GET whose If-None-Match matches its ETag with 304 and no body', async () => {
    const upstream = http.createServer((_req, res) => res.end('{"stars":42}'));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    try {
      app = await startCachingTestApp({ keyPrefix: uniquePrefix('etag-api') });
      const { port } = upstream.address() as AddressInfo;
      app.get(Hooks).apiUrl = `http://127.0.0.1:${port}/repo`;
      const first = await request(app.getHttpServer()).get('/api-proxy').expect(200);
      expect(first.headers.etag).toBe(etagOf(first.text));
      const revalidated = await request(app.getHttpServer())
        .get('/api-proxy')
        .set('If-None-Match', first.headers.etag!);
      expect([revalidated.status, revalidated.text]).toEqual([304, '']);
      expect(revalidated.headers.etag).toBe(first.headers.etag);
      expect(revalidated.headers['content-type']).toBeUndefined();
    } finally {
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});
