import {
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  Module,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import fastifyPassport from '@fastify/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Strategy } from 'passport-local';
import request from 'supertest';
import {
  CacheLLM,
  CachingModule,
  LLMThrottle,
  LlmCallService,
  LlmCallsModule,
  RedisModule,
  RequireSession,
  resolveUserId,
  Session,
  SessionModule,
  SessionService,
  ThrottlingModule,
} from '../src';
import { userTag } from '../src/session/session-id';
import {
  inspectClient,
  type RedisInspector,
  testRedisOptions,
  uniquePrefix,
} from './support/test-redis';
import { sessionCookie, TEST_SECRET } from './session-support/session-test-app';

// @fastify/passport, the Fastify port of Passport, on the sessions SessionModule registers
// itself (@fastify/cookie + @fastify/session with the kit's store), as its docs set it up:
// initialize(), secureSession(), a passport-local strategy, a serializer and a deserializer.
// The kit registers the session plugin during app.init(), and @fastify/passport's initialize()
// needs it loaded (@fastify/flash declares the `session` request decorator), so the app
// registers passport after `await app.init()`, before the instance is ready. This file's apps
// are on Fastify whatever the run's platform (the Express projects skip it).

const USERS: Record<string, { id: string; name: string; password: string }> = {
  alice: { id: 'u-alice', name: 'Alice', password: 'wonderland' },
  bob: { id: 'u-bob', name: 'Bob', password: 'builder' },
};
type User = { id: string; name: string };

fastifyPassport.use(
  'local',
  new Strategy((username, password, done) => {
    const user = USERS[username];
    done(null, user?.password === password ? { id: user.id, name: user.name } : false);
  }),
);
fastifyPassport.registerUserSerializer(async (user: User) => user.id);
fastifyPassport.registerUserDeserializer(async (id: string) => {
  const user = Object.values(USERS).find((u) => u.id === id);
  return user ? { id: user.id, name: user.name } : null;
});

/** Passport's own login (`authenticate('local')`) as a Nest guard; a failure is Nest's 401. */
@Injectable()
class LocalLoginGuard implements CanActivate {
  private readonly authenticate = fastifyPassport.authenticate('local', {
    authInfo: false,
    failWithError: true,
  });

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    try {
      // A preValidation hook, run by hand: `this` is the instance, as Fastify calls it.
      await this.authenticate.call(req.server, req, http.getResponse<FastifyReply>());
    } catch (error) {
      if ((error as Error).name === 'AuthenticationError') throw new UnauthorizedException();
      throw error;
    }
    return true;
  }
}

/** The handlers' own calls: a cache hit or a refused request makes none. */
@Injectable()
class Calls {
  count = 0;
}

const completion = (content: string) => ({
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
});
const nameOf = (req: FastifyRequest) => (req.user as User | undefined)?.name ?? 'anonymous';

@Controller()
class PassportController {
  constructor(
    private readonly calls: Calls,
    private readonly llm: LlmCallService,
  ) {}

  /** An anonymous visitor's session (what a login must not carry over: session fixation). */
  @Post('visit')
  visit(@Req() req: FastifyRequest) {
    req.session.set('visited', true);
    return { ok: true };
  }

  @Post('login')
  @UseGuards(LocalLoginGuard)
  login(@Req() req: FastifyRequest) {
    return { user: req.user };
  }

  @Get('me')
  @RequireSession()
  me(@Req() req: FastifyRequest, @Session() session: Record<string, unknown>) {
    return {
      user: req.user ?? null,
      session: { passport: session.passport ?? null, userId: session.userId ?? null },
      resolvedUserId: resolveUserId(req as never) ?? null,
    };
  }

  @Post('logout')
  async logout(@Req() req: FastifyRequest) {
    await req.logout();
    return { ok: true };
  }

  @Post('generate')
  @HttpCode(200)
  @CacheLLM()
  @LLMThrottle({ by: 'user' })
  generate(@Req() req: FastifyRequest, @Body() body: { prompt: string }) {
    this.calls.count += 1;
    return completion(`${body.prompt} for ${nameOf(req)}`);
  }

  /** A call made in a service, no request passed: LlmCallsModule's request context. */
  @Post('summarize')
  @HttpCode(200)
  summarize(@Req() req: FastifyRequest, @Body() body: { prompt: string }) {
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: body.prompt }] };
    return this.llm.call(
      params,
      async () => {
        this.calls.count += 1;
        return completion(`${body.prompt} for ${nameOf(req)}`);
      },
      { name: 'spec.summarize' },
    );
  }
}

/**
 * The README's AppModule (Redis, caching, throttling at 2 LLM requests a minute per tracker,
 * sessions, LLM calls) on FastifyAdapter, with @fastify/passport registered by the app.
 */
async function startApp(
  prefix: string,
  passportBeforeInit = false,
): Promise<NestFastifyApplication> {
  @Module({
    imports: [
      RedisModule.forRoot(testRedisOptions()),
      CachingModule.forRoot({
        partitionSecret: 'test-partition-secret-0123456789abcdef',
        keyPrefix: `${prefix}cache:`,
      }),
      ThrottlingModule.forRoot({
        policies: { llm: { limit: 2, ttlMs: 60_000 } },
        keyPrefix: `${prefix}rl:`,
      }),
      SessionModule.forRoot({ secret: TEST_SECRET, prefix: `${prefix}sess:` }),
      LlmCallsModule,
    ],
    controllers: [PassportController],
    providers: [Calls],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    new FastifyAdapter({ trustProxy: true }),
    { logger: false },
  );
  const registerPassport = async () => {
    await app.register(fastifyPassport.initialize());
    await app.register(fastifyPassport.secureSession());
  };
  try {
    if (passportBeforeInit) await registerPassport();
    await app.init(); // SessionModule registers @fastify/cookie + @fastify/session here
    if (!passportBeforeInit) await registerPassport();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

const HTTPS = { 'X-Forwarded-Proto': 'https' };
const AGENT = 'fastify-passport-spec/1.0';
const PASSWORDS = { alice: 'wonderland', bob: 'builder' };

describe('@fastify/passport (passport-local) on SessionModule on Fastify', () => {
  let app: NestFastifyApplication;
  let inspect: RedisInspector;
  let prefix: string;
  beforeEach(async () => {
    prefix = uniquePrefix('fx-passport');
    app = await startApp(prefix);
    inspect = await inspectClient();
  });
  afterEach(async () => {
    inspect.close();
    await app.close();
  });

  const http = () => app.getHttpServer();
  const logIn = async (username: keyof typeof PASSWORDS, cookie?: string) => {
    const req = request(http()).post('/login').set(HTTPS).set('User-Agent', AGENT);
    if (cookie) req.set('Cookie', cookie);
    const res = await req.send({ username, password: PASSWORDS[username] }).expect(201);
    return { res, cookie: sessionCookie(res)! };
  };
  /** The kit's session keys (not the per-user index nor the stats). */
  const sessionKeys = async () =>
    (await inspect.keys(`${prefix}sess:*`)).filter(
      (key) => !key.endsWith(':index') && !key.includes('{stats}'),
    );

  it('cannot register @fastify/passport before app.init(): its @fastify/flash needs the session plugin the kit registers there', async () => {
    await expect(startApp(uniquePrefix('fx-passport-early'), true)).rejects.toThrow(
      "The decorator 'session' required by '@fastify/flash' is not present in Request",
    );
  });

  it("logs in through authenticate('local') in a new session, in the kit's cookie and Redis store, with its device; the pre-login cookie no longer works", async () => {
    await request(http())
      .post('/login')
      .set(HTTPS)
      .send({ username: 'alice', password: 'wrong' })
      .expect(401);
    const visit = await request(http()).post('/visit').set(HTTPS).expect(201);
    const before = sessionCookie(visit)!;
    await request(http()).get('/me').set(HTTPS).set('Cookie', before).expect(200);
    expect(await sessionKeys()).toHaveLength(1);

    const { res, cookie } = await logIn('alice', before);
    expect(res.body.user).toEqual({ id: 'u-alice', name: 'Alice' });
    expect(res.headers['cache-control']).toBe('no-store');
    // express-session's format: s:<id>.<signature>, the id in the user's slot.
    const id = /^__Host-sid=s:([^.]+\.[^.]+)\.[^.]+$/.exec(cookie)?.[1];
    expect(id?.startsWith(`${userTag('u-alice')}.`)).toBe(true);
    expect(cookie).not.toBe(before);
    // Passport regenerated the session: the visitor's is gone, its cookie carries none.
    await request(http()).get('/me').set(HTTPS).set('Cookie', before).expect(401);
    const stored = await sessionKeys();
    expect(stored).toEqual([expect.stringContaining(`{${userTag('u-alice')}}`)]);
    const fields = await inspect.redis.hGetAll(stored[0]!);
    expect(fields['d:passport']).toBe('"u-alice"');
    expect(fields['d:visited']).toBeUndefined();
    expect([fields.ip, fields.ua]).toEqual(['127.0.0.1', AGENT]);
    const [listed, ...others] = await app.get(SessionService).listForUser('u-alice');
    expect(others).toEqual([]);
    expect(listed).toMatchObject({ ip: '127.0.0.1', userAgent: AGENT });
  });

  it("answers /me behind @RequireSession() with the user passport deserialized; @Session() holds passport's serialized id, which revokeAllForUser finds", async () => {
    await request(http()).get('/me').set(HTTPS).expect(401);
    const { cookie } = await logIn('alice');
    const me = await request(http()).get('/me').set(HTTPS).set('Cookie', cookie).expect(200);
    expect(me.body).toEqual({
      user: { id: 'u-alice', name: 'Alice' },
      session: { passport: 'u-alice', userId: null },
      resolvedUserId: 'u-alice',
    });
    // The store filed the login under the serialized id: revoking the user's sessions ends it.
    expect(await app.get(SessionService).revokeAllForUser('u-alice')).toBe(1);
    await request(http()).get('/me').set(HTTPS).set('Cookie', cookie).expect(401);
  });

  it("partitions @CacheLLM answers and a service's LLM calls by the passport user, and counts @LLMThrottle per user", async () => {
    const alice = (await logIn('alice')).cookie;
    const bob = (await logIn('bob')).cookie;
    const post = (path: string, cookie: string, prompt: string) =>
      request(http()).post(path).set(HTTPS).set('Cookie', cookie).send({ prompt });
    const content = (res: request.Response) => res.body.choices[0].message.content;

    const a1 = await post('/generate', alice, 'same');
    const b1 = await post('/generate', bob, 'same');
    const a2 = await post('/generate', alice, 'same');
    expect([a1.headers['x-cache'], b1.headers['x-cache'], a2.headers['x-cache']]).toEqual([
      'MISS',
      'MISS',
      'HIT',
    ]);
    expect([content(a1), content(b1), content(a2)]).toEqual([
      'same for Alice',
      'same for Bob',
      'same for Alice',
    ]);
    expect(app.get(Calls).count).toBe(2);

    // Two LLM requests a minute per user (the hit was free): Alice's third is refused, Bob
    // still has one.
    expect((await post('/generate', alice, 'second')).status).toBe(200);
    const refused = await post('/generate', alice, 'third');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await post('/generate', bob, 'second')).status).toBe(200);
    expect((await post('/generate', bob, 'third')).status).toBe(429);

    const s1 = await post('/summarize', alice, 'doc');
    const s2 = await post('/summarize', bob, 'doc');
    const s3 = await post('/summarize', bob, 'doc');
    expect([content(s1), content(s2), content(s3)]).toEqual([
      'doc for Alice',
      'doc for Bob',
      'doc for Bob',
    ]);
    expect(app.get(Calls).count).toBe(6);
  });

  it('ends the session with request.logout(): the cookie no longer authenticates, and no clearing cookie a browser would refuse is sent', async () => {
    const { cookie } = await logIn('alice');
    const [session] = await sessionKeys();
    const logout = await request(http()).post('/logout').set(HTTPS).set('Cookie', cookie);
    expect(logout.status).toBe(201);
    // As express-session after Passport's logout: no Set-Cookie (the plugin would clear the
    // cookie without Secure, a `__Host-` clear browsers refuse); the old cookie is dead.
    expect(sessionCookie(logout)).toBeUndefined();
    await request(http()).get('/me').set(HTTPS).set('Cookie', cookie).expect(401);
    const generate = await request(http())
      .post('/generate')
      .set(HTTPS)
      .set('Cookie', cookie)
      .send({ prompt: 'after' });
    expect(generate.body.choices[0].message.content).toBe('after for anonymous');
    expect(await app.get(SessionService).listForUser('u-alice')).toEqual([]);
    expect(await inspect.keys(session!)).toEqual([]);
  });
});
