import type { INestApplication } from '@nestjs/common';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import request from 'supertest';
import { StatsSeriesService } from '../src/stats/stats-series.service';
import { startStatsApp } from './support/stats-app';
import { testRedisOptions, uniquePrefix } from './support/test-redis';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, 'artifacts');
const TOKEN = 'dashboard-token-0123456789';

// The page's CSP forbids eval, so page-side checks are functions or locators, and the
// specs compile without the DOM lib, hence this sliver of its types.
type PageGlobals = {
  document: { documentElement: { scrollWidth: number } };
  innerWidth: number;
};

describe('GET /stats/dashboard in headless Chromium', () => {
  let app: INestApplication;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.`,
      );
    }
    app = await startStatsApp({
      prefix: uniquePrefix('stats-dashboard'),
      redis: testRedisOptions(),
      listen: true,
      stats: { path: 'admin/stats', token: TOKEN, seriesIntervalMs: 1000, dashboardPollMs: 200 },
    });
    const { port } = app.getHttpServer().address() as AddressInfo;
    origin = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const traffic = async (hits: number, misses: number, rejections: number) => {
    const http = request(app.getHttpServer());
    const route = 'POST /llm/generate';
    for (let i = 0; i < hits; i++)
      await http
        .post('/fixture/cache')
        .send({
          result: 'hits',
          model: i % 2 ? 'gpt-4o' : 'claude-sonnet-4',
          route,
          savingsUsd: 0.12,
          tokensSaved: 800,
          latencySavedMs: 1800,
        })
        .expect(204);
    for (let i = 0; i < misses; i++)
      await http
        .post('/fixture/cache')
        .send({ result: 'misses', model: 'gpt-4o', route })
        .expect(204);
    for (let i = 0; i < rejections; i++)
      await http
        .post('/fixture/throttle')
        .send({ policy: 'llm', result: 'rejected', tracker: `user-${i}` })
        .expect(204);
    await http
      .post('/fixture/throttle')
      .send({ policy: 'llm', result: 'allowed', tracker: 'user-x' })
      .expect(204);
    await http.post('/fixture/sessions').send({ event: 'created' }).expect(204);
  };

  it('loads with no console errors, draws the history, shows the totals and follows new traffic', async () => {
    // History: a few intervals of traffic, sampled with a clock just ahead of the real one.
    const series = app.get(StatsSeriesService);
    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    const pattern: [number, number, number][] = [
      [2, 3, 1],
      [4, 2, 0],
      [5, 1, 3],
      [6, 1, 2],
    ];
    for (const [k, [hits, misses, rejections]] of pattern.entries()) {
      await traffic(hits, misses, rejections);
      expect(await series.sample(t0 + k * 1000)).toBe(true);
    }

    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning')
        errors.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('requestfailed', (req) => errors.push(`requestfailed: ${req.url()}`));
    // The console names no URL for an error answer; this names which fetch it was.
    page.on('response', (res) => {
      if (res.status() >= 400) errors.push(`response ${res.status()}: ${res.url()}`);
    });

    await page.goto(`${origin}/admin/stats/dashboard#token=${TOKEN}`);
    await page.locator('#hits', { hasText: /^17$/ }).waitFor();
    expect(page.url()).toBe(`${origin}/admin/stats/dashboard`); // the token left the address bar
    expect(await page.textContent('#misses')).toBe('7');
    expect(await page.textContent('#hit-rate')).toBe('70.8%');
    expect(await page.textContent('#savings')).toBe('$2.04');
    expect(await page.textContent('#rejected')).toBe('6');
    expect(await page.textContent('#sessions-active')).toBe('4');
    expect(await page.locator('#by-model tr').count()).toBe(2);
    for (const chart of ['hitrate', 'savings', 'rejections'])
      expect(await page.locator(`#chart-${chart} svg path.line`).count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'stats-dashboard.png'), fullPage: true });

    // New traffic shows up at the next poll.
    await traffic(3, 0, 0);
    await page.locator('#hits', { hasText: /^20$/ }).waitFor();

    // Readable on a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => {
      const { document, innerWidth } = globalThis as unknown as PageGlobals;
      return document.documentElement.scrollWidth - innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, 'stats-dashboard-phone.png'), fullPage: true });

    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('says so on the page when the token is missing, instead of showing figures', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/admin/stats/dashboard`);
    await page.locator('#status', { hasText: '401' }).waitFor();
    expect(await page.textContent('#hits')).toBe('—');
    await page.close();
  }, 60_000);
});
