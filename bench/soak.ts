import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createSampleApp } from '../sample/app.factory';
import { RedisServer } from '../test/support/redis-server';
import { runLoad, SoakClient } from './soak-load';
import {
  type Outage,
  outageChecks,
  printReport,
  routeRows,
  type SoakReport,
  steadyFailures,
} from './soak-report';

// The chaos soak: the sample app in-process on a redis-server of its own, steady load on every
// route, Redis killed (SIGKILL) for OUTAGE_MS and restarted, twice. See README "Soak".
const DURATION_S = Number(process.env.SOAK_DURATION_S ?? 150);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 16);
const OUTAGE_MS = 5_000;
const RECOVERY_LIMIT_MS = 2_000;
// Read by the simulated LLM when the app is created.
process.env.LLM_LATENCY_MS ??= '50';

let unhandledRejections = 0;
let uncaughtExceptions = 0;
const firstErrors: string[] = [];
process.on('unhandledRejection', (reason) => {
  unhandledRejections++;
  if (firstErrors.length < 5) firstErrors.push(`unhandledRejection: ${String(reason)}`);
});
process.on('uncaughtException', (error) => {
  uncaughtExceptions++;
  if (firstErrors.length < 5) firstErrors.push(`uncaughtException: ${error.stack ?? error}`);
});

function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  return { rssMb: mb(rss), heapUsedMb: mb(heapUsed), heapTotalMb: mb(heapTotal) };
}

const log = (message: string) =>
  process.stderr.write(`[soak ${new Date().toISOString()}] ${message}\n`);

/** Probes, from the moment Redis answers again, until a cache lookup and a login both work. */
async function measureRecovery(client: SoakClient, outage: Outage): Promise<void> {
  const deadline = outage.backAt + 30_000;
  while (
    (outage.cacheRecoveryMs === undefined || outage.sessionRecoveryMs === undefined) &&
    performance.now() < deadline
  ) {
    const probes: Promise<unknown>[] = [];
    if (outage.cacheRecoveryMs === undefined)
      probes.push(
        client.generate(`probe ${randomBytes(6).toString('hex')}`, 'probe', false).then((r) => {
          // A fresh prompt can only be a MISS once the lookup reached Redis (down: BYPASS).
          if (r.sample.cache === 'MISS' && outage.cacheRecoveryMs === undefined)
            outage.cacheRecoveryMs = Math.round(r.sample.endedAt - outage.backAt);
        }),
      );
    if (outage.sessionRecoveryMs === undefined)
      probes.push(
        client.login(false).then((r) => {
          if (r.sample.status === 200 && outage.sessionRecoveryMs === undefined)
            outage.sessionRecoveryMs = Math.round(r.sample.endedAt - outage.backAt);
        }),
      );
    await Promise.all([...probes, delay(20)]);
  }
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  const app = await createSampleApp(
    {
      redisUrl: redis.url,
      sessionSecret: randomBytes(32).toString('base64url'),
      // All the load comes from one address: the global and llm limits and the LLM budgets are
      // raised so that they do not answer everything with 429; /llm/summarize keeps the
      // sample's `expensive` 10/min, so the soak sees a limit at work (and its failure policy).
      throttling: {
        global: { limit: 1_000_000, ttlMs: 60_000 },
        policies: { llm: { limit: 1_000_000, ttlMs: 60_000 } },
        llm: { tokensPerMinute: 1_000_000_000, usdPerDay: 1_000_000 },
      },
    },
    false,
  );
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const client = new SoakClient(`http://127.0.0.1:${port}`);
  const started = performance.now();
  const at = (fraction: number) =>
    delay(Math.max(0, started + DURATION_S * 1000 * fraction - performance.now()));
  log(`sample app on :${port}, Redis on :${redis.port}, ${DURATION_S}s, ${CONCURRENCY} loops`);

  const load = runLoad(client, CONCURRENCY);
  await at(0.1);
  const memoryBefore = memory();
  const outages: Outage[] = [];
  for (const fraction of [0.3, 0.65]) {
    await at(fraction);
    const killSentAt = performance.now();
    await redis.stop();
    const killedAt = performance.now();
    log('Redis killed');
    await delay(OUTAGE_MS);
    const restartAt = performance.now();
    await redis.restart();
    const outage: Outage = { killSentAt, killedAt, restartAt, backAt: performance.now() };
    outages.push(outage);
    log('Redis back');
    await measureRecovery(client, outage);
    log(`recovered: cache ${outage.cacheRecoveryMs} ms, session ${outage.sessionRecoveryMs} ms`);
  }
  await at(1);
  await load.stop();
  const memoryAfter = memory();
  await app.close();
  await redis.stop();

  const rows = routeRows(client.samples, outages);
  const outageReports = outages.map((o) => ({
    killedAtS: Math.round((o.killSentAt - started) / 100) / 10,
    downMs: Math.round(o.backAt - o.killSentAt),
    cacheRecoveryMs: o.cacheRecoveryMs ?? null,
    sessionRecoveryMs: o.sessionRecoveryMs ?? null,
    ...outageChecks(client.samples, o),
  }));
  const steady = steadyFailures(client.samples, outages, started);
  const recovered = outages.every(
    (o) =>
      o.cacheRecoveryMs !== undefined &&
      o.sessionRecoveryMs !== undefined &&
      Math.max(o.cacheRecoveryMs, o.sessionRecoveryMs) <= RECOVERY_LIMIT_MS,
  );
  const failures = [
    unhandledRejections > 0 && `${unhandledRejections} unhandled rejections`,
    uncaughtExceptions > 0 &&
      `${uncaughtExceptions} uncaught exceptions (the process would have died)`,
    !recovered && `recovery over ${RECOVERY_LIMIT_MS} ms (or none)`,
    outageReports.some((o) => o.violations.length > 0) &&
      'failure-policy violations during an outage',
    steady.length > 0 && `${steady.length} 5xx/unanswered requests away from the outages`,
  ].filter((f): f is string => typeof f === 'string');

  const report: SoakReport = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    durationS: DURATION_S,
    concurrency: CONCURRENCY,
    llmLatencyMs: Number(process.env.LLM_LATENCY_MS),
    outageMs: OUTAGE_MS,
    routes: rows,
    outages: outageReports,
    steadyFailures: steady,
    unhandledRejections,
    uncaughtExceptions,
    firstErrors,
    processAlive: true,
    memoryBefore,
    memoryAfter,
    passed: failures.length === 0,
    failures,
  };
  printReport(report);
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'soak.json'), JSON.stringify(report, null, 2));
  if (failures.length > 0) process.exitCode = 1;
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
