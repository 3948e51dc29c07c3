import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Counter, Gauge, Registry } from 'prom-client';
import { LogThrottle } from '../common/log-throttle';
import type { ResolvedStatsOptions } from './stats-module-options.interface';
import { PROM_CLIENT, STATS_OPTIONS } from './stats.constants';
import { StatsService, type SectionResult } from './stats.service';

/** The prom-client module, when installed. */
type PromClient = typeof import('prom-client');

/** What `prom-client` missing means for the metrics route, and how to fix it. */
export const PROM_CLIENT_MISSING =
  'Prometheus metrics need the optional peer dependency prom-client: run `npm install prom-client` and restart.';

interface Snapshots {
  cache: SectionResult<'cache'>;
  throttling: SectionResult<'throttling'>;
  sessions: SectionResult<'sessions'>;
}

/**
 * Prometheus metrics built from the stats sources' snapshots at scrape time (prom-client
 * `collect` callbacks), in a registry of the module's own, plus the process defaults.
 *
 * @example
 * const { contentType, body } = await app.get(StatsMetricsService).render();
 */
@Injectable()
export class StatsMetricsService {
  private registry?: Registry;
  private pending?: Promise<Snapshots>;

  private readonly client: PromClient | null;
  private readonly warn = new LogThrottle(new Logger('StatsModule'));

  constructor(
    private readonly stats: StatsService,
    @Inject(STATS_OPTIONS) private readonly options: ResolvedStatsOptions,
    // Typed `unknown` here so the published types never name prom-client (an optional peer).
    @Inject(PROM_CLIENT) client: unknown,
  ) {
    this.client = client as PromClient | null;
  }

  /** Whether prom-client is installed. */
  get available(): boolean {
    return this.client !== null;
  }

  /** The metrics in Prometheus text format; throws when prom-client is not installed. */
  async render(): Promise<{ contentType: string; body: string }> {
    if (!this.client) throw new Error(PROM_CLIENT_MISSING);
    const registry = (this.registry ??= this.build(this.client));
    // One read of the sources per scrape, shared by every collect callback.
    const snapshots = this.load();
    this.pending = snapshots;
    try {
      return { contentType: registry.contentType, body: await registry.metrics() };
    } finally {
      if (this.pending === snapshots) this.pending = undefined;
    }
  }

  private load(): Promise<Snapshots> {
    return Promise.all([
      this.stats.section('cache'),
      this.stats.section('throttling'),
      this.stats.section('sessions'),
    ]).then(([cache, throttling, sessions]) => ({ cache, throttling, sessions }));
  }

  private snapshots(): Promise<Snapshots> {
    return this.pending ?? this.load();
  }

  private build(client: PromClient): Registry {
    const registry = new client.Registry();
    const registers = [registry];
    const present = new Set(this.stats.present());
    // Only the sections this app has are exported; their metrics are read on each scrape.
    type Fill<M> = (metric: M, snapshots: Snapshots) => void;
    interface MetricConfig {
      name: string;
      help: string;
      labelNames: string[];
      registers: Registry[];
      collect: () => Promise<void>;
    }
    // Each metric is reset and refilled from the shared snapshots on every scrape.
    const define =
      <M extends Counter | Gauge>(Metric: new (config: MetricConfig) => M) =>
      (name: string, help: string, labelNames: string[], fill: Fill<M>): void => {
        const metric: M = new Metric({
          name,
          help,
          labelNames,
          registers,
          // Never throws: prom-client runs collect inside a scrape, and a throw there took
          // the whole scrape (or, from a timer, the process) down. A metric that cannot be
          // filled is left empty and logged.
          collect: async () => {
            metric.reset();
            try {
              fill(metric, await this.snapshots());
            } catch (error) {
              metric.reset();
              const reason = error instanceof Error ? error.message : String(error);
              this.warn.warn(`metric:${name}`, `metric ${name} not exported: ${reason}`);
            }
          },
        });
      };
    const counter = define<Counter>(client.Counter);
    const gauge = define<Gauge>(client.Gauge);

    if (present.size > 0) {
      gauge(
        'llm_stats_source_up',
        '1 when the section could be read, 0 when it failed.',
        ['section'],
        (m, s) => {
          for (const section of present) m.set({ section }, s[section].state === 'ok' ? 1 : 0);
        },
      );
    }
    if (present.has('cache')) {
      counter(
        'llm_cache_requests_total',
        'LLM cache lookups by result.',
        ['result'],
        (m, { cache }) => {
          if (cache.state !== 'ok') return;
          const { hits, misses, coalesced, bypassed } = cache.value;
          m.inc({ result: 'hit' }, hits);
          m.inc({ result: 'miss' }, misses);
          m.inc({ result: 'coalesced' }, coalesced);
          m.inc({ result: 'bypass' }, bypassed);
        },
      );
      counter(
        'llm_cache_cost_saved_usd_total',
        'LLM spend avoided by cache hits, USD.',
        ['model'],
        (m, { cache }) => {
          if (cache.state !== 'ok') return;
          for (const [model, slice] of Object.entries(cache.value.byModel))
            m.inc({ model }, slice.savingsUsd);
        },
      );
      counter(
        'llm_cache_tokens_saved_total',
        'LLM tokens not spent thanks to cache hits.',
        ['model'],
        (m, { cache }) => {
          if (cache.state !== 'ok') return;
          for (const [model, slice] of Object.entries(cache.value.byModel))
            m.inc({ model }, slice.tokensSaved);
        },
      );
      counter(
        'llm_cache_latency_saved_seconds_total',
        'Upstream LLM latency avoided by cache hits, seconds.',
        [],
        (m, { cache }) => {
          if (cache.state === 'ok') m.inc(cache.value.latencySavedMs / 1000);
        },
      );
    }
    if (present.has('throttling')) {
      counter(
        'rate_limit_decisions_total',
        'Rate limit decisions by policy and result.',
        ['policy', 'result'],
        (m, { throttling }) => {
          if (throttling.state !== 'ok') return;
          for (const [policy, { allowed, rejected }] of Object.entries(throttling.value.byPolicy)) {
            m.inc({ policy, result: 'allowed' }, allowed);
            m.inc({ policy, result: 'rejected' }, rejected);
          }
        },
      );
    }
    if (present.has('sessions')) {
      gauge('sessions_active', 'Sessions alive now.', [], (m, { sessions }) => {
        if (sessions.state === 'ok') m.set(sessions.value.active);
      });
    }
    if (this.options.defaultMetrics) client.collectDefaultMetrics({ register: registry });
    return registry;
  }
}
