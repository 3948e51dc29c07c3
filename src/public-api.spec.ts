import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import * as kit from './index';

const root = join(__dirname, '..');

/** The names `src/index.ts` exports, `type ` in front of the type-only ones. */
function declaredExports(): string[] {
  const file = join(__dirname, 'index.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement) || !statement.exportClause) continue;
    if (!ts.isNamedExports(statement.exportClause)) continue;
    for (const element of statement.exportClause.elements) {
      const typeOnly = statement.isTypeOnly || element.isTypeOnly;
      names.push(`${typeOnly ? 'type ' : ''}${element.name.text}`);
    }
  }
  return names;
}

/** Every name a code block of the markdown imports from 'nestjs-llm-kit'. */
function importedNames(markdown: string): string[] {
  const names: string[] = [];
  for (const [, language, code] of markdown.matchAll(/^ *```(\w*)\n([\s\S]*?)^ *```/gm)) {
    if (!['ts', 'typescript', 'js', 'javascript', ''].includes(language!)) continue;
    for (const statement of code!.matchAll(
      /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+['"]nestjs-llm-kit['"]/g,
    )) {
      for (const part of statement[1]!.split(',')) {
        const name = part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]!;
        if (name) names.push(name);
      }
    }
  }
  return names;
}

describe('the public API (src/index.ts)', () => {
  // A change to this list is a change to the semver surface: make it on purpose, and update
  // README.md "API" with it.
  const PUBLIC_API = [
    // Redis
    'RedisModule',
    'REDIS_CLIENT',
    'InjectRedis',
    'type RedisModuleOptions',
    'type RedisClient',
    'type RedisCluster',
    'type RedisConnection',
    'RedisHealthService',
    'type RedisHealth',
    'RedisConnectError',
    'RedisOptionsError',
    // Throttling
    'ThrottlingModule',
    'ThrottlingGuard',
    'ThrottlingStats',
    'RateLimit',
    'LLMThrottle',
    'SkipRateLimit',
    'ThrottlingOptionsError',
    'type ThrottlerStorageRecord',
    'MemoryThrottleStore',
    'RedisThrottleStore',
    'type ThrottleStore',
    'type ThrottleCheck',
    'type CheckResult',
    'type ConsumeResult',
    'type SettleItem',
    'type Charge',
    'type ThrottlingModuleOptions',
    'type RateLimitPolicy',
    'type InlineRateLimit',
    'type LlmThrottleOptions',
    'type LimitReachedDetail',
    'type Tracker',
    'type TrackerKind',
    'type FailurePolicy',
    'type HeaderStyle',
    // LLM pricing and usage
    'DEFAULT_PRICES',
    'PRICES_AS_OF',
    'type ModelPrice',
    'type LlmUsage',
    'resolveUserId',
    // Caching
    'CachingModule',
    'type CachingModuleOptions',
    'type CacheLlmOptions',
    'type CacheApiOptions',
    'type CacheScope',
    'CacheLLM',
    'CacheApi',
    'LlmCacheService',
    'type LlmCacheCallOptions',
    'LlmCacheStats',
    'ApiCacheClient',
    'type ApiCacheResponse',
    'type ApiCacheGetOptions',
    'type ApiCacheStatus',
    'CachingOptionsError',
    'CacheKeyError',
    'type CacheManagerLike',
    'DEFAULT_KEY_DENY_LIST',
    'ApiUpstreamError',
    // Sessions
    'RedisSessionStore',
    'type RedisSessionStoreOptions',
    'type LlmSessionStore',
    'SessionModule',
    'type SessionModuleOptions',
    'type SessionCookieOptions',
    'type SessionRoute',
    'type SessionSecret',
    'SessionService',
    'type SessionInfo',
    'Session',
    'type ParamDecoratorFactory',
    'SessionGuard',
    'RequireSession',
    'SessionExceptionFilter',
    'SessionStats',
    'createSession',
    'destroySession',
    'sessionMiddleware',
    'SessionOptionsError',
    'SessionUnavailableError',
    'SessionNotFoundError',
    // Stats
    'StatsModule',
    'type StatsModuleOptions',
    'StatsService',
    'type SectionResult',
    'StatsOptionsError',
    'type StatsReport',
    'type ProcessStats',
    'type StatsSeries',
    'type StatsSeriesPoint',
    'type StatsSectionSnapshots',
    'StatsSource',
    'type StatsSection',
    'type StatsSnapshotSource',
    'type CacheSliceStats',
    'type CacheStatsSnapshot',
    'type ThrottlingStatsSnapshot',
    'type SessionStatsSnapshot',
    // LLM calls made in services
    'LlmCallsModule',
    'LlmCallService',
    'type LlmCallSiteOptions',
    'type CallBudgetOptions',
    'LlmCallContextInterceptor',
    'runAs',
    'type LlmCallIdentity',
    'CallStream',
    'wrapOpenAI',
    'type OpenAILike',
    'wrapAnthropic',
    'type AnthropicLike',
    'llmCallsMiddleware',
    'LlmBudgetExceededError',
    'LlmCallIdentityError',
    'type CachedStreamOptions',
    'type CachedCallOptions',
    'type StreamShape',
    'type ViolatedBudget',
    'type AiSdkMiddleware',
  ];

  it('exports exactly the pinned list of names', () => {
    expect([...declaredExports()].sort()).toEqual([...PUBLIC_API].sort());
  });

  it('defines every value it exports, and nothing else at run time', () => {
    const values = PUBLIC_API.filter((name) => !name.startsWith('type '));
    expect(Object.keys(kit).sort()).toEqual([...values].sort());
    const missing = values.filter((name) => (kit as Record<string, unknown>)[name] === undefined);
    expect(missing).toEqual([]);
  });

  it('keeps the internals named in issues 14 and 20 out', () => {
    const internals = [
      'hashTag',
      'digest',
      'redactUrl',
      'canonicalJson',
      'cacheKeyHash',
      'keyParams',
      'CACHE_KEY_VERSION',
      'parseCacheControl',
      'BudgetSettleInterceptor',
      'LlmCacheInterceptor',
      'ApiCacheInterceptor',
      'StatsController',
      'StatsAuthGuard',
      'StatsSeriesService',
      'StatsMetricsService',
      'REQUIRE_SESSION',
      // issue 20: store, script and deadline plumbing, stats internals, cross-module tokens
      'withDeadline',
      'RedisTimeoutError',
      'REDIS_COMMAND_TIMEOUT_MS',
      'RedisScript',
      'RedisScriptReply',
      'ThrottlingService',
      'PolicyCheck',
      'Evaluation',
      'CheckStore',
      'THROTTLING_PRESETS',
      'PriceTable',
      'ResolvedPrice',
      'readUsage',
      'estimateTokens',
      'LLM_CACHE_PROBE',
      'LlmCacheProbe',
      'STATS_SOURCE_METADATA',
      'LlmCallContextMiddleware',
    ];
    const names = new Set(declaredExports().map((name) => name.replace(/^type /, '')));
    expect(internals.filter((name) => names.has(name))).toEqual([]);
  });
});

describe('the documentation', () => {
  const pages = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((file) => file.endsWith('.md'))
      .map((file) => join('docs', file)),
  ];
  const exported = new Set(declaredExports().map((name) => name.replace(/^type /, '')));

  it.each(pages)("%s imports only names that 'nestjs-llm-kit' exports", (page) => {
    const names = importedNames(readFileSync(join(root, page), 'utf8'));
    expect(names.filter((name) => !exported.has(name))).toEqual([]);
  });

  it('the README "API" section lists every exported name', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('\n## API\n'),
      readme.indexOf('\n## ', readme.indexOf('\n## API\n') + 1),
    );
    const listed = new Set([...section.matchAll(/`([A-Za-z_]\w*)`/g)].map((match) => match[1]));
    expect([...exported].filter((name) => !listed.has(name))).toEqual([]);
  });

  it('every exported name has its use in the docs (README outside "API", or docs/*.md)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const api = readme.indexOf('\n## API\n');
    const text = [
      readme.slice(0, api),
      readme.slice(readme.indexOf('\n## ', api + 1)),
      ...pages.slice(1).map((page) => readFileSync(join(root, page), 'utf8')),
    ].join('\n');
    const used = (name: string) => new RegExp(`(?<![\\w.])${name}(?!\\w)`).test(text);
    expect([...exported].filter((name) => !used(name))).toEqual([]);
  });

  it('the README imports from the package in its code blocks (the check above has work to do)', () => {
    expect(importedNames(readFileSync(join(root, 'README.md'), 'utf8')).length).toBeGreaterThan(5);
  });
});
