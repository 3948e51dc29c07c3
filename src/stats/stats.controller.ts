import {
  Controller,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  NotFoundException,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  SetMetadata,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type {
  CacheStatsSnapshot,
  SessionStatsSnapshot,
  ThrottlingStatsSnapshot,
} from '../common/stats-shapes';
import { rawResponse } from '../common/http-exchange';
import type { StatsSection } from '../common/stats-source';
import { StatsAuthGuard } from './stats-auth.guard';
import { dashboardCsp, renderDashboard } from './stats-dashboard.page';
import { PROM_CLIENT_MISSING, StatsMetricsService } from './stats-metrics.service';
import type { ResolvedStatsOptions } from './stats-module-options.interface';
import { normalizeStatsPath } from './stats-options';
import type { StatsReport, StatsSectionSnapshots, StatsSeries } from './stats-report.interface';
import { StatsSeriesService } from './stats-series.service';
import {
  ApiStatsController,
  ApiStatsResponse,
  STATS_ROUTE_SCHEMAS,
  STATS_SCHEMAS,
} from './stats-swagger';
import { STATS_OPTIONS, STATS_PRIVILEGED, STATS_TOKEN_EXEMPT } from './stats.constants';
import { StatsService } from './stats.service';

const PROVIDED_BY: Record<StatsSection, string> = {
  cache: 'CachingModule',
  throttling: 'ThrottlingModule',
  sessions: 'SessionModule',
};

interface RequestLike {
  originalUrl?: string;
  url: string;
}
function setHeaders(res: unknown, headers: Record<string, string>): void {
  // Node's response on both platforms: Fastify sends the headers set on `reply.raw` too.
  const raw = rawResponse(res);
  for (const [name, value] of Object.entries(headers)) raw.setHeader(name, value);
}

/**
 * The stats routes. Mounted by `StatsModule` under its `path` (default `stats`); every route
 * goes through `StatsAuthGuard`.
 *
 * @example
 * // GET /stats, /stats/cache, /stats/throttling, /stats/sessions, /stats/series,
 * // /stats/metrics, /stats/dashboard; POST /stats/reset
 * StatsModule.forRoot({ path: 'admin/stats', token: process.env.STATS_TOKEN })
 */
@ApiStatsController()
@UseGuards(StatsAuthGuard)
@Controller()
export class StatsController {
  constructor(
    private readonly stats: StatsService,
    private readonly series: StatsSeriesService,
    private readonly metrics: StatsMetricsService,
    @Inject(STATS_OPTIONS) private readonly options: ResolvedStatsOptions,
  ) {}

  @Get()
  @ApiStatsResponse('Every section plus this process', STATS_ROUTE_SCHEMAS.report)
  report(): Promise<StatsReport> {
    return this.stats.report();
  }

  @Get('cache')
  @ApiStatsResponse('LLM cache hits, misses and savings', STATS_SCHEMAS.cache)
  cache(): Promise<CacheStatsSnapshot> {
    return this.section('cache');
  }

  @Get('throttling')
  @ApiStatsResponse(
    'Rate limit decisions, top rejected trackers, budgets',
    STATS_SCHEMAS.throttling,
  )
  throttling(): Promise<ThrottlingStatsSnapshot> {
    return this.section('throttling');
  }

  @Get('sessions')
  @ApiStatsResponse('Session counts', STATS_SCHEMAS.sessions)
  sessions(): Promise<SessionStatsSnapshot> {
    return this.section('sessions');
  }

  @Get('series')
  @ApiStatsResponse('Recent cumulative totals, one point per interval', STATS_ROUTE_SCHEMAS.series)
  async timeSeries(): Promise<StatsSeries> {
    if (this.series.intervalMs === 0) {
      throw new NotFoundException('The stats time series is off (seriesIntervalMs: 0).');
    }
    try {
      return { intervalMs: this.series.intervalMs, points: await this.series.points() };
    } catch {
      throw new ServiceUnavailableException(
        'The stats time series could not be read; see the server log.',
      );
    }
  }

  @Get('metrics')
  @ApiStatsResponse('Prometheus text format', { type: 'string' }, 'text/plain')
  async prometheus(@Res({ passthrough: true }) res: unknown): Promise<string> {
    if (!this.metrics.available)
      throw new HttpException(PROM_CLIENT_MISSING, HttpStatus.NOT_IMPLEMENTED);
    const { contentType, body } = await this.metrics.render();
    setHeaders(res, { 'Content-Type': contentType });
    return body;
  }

  @Get('dashboard')
  @SetMetadata(STATS_TOKEN_EXEMPT, true)
  @ApiStatsResponse('The HTML dashboard', { type: 'string' }, 'text/html')
  dashboard(@Req() req: RequestLike, @Res({ passthrough: true }) res: unknown): string {
    if (!this.options.dashboard)
      throw new NotFoundException('The stats dashboard is off (dashboard: false).');
    const path = (req.originalUrl ?? req.url).split('?')[0]!;
    const base = path.replace(/\/dashboard\/?$/, '');
    const nonce = randomBytes(16).toString('base64');
    setHeaders(res, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': dashboardCsp(nonce),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    return renderDashboard(
      { base, pollMs: this.options.dashboardPollMs, series: this.series.intervalMs > 0 },
      nonce,
    );
  }

  @Post('reset')
  @HttpCode(200)
  @SetMetadata(STATS_PRIVILEGED, true)
  @ApiStatsResponse('The sections whose counters were zeroed', STATS_ROUTE_SCHEMAS.reset)
  async reset(): Promise<{ reset: StatsSection[] }> {
    try {
      const reset = await this.stats.reset();
      await this.series.clear();
      return { reset };
    } catch {
      throw new ServiceUnavailableException('The stats could not be reset; see the server log.');
    }
  }

  private async section<S extends StatsSection>(section: S): Promise<StatsSectionSnapshots[S]> {
    const result = await this.stats.section(section);
    switch (result.state) {
      case 'ok':
        return result.value;
      case 'disabled':
        throw new NotFoundException(
          `The ${section} section is left out by the StatsModule sections option.`,
        );
      case 'missing':
        throw new NotFoundException(
          `No ${section} stats: import ${PROVIDED_BY[section]} to get them.`,
        );
      case 'unavailable':
        throw new ServiceUnavailableException(
          `The ${section} stats could not be read; see the server log.`,
        );
    }
  }
}

/**
 * A controller class of its own for one StatsModule, mounted at `path`. A subclass per
 * module (instead of writing the path on StatsController) lets several apps in one process
 * use different paths.
 */
export function createStatsController(path: string): Type<StatsController> {
  class StatsRoutes extends StatsController {}
  Controller(normalizeStatsPath(path))(StatsRoutes);
  return StatsRoutes;
}
