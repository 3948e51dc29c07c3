import type * as Api from '@opentelemetry/api';
import { currentLlmCall, type EntryFacts, type TraceOutcome } from './llm-call.span';
import { kitInstruments, otelApi, recordingSpan } from './otel-api';

/** The cache stats' outcome names (`LlmCacheStats`), as the telemetry names them. */
const OUTCOMES: Record<string, TraceOutcome> = {
  hits: 'hit',
  misses: 'miss',
  coalesced: 'coalesced',
  bypassed: 'bypass',
};

/**
 * One cache outcome (of a call or a `@CacheLLM` request): counted in `llm_kit.cache.outcomes`
 * (and what it saved in `llm_kit.cache.saved_usd`) under its call site or route; a call-level
 * outcome also goes on the call's span.
 */
export function traceCacheOutcome(
  outcome: 'hits' | 'misses' | 'coalesced' | 'bypassed',
  entry: EntryFacts | undefined,
  callSite: string | undefined,
): void {
  const api = otelApi();
  if (!api) return;
  const name = OUTCOMES[outcome]!;
  const instruments = kitInstruments(api);
  const attributes = { 'llm_kit.cache.outcome': name, 'llm_kit.call_site': callSite };
  instruments.cacheOutcomes.add(1, attributes);
  if (entry && (name === 'hit' || name === 'coalesced') && entry.costUsd > 0)
    instruments.savedUsd.add(entry.costUsd, attributes);
  currentLlmCall(api)?.setOutcome(name, entry);
}

/** The wait of a call that was answered by another's flight (a child of its span). */
export function traceCoalescedWait(fromMs: number): void {
  const api = otelApi();
  if (api) currentLlmCall(api)?.coalescedWait(fromMs);
}

/** A check of a verdict, as the throttling guard has it. */
interface VerdictCheck {
  policy: string;
  kind: string;
}
interface VerdictResult {
  passed: boolean;
  remaining: number;
  retryAfterMs: number;
}

const seconds = (ms: number): number =>
  Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : -1;

/** The check that decided: the first one refused, else the request limit closest to its end. */
function deciding(
  checks: readonly VerdictCheck[],
  results: readonly (VerdictResult | undefined)[],
  allowed: boolean,
): number {
  let at = -1;
  checks.forEach((check, i) => {
    const result = results[i];
    if (!result) return;
    if (!allowed) {
      if (at < 0 && !result.passed) at = i;
    } else if (check.kind === 'requests' && (at < 0 || result.remaining < results[at]!.remaining))
      at = i;
  });
  return at;
}

/**
 * A throttle verdict on a request (the guard's): `llm_kit.throttle.*` on the active span (the
 * HTTP request's) and one `llm_kit.throttle.decisions` count under the deciding policy.
 */
export function traceThrottleVerdict(
  checks: readonly VerdictCheck[],
  results: readonly (VerdictResult | undefined)[],
  allowed: boolean,
): void {
  const api = otelApi();
  if (!api) return;
  const at = deciding(checks, results, allowed);
  const decision = allowed ? 'allowed' : 'refused';
  const policy = checks[at]?.policy;
  kitInstruments(api).throttleDecisions.add(1, {
    'llm_kit.throttle.decision': decision,
    'llm_kit.throttle.policy': policy,
  });
  const span = recordingSpan(api);
  if (!span) return;
  span.setAttributes({ 'llm_kit.throttle.decision': decision, 'llm_kit.throttle.policy': policy });
  const result = results[at];
  if (result && result.remaining >= 0 && Number.isFinite(result.remaining))
    span.setAttribute('llm_kit.throttle.remaining', result.remaining);
  if (!allowed && result)
    span.setAttribute('llm_kit.throttle.retry_after_s', seconds(result.retryAfterMs));
}

/**
 * A refused reservation (a request's limits or budgets, a call's budgets): the event
 * `llm_kit.refusal` on the active span (the LLM call's, else the HTTP request's).
 */
export function traceRefusal(
  checks: readonly VerdictCheck[],
  results: readonly (VerdictResult | undefined)[],
  unavailable: boolean,
): void {
  const api = otelApi();
  const span = api && recordingSpan(api);
  if (!span) return;
  const at = unavailable ? -1 : deciding(checks, results, false);
  const attributes: Api.Attributes = {
    'llm_kit.refusal.reason': unavailable ? 'unavailable' : (checks[at]?.kind ?? 'requests'),
    'llm_kit.throttle.policy': checks[at]?.policy,
  };
  const result = results[at];
  if (result) attributes['llm_kit.throttle.retry_after_s'] = seconds(result.retryAfterMs);
  span.addEvent('llm_kit.refusal', attributes);
}

/** A budget reservation admitted: what it holds, on the active span. */
export function traceBudgetReserved(tokens: number, usd: number): void {
  const api = otelApi();
  if (api)
    recordingSpan(api)?.setAttributes({
      'llm_kit.budget.reserved_tokens': tokens,
      'llm_kit.budget.reserved_usd': usd,
    });
}

/** A budget reservation settled (to the usage, or to nothing on a refund), on the active span. */
export function traceBudgetSettled(tokens: number, usd: number): void {
  const api = otelApi();
  if (api)
    recordingSpan(api)?.setAttributes({
      'llm_kit.budget.settled_tokens': tokens,
      'llm_kit.budget.settled_usd': usd,
    });
}

/** What the session middleware found (or `SessionService.create` made), on the HTTP span. */
export function traceSessionState(state: 'carried' | 'created' | 'none' | 'unavailable'): void {
  const api = otelApi();
  if (api) recordingSpan(api)?.setAttribute('llm_kit.session.state', state);
}
