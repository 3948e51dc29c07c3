import {
  Controller,
  Get,
  type INestApplication,
  Module,
  Param,
  type PipeTransform,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import {
  createSession,
  destroySession,
  RedisModule,
  RequireSession,
  Session,
  SessionModule,
  SessionService,
  type RedisConnection,
  type SessionModuleOptions,
} from '../../src';
import {
  inspectClient,
  type RedisInspector,
  type RedisTarget,
  testConnection,
} from '../support/test-redis';
import { resolveUserId } from '../../src/common/request-identity';
import { AppModule } from '../../sample/app.module';
import type { SampleOptions } from '../../sample/sample-options';
import { startTestApp, testPlatform } from '../support/platform';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';

class ShoutPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    return String(value).toUpperCase();
  }
}

/** Lets a test hold a request inside its handler until it says go. */
export class Gate {
  private release!: () => void;
  private enter!: () => void;
  readonly released = new Promise<void>((resolve) => (this.release = resolve));
  readonly entered = new Promise<void>((resolve) => (this.enter = resolve));
  arrive(): Promise<void> {
    this.enter();
    return this.released;
  }
  open(): void {
    this.release();
  }
}

export const gates = new Map<string, Gate>();

@Controller()
class TestController {
  constructor(private readonly sessions: SessionService) {}

  /** What the other modules see as the user of the request. */
  @Get('whoami')
  whoami(@Req() req: Request) {
    return { userId: resolveUserId(req) ?? null };
  }

  @Get('health')
  health() {
    return { ok: true };
  }

  @Post('login/:user')
  async login(@Param('user') user: string, @Req() req: Request) {
    return { id: await this.sessions.create(req, { userId: user }) };
  }

  @Post('logout')
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
    return { ok: true };
  }

  /**
   * A login the app writes itself, as Passport does: `req.user`, `regenerate()` (the kit's id
   * then lands in the user's slot), the user in the session, then `save()` in the handler
   * (`?save=end`: left to the end-of-request save). The same code runs on express-session's
   * session and on @fastify/session's.
   */
  @Post('own-login/:user')
  ownLogin(@Param('user') user: string, @Query('save') save: string, @Req() req: Request) {
    (req as { user?: object }).user = { id: user };
    return new Promise((resolve, reject) =>
      req.session.regenerate((error) => {
        if (error) return reject(error as Error);
        (req.session as unknown as Record<string, unknown>).userId = user;
        if (save === 'end') return resolve({ ok: true });
        req.session.save((failure) => (failure ? reject(failure as Error) : resolve({ ok: true })));
      }),
    );
  }

  /** A login that lost its user: SessionService.create() refuses it. */
  @Post('login-without-user')
  async loginWithoutUser(@Req() req: Request) {
    return { id: await this.sessions.create(req, { theme: 'dark' }) };
  }

  /** The seed's helpers, as written: createSession(res, data) and destroySession(req, res). */
  @Post('seed-login/:user')
  async seedLogin(@Param('user') user: string, @Res({ passthrough: true }) res: Response) {
    return { id: await createSession(res, { userId: user }) };
  }

  @Post('seed-logout')
  async seedLogout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await destroySession(req, res);
    return { ok: true };
  }

  @Get('shout')
  @RequireSession()
  shout(@Session('userId', new ShoutPipe()) userId: string) {
    return { userId };
  }

  @Get('me')
  @RequireSession()
  me(@Session() session: Record<string, unknown>) {
    const { cookie: _cookie, ...data } = session;
    return data;
  }

  /** Sets one field after waiting at the named gate (if any). */
  @Post('set/:field/:value')
  @RequireSession()
  async set(
    @Param('field') field: string,
    @Param('value') value: string,
    @Session() session: Record<string, unknown>,
  ) {
    await gates.get(field)?.arrive();
    session[field] = value;
    return { ok: true };
  }
}

/** A Nest app with SessionModule (on `redis`, or in memory) and a few session routes. */
export async function sessionTestApp(
  options: Partial<SessionModuleOptions> & { redis?: RedisTarget } = {},
): Promise<INestApplication> {
  const { redis, ...session } = options;
  @Module({
    imports: [
      ...(redis ? [RedisModule.forRoot({ ...redis, maxReconnectDelayMs: 50 })] : []),
      SessionModule.forRoot({ secret: TEST_SECRET, ...session }),
    ],
    controllers: [TestController],
  })
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  return startTestApp(moduleRef, { trustProxy: true }, trustLoopbackProxy);
}

/** On Express, trusts the loopback proxy (Fastify's adapter gets `trustProxy` instead). */
export function trustLoopbackProxy(app: INestApplication): void {
  if (testPlatform() === 'express') (app as NestExpressApplication).set('trust proxy', 'loopback');
}

/**
 * The sample app (its AppModule: login / profile / logout / sessions) on the run's platform,
 * trusting the loopback proxy as the session specs' requests come through one (unless
 * `trustLoopback: false`; the sample's own `trustProxy` option still applies).
 */
export async function sessionSampleApp(
  options: SampleOptions,
  { trustLoopback = true }: { trustLoopback?: boolean } = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.register(options)],
  }).compile();
  const trustProxy = trustLoopback || (options.trustProxy ?? 0) > 0;
  return startTestApp(moduleRef, { trustProxy }, trustLoopback ? trustLoopbackProxy : undefined);
}

/** The `name=value` part of the session cookie a response set, if any. */
export function sessionCookie(res: { headers: Record<string, unknown> }, name = '__Host-sid') {
  const cookies = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return cookies.find((c) => c.startsWith(`${name}=`))?.split(';')[0];
}

/** A Redis connection and an inspector for a spec's tests, opened before them and closed after. */
export function specRedis(): { redis: RedisConnection; inspect: RedisInspector } {
  const shared = {} as { redis: RedisConnection; inspect: RedisInspector };
  beforeAll(async () => {
    shared.redis = await testConnection();
    shared.inspect = await inspectClient();
  });
  afterAll(() => {
    shared.redis.destroy();
    shared.inspect.close();
  });
  return shared;
}
