import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { PROM_CLIENT } from '../src/stats/stats.constants';
import { statsApps } from './support/stats-app';
import { parsePrometheusText, type PromFamily } from './support/prometheus-text';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

const http = (app: INestApplication) => request(app.getHttpServer());

const series = (family: PromFamily | undefined) =>
  Object.fromEntries((family?.samples ?? []).map((s) => [JSON.stringify(s.labels), s.value]));

describe('GET /stats/metrics', () => {
  const { start, closeAll } = statsApps();
  afterEach(closeAll);

  it('exports the cluster-wide figures as valid Prometheus text with the documented names and labels', async () => {
    const prefix = uniquePrefix('stats-metrics');
    const a = await start({ prefix, redis: testRedisOptions() });
    const b = await start({ prefix, redis: testRedisOptions() });
    const route = 'POST /llm/generate';
    await http(a)
      .post('/fixture/cache')
      .send({
        result: 'hits',
        model: 'gpt-4o',
        route,
        savingsUsd: 0.5,
        tokensSaved: 700,
        latencySavedMs: 1500,
      })
      .expect(204);
    await http(b)
      .post('/fixture/cache')
      .send({
        result: 'hits',
        model: 'claude-"q"',
        route,
        savingsUsd: 0.25,
        tokensSaved: 300,
        latencySavedMs: 500,
      })
      .expect(204);
    await http(b)
      .post('/fixture/cache')
      .send({ result: 'misses', model: 'gpt-4o', route })
      .expect(204);
    await http(a)
      .post('/fixture/cache')
      .send({ result: 'bypassed', model: 'gpt-4o', route })
      .expect(204);
    await http(a)
      .post('/fixture/throttle')
      .send({ policy: 'llm', result: 'rejected', tracker: 't1' })
      .expect(204);
    await http(b)
      .post('/fixture/throttle')
      .send({ policy: 'llm', result: 'allowed', tracker: 't2' })
      .expect(204);
    await http(b).post('/fixture/sessions').send({ event: 'created' }).expect(204);

    const res = await http(a).get('/stats/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(res.text);

    const requests = families.get('llm_cache_requests_total');
    expect(requests?.type).toBe('counter');
    expect(series(requests)).toEqual({
      '{"result":"hit"}': 2,
      '{"result":"miss"}': 1,
      '{"result":"coalesced"}': 0,
      '{"result":"bypass"}': 1,
    });
    expect(families.get('llm_cache_cost_saved_usd_total')?.type).toBe('counter');
    expect(series(families.get('llm_cache_cost_saved_usd_total'))).toEqual({
      '{"model":"gpt-4o"}': 0.5,
      '{"model":"claude-\\"q\\""}': 0.25,
    });
    expect(series(families.get('llm_cache_tokens_saved_total'))).toEqual({
      '{"model":"gpt-4o"}': 700,
      '{"model":"claude-\\"q\\""}': 300,
    });
    expect(series(families.get('llm_cache_latency_saved_seconds_total'))).toEqual({ '{}': 2 });
    expect(families.get('rate_limit_decisions_total')?.type).toBe('counter');
    expect(series(families.get('rate_limit_decisions_total'))).toEqual({
      '{"policy":"llm","result":"allowed"}': 1,
      '{"policy":"llm","result":"rejected"}': 1,
    });
    expect(families.get('sessions_active')?.type).toBe('gauge');
    expect(series(families.get('sessions_active'))).toEqual({ '{}': 1 });
    expect(series(families.get('llm_stats_source_up'))).toEqual({
      '{"section":"cache"}': 1,
      '{"section":"throttling"}': 1,
      '{"section":"sessions"}': 1,
    });
    // prom-client's process defaults
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('process_resident_memory_bytes')?.type).toBe('gauge');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');

    // a second scrape reads the sources again (collect callbacks), it does not add up
    await http(b)
      .post('/fixture/cache')
      .send({ result: 'hits', model: 'gpt-4o', route, savingsUsd: 1 })
      .expect(204);
    const again = parsePrometheusText((await http(a).get('/stats/metrics').expect(200)).text);
    expect(series(again.get('llm_cache_requests_total'))['{"result":"hit"}']).toBe(3);
    expect(series(again.get('llm_cache_cost_saved_usd_total'))['{"model":"gpt-4o"}']).toBe(1.5);
  });

  it('exports only the sections present, and no process defaults when defaultMetrics is false', async () => {
    const app = await start({
      prefix: uniquePrefix('stats-metrics-min'),
      sources: ['sessions'],
      stats: { defaultMetrics: false },
    });
    const families = parsePrometheusText((await http(app).get('/stats/metrics').expect(200)).text);
    expect([...families.keys()].sort()).toEqual(['llm_stats_source_up', 'sessions_active']);
  });

  it('answers 501 saying how to install prom-client when it is missing', async () => {
    const app = await start({
      prefix: uniquePrefix('stats-no-prom'),
      override: (builder) => builder.overrideProvider(PROM_CLIENT).useValue(null),
    });
    const res = await http(app).get('/stats/metrics').expect(501);
    expect(res.body.message).toContain('npm install prom-client');
    await http(app).get('/stats').expect(200);
  });
});

describe('parsePrometheusText (the test parser is strict)', () => {
  it.each([
    ['no final newline', '# TYPE a counter\na 1'],
    ['a sample without TYPE', 'a 1\n'],
    ['a bad value', '# TYPE a gauge\na one\n'],
    ['a bad label name', '# TYPE a gauge\na{1x="y"} 1\n'],
    ['an unterminated label value', '# TYPE a gauge\na{x="y} 1\n'],
    ['a bad escape', '# TYPE a gauge\na{x="\\t"} 1\n'],
    ['a duplicate series', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['an interleaved family', '# TYPE a gauge\n# TYPE b gauge\nb 1\n# HELP a x\na 1\n'],
  ])('rejects %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });

  it('accepts escapes, histograms and timestamps', () => {
    const text =
      '# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n' +
      '# TYPE g gauge\ng{a="q\\"\\\\\\n"} NaN 1700000000000\n';
    const families = parsePrometheusText(text);
    expect(families.get('h')?.samples).toHaveLength(4);
    expect(families.get('g')?.samples[0]?.labels).toEqual({ a: 'q"\\\n' });
  });
});
