// `npm test`: the Jest projects in parallel lanes, one Jest process each. The suite waits on
// Redis, servers and timers far more than it computes, so on two cores four lanes finish in
// about the time of the slowest one instead of the sum:
//   unit + e2e-standalone | e2e-standalone-fastify + e2e-cluster-fastify |
//   e2e-cluster, shard 1/2 | e2e-cluster, shard 2/2
// Each lane's harness starts its own Redis (a server, or a cluster per shard) on free ports, so
// the lanes share nothing but the CPU. Arguments go to every lane (test path patterns,
// --forceExit, -t ...); `--json --outputFile=F` writes one merged result file. Each lane's
// output is printed when it ends, then one closing line for the whole run.
// With --selectProjects or --shard in the arguments, or TEST_LANES=1, one Jest process runs
// them as given.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const jestBin = createRequire(import.meta.url).resolve('jest/bin/jest');
const args = process.argv.slice(2);

/** Runs Jest with `stdio` (inherit, or a log file's descriptor for stdout and stderr). */
const runJest = (jestArgs, stdio) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [jestBin, ...jestArgs], { stdio });
    child.on('close', (code) => resolve(code ?? 1));
  });

if (
  process.env.TEST_LANES === '1' ||
  args.some((a) => a.startsWith('--selectProjects') || a.startsWith('--shard'))
) {
  process.exit(await runJest(args, 'inherit'));
}

// The merged result file the caller asked for, if any; each lane writes its own.
let outputFile;
const passThrough = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--json') continue;
  if (a.startsWith('--outputFile=')) outputFile = a.slice('--outputFile='.length);
  else if (a === '--outputFile') outputFile = args[++i];
  else passThrough.push(a);
}

const dir = '.tmp/test-lanes';
mkdirSync(dir, { recursive: true });
const lanes = [
  ['unit + e2e-standalone', '--selectProjects', 'unit', 'e2e-standalone'],
  [
    'e2e-standalone-fastify + e2e-cluster-fastify',
    '--selectProjects',
    'e2e-standalone-fastify',
    'e2e-cluster-fastify',
  ],
  ['e2e-cluster 1/2', '--selectProjects', 'e2e-cluster', '--shard=1/2'],
  ['e2e-cluster 2/2', '--selectProjects', 'e2e-cluster', '--shard=2/2'],
];
const started = Date.now();
const results = await Promise.all(
  lanes.map(async ([name, ...select], i) => {
    const log = join(dir, `lane-${i + 1}.log`);
    const json = join(dir, `lane-${i + 1}.json`);
    const fd = openSync(log, 'w');
    // A pattern may leave a shard with nothing to run: the closing check below fails a run that
    // ran no test at all.
    const code = await runJest(
      [...passThrough, ...select, '--passWithNoTests', '--json', `--outputFile=${json}`],
      ['ignore', fd, fd],
    );
    closeSync(fd);
    const seconds = Math.round((Date.now() - started) / 1000);
    process.stdout.write(
      `\n===== lane ${name}: exit ${code} after ${seconds} s =====\n${readFileSync(log, 'utf8')}`,
    );
    let report;
    try {
      report = JSON.parse(readFileSync(json, 'utf8'));
    } catch {
      report = undefined;
    }
    return { name, code, seconds, report };
  }),
);

const sum = (field) => results.reduce((n, r) => n + (r.report?.[field] ?? 0), 0);
const merged = {
  success: results.every((r) => r.code === 0 && r.report?.success !== false),
  numTotalTests: sum('numTotalTests'),
  numPassedTests: sum('numPassedTests'),
  numFailedTests: sum('numFailedTests') + results.filter((r) => !r.report).length,
  numPendingTests: sum('numPendingTests'),
  numTotalTestSuites: sum('numTotalTestSuites'),
  numFailedTestSuites: sum('numFailedTestSuites'),
  startTime: started,
  testResults: results.flatMap((r) => r.report?.testResults ?? []),
};
if (outputFile) writeFileSync(outputFile, JSON.stringify(merged));

console.log('\nlanes:');
for (const r of results) console.log(`  ${r.name}: exit ${r.code}, ${r.seconds} s`);
const ranNone = merged.numTotalTests === 0;
if (ranNone) console.log('no test ran: check the test path pattern');
console.log(
  `${merged.numPassedTests} passed, ${merged.numFailedTests} failed, ${merged.numPendingTests} skipped`,
);
process.exit(merged.success && !ranNone ? 0 : 1);
