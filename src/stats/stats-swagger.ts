import { applyDecorators } from '@nestjs/common';
import { optionalRequire } from '../common/optional-require';

// The part of @nestjs/swagger used here, typed locally so swagger stays an optional peer.
interface SwaggerDecorators {
  ApiOkResponse(options: { description?: string; schema?: object }): MethodDecorator;
  ApiProduces(...mimeTypes: string[]): MethodDecorator;
  ApiTags(...tags: string[]): ClassDecorator;
  ApiBearerAuth(): ClassDecorator;
}

const swagger = optionalRequire<SwaggerDecorators>('@nestjs/swagger');

const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const object = (properties: Record<string, object>, nullable = false): object => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  ...(nullable ? { nullable: true } : {}),
});
const record = (value: object): object => ({ type: 'object', additionalProperties: value });

const cacheSlice = object({
  hits: int,
  misses: int,
  coalesced: int,
  bypassed: int,
  savingsUsd: num,
  tokensSaved: int,
  latencySavedMs: num,
});

/** OpenAPI schemas of the stats responses (the shapes of `stats-shapes.ts`). */
export const STATS_SCHEMAS = {
  cache: object({
    hits: int,
    misses: int,
    coalesced: int,
    bypassed: int,
    hitRate: { type: 'number', description: 'percent, two decimals' },
    estimatedSavingsUsd: num,
    estimatedSavings: { type: 'string', example: '$1.50' },
    tokensSaved: int,
    latencySavedMs: num,
    estimated: { type: 'boolean' },
    byModel: record(cacheSlice),
    byRoute: record(cacheSlice),
    bySite: record(cacheSlice),
  }),
  throttling: object({
    byPolicy: record(object({ allowed: int, rejected: int })),
    topRejected: {
      type: 'array',
      items: object({ tracker: { type: 'string' }, rejections: int }),
    },
    budgets: record(
      object({ kind: { type: 'string', enum: ['tokens', 'usd'] }, consumed: num, rejected: int }),
    ),
  }),
  sessions: object({ active: int, created: int, destroyed: int, revoked: int }),
};

const processSchema = object({
  uptimeS: int,
  memory: record(num),
});

const seriesPoint = object({
  t: int,
  hits: { ...int, nullable: true },
  misses: { ...int, nullable: true },
  coalesced: { ...int, nullable: true },
  savingsUsd: { ...num, nullable: true },
  allowed: { ...int, nullable: true },
  rejected: { ...int, nullable: true },
  sessionsActive: { ...int, nullable: true },
});

const nullable = (schema: object): object => ({ ...schema, nullable: true });

/** OpenAPI schemas of the routes that are not a single section. */
export const STATS_ROUTE_SCHEMAS = {
  report: {
    type: 'object',
    properties: {
      cache: nullable(STATS_SCHEMAS.cache),
      throttling: nullable(STATS_SCHEMAS.throttling),
      sessions: nullable(STATS_SCHEMAS.sessions),
      process: processSchema,
      unavailable: { type: 'array', items: { type: 'string' } },
    },
    required: ['process', 'unavailable'],
  },
  series: object({ intervalMs: int, points: { type: 'array', items: seriesPoint } }),
  reset: object({ reset: { type: 'array', items: { type: 'string' } } }),
};

/** `ApiOkResponse` with a schema when @nestjs/swagger is installed; nothing otherwise. */
export function ApiStatsResponse(
  description: string,
  schema?: object,
  produces?: string,
): MethodDecorator {
  if (!swagger) return applyDecorators();
  return applyDecorators(
    swagger.ApiOkResponse({ description, ...(schema ? { schema } : {}) }),
    ...(produces ? [swagger.ApiProduces(produces)] : []),
  );
}

/** The controller's swagger tag and bearer scheme when @nestjs/swagger is installed. */
export function ApiStatsController(): ClassDecorator {
  if (!swagger) return applyDecorators();
  return applyDecorators(swagger.ApiTags('stats'), swagger.ApiBearerAuth());
}
