import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { startStatsApp } from './support/stats-app';
import { uniquePrefix } from './support/test-redis';

type Schema = { properties?: Record<string, Schema>; type?: string; nullable?: boolean };
const jsonSchema = (doc: OpenAPIObject, path: string, method: 'get' | 'post'): Schema => {
  const response = doc.paths[path]?.[method]?.responses['200'] as
    { content?: Record<string, { schema: Schema }> } | undefined;
  return response?.content?.['application/json']?.schema ?? {};
};

describe('StatsModule with @nestjs/swagger installed', () => {
  let app: INestApplication;
  let doc: OpenAPIObject;
  beforeAll(async () => {
    app = await startStatsApp({
      prefix: uniquePrefix('stats-swagger'),
      stats: { path: 'ops/stats' },
    });
    doc = SwaggerModule.createDocument(app, new DocumentBuilder().addBearerAuth().build());
  });
  afterAll(() => app.close());

  it('documents every stats route under the configured path', () => {
    const paths = Object.keys(doc.paths).filter((p) => p.startsWith('/ops/stats'));
    expect(paths.sort()).toEqual(
      ['', '/cache', '/dashboard', '/metrics', '/reset', '/series', '/sessions', '/throttling'].map(
        (p) => `/ops/stats${p}`,
      ),
    );
    expect(doc.paths['/ops/stats']?.get?.tags).toEqual(['stats']);
  });

  it('gives the JSON routes response schemas of the snapshot shapes', () => {
    expect(Object.keys(jsonSchema(doc, '/ops/stats/cache', 'get').properties ?? {})).toEqual(
      expect.arrayContaining([
        'hits',
        'misses',
        'hitRate',
        'estimatedSavings',
        'estimatedSavingsUsd',
        'tokensSaved',
        'latencySavedMs',
        'coalesced',
        'bypassed',
        'byModel',
        'byRoute',
      ]),
    );
    expect(Object.keys(jsonSchema(doc, '/ops/stats/throttling', 'get').properties ?? {})).toEqual([
      'byPolicy',
      'topRejected',
      'budgets',
    ]);
    expect(Object.keys(jsonSchema(doc, '/ops/stats/sessions', 'get').properties ?? {})).toEqual([
      'active',
      'created',
      'destroyed',
      'revoked',
    ]);
    const report = jsonSchema(doc, '/ops/stats', 'get');
    expect(report.properties?.cache?.nullable).toBe(true);
    expect(report.properties?.process?.properties?.uptimeS?.type).toBe('integer');
    expect(jsonSchema(doc, '/ops/stats/reset', 'post').properties?.reset?.type).toBe('array');
    const metrics = doc.paths['/ops/stats/metrics']?.get?.responses['200'] as { content?: object };
    expect(Object.keys(metrics.content ?? {})).toEqual(['text/plain']);
  });
});
