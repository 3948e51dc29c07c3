import type { SoakSample } from './soak-load';

/** One Redis outage: when it was killed, when the restart began, when it answered PING again. */
export interface Outage {
  /** When SIGKILL was sent. */
  killSentAt: number;
  /** When the process was gone. */
  killedAt: number;
  restartAt: number;
  backAt: number;
  /** From `backAt` to the end of the first fresh-prompt generate that looked up Redis (MISS). */
  cacheRecoveryMs?: number;
  /** From `backAt` to the end of the first successful login. */
  sessionRecoveryMs?: number;
}

/** The longest a session route may take to answer 503 while Redis is down (storeTimeoutMs + 1 s). */
export const SESSION_503_BOUND_MS = 2_000;

const SESSION_ROUTES = new Set(['POST /auth/login', 'GET /profile', 'POST /auth/logout']);

/** What a request made during an outage should get, by the module's failure policy; else why not. */
export function policyViolation(sample: SoakSample): string | undefined {
  const ms = sample.endedAt - sample.startedAt;
  if (sample.route === 'POST /llm/generate')
    return sample.status === 200 && (sample.cache === 'BYPASS' || sample.cache === 'HIT')
      ? undefined
      : `generate: ${sample.status} X-Cache ${sample.cache ?? sample.error}`;
  if (SESSION_ROUTES.has(sample.route)) {
    if (sample.status !== 503) return `${sample.route}: ${sample.status || sample.error}`;
    return ms > SESSION_503_BOUND_MS
      ? `${sample.route}: 503 after ${Math.round(ms)} ms`
      : undefined;
  }
  if (sample.route === 'GET /stats') {
    const down = sample.unavailable ?? [];
    return sample.status === 200 && down.includes('cache') && down.includes('sessions')
      ? undefined
      : `GET /stats: ${sample.status} unavailable=${down.join(',')}`;
  }
  // ThrottlingModule's default policy, `local`: this instance's memory limits until Redis is back.
  if (sample.route === 'POST /llm/summarize')
    return sample.status === 200 || sample.status === 429
      ? undefined
      : `summarize: ${sample.status || sample.error}`;
  if (sample.route === 'GET /stats/cache')
    return sample.status === 503 ? undefined : `GET /stats/cache: ${sample.status}`;
  return undefined;
}

export interface RouteRow {
  route: string;
  requests: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
  noAnswer: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Longest request that overlapped each outage (kill to PING). */
  maxDuringOutageMs: number[];
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

const overlaps = (s: SoakSample, o: Outage): boolean =>
  s.startedAt < o.backAt && s.endedAt > o.killSentAt;

export function routeRows(samples: SoakSample[], outages: Outage[]): RouteRow[] {
  const routes = [...new Set(samples.map((s) => s.route))].sort();
  return routes.map((route) => {
    const mine = samples.filter((s) => s.route === route);
    const ms = mine.map((s) => s.endedAt - s.startedAt).sort((a, b) => a - b);
    return {
      route,
      requests: mine.length,
      '2xx': mine.filter((s) => s.status >= 200 && s.status < 300).length,
      '4xx': mine.filter((s) => s.status >= 400 && s.status < 500).length,
      '5xx': mine.filter((s) => s.status >= 500).length,
      noAnswer: mine.filter((s) => s.status === 0).length,
      p50Ms: Math.round(percentile(ms, 0.5)),
      p99Ms: Math.round(percentile(ms, 0.99)),
      maxMs: Math.round(ms.at(-1) ?? 0),
      maxDuringOutageMs: outages.map((o) =>
        Math.round(
          Math.max(0, ...mine.filter((s) => overlaps(s, o)).map((s) => s.endedAt - s.startedAt)),
        ),
      ),
    };
  });
}

/**
 * The policy check of each outage: every request that started and ended while Redis was down
 * (kill to restart), with the answers it got, counted by route and answer.
 */
export function outageChecks(samples: SoakSample[], outage: Outage) {
  const inside = samples.filter(
    (s) => s.startedAt >= outage.killedAt && s.endedAt <= outage.restartAt,
  );
  const answers: Record<string, number> = {};
  const violations: string[] = [];
  for (const sample of inside) {
    const extra = sample.cache
      ? ` ${sample.cache}`
      : sample.unavailable
        ? ` unavailable=${sample.unavailable.join(',')}`
        : '';
    const answer = `${sample.route} -> ${sample.status || sample.error}${extra}`;
    answers[answer] = (answers[answer] ?? 0) + 1;
    const violation = policyViolation(sample);
    if (violation) violations.push(violation);
  }
  return { requests: inside.length, answers, violations: [...new Set(violations)] };
}

/** 5xx or no answer on requests well away from the outages (before a kill, 3 s after a return). */
export function steadyFailures(samples: SoakSample[], outages: Outage[], origin: number) {
  return samples
    .filter(
      (s) =>
        (s.status >= 500 || s.status === 0) &&
        outages.every((o) => s.endedAt < o.killSentAt || s.startedAt > o.backAt + 3_000),
    )
    .map((s) => ({
      route: s.route,
      status: s.status,
      atS: Math.round((s.startedAt - origin) / 100) / 10,
      ms: Math.round(s.endedAt - s.startedAt),
      reason: s.message ?? s.error,
    }));
}

/** What `npm run soak` prints and writes to `bench/results/soak.json`. */
export interface SoakReport {
  date: string;
  machine: { cpus: number; cpu?: string; memoryGb: number; node: string };
  durationS: number;
  concurrency: number;
  llmLatencyMs: number;
  outageMs: number;
  routes: RouteRow[];
  outages: (ReturnType<typeof outageChecks> & {
    killedAtS: number;
    downMs: number;
    cacheRecoveryMs: number | null;
    sessionRecoveryMs: number | null;
  })[];
  steadyFailures: ReturnType<typeof steadyFailures>;
  unhandledRejections: number;
  uncaughtExceptions: number;
  firstErrors: string[];
  processAlive: boolean;
  memoryBefore: Record<string, number>;
  memoryAfter: Record<string, number>;
  passed: boolean;
  failures: string[];
}

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [fmt(header), rule, ...lines.map(fmt)].join('\n');
}

/** Prints the report as Markdown tables (the README's "Soak" section is a copy of them). */
export function printReport(report: SoakReport): void {
  const { routes, outages } = report;
  const routeHeader = ['route', 'requests', '2xx', '4xx', '5xx', 'no answer', 'p50 ms', 'p99 ms'];
  routeHeader.push('max ms', ...outages.map((_, i) => `max ms in outage ${i + 1}`));
  const routeLines = routes.map((r) =>
    [r.route, r.requests, r['2xx'], r['4xx'], r['5xx'], r.noAnswer, r.p50Ms, r.p99Ms, r.maxMs]
      .concat(r.maxDuringOutageMs)
      .map(String),
  );
  console.log(table(routeHeader, routeLines));
  const outageHeader = ['outage', 'killed at', 'down ms', 'cache recovery ms'];
  outageHeader.push('session recovery ms', 'requests while down', 'policy violations');
  const outageLines = outages.map((o, i) => [
    String(i + 1),
    `${o.killedAtS} s`,
    String(o.downMs),
    String(o.cacheRecoveryMs),
    String(o.sessionRecoveryMs),
    String(o.requests),
    o.violations.join('; ') || 'none',
  ]);
  console.log(`\n${table(outageHeader, outageLines)}`);
  outages.forEach((o, i) => {
    console.log(`\nanswers while Redis was down (outage ${i + 1}):`);
    for (const [answer, count] of Object.entries(o.answers).sort())
      console.log(`  ${answer}: ${count}`);
  });
  const { machine, memoryBefore, memoryAfter } = report;
  console.log(
    [
      '',
      `unhandled rejections: ${report.unhandledRejections}, uncaught exceptions: ${report.uncaughtExceptions}, process alive: ${report.processAlive ? 'yes' : 'no'}`,
      `5xx or unanswered away from the outages: ${report.steadyFailures.length}`,
      ...report.steadyFailures.slice(0, 10).map((f) => `  ${JSON.stringify(f)}`),
      `memory before: ${JSON.stringify(memoryBefore)}, after: ${JSON.stringify(memoryAfter)}`,
      `machine: ${machine.cpus} x ${machine.cpu}, ${machine.memoryGb} GB, Node ${machine.node}; ` +
        `${report.durationS} s, ${report.concurrency} loops, LLM latency ${report.llmLatencyMs} ms`,
      report.passed ? 'PASS' : `FAIL: ${report.failures.join('; ')}`,
      ...report.firstErrors,
    ].join('\n'),
  );
}
