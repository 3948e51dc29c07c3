import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../test/support/redis-server';
import { load, type LoadResult } from './load';
import type { Scenario } from './scenario';
import { scenarios } from './scenarios';
// h15: call-level rows (wrapped LLM clients), measured per call rather than by HTTP load.
import { llmCallRows, printCallRows } from './scenarios/llm-calls.scenarios';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const ONLY = process.env.BENCH_ONLY?.split(',');

interface Row extends LoadResult {
  name: string;
  description: string;
  ratios: Record<string, number>;
  checks: { against: string; min: number; ratio: number; ok: boolean }[];
}

async function main(): Promise<void> {
  const redis = process.env.REDIS_URL ? undefined : await RedisServer.start();
  const redisUrl = process.env.REDIS_URL ?? redis!.url;
  const selected = scenarios.filter((s, i) => i === 0 || !ONLY || ONLY.includes(s.name));
  const results = new Map<string, LoadResult>();
  // Rounds interleave the scenarios so a slow spell of the machine hits all of them alike;
  // each scenario keeps its best round.
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of selected) {
      process.stderr.write(`round ${round}/${ROUNDS}: ${scenario.name}...\n`);
      const target = await scenario.start({ redisUrl });
      try {
        await load(target, 1, CONNECTIONS); // warm-up: JIT, connections, first cache fill
        const result = await load(target, DURATION_S, CONNECTIONS);
        const best = results.get(scenario.name);
        if (!best || result.requests > best.requests) results.set(scenario.name, result);
      } finally {
        await target.close();
      }
    }
  }
  // h15: the call-level rows, when selected (BENCH_ONLY=llm-calls runs only them).
  const callRows = !ONLY || ONLY.includes('llm-calls') ? await llmCallRows({ redisUrl }) : [];
  await redis?.stop();
  const rows = selected.map((scenario) => toRow(scenario, results));
  print(rows);
  if (callRows.length > 0) printCallRows(callRows);
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  writeFileSync(
    join(dir, 'latest.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        durationS: DURATION_S,
        rounds: ROUNDS,
        connections: CONNECTIONS,
        machine,
        rows,
        callRows,
      },
      null,
      2,
    ),
  );
  if (rows.some((row) => row.checks.some((check) => !check.ok))) process.exitCode = 1;
  if (callRows.some((row) => row.ok === false)) process.exitCode = 1;
}

function toRow(scenario: Scenario, results: Map<string, LoadResult>): Row {
  const result = results.get(scenario.name)!;
  const ratios: Record<string, number> = {};
  for (const other of [scenarios[0]!.name, ...(scenario.compareTo ?? [])]) {
    const reference = results.get(other);
    if (reference && reference.requests > 0) ratios[other] = result.requests / reference.requests;
  }
  const checks = (scenario.targets ?? []).map(({ against, min }) => {
    const ratio = ratios[against] ?? NaN;
    return { against, min, ratio, ok: ratio >= min };
  });
  return { name: scenario.name, description: scenario.description, ...result, ratios, checks };
}

function print(rows: Row[]): void {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'ratios', 'targets'];
  const lines = rows.map((row) => [
    row.name,
    row.requests.toFixed(0),
    String(row.p50),
    String(row.p99),
    String(row.non2xx + row.errors),
    Object.entries(row.ratios)
      .map(([k, v]) => `${v.toFixed(2)}x ${k}`)
      .join(', '),
    row.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'} >=${c.min}x ${c.against}`).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(fmt(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  lines.forEach((l) => console.log(fmt(l)));
  console.log(
    `\nbest of ${ROUNDS} rounds of ${DURATION_S}s per scenario, ${CONNECTIONS} connections, ${cpus().length} CPUs, Node ${process.version}`,
  );
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
