/** What the load generator sends to one route. */
export interface BenchRequest {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

/** A running variant the load generator can hit. */
export interface BenchTarget extends BenchRequest {
  /**
   * The same app's route without the kit's decorator (the same modules, guards and middleware
   * loaded): the row's `bare` ratio is measured against it, in the same rounds.
   */
  bare?: BenchRequest;
  /** Stops what `start` started. */
  close(): Promise<void>;
}

/** The HTTP platforms a row runs on. */
export type BenchPlatform = 'express' | 'fastify';

/** What every scenario can use: the bench's Redis, and the platform of its app. */
export interface BenchContext {
  redisUrl: string;
  /** Express unless `'fastify'` (the `-fastify` rows, bench/scenarios/fastify.scenarios.ts). */
  platform?: BenchPlatform;
}

/**
 * A judged req/s ratio: this scenario's req/s over `against`'s must be at least `min`.
 * `against: 'bare'` is the same app's bare route, loaded in the same rounds.
 */
export interface BenchTarget_ {
  against: string;
  min: number;
}

/** A judged instruction count (callgrind): at most `max` times `peer`'s per request. */
export interface InstructionTarget {
  peer: string;
  max: number;
}

/** One line of the bench table. */
export interface Scenario {
  name: string;
  /** What it shows, one short phrase. */
  description: string;
  /** Scenario names to print req/s ratios against, as information (the baseline is always one). */
  compareTo?: string[];
  targets?: BenchTarget_[];
  instructions?: InstructionTarget;
  start(ctx: BenchContext): Promise<BenchTarget>;
}
