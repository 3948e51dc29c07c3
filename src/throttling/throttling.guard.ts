import {
  type CanActivate,
  type ExecutionContext,
  type HttpException,
  Inject,
  Injectable,
  Logger,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import { LLM_CACHE_PROBE, type LlmCacheProbe } from '../common/cache-probe';
import { rawResponse } from '../common/http-exchange';
import { ChargeLedger } from './charge-ledger';
import { refusalIn, rejection, reportVerdict } from './guard-verdict';
import type { TrackerSource } from './nest-throttler-checks';
import { rateLimitingUnavailable } from './rate-limit-problem';
import { leaveLateCharge, leaveLease } from './request-charge';
import { requestChecks } from './request-checks';
import { hashedTracker, trackerValue } from './request-tracker';
import { planRoute, type RoutePlan } from './route-plan';
import { RESOLVED_THROTTLING_OPTIONS } from './throttling.internal-constants';
import type { ResolvedThrottlingOptions } from './throttling-options';
import type { Tracker } from './throttling-options.interface';
import { ThrottlingStats } from './throttling-stats.service';
import { wsRequestOf } from './ws-request';

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
  private readonly logger = new Logger('ThrottlingModule');

  constructor(
    private readonly reflector: Reflector,
    @Inject(RESOLVED_THROTTLING_OPTIONS) private readonly options: ResolvedThrottlingOptions,
    private readonly ledger: ChargeLedger,
    private readonly stats: ThrottlingStats,
    @Optional() private readonly discovery?: DiscoveryService,
    @Optional() private readonly scanner?: MetadataScanner,
    @Optional() @Inject(LLM_CACHE_PROBE) private readonly cacheProbe?: LlmCacheProbe,
  ) {
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

  /**
   * The plan of a request: skip what costs nothing (no limits, a call already checked, a cache
   * hit), ride along free on an admitted identical call (COALESCED), otherwise charge every
   * check at once through the ledger and leave the charge for the settling interceptor.
   */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const plan = this.planOf(context.getHandler(), context.getClass());
    if (plan.requests.length === 0 && plan.throttlers.length === 0 && !plan.llm) return true;
    if (this.checkedBefore(context)) return true;
    const { req, res } = this.getRequestResponse(context);
    if (!req) return true;
    // A cache hit calls no LLM: it consumes none of the route's limits or budgets; nor does a
    // request answered by an admitted identical call already in flight (X-Cache: COALESCED).
    const probe = plan.llm && !plan.llm.countCacheHits ? this.cacheProbe : undefined;
    if (probe && (await probe.willHit(context))) return true;
    if (!probe) return this.admit(context, plan, req, res, false);
    if (await probe.willCoalesce?.(context)) return this.admit(context, plan, req, res, true);
    // This request is the candidate to lead its flight: identical requests wait for its
    // verdict, so a refused one never leads a burst that the others ride for free.
    const verdict = (admitted: boolean) => probe.admitted?.(context, admitted);
    try {
      const admitted = await this.admit(context, plan, req, res, false, verdict);
      verdict(true);
      return admitted;
    } catch (error) {
      verdict(false);
      throw error;
    }
  }

  /** Charges the request's checks (all or none), or, COALESCED, leaves a late charge. */
  private async admit(
    context: ExecutionContext,
    plan: RoutePlan,
    req: Request,
    res: ServerResponse | undefined,
    coalesced: boolean,
    verdict?: (admitted: boolean) => void,
  ): Promise<boolean> {
    // Only HTTP responses pass BudgetSettleInterceptor: elsewhere a reservation is the charge.
    const settles = context.getType() === 'http' && res !== undefined;
    const refusal = (error: HttpException) => refusalIn(context, error);
    const trackers = this.trackersOf(req);
    const { checks, reservation } = await requestChecks(
      context,
      plan,
      req,
      res,
      this.ledger,
      trackers,
      settles,
      refusal,
    );
    if (checks.length === 0) return true;
    if (coalesced) {
      // Free unless its leader fails and it calls upstream itself: then charged what it used.
      leaveLateCharge(req, this.ledger, checks, reservation);
      return true;
    }
    const outcome = await this.ledger.reserve(checks, reservation);
    verdict?.(outcome.allowed);
    if (outcome.unavailable) throw refusal(rateLimitingUnavailable(res));
    reportVerdict(res, this.options, this.stats, checks, outcome);
    const lease = outcome.lease;
    if (!lease)
      throw await rejection(
        context,
        res,
        this.options,
        this.stats,
        this.logger,
        checks,
        outcome.results,
      );
    if (!settles || !res) lease.keep();
    else
      leaveLease(
        req,
        res,
        lease,
        plan.llm !== undefined && !plan.llm.countCacheHits && this.cacheProbe !== undefined,
      );
    return true;
  }

  /**
   * Whether another guard instance checked this call already: the global guard and an
   * `@UseGuards(ThrottlingGuard)` instance (@nestjs/throttler's recipes bind their guard so)
   * count a request or message once. With one instance, requests skip the bookkeeping.
   */
  private checkedBefore(context: ExecutionContext): boolean {
    if (guardInstances <= 1) return false;
    const args = context.getArgs();
    if (checkedCalls.has(args)) return true;
    checkedCalls.add(args);
    return false;
  }

  /** A request's trackers, raw and hashed, each computed once. */
  private trackersOf(req: Request): TrackerSource {
    const hashed = new Map<Tracker, string>();
    return {
      raw: (by) => this.trackerOf(req, by),
      hashed: (by) => {
        let value = hashed.get(by);
        if (value === undefined) hashed.set(by, (value = hashedTracker(this.trackerOf(req, by))));
        return value;
      },
    };
  }

  /**
   * The request and response of a context, as `@nestjs/throttler`'s hook of the same name:
   * HTTP (the platform's request, Node's response: Fastify's `reply.raw`); GraphQL resolvers whose context carries `{ req, res }` (Apollo on Express); gateway
   * messages, as the client's upgrade request (or its peer address) with the message as body
   * and no response (no headers). Override it for other transports; no `req` lets the call
   * through unlimited (microservices).
   */
  protected getRequestResponse(context: ExecutionContext): {
    req: Request | undefined;
    res: ServerResponse | undefined;
  } {
    const type = context.getType<'http' | 'graphql' | 'ws' | 'rpc'>();
    if (type === 'http') {
      const http = context.switchToHttp();
      return { req: http.getRequest<Request>(), res: rawResponse(http.getResponse()) };
    }
    if (type === 'graphql') {
      const ctx = context.getArgByIndex<{ req?: Request; res?: ServerResponse } | undefined>(2);
      return { req: ctx?.req, res: ctx?.res };
    }
    if (type === 'ws') {
      const ws = context.switchToWs();
      return { req: wsRequestOf(ws.getClient(), ws.getData()), res: undefined };
    }
    return { req: undefined, res: undefined };
  }

  /** The raw tracker value of a request (hashed before use). Override to customise. */
  protected trackerOf(req: Request, tracker: Tracker): string {
    return trackerValue(req, tracker, this.options);
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
