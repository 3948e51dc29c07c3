import {
  Controller,
  Get,
  type ExecutionContext,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { AuthGuard, PassportModule, PassportSerializer, PassportStrategy } from '@nestjs/passport';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import passport from 'passport';
import { Strategy } from 'passport-local';
import request from 'supertest';
import { RedisModule, SessionModule, SessionService } from '../src';
import { inspectClient, testRedisOptions, uniquePrefix } from './support/test-redis';
import { sessionCookie, TEST_SECRET } from './session-support/session-test-app';

// Passport on the kit's sessions, as the Nest docs set it up: @nestjs/passport's AuthGuard
// logs in (Passport >= 0.6 regenerates the session and saves it), serializeUser /
// deserializeUser carry the user between requests, req.logout() ends the session.

const USERS: Record<string, { id: string; name: string; password: string }> = {
  alice: { id: 'u-alice', name: 'Alice', password: 'wonderland' },
};

@Injectable()
class LocalStrategy extends PassportStrategy(Strategy) {
  validate(username: string, password: string) {
    const user = USERS[username];
    if (!user || user.password !== password) throw new UnauthorizedException();
    return { id: user.id, name: user.name };
  }
}

@Injectable()
class Serializer extends PassportSerializer {
  serializeUser(user: { id: string }, done: (e: unknown, id?: string) => void) {
    done(null, user.id);
  }
  deserializeUser(id: string, done: (e: unknown, user?: object) => void) {
    const user = Object.values(USERS).find((u) => u.id === id);
    done(null, user && { id: user.id, name: user.name });
  }
}

@Injectable()
class LoginGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const ok = (await super.canActivate(context)) as boolean;
    await super.logIn(context.switchToHttp().getRequest());
    return ok;
  }
}

@Controller()
class PassportController {
  @Post('login')
  @UseGuards(LoginGuard)
  login(@Req() req: Request) {
    return { user: req.user, sessionID: req.sessionID };
  }

  @Get('me')
  me(@Req() req: Request) {
    return { user: req.user ?? null };
  }

  @Post('logout')
  logout(@Req() req: Request) {
    return new Promise((resolve, reject) =>
      req.logout((error) => (error ? reject(error) : resolve({ ok: true }))),
    );
  }
}

describe('Passport (passport-local via @nestjs/passport) on SessionModule', () => {
  it('logs in, reads req.user on the next request, lists the login, and req.logout() ends the session', async () => {
    const prefix = uniquePrefix('sess-passport');
    @Module({
      imports: [
        RedisModule.forRoot(testRedisOptions()),
        SessionModule.forRoot({ secret: TEST_SECRET, prefix }),
        PassportModule.register({ session: true }),
      ],
      providers: [LocalStrategy, Serializer],
      controllers: [PassportController],
    })
    class PassportAppModule implements NestModule {
      configure(consumer: MiddlewareConsumer) {
        // After SessionModule's express-session: restores req.user from the session.
        consumer.apply(passport.session()).forRoutes('/');
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [PassportAppModule] }).compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    app.set('trust proxy', 'loopback');
    await app.init();
    const http = app.getHttpServer();
    const https = { 'X-Forwarded-Proto': 'https' };
    const inspect = await inspectClient();
    try {
      await request(http)
        .post('/login')
        .set(https)
        .send({ username: 'alice', password: 'wrong' })
        .expect(401);
      const login = await request(http)
        .post('/login')
        .set(https)
        .send({ username: 'alice', password: 'wonderland' })
        .expect(201);
      expect(login.body.user).toEqual({ id: 'u-alice', name: 'Alice' });
      const cookie = sessionCookie(login)!;
      expect(cookie).toBeDefined();

      const me = await request(http).get('/me').set(https).set('Cookie', cookie).expect(200);
      expect(me.body.user).toEqual({ id: 'u-alice', name: 'Alice' }); // deserializeUser ran
      await request(http).get('/me').set(https).expect(200, { user: null });

      const sessions = app.get(SessionService);
      const listed = await sessions.listForUser('u-alice');
      expect(listed).toHaveLength(1);
      const stored = (await inspect.keys(`${prefix}*`)).filter(
        (k) => !k.endsWith(':index') && !k.includes('{stats}'),
      );
      expect(stored).toHaveLength(1);

      await request(http).post('/logout').set(https).set('Cookie', cookie).expect(201);
      await request(http).get('/me').set(https).set('Cookie', cookie).expect(200, { user: null });
      expect(await sessions.listForUser('u-alice')).toEqual([]);
      expect(await inspect.keys(stored[0]!)).toEqual([]); // the logged-in session is gone
    } finally {
      inspect.close();
      await app.close();
    }
  });
});
