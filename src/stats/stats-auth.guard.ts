import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  type OnModuleInit,
  UnauthorizedException,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isObservable, lastValueFrom } from 'rxjs';
import { requestOf } from '../common/execution-request';
import { rawResponse } from '../common/http-exchange';
import type { ResolvedStatsOptions } from './stats-module-options.interface';
import { STATS_OPTIONS, STATS_PRIVILEGED, STATS_TOKEN_EXEMPT } from './stats.constants';

/** Why `POST <path>/reset` is refused on an unprotected module, and how to fix it. */
export const RESET_NEEDS_PROTECTION =
  'Resetting the stats needs a protected StatsModule: set its `token` or `guard` option.';

/**
 * Protects the stats routes: the bearer `token` and/or the user's `guard` from the options;
 * refuses state-changing routes (reset) when neither is configured.
 *
 * @example
 * StatsModule.forRoot({ token: process.env.STATS_TOKEN }) // every route needs the token
 */
@Injectable()
export class StatsAuthGuard implements CanActivate, OnModuleInit {
  private delegate?: CanActivate;
  private readonly tokenDigest?: Buffer;

  constructor(
    @Inject(STATS_OPTIONS) private readonly options: ResolvedStatsOptions,
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
  ) {
    if (options.token) this.tokenDigest = sha256(options.token);
  }

  async onModuleInit(): Promise<void> {
    const { guard, token } = this.options;
    if (!guard && !token && process.env.NODE_ENV === 'production') {
      new Logger('StatsModule').warn(
        'The stats routes are public (no token or guard); set StatsModule token or guard to protect them.',
      );
    }
    if (typeof guard !== 'function') {
      this.delegate = guard;
      return;
    }
    try {
      this.delegate = this.moduleRef.get(guard, { strict: false });
    } catch {
      this.delegate = await this.moduleRef.create(guard);
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const privileged = this.reflector.getAllAndOverride<boolean>(STATS_PRIVILEGED, targets);
    if (privileged && !this.tokenDigest && !this.delegate) {
      throw new ForbiddenException(RESET_NEEDS_PROTECTION);
    }
    const exempt = this.reflector.getAllAndOverride<boolean>(STATS_TOKEN_EXEMPT, targets);
    if (this.tokenDigest && !exempt) this.checkToken(context);
    if (!this.delegate) return true;
    const verdict = this.delegate.canActivate(context);
    return isObservable(verdict) ? lastValueFrom(verdict) : verdict;
  }

  private checkToken(context: ExecutionContext): void {
    const header = requestOf(context)?.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (match && timingSafeEqual(sha256(match[1]!), this.tokenDigest!)) return;
    if (context.getType() === 'http')
      rawResponse(context.switchToHttp().getResponse()).setHeader(
        'WWW-Authenticate',
        'Bearer realm="stats"',
      );
    throw new UnauthorizedException(tokenRefusal(header, match !== null));
  }
}

/** What was wrong with the `Authorization` header (never echoing it: it may hold a secret). */
export function tokenRefusal(header: string | string[] | undefined, bearer: boolean): string {
  if (header === undefined)
    return 'The stats routes need a bearer token: no Authorization header was sent (Authorization: Bearer <token>).';
  if (!bearer)
    return 'The stats routes need a bearer token: the Authorization header is not of the form "Bearer <token>".';
  return "The stats bearer token does not match StatsModule's token.";
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
