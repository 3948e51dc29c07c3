import type { Scenario } from '../scenario';
import { baselineScenarios } from './baseline.scenarios';
import { cachingScenarios } from './caching.scenarios';
import { sessionRawFastify, sessionScenarios } from './session.scenarios';
import { throttlingScenarios } from './throttling.scenarios';

/** The Express rows that get a Fastify twin: the bare route, the cache hits, the guards, the session read. */
const TWINNED = [
  'baseline',
  'cache-llm-memory',
  'cache-manager-memory',
  'cache-llm-redis-l2',
  'cache-manager-redis',
  'throttle-ours-redis',
  'throttle-nestlab-redis',
  'throttle-ours-memory',
  'throttle-nest-memory',
  'session',
];

const fastifyName = (name: string): string => (name === 'bare' ? name : `${name}-fastify`);

/**
 * The same row with its app on FastifyAdapter: named `<row>-fastify`, its ratios and targets
 * taken against the Fastify twins of its peers (a judged req/s ratio against the same app's bare
 * route, an instruction count against the same-platform peer), plus the Fastify bare route.
 */
function onFastify(scenario: Scenario): Scenario {
  return {
    ...scenario,
    name: fastifyName(scenario.name),
    description: `${scenario.description}, on Fastify`,
    compareTo: [
      ...(scenario.compareTo ?? []).map(fastifyName),
      ...(scenario.name === 'baseline' ? [] : ['baseline-fastify']),
    ],
    targets: scenario.targets?.map((target) => ({
      ...target,
      against: fastifyName(target.against),
    })),
    instructions: scenario.instructions && {
      ...scenario.instructions,
      peer: fastifyName(scenario.instructions.peer),
    },
    start: (ctx) => scenario.start({ ...ctx, platform: 'fastify' }),
  };
}

const express = [
  ...baselineScenarios,
  ...cachingScenarios,
  ...throttlingScenarios,
  ...sessionScenarios,
];

/** The Fastify rows, in the Express rows' order; the raw session peer before ours. */
export const fastifyScenarios: Scenario[] = TWINNED.flatMap((name) => {
  const scenario = express.find((candidate) => candidate.name === name);
  if (!scenario) throw new Error(`bench: no Express row ${name} to run on Fastify`);
  return name === 'session' ? [sessionRawFastify, onFastify(scenario)] : [onFastify(scenario)];
});
