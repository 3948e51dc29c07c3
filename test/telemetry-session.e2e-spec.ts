import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { sessionCookie, sessionTestApp } from './session-support/session-test-app';
import { OtelHarness } from './support/otel-harness';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

const HTTPS = { 'X-Forwarded-Proto': 'https' };

describe('OpenTelemetry: session decisions on the HTTP span (routes without LLM calls)', () => {
  const otel = new OtelHarness();
  let app: INestApplication;

  beforeAll(async () => {
    otel.start();
    app = await sessionTestApp({ redis: testRedisOptions(), prefix: uniquePrefix('otel-sess') });
  });
  afterAll(async () => {
    await app?.close();
    await otel.stop();
  });

  it('says none, created, then carried on the request spans, with no session id anywhere', async () => {
    const server = app.getHttpServer();
    await request(server).get('/whoami').set(HTTPS).expect(200);
    const login = await request(server).post('/login/alice').set(HTTPS).expect(201);
    const cookie = sessionCookie(login)!;
    expect(cookie).toBeDefined();
    await request(server).get('/me').set(HTTPS).set('Cookie', cookie).expect(200);

    const state = (path: string) => otel.server(path)[0]?.attributes['llm_kit.session.state'];
    expect(state('/whoami')).toBe('none');
    expect(state('/login/alice')).toBe('created');
    expect(state('/me')).toBe('carried');
    // The session makes no span of its own: only the HTTP server spans.
    expect(otel.spans().every((span) => span.kind === 1)).toBe(true);
    const id = (login.body as { id: string }).id;
    expect(
      JSON.stringify(otel.spans().map((span) => [span.attributes, span.events])),
    ).not.toContain(id);
  });
});
