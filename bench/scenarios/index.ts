import type { Scenario } from '../scenario';
import { baselineScenarios } from './baseline.scenarios';
import { cachingScenarios } from './caching.scenarios';
import { fastifyScenarios } from './fastify.scenarios';
import { sessionScenarios } from './session.scenarios';
import { statsScenarios } from './stats.scenarios';
import { throttlingScenarios } from './throttling.scenarios';

/** Every scenario of `npm run bench`, in table order. The first is the baseline. */
export const scenarios: Scenario[] = [
  ...baselineScenarios,
  ...cachingScenarios,
  ...throttlingScenarios,
  ...sessionScenarios,
  ...statsScenarios,
  // The same rows with their apps on Fastify, measured in the same run (docs/benchmarks.md).
  ...fastifyScenarios,
];
