import type { NestExpressApplication } from '@nestjs/platform-express';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { Calls, startCachingTestApp } from './support/caching-test-app';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

const etagOf = (body: string) =>
  `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;

describe('@CacheLLM ETag', () => {
  let app: NestExpressApplication;
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
    const changed = await get().set('If-None-Match', '"something-else"');
    expect([changed.status, changed.text]).toEqual([200, miss.text]);
    expect(app.get(Calls).count).toBe(1);
  });
});
