import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../test/support/redis-server';
import { countInstructions, type InstructionCount, valgrindMissing } from './instructions';
import { load, type LoadResult } from './load';
import type { BenchRequest, Scenario } from './scenario';
import { scenarios } from './scenarios';
// h15: call-level rows (wrapped LLM clients), measured per call rather than by HTTP load.
import { llmCallRows, printCallRows } from './scenarios/llm-calls.scenarios';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const ONLY = process.env.BENCH_ONLY?.split(',');
/** BENCH_INSTRUCTIONS=0 leaves out the callgrind counts (and so does not judge them). */
const INSTRUCTIONS = process.env.BENCH_INSTRUCTIONS !== '0';

interface Row extends LoadResult {
  name: string;
  description: string;
  /** req/s of the same app's bare route, best of the same rounds. */
  bareRequests?: number;
  ratios: Record<string, number>;
  checks: { against: string; min: number; ratio: number; ok: boolean }[];
}

interface InstructionRow {
  name: string;
  peer: string;
  max: number;
  /** Undefined when the count failed (its error is printed as it happens). */
  ours?: InstructionCount;
  theirs?: InstructionCount;
  ratio: number;
  ok: boolean;
}

/** Keeps the round with the most requests. */
const keepBest = (best: Map<string, LoadResult>, name: string, result: LoadResult): void => {
  const previous = best.get(name);
  if (!previous || result.requests > previous.requests) best.set(name, result);
};

async function main(): Promise<void> {
  const redis = process.env.REDIS_URL ? undefined : await RedisServer.start();
  try {
    await bench(process.env.REDIS_URL ?? redis!.url);
  } finally {
    // Also when a scenario throws: the bench's redis-server must not outlive it.
    await redis?.stop();
  }
}

async function bench(redisUrl: string): Promise<void> {
  const selected = scenarios.filter((s, i) => i === 0 || !ONLY || ONLY.includes(s.name));
  const results = new Map<string, LoadResult>();
  const bareResults = new Map<string, LoadResult>();
  // Rounds interleave the scenarios so a slow spell of the machine hits all of them alike;
  // each scenario keeps its best round. A row with a bare route loads it right after its own
  // route, in the same app: the judged `bare` ratio compares two loads seconds apart.
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of selected) {
      process.stderr.write(`round ${round}/${ROUNDS}: ${scenario.name}...\n`);
      const target = await scenario.start({ redisUrl });
      const routes: [Map<string, LoadResult>, BenchRequest][] = [[results, target]];
      if (target.bare) routes.push([bareResults, target.bare]);
      try {
        for (const [best, route] of routes) {
          await load(route, 1, CONNECTIONS); // warm-up: JIT, connections, first cache fill
          keepBest(best, scenario.name, await load(route, DURATION_S, CONNECTIONS));
        }
      } finally {
        await target.close();
      }
    }
  }
  // h15: the call-level rows, when selected (BENCH_ONLY=llm-calls runs only them).
  const callRows = !ONLY || ONLY.includes('llm-calls') ? await llmCallRows({ redisUrl }) : [];
  const instructionRows = INSTRUCTIONS ? await instructionTargets(selected, redisUrl) : undefined;
  const rows = selected.map((scenario) => toRow(scenario, results, bareResults));
  print(rows);
  if (callRows.length > 0) printCallRows(callRows);
  printInstructions(instructionRows);
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
        instructionRows: instructionRows ?? null,
      },
      null,
      2,
    ),
  );
  // Judged (exit 1): the req/s targets (a kit row against its app's bare route, the session
  // row against session-raw), the instruction counts, and the call-level rows. Ratios to the
  // peers in req/s are printed only: on a 2-core loopback harness they move 10-20% between runs.
  if (rows.some((row) => row.checks.some((check) => !check.ok))) process.exitCode = 1;
  if (callRows.some((row) => row.ok === false)) process.exitCode = 1;
  if (instructionRows?.some((row) => !row.ok)) process.exitCode = 1;
  if (instructionRows === null) process.exitCode = 1;
}

/**
 * Counts the instructions per request of each selected row with an instruction target and of
 * its peer (bench/hit-instructions.sh, one after the other). `null`: valgrind is missing, so
 * the targets could not be judged.
 */
async function instructionTargets(
  selected: Scenario[],
  redisUrl: string,
): Promise<InstructionRow[] | null> {
  const judged = selected.filter((scenario) => scenario.instructions);
  if (judged.length === 0) return [];
  if (valgrindMissing()) return null;
  const counts = new Map<string, InstructionCount | undefined>();
  const count = async (name: string): Promise<InstructionCount | undefined> => {
    if (!counts.has(name)) {
      process.stderr.write(`callgrind: ${name}...\n`);
      // A failed count fails its target; the other counts still run.
      const counted = await countInstructions(name, redisUrl).catch((error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        return undefined;
      });
      counts.set(name, counted);
    }
    return counts.get(name);
  };
  const rows: InstructionRow[] = [];
  for (const scenario of judged) {
    const { peer, max } = scenario.instructions!;
    const ours = await count(scenario.name);
    const theirs = await count(peer);
    const ratio = ours && theirs ? ours.perRequest / theirs.perRequest : NaN;
    rows.push({ name: scenario.name, peer, max, ours, theirs, ratio, ok: ratio <= max });
  }
  return rows;
}

function printInstructions(rows: InstructionRow[] | null | undefined): void {
  if (rows === undefined) {
    console.log('\ninstruction counts: left out (BENCH_INSTRUCTIONS=0), not judged');
    return;
  }
  if (rows === null) {
    console.log(
      '\ninstruction counts: FAIL, not judged: valgrind is missing (Debian/Ubuntu: apt-get install -y valgrind; BENCH_INSTRUCTIONS=0 leaves them out)',
    );
    return;
  }
  if (rows.length === 0) return;
  console.log('\ninstructions per request (callgrind, bench/hit-instructions.sh):');
  for (const { ok, name, ours, peer, theirs, ratio, max } of rows) {
    const withoutJit = ours && theirs ? (ours.withoutJit / theirs.withoutJit).toFixed(3) : '-';
    console.log(
      `  ${ok ? 'PASS' : 'FAIL'} ${name} ${ours?.perRequest ?? 'not counted'} vs ${peer} ` +
        `${theirs?.perRequest ?? 'not counted'}: ${ratio.toFixed(3)}x (target <= ${max}x; ` +
        `without the JIT compilers ${withoutJit}x)`,
    );
  }
}

function toRow(
  scenario: Scenario,
  results: Map<string, LoadResult>,
  bareResults: Map<string, LoadResult>,
): Row {
  const result = results.get(scenario.name)!;
  const bare = bareResults.get(scenario.name);
  const ratios: Record<string, number> = {};
  if (bare && bare.requests > 0) ratios.bare = result.requests / bare.requests;
  for (const other of [scenarios[0]!.name, ...(scenario.compareTo ?? [])]) {
    const reference = results.get(other);
    if (reference && reference.requests > 0) ratios[other] = result.requests / reference.requests;
  }
  const checks = (scenario.targets ?? []).map(({ against, min }) => {
    const ratio = ratios[against] ?? NaN;
    return { against, min, ratio, ok: ratio >= min };
  });
  return {
    name: scenario.name,
    description: scenario.description,
    ...result,
    bareRequests: bare?.requests,
    ratios,
    checks,
  };
}

function print(rows: Row[]): void {
  const header = [
    'scenario',
    'req/s',
    'bare req/s',
    'p50 ms',
    'p99 ms',
    'non-2xx',
    'ratios',
    'targets',
  ];
  const lines = rows.map((row) => [
    row.name,
    row.requests.toFixed(0),
    row.bareRequests?.toFixed(0) ?? '',
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
    `\nbest of ${ROUNDS} rounds of ${DURATION_S}s per scenario, ${CONNECTIONS} connections, ${cpus().length} CPUs, Node ${process.version}` +
      '\n"bare": the same app\'s route without the kit (loaded in the same rounds); targets are judged, other ratios are information',
  );
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
