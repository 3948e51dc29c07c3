import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type HttpException,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { LLM_CACHE_PROBE, type LlmCacheProbe } from '../common/cache-probe';
import type { PriceTable } from '../llm/llm-pricing';
import { reserveFor, type Reservation } from './budget-reservation';
import type { UsageMeter } from './usage-meter';
import {
  graphqlRefusal,
  neverFits,
  rateLimitingUnavailable,
  tooManyRequests,
} from './rate-limit-problem';
import { writeRateLimitHeaders, type HeaderPolicy } from './rate-limit-headers';
import { hashedTracker, trackerValue } from './request-tracker';
import { planRoute, priceTableOf, type RoutePlan } from './route-plan';
import {
  BUDGET_LEASES,
  CACHE_REFUND,
  LATE_CHARGE,
  MICRO_USD,
  RESOLVED_THROTTLING_OPTIONS,
} from './throttling.internal-constants';
import type { ResolvedThrottlingOptions } from './throttling-options';
import type { LimitReachedDetail, Tracker } from './throttling-options.interface';
import { ThrottlingService, type CheckStore, type PolicyCheck } from './throttling.service';
import { ThrottlingStats } from './throttling-stats.service';
import type { BudgetLeases, LateCharge } from './budget-leases';
import type { SettleItem } from './throttle-store.interface';
import { digest } from '../redis/redis-keys';
import { resolveNumber, throttlerSuffix, type RouteThrottler } from './nest-throttlers';
import { wsRefusal, wsRequestOf } from './ws-request';

/** What a `@nestjs/throttler` throttler's entry needs for its headers and its 429. */
interface ThrottlerEntry {
  setHeaders: boolean;
  ttl: number;
  /** The key as `generateKey` made it, and the tracker as `getTracker` returned it. */
  key: string;
  tracker: string;
}

interface Entry {
  name: string;
  kind: 'requests' | 'tokens' | 'usd';
  tracker: string;
  windowMs: number;
  limit: number;
  throttler: ThrottlerEntry | undefined;
}

/** Class metadata of `@WebSocketGateway()` and `@Resolver()`: providers with handlers to plan. */
const HANDLER_CLASS_METADATA = ['websockets:is_gateway', 'graphql:resolver_type'];

/**
 * Calls already checked, by their arguments: the global guard and an `@UseGuards(ThrottlingGuard)`
 * instance (@nestjs/throttler's recipes bind their guard so) count a request or message once.
 */
const checkedCalls = new WeakSet<object>();
/**
 * Guard instances made: `@UseGuards(ThrottlingGuard)` (or a subclass) adds one to the module's,
 * and only then can a call be checked twice; with one, requests skip the bookkeeping.
 */
let guardInstances = 0;

/**
 * The guard of ThrottlingModule (registered globally by the module): evaluates the global
 * limit, `@RateLimit` policies and `@LLMThrottle` limits and budgets of a request in one
 * store call, writes the rate-limit headers, and answers 429 `application/problem+json`.
 * Extend it and override `trackerOf` to derive trackers differently.
 *
 * @example
 * class TenantThrottlingGuard extends ThrottlingGuard {
 *   protected trackerOf(req: Request, tracker: Tracker) {
 *     return req.headers['x-tenant'] ? `tenant:${req.headers['x-tenant']}` : super.trackerOf(req, tracker);
 *   }
 * }
 */
@Injectable()
export class ThrottlingGuard implements CanActivate, OnModuleInit {
  private readonly plans = new WeakMap<object, Map<object, RoutePlan>>();
  private readonly pricing: PriceTable;
  private readonly logger = new Logger('ThrottlingModule');

  constructor(
    private readonly reflector: Reflector,
    @Inject(RESOLVED_THROTTLING_OPTIONS) private readonly options: ResolvedThrottlingOptions,
    private readonly throttling: ThrottlingService,
    private readonly stats: ThrottlingStats,
    @Optional() private readonly discovery?: DiscoveryService,
    @Optional() private readonly scanner?: MetadataScanner,
    @Optional() @Inject(LLM_CACHE_PROBE) private readonly cacheProbe?: LlmCacheProbe,
  ) {
    this.pricing = priceTableOf(options);
    guardInstances++;
  }

  /**
   * Resolves the decorators of every route, gateway and resolver at start-up, so an unknown
   * policy name fails the boot.
   */
  onModuleInit(): void {
    if (!this.discovery || !this.scanner) return;
    const handlers = this.discovery
      .getProviders()
      .filter(
        (w) =>
          w.metatype && HANDLER_CLASS_METADATA.some((k) => Reflect.hasMetadata(k, w.metatype!)),
      );
    for (const wrapper of [...this.discovery.getControllers(), ...handlers]) {
      const instance = wrapper.instance as object | undefined;
      if (!instance) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[method];
        if (typeof handler === 'function') this.planOf(handler, instance.constructor);
      }
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const plan = this.planOf(context.getHandler(), context.getClass());
    if (plan.requests.length === 0 && plan.throttlers.length === 0 && !plan.llm) return true;
    if (guardInstances > 1) {
      const args = context.getArgs();
      if (checkedCalls.has(args)) return true;
      checkedCalls.add(args);
    }
    const { req, res } = this.getRequestResponse(context);
    if (!req) return true;
    const llm = plan.llm;
    let coalesced = false;
    if (llm && !llm.countCacheHits && this.cacheProbe) {
      // A cache hit calls no LLM: it consumes none of this route's limits or budgets; nor does a
      // request answered by an identical call already in flight (X-Cache: COALESCED).
      if (await this.cacheProbe.willHit(context)) return true;
      coalesced = (await this.cacheProbe.willCoalesce?.(context)) ?? false;
      // Not coalesced: this request is the candidate to lead its flight; identical requests
      // wait for its verdict, so a refused one never leads a burst that others ride for free.
      if (!coalesced) {
        const probe = this.cacheProbe;
        const verdict = (admitted: boolean) => probe.admitted?.(context, admitted);
        try {
          const admitted = await this.charge(context, plan, req, res, coalesced, verdict);
          verdict(true);
          return admitted;
        } catch (error) {
          verdict(false);
          throw error;
        }
      }
    }
    return this.charge(context, plan, req, res, coalesced);
  }

  private async charge(
    context: ExecutionContext,
    plan: RoutePlan,
    req: Request,
    res: Response | undefined,
    coalesced: boolean,
    verdict?: (admitted: boolean) => void,
  ): Promise<boolean> {
    const type = context.getType<'http' | 'graphql' | 'ws' | 'rpc'>();
    // Only HTTP responses pass BudgetSettleInterceptor: elsewhere a reservation is the charge.
    const settles = type === 'http' && res !== undefined;
    const llm = plan.llm;

    const trackers = new Map<Tracker, string>();
    const trackerFor = (by: Tracker): string => {
      let hashed = trackers.get(by);
      if (hashed === undefined) trackers.set(by, (hashed = hashedTracker(this.trackerOf(req, by))));
      return hashed;
    };
    const prefix = this.options.keyPrefix;
    const checks: PolicyCheck[] = [];
    const entries: Entry[] = [];
    // Plain object literals of one shape each (no spreads): this runs on every request.
    const push = (entry: Entry, check: PolicyCheck): void => {
      entries.push(entry);
      checks.push(check);
    };
    const keyOf = (tracker: string, name: string): string => `${prefix}{${tracker}}:${name}`;
    for (const p of llm ? [...plan.requests, llm.request] : plan.requests) {
      const tracker = trackerFor(p.by);
      push(
        {
          name: p.name,
          kind: 'requests',
          tracker,
          windowMs: p.ttlMs,
          limit: p.limit,
          throttler: undefined,
        },
        {
          policy: p.name,
          key: keyOf(tracker, p.name),
          limit: p.limit,
          periodMs: p.ttlMs,
          cost: 1,
          onRedisError: p.onRedisError,
        },
      );
    }
    const reservation = llm?.budgets.length
      ? reserveFor(type === 'graphql' ? context.getArgByIndex(1) : req.body, llm, this.pricing)
      : undefined;
    const leaseId = reservation && settles ? randomUUID() : undefined;
    for (const b of llm?.budgets ?? []) {
      const cost =
        b.kind === 'tokens' ? reservation!.tokens : Math.ceil(reservation!.usd * MICRO_USD);
      // More than the whole budget can never be admitted: say so instead of a 429 to retry.
      if (cost > b.limit) throw this.refusal(context, neverFits(res, b, cost));
      const tracker = trackerFor(b.by);
      push(
        {
          name: b.name,
          kind: b.kind,
          tracker,
          windowMs: b.periodMs,
          limit: b.limit,
          throttler: undefined,
        },
        {
          policy: b.name,
          key: keyOf(tracker, b.name),
          limit: b.limit,
          periodMs: b.periodMs,
          cost,
          onRedisError: b.onRedisError,
          lease: leaseId ? { id: leaseId, ttlMs: this.options.llm.leaseTtlMs } : undefined,
        },
      );
    }

    for (const t of plan.throttlers) {
      const check = await this.throttlerCheck(context, req, t, trackerFor);
      if (check) push(check.entry, check.check);
    }
    if (checks.length === 0) return true;

    if (coalesced) {
      // Free unless the leader fails and this request calls upstream itself: then it is charged
      // what it used, when it ends (BudgetSettleInterceptor reads X-Cache).
      (req as Request & { [LATE_CHARGE]?: LateCharge })[LATE_CHARGE] = (usage) =>
        this.chargeLate(entries, checks, reservation, usage);
      return true;
    }
    const outcome = await this.throttling.consume(checks);
    verdict?.(outcome.allowed && !outcome.unavailable);
    if (outcome.unavailable) throw this.refusal(context, rateLimitingUnavailable(res));
    const headers: HeaderPolicy[] = [];
    entries.forEach((entry, i) => {
      const result = outcome.results[i];
      if (entry.kind === 'requests') {
        // A policy is blamed only for its own verdict: a request another policy rejected was
        // neither admitted nor rejected by this one.
        if (outcome.stores[i] !== 'skipped' && (outcome.allowed || (result && !result.passed)))
          this.stats.recordPolicy(entry.name, outcome.allowed);
        // On a rejection the headers describe only the policies that rejected it.
        if (
          result &&
          (outcome.allowed || !result.passed) &&
          (!entry.throttler || entry.throttler.setHeaders)
        )
          headers.push({
            name: entry.name,
            limit: entry.limit,
            windowMs: entry.windowMs,
            remaining: result.remaining,
            resetMs: result.resetMs,
            ietfOnly: entry.throttler !== undefined,
          });
      } else if (result && !result.passed) {
        this.stats.recordBudget(entry.name, 0, true);
      }
    });
    if (res) {
      writeRateLimitHeaders(res, this.options.headers, headers);
      this.writeThrottlerHeaders(res, entries, outcome);
    }
    if (!outcome.allowed)
      await this.reject(
        context,
        res,
        entries,
        outcome.results.map((r) => r ?? undefined),
      );
    if (reservation && !settles) {
      // No settling here (a gateway message, a resolver): the reservation is the charge.
      for (const entry of entries)
        if (entry.kind !== 'requests')
          this.stats.recordBudget(
            entry.name,
            entry.kind === 'tokens' ? reservation.tokens : reservation.usd,
            false,
          );
    }
    if (reservation && llm && settles) {
      let settled = false;
      const leases: BudgetLeases = {
        reservation,
        stores: [],
        items: [],
        settle: (usage) => {
          if (settled) return Promise.resolve();
          settled = true;
          return this.settleBudgets(leases, usage);
        },
      };
      entries.forEach((entry, i) => {
        if (entry.kind === 'requests') return;
        const check = checks[i]!;
        leases.items.push({
          name: entry.name,
          kind: entry.kind,
          key: check.key,
          limit: check.limit,
          periodMs: check.periodMs,
          reserved: check.cost,
          leaseId,
          admittedAtMs: outcome.results[i]?.atMs,
        });
        leases.stores.push(outcome.stores[i]!);
      });
      (req as Request & { [BUDGET_LEASES]?: BudgetLeases })[BUDGET_LEASES] = leases;
    }
    if (llm && !llm.countCacheHits && this.cacheProbe && settles) {
      // Charged as the leader of a burst, yet answered from another call (X-Cache: COALESCED or
      // HIT): give everything back, as if it had been a hit from the start.
      let refunded = false;
      const refund = async (): Promise<void> => {
        if (refunded) return;
        refunded = true;
        const items: SettleItem[] = [];
        const stores: CheckStore[] = [];
        entries.forEach((entry, i) => {
          if (entry.kind !== 'requests' || outcome.stores[i] === 'skipped') return;
          const check = checks[i]!;
          items.push({
            key: check.key,
            limit: check.limit,
            periodMs: check.periodMs,
            reserved: 1,
            actual: 0,
            admittedAtMs: outcome.results[i]?.atMs,
          });
          stores.push(outcome.stores[i]!);
        });
        await this.throttling.settle(items, stores);
        await (req as Request & { [BUDGET_LEASES]?: BudgetLeases })[BUDGET_LEASES]?.settle(
          undefined,
        );
      };
      (req as Request & { [CACHE_REFUND]?: () => Promise<void> })[CACHE_REFUND] = refund;
      // When @CacheLLM runs outside BudgetSettleInterceptor, a COALESCED answer never reaches it.
      res.once('finish', () => {
        const status = res.getHeader('X-Cache');
        if (status === 'COALESCED' || status === 'HIT') refund().catch(() => undefined);
      });
    }
    return true;
  }

  /** Settles a request's reservations to its response's real usage (BudgetSettleInterceptor). */
  private async settleBudgets(leases: BudgetLeases, usage: UsageMeter | undefined): Promise<void> {
    const cost = usage ? usage.cost(leases.reservation, this.pricing) : { tokens: 0, usd: 0 };
    const items = leases.items.map((item) => {
      const actual = item.kind === 'tokens' ? cost.tokens : Math.ceil(cost.usd * MICRO_USD);
      this.stats.recordBudget(item.name, item.kind === 'tokens' ? cost.tokens : cost.usd, false);
      return {
        key: item.key,
        limit: item.limit,
        periodMs: item.periodMs,
        reserved: item.reserved,
        actual,
        leaseId: item.leaseId,
        admittedAtMs: item.admittedAtMs,
      };
    });
    await this.throttling.settle(items, leases.stores);
  }

  /** Charges a request admitted as COALESCED that called upstream after all. */
  private async chargeLate(
    entries: Entry[],
    checks: PolicyCheck[],
    reservation: Reservation | undefined,
    usage: UsageMeter,
  ): Promise<void> {
    const cost = reservation ? usage.cost(reservation, this.pricing) : { tokens: 0, usd: 0 };
    const items = checks.map((check, i) => {
      const kind = entries[i]!.kind;
      const actual =
        kind === 'requests' ? 1 : kind === 'tokens' ? cost.tokens : Math.ceil(cost.usd * MICRO_USD);
      if (kind === 'requests') this.stats.recordPolicy(entries[i]!.name, true);
      else
        this.stats.recordBudget(
          entries[i]!.name,
          kind === 'tokens' ? cost.tokens : cost.usd,
          false,
        );
      return { key: check.key, limit: check.limit, periodMs: check.periodMs, reserved: 0, actual };
    });
    const store: CheckStore = this.throttling.usesRedis ? 'redis' : 'memory';
    await this.throttling.settle(
      items,
      items.map(() => store),
    );
  }

  /**
   * The request and response of a context, as `@nestjs/throttler`'s hook of the same name:
   * HTTP; GraphQL resolvers whose context carries `{ req, res }` (Apollo on Express); gateway
   * messages, as the client's upgrade request (or its peer address) with the message as body
   * and no response (no headers). Override it for other transports; no `req` lets the call
   * through unlimited (microservices).
   */
  protected getRequestResponse(context: ExecutionContext): {
    req: Request | undefined;
    res: Response | undefined;
  } {
    const type = context.getType<'http' | 'graphql' | 'ws' | 'rpc'>();
    if (type === 'http') {
      const http = context.switchToHttp();
      return { req: http.getRequest<Request>(), res: http.getResponse<Response>() };
    }
    if (type === 'graphql') {
      const ctx = context.getArgByIndex<{ req?: Request; res?: Response } | undefined>(2);
      return { req: ctx?.req, res: ctx?.res };
    }
    if (type === 'ws') {
      const ws = context.switchToWs();
      return { req: wsRequestOf(ws.getClient(), ws.getData()), res: undefined };
    }
    return { req: undefined, res: undefined };
  }

  /** A refusal in the context's terms: `WsException` on a gateway, GraphQL-ready on a resolver. */
  private refusal(context: ExecutionContext, error: HttpException): Error {
    const type = context.getType<'http' | 'graphql' | 'ws' | 'rpc'>();
    return type === 'ws' ? wsRefusal(error) : type === 'graphql' ? graphqlRefusal(error) : error;
  }

  /** One `@nestjs/throttler` throttler of a request, as `ThrottlerGuard.handleRequest` reads it. */
  private async throttlerCheck(
    context: ExecutionContext,
    req: Request,
    t: RouteThrottler,
    trackerFor: (by: Tracker) => string,
  ): Promise<{ entry: Entry; check: PolicyCheck } | undefined> {
    if (t.skipIf?.(context)) return undefined;
    const agent = req.headers['user-agent'] ?? '';
    if (t.ignoreUserAgents?.some((pattern) => pattern.test(agent))) return undefined;
    const limit = await resolveNumber(context, t.limit, 'limit', t.name);
    const ttl = await resolveNumber(context, t.ttl, 'ttl', t.name);
    const blockMs = await resolveNumber(context, t.blockDuration ?? ttl, 'blockDuration', t.name);
    const tracker = t.getTracker
      ? String(await t.getTracker(req, context))
      : this.trackerOf(req, this.options.tracker);
    const prefix = this.options.keyPrefix;
    let key: string;
    let storeKey: string;
    if (t.generateKey) {
      // A custom key decides who shares a count: it alone makes the key (and its slot).
      key = t.generateKey(context, tracker, t.name);
      storeKey = `${prefix}{${digest(`nest:${key}`, 32)}}:throttler`;
    } else {
      // As @nestjs/throttler: per route, throttler and tracker; the tracker is the hash tag, so
      // these keys share a slot with the request's other limits.
      key = `${context.getClass().name}-${context.getHandler().name}-${t.name}`;
      const hashed = t.getTracker
        ? hashedTracker(`nest:${tracker}`)
        : trackerFor(this.options.tracker);
      storeKey = `${prefix}{${hashed}}:throttler:${digest(key, 32)}`;
    }
    return {
      entry: {
        name: t.name,
        kind: 'requests',
        tracker: digest(tracker, 32),
        windowMs: ttl,
        limit,
        throttler: { setHeaders: t.setHeaders, ttl, key, tracker },
      },
      check: {
        policy: t.name,
        key: storeKey,
        limit,
        periodMs: ttl,
        cost: 1,
        blockMs,
        onRedisError: this.options.onRedisError,
      },
    };
  }

  /** `@nestjs/throttler`'s headers: `X-RateLimit-*` per throttler, `Retry-After` when rejected. */
  private writeThrottlerHeaders(
    res: Response,
    entries: Entry[],
    outcome: {
      allowed: boolean;
      results: (
        { passed: boolean; remaining: number; resetMs: number; retryAfterMs: number } | undefined
      )[];
    },
  ): void {
    entries.forEach((entry, i) => {
      const result = outcome.results[i];
      if (!entry.throttler?.setHeaders || !result) return;
      const suffix = throttlerSuffix(entry.name);
      if (!result.passed) {
        res.setHeader(`Retry-After${suffix}`, String(toSeconds(result.retryAfterMs)));
      } else if (outcome.allowed) {
        res.setHeader(`X-RateLimit-Limit${suffix}`, String(entry.limit));
        res.setHeader(`X-RateLimit-Remaining${suffix}`, String(result.remaining));
        res.setHeader(`X-RateLimit-Reset${suffix}`, String(toSeconds(result.resetMs)));
      }
    });
  }

  /** The 429 `detail`: `errorMessage` when a `@nestjs/throttler` throttler rejected, else `message`. */
  private async messageOf(
    context: ExecutionContext,
    violated: Entry[],
    results: (
      { passed: boolean; remaining: number; resetMs: number; retryAfterMs: number } | undefined
    )[],
    entries: Entry[],
  ): Promise<string> {
    const errorMessage = this.options.errorMessage;
    const first = violated.find((e) => e.throttler);
    if (errorMessage === undefined || !first?.throttler) return this.options.message;
    if (typeof errorMessage === 'string') return errorMessage;
    const result = results[entries.indexOf(first)]!;
    return errorMessage(context, {
      limit: first.limit,
      ttl: first.throttler.ttl,
      key: first.throttler.key,
      tracker: first.throttler.tracker,
      totalHits: first.limit + 1,
      timeToExpire: toSeconds(result.resetMs),
      isBlocked: true,
      timeToBlockExpire: toSeconds(result.retryAfterMs),
    });
  }

  /** The raw tracker value of a request (hashed before use). Override to customise. */
  protected trackerOf(req: Request, tracker: Tracker): string {
    return trackerValue(req, tracker, this.options);
  }

  private async reject(
    context: ExecutionContext,
    res: Response | undefined,
    entries: Entry[],
    results: (
      { passed: boolean; remaining: number; resetMs: number; retryAfterMs: number } | undefined
    )[],
  ): Promise<never> {
    const violated = entries.filter((_, i) => results[i] && !results[i].passed);
    const retryAfterMs = Math.max(0, ...results.map((r) => (r && !r.passed ? r.retryAfterMs : 0)));
    const detail: LimitReachedDetail = {
      policies: violated.map((e) => e.name),
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      tracker: violated[0]?.tracker ?? '',
    };
    for (const e of violated) this.stats.recordRejectedTracker(e.tracker);
    if (this.options.onLimitReached) {
      try {
        await this.options.onLimitReached(context, detail);
      } catch (error) {
        this.logger.error(
          `onLimitReached threw: ${error instanceof Error ? error.message : 'error'}`,
        );
      }
    }
    const message = await this.messageOf(context, violated, results, entries);
    throw this.refusal(context, tooManyRequests(res, message, violated, detail.retryAfterSeconds));
  }

  private planOf(handler: object, controller: object): RoutePlan {
    let byController = this.plans.get(handler);
    if (!byController) this.plans.set(handler, (byController = new Map()));
    let plan = byController.get(controller);
    if (!plan) {
      const name = `${(controller as { name?: string }).name ?? 'controller'}.${(handler as { name?: string }).name ?? 'handler'}`;
      plan = planRoute(this.reflector, [handler, controller], this.options, name);
      byController.set(controller, plan);
    }
    return plan;
  }
}

const toSeconds = (ms: number): number =>
  Number.isFinite(ms) ? Math.max(0, Math.ceil(ms / 1000)) : 0;
