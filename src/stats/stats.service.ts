import { Inject, Injectable, Logger } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { LogThrottle } from '../common/log-throttle';
import { RedisTimeoutError, withDeadline } from '../redis/deadline';
import {
  STATS_SOURCE_METADATA,
  type StatsSection,
  type StatsSnapshotSource,
} from '../common/stats-source';
import type { ResolvedStatsOptions } from './stats-module-options.interface';
import type { StatsReport, StatsSectionSnapshots } from './stats-report.interface';
import { STATS_OPTIONS } from './stats.constants';

/** What reading one section gave: its figures, or why there are none. */
export type SectionResult<S extends StatsSection> =
  | { state: 'ok'; value: StatsSectionSnapshots[S] }
  | { state: 'missing' }
  | { state: 'disabled' }
  | { state: 'unavailable'; error: string };

/**
 * Reads the figures of the stats sources (found by discovery: providers marked
 * `@StatsSource(section)`) and resets them. Usable from your own code too.
 *
 * @example
 * const report = await app.get(StatsService).report();
 * console.log(report.cache?.hitRate);
 */
@Injectable()
export class StatsService {
  private readonly logger = new Logger('StatsModule');
  private readonly warn = new LogThrottle(this.logger);
  private sources?: Map<StatsSection, StatsSnapshotSource>;

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(STATS_OPTIONS) private readonly options: ResolvedStatsOptions,
  ) {}

  /** The configured sections that have a source in this app. */
  present(): StatsSection[] {
    return this.options.sections.filter((section) => this.source(section));
  }

  /** One section's figures, or why there are none; never throws. */
  async section<S extends StatsSection>(section: S): Promise<SectionResult<S>> {
    if (!this.options.sections.includes(section)) return { state: 'disabled' };
    const source = this.source(section);
    if (!source) return { state: 'missing' };
    try {
      const value = await bounded(source.snapshot(), this.options.snapshotTimeoutMs, 'a snapshot');
      return { state: 'ok', value: value as StatsSectionSnapshots[S] };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.warn.warn(`snapshot:${section}`, `${section} stats unavailable: ${reason}`);
      return { state: 'unavailable', error: reason };
    }
  }

  /** Every configured section (read in parallel) plus this process's figures. */
  async report(): Promise<StatsReport> {
    const { sections } = this.options;
    const results = await Promise.all(sections.map((section) => this.section(section)));
    const figures: Pick<StatsReport, StatsSection> = {};
    const unavailable: StatsSection[] = [];
    sections.forEach((section, i) => {
      const result = results[i]!;
      if (result.state === 'unavailable') unavailable.push(section);
      Object.assign(figures, { [section]: result.state === 'ok' ? result.value : null });
    });
    return { ...figures, process: processStats(), unavailable };
  }

  /** Zeroes every configured section that has a source (each within `snapshotTimeoutMs`); returns the sections reset. */
  async reset(): Promise<StatsSection[]> {
    const sections = this.present();
    const { snapshotTimeoutMs } = this.options;
    await Promise.all(
      sections.map((section) =>
        bounded(this.source(section)!.reset(), snapshotTimeoutMs, 'a reset'),
      ),
    );
    return sections;
  }

  private source(section: StatsSection): StatsSnapshotSource | undefined {
    this.sources ??= this.discover();
    return this.sources.get(section);
  }

  private discover(): Map<StatsSection, StatsSnapshotSource> {
    const found = new Map<StatsSection, StatsSnapshotSource>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const section = Reflect.getMetadata(STATS_SOURCE_METADATA, instance.constructor) as
        StatsSection | undefined;
      if (!section) continue;
      const existing = found.get(section);
      if (existing && existing !== instance) {
        this.logger.warn(
          `Two providers are the ${section} stats source; using the first. Import the module that provides it once.`,
        );
        continue;
      }
      found.set(section, instance as StatsSnapshotSource);
    }
    return found;
  }
}

function processStats(): StatsReport['process'] {
  return { uptimeS: Math.round(process.uptime()), memory: process.memoryUsage() };
}

/** A source's call, bounded (a source may be something other than Redis: say so generically). */
function bounded<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return withDeadline(work, timeoutMs, what, (error) =>
    error instanceof RedisTimeoutError ? new Error(`no answer within ${timeoutMs} ms`) : error,
  );
}
