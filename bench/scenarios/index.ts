import type { Scenario } from '../scenario';
import { baselineScenarios } from './baseline.scenarios';
import { throttlingScenarios } from './throttling.scenarios';

/** Every scenario of `npm run bench`, in table order. The first is the baseline. */
export const scenarios: Scenario[] = [...baselineScenarios, ...throttlingScenarios];
