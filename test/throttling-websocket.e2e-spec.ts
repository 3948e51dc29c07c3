import { type INestApplication, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SkipThrottle, Throttle } from '@nestjs/throttler';
import { WsAdapter } from '@nestjs/platform-ws';
import {
  MessageBody,
  type OnGatewayConnection,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  LLMThrottle,
  RateLimit,
  RedisModule,
  ThrottlingGuard,
  ThrottlingModule,
  type ThrottlingModuleOptions,
  ThrottlingStats,
} from '../src';
import { startTestApp } from './support/platform';
import { testRedisOptions, uniquePrefix } from './support/test-redis';
import { type WsAnswer, WsTestClient } from './support/ws-test-client';

// Gateways on @nestjs/platform-ws under ThrottlingModule's global guard, written as for
// @nestjs/throttler (its decorators), on Redis and on the memory store.

/** Keeps the upgrade request on the socket, so headers and `trustProxy` apply to its messages. */
@WebSocketGateway({ path: '/chat' })
class ChatGateway implements OnGatewayConnection {
  handleConnection(client: { request?: IncomingMessage }, request: IncomingMessage): void {
    client.request = request;
  }

  @SubscribeMessage('say')
  say(@MessageBody() data: unknown): WsAnswer {
    return { event: 'said', data };
  }

  @Throttle({ default: { limit: 1, ttl: 60_000 } })
  @SubscribeMessage('strict')
  strict(): WsAnswer {
    return { event: 'strict', data: 'ok' };
  }

  @SkipThrottle()
  @SubscribeMessage('free')
  free(): WsAnswer {
    return { event: 'free', data: 'ok' };
  }

  @SkipThrottle()
  @LLMThrottle({ tokensPerMinute: 1_000 })
  @SubscribeMessage('chat')
  chat(): WsAnswer {
    return { event: 'chat', data: 'ok' };
  }
}

/** Keeps nothing (the socket's peer address is all there is) and binds the guard itself too. */
@UseGuards(ThrottlingGuard)
@WebSocketGateway({ path: '/bare' })
class BareGateway {
  @SubscribeMessage('say')
  say(): WsAnswer {
    return { event: 'said', data: 'ok' };
  }
}

@WebSocketGateway({ path: '/typo' })
class TypoGateway {
  @RateLimit('no-such-policy')
  @SubscribeMessage('say')
  say(): WsAnswer {
    return { event: 'said', data: 'ok' };
  }
}

const stores = [
  ['Redis', true],
  ['the memory store', false],
] as const;

const problem = (answer: WsAnswer) => {
  expect(answer.event).toBe('exception');
  return answer.data as {
    status: number;
    title: string;
    detail: string;
    policies: { name: string; kind: string; limit: number; windowSeconds: number }[];
    retryAfterSeconds?: number;
  };
};

describe.each(stores)('ThrottlingModule on WebSocket gateways (%s)', (_, redis) => {
  let app: INestApplication | undefined;
  const clients: WsTestClient[] = [];

  async function start(
    options: ThrottlingModuleOptions,
    gateways: (new () => object)[] = [ChatGateway, BareGateway],
  ): Promise<string> {
    @Module({
      imports: [
        ...(redis ? [RedisModule.forRoot(testRedisOptions())] : []),
        ThrottlingModule.forRoot({ keyPrefix: uniquePrefix('ws'), ...options }),
      ],
      providers: gateways,
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = await startTestApp(moduleRef, {}, (created) => {
      created.useWebSocketAdapter(new WsAdapter(created));
    });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return `ws://127.0.0.1:${port}`;
  }

  const connect = async (url: string, headers?: Record<string, string>) => {
    const client = await WsTestClient.connect(url, headers);
    clients.push(client);
    return client;
  };

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await app?.close();
    app = undefined;
  });

  it('admits `limit` messages, answers the next with the exception event (429 problem), counts it in the stats', async () => {
    const url = await start({ throttlers: [{ ttl: 60_000, limit: 3 }] });
    const client = await connect(`${url}/chat`);
    for (let i = 0; i < 3; i++)
      expect(await client.ask('say', i)).toEqual({ event: 'said', data: i });
    const refused = problem(await client.ask('say', 3));
    expect(refused).toMatchObject({
      status: 429,
      title: 'Too Many Requests',
      policies: [{ name: 'default', kind: 'requests', limit: 3, windowSeconds: 60 }],
    });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    // The connection stays open; later messages are refused the same way.
    expect(problem(await client.ask('say', 4)).status).toBe(429);
    const stats = await app!.get(ThrottlingStats).snapshot();
    expect(stats.byPolicy.default).toEqual({ allowed: 3, rejected: 2 });
    expect(stats.topRejected).toHaveLength(1);
  });

  it('applies @Throttle() and @SkipThrottle() on message handlers', async () => {
    const url = await start({ throttlers: [{ ttl: 60_000, limit: 3 }] });
    const client = await connect(`${url}/chat`);
    expect((await client.ask('strict')).event).toBe('strict');
    expect(problem(await client.ask('strict')).policies[0]).toMatchObject({ limit: 1 });
    for (let i = 0; i < 6; i++) expect((await client.ask('free')).event).toBe('free');
    // Counted per handler, as @nestjs/throttler's default key.
    expect((await client.ask('say')).event).toBe('said');
  });

  it('tracks the client by its upgrade request: X-Forwarded-For under trustProxy, across connections', async () => {
    const url = await start({ throttlers: [{ ttl: 60_000, limit: 2 }], trustProxy: 1 });
    const a = await connect(`${url}/chat`, { 'X-Forwarded-For': '203.0.113.1' });
    const b = await connect(`${url}/chat`, { 'X-Forwarded-For': '203.0.113.2' });
    expect((await a.ask('say')).event).toBe('said');
    expect((await a.ask('say')).event).toBe('said');
    expect(problem(await a.ask('say')).status).toBe(429);
    // Another client is unaffected; the same client on a new connection is still limited.
    expect((await b.ask('say')).event).toBe('said');
    expect((await b.ask('say')).event).toBe('said');
    const again = await connect(`${url}/chat`, { 'X-Forwarded-For': '203.0.113.1' });
    expect(problem(await again.ask('say')).status).toBe(429);
  });

  it('lets a getTracker of the module decide, from the upgrade request it is given', async () => {
    const url = await start({
      throttlers: [{ ttl: 60_000, limit: 1 }],
      getTracker: (req: Record<string, unknown>) =>
        String((req.headers as Record<string, string>)['x-client']),
    });
    const a = await connect(`${url}/chat`, { 'X-Client': 'a' });
    const b = await connect(`${url}/chat`, { 'X-Client': 'b' });
    expect((await a.ask('say')).event).toBe('said');
    expect(problem(await a.ask('say')).status).toBe(429);
    expect((await b.ask('say')).event).toBe('said');
  });

  it('without the upgrade request, tracks the peer address; @UseGuards(ThrottlingGuard) with the global guard counts once', async () => {
    const url = await start({ throttlers: [{ ttl: 60_000, limit: 2 }], trustProxy: 1 });
    const a = await connect(`${url}/bare`, { 'X-Forwarded-For': '203.0.113.1' });
    const b = await connect(`${url}/bare`, { 'X-Forwarded-For': '203.0.113.2' });
    expect((await a.ask('say')).event).toBe('said');
    expect((await a.ask('say')).event).toBe('said');
    expect(problem(await a.ask('say')).status).toBe(429);
    // The headers never reach the guard: both clients are 127.0.0.1.
    expect(problem(await b.ask('say')).status).toBe(429);
  });

  it('@LLMThrottle: budgets are charged the reservation of the message; one that can never fit gets the 413 problem', async () => {
    const url = await start({});
    const client = await connect(`${url}/chat`);
    const message = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 400 };
    expect((await client.ask('chat', message)).event).toBe('chat');
    expect((await client.ask('chat', message)).event).toBe('chat');
    const refused = problem(await client.ask('chat', message));
    expect(refused).toMatchObject({
      status: 429,
      policies: [{ name: 'llm:tokens', kind: 'tokens', limit: 1_000 }],
    });
    const huge = problem(await client.ask('chat', { ...message, max_tokens: 5_000 }));
    expect(huge).toMatchObject({ status: 413, title: 'Content Too Large' });
    expect(huge.retryAfterSeconds).toBeUndefined();
    const stats = await app!.get(ThrottlingStats).snapshot();
    expect(stats.byPolicy.llm).toEqual({ allowed: 2, rejected: 0 });
    expect(stats.budgets['llm:tokens']).toMatchObject({ kind: 'tokens', rejected: 1 });
    expect(stats.budgets['llm:tokens']!.consumed).toBeGreaterThan(800);
  });

  it('fails the boot on a gateway naming an unknown policy', async () => {
    await expect(start({}, [TypoGateway])).rejects.toThrow(/no-such-policy/);
  });
});
