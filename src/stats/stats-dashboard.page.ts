// The dashboard: one self-contained page (inline CSS, inline script, an SVG chart drawn by
// hand), no CDN. It holds no figures itself: it polls `<path>` and `<path>/series`.

/** What the page needs to know about the module it is served by. */
export interface DashboardConfig {
  /** Path of `GET /stats` as the browser sees it, e.g. '/api/stats'. */
  base: string;
  pollMs: number;
  series: boolean;
}

/** The page's Content-Security-Policy: only its own nonce'd script and style, fetches to self. */
export function dashboardCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The dashboard HTML for one response (the nonce must match its CSP header). */
export function renderDashboard(config: DashboardConfig, nonce: string): string {
  // JSON inside <script type="application/json">: escape '<' so no data can close the tag.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LLM stats</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header><h1>LLM stats</h1><span id="status" role="status">Loading…</span></header>
<main>
<section class="cards" aria-label="Totals">
${CARDS.map(([id, label]) => `<div class="card"><div class="label">${label}</div><div class="value" id="${id}">—</div></div>`).join('\n')}
</section>
<section class="charts">
<figure><figcaption>Hit rate per interval (%)</figcaption><div class="chart" id="chart-hitrate"></div></figure>
<figure><figcaption>Savings (USD, cumulative)</figcaption><div class="chart" id="chart-savings"></div></figure>
<figure><figcaption>Rejections per interval</figcaption><div class="chart" id="chart-rejections"></div></figure>
</section>
<section class="tables">
<table><caption>Savings by model</caption><thead><tr><th>model</th><th>hits</th><th>saved</th></tr></thead><tbody id="by-model"></tbody></table>
<table><caption>Savings by call site</caption><thead><tr><th>call site</th><th>hits</th><th>saved</th></tr></thead><tbody id="by-site"></tbody></table>
<table><caption>Rate limits by policy</caption><thead><tr><th>policy</th><th>allowed</th><th>rejected</th></tr></thead><tbody id="by-policy"></tbody></table>
<table><caption>Most rejected (hashed)</caption><thead><tr><th>tracker</th><th>rejections</th></tr></thead><tbody id="top-rejected"></tbody></table>
</section>
</main>
<script type="application/json" id="config">${json}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

const CARDS: [string, string][] = [
  ['hit-rate', 'Hit rate'],
  ['savings', 'Saved'],
  ['tokens-saved', 'Tokens saved'],
  ['latency-saved', 'Latency saved'],
  ['hits', 'Hits'],
  ['misses', 'Misses'],
  ['rejected', 'Rejected'],
  ['sessions-active', 'Active sessions'],
];

const STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--bg:#f6f7f9;--card:#fff;--line:#2563eb;--grid:#d9dde3}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa4b0;--bg:#111418;--card:#1b2027;--line:#60a5fa;--grid:#2c333c}}
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:baseline;padding:1rem}
h1{font-size:1.3rem;margin:0}#status{color:var(--muted);font-size:.85rem}#status.err{color:#dc2626}
main{padding:0 1rem 1rem;display:grid;gap:1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:.75rem}
.card,figure,table{background:var(--card);border-radius:10px;padding:.75rem;margin:0;box-shadow:0 1px 2px #0002}
.label,figcaption,caption{color:var(--muted);font-size:.8rem}.value{font-size:1.5rem;font-weight:600;overflow-wrap:anywhere}
.charts,.tables{align-items:start;display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,320px),1fr));gap:1rem}
.chart svg{width:100%;height:auto;display:block}.chart .empty{color:var(--muted);margin:2rem 0;text-align:center}
.chart text{fill:var(--muted);font-size:10px}.chart .grid{stroke:var(--grid)}.chart .line{stroke:var(--line);fill:none;stroke-width:2;vector-effect:non-scaling-stroke}.chart .grid{vector-effect:non-scaling-stroke}
caption{text-align:left;padding-bottom:.4rem}table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.25rem .4rem;border-top:1px solid var(--grid);font-size:.85rem;overflow-wrap:anywhere}
th{font-weight:600}td:not(:first-child),th:not(:first-child){text-align:right}
`;

const SCRIPT = `
(() => {
  const cfg = JSON.parse(document.getElementById('config').textContent);
  const $ = (id) => document.getElementById(id);
  // A token in the URL fragment (#token=...) never reaches the server or its logs; it is
  // kept for this tab only and removed from the address bar.
  let token = sessionStorage.getItem('statsToken');
  const found = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (found) {
    token = decodeURIComponent(found[1]);
    sessionStorage.setItem('statsToken', token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const get = async (path) => {
    const res = await fetch(cfg.base + path, {
      headers: token ? { Authorization: 'Bearer ' + token } : {},
      cache: 'no-store',
    });
    if (!res.ok) throw new Error(cfg.base + path + ' answered ' + res.status);
    return res.json();
  };
  const int = new Intl.NumberFormat();
  const usd = (v) => (v === 0 ? '$0' : '$' + (v < 100 ? v.toFixed(v < 1 ? 4 : 2) : int.format(Math.round(v))));
  const set = (id, text) => { $(id).textContent = text; };
  const sum = (obj, key) => Object.values(obj).reduce((t, v) => t + v[key], 0);

  const pointOf = (r, t) => ({
    t,
    hits: r.cache ? r.cache.hits : null,
    misses: r.cache ? r.cache.misses : null,
    coalesced: r.cache ? r.cache.coalesced : null,
    savingsUsd: r.cache ? r.cache.estimatedSavingsUsd : null,
    rejected: r.throttling ? sum(r.throttling.byPolicy, 'rejected') : null,
  });

  // Points hold cumulative totals; a drop means the counters were reset.
  const delta = (b, a, k) => (b[k] === null || a[k] === null ? null : b[k] >= a[k] ? b[k] - a[k] : b[k]);
  const derive = (points) => {
    const out = { t: [], hitRate: [], savings: [], rejections: [] };
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1], b = points[i];
      const hits = delta(b, a, 'hits');
      const total = hits === null ? null : hits + delta(b, a, 'misses') + delta(b, a, 'coalesced');
      out.t.push(b.t);
      out.hitRate.push(total ? (100 * hits) / total : null);
      out.savings.push(b.savingsUsd);
      out.rejections.push(delta(b, a, 'rejected'));
    }
    return out;
  };

  const chart = (id, xs, ys, fmt) => {
    const el = $(id);
    const pts = xs.map((x, i) => [x, ys[i]]).filter((p) => typeof p[1] === 'number');
    if (pts.length < 2) { el.innerHTML = '<p class="empty">Collecting data…</p>'; return; }
    const W = 360, H = 150, L = 46, R = 8, T = 8, B = 18;
    const x0 = pts[0][0], x1 = pts[pts.length - 1][0] || x0 + 1;
    const top = Math.max(...pts.map((p) => p[1])) || 1;
    const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
    const sy = (y) => T + (1 - y / top) * (H - T - B);
    let svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img">';
    for (const f of [0, 0.5, 1]) {
      const y = sy(top * f);
      svg += '<line class="grid" x1="' + L + '" x2="' + (W - R) + '" y1="' + y + '" y2="' + y + '"/>';
      svg += '<text x="' + (L - 6) + '" y="' + (y + 4) + '" text-anchor="end">' + fmt(top * f) + '</text>';
    }
    const short = x1 - x0 < 600000;
    const time = (t) => new Date(t).toLocaleTimeString([], short ? {} : { hour: '2-digit', minute: '2-digit' });
    svg += '<text x="' + L + '" y="' + (H - 4) + '">' + time(x0) + '</text>';
    svg += '<text x="' + (W - R) + '" y="' + (H - 4) + '" text-anchor="end">' + time(x1) + '</text>';
    const d = pts.map((p, i) => (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1)).join(' ');
    el.innerHTML = svg + '<path class="line" d="' + d + '"/></svg>';
  };

  const rows = (id, data) => {
    const body = $(id);
    body.replaceChildren(...data.map((cells) => {
      const tr = document.createElement('tr');
      for (const cell of cells) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        tr.append(td);
      }
      return tr;
    }));
  };

  const render = (r, points) => {
    const c = r.cache, th = r.throttling, s = r.sessions;
    set('hit-rate', c ? c.hitRate.toFixed(1) + '%' : '—');
    set('savings', c ? c.estimatedSavings + (c.estimated ? ' (est.)' : '') : '—');
    set('tokens-saved', c ? int.format(c.tokensSaved) : '—');
    set('latency-saved', c ? (c.latencySavedMs / 1000).toFixed(1) + ' s' : '—');
    set('hits', c ? int.format(c.hits) : '—');
    set('misses', c ? int.format(c.misses) : '—');
    set('rejected', th ? int.format(sum(th.byPolicy, 'rejected')) : '—');
    set('sessions-active', s ? int.format(s.active) : '—');
    rows('by-model', c ? Object.entries(c.byModel).map(([m, v]) => [m, int.format(v.hits), usd(v.savingsUsd)]) : []);
    rows('by-site', c && c.bySite ? Object.entries(c.bySite).map(([m, v]) => [m, int.format(v.hits), usd(v.savingsUsd)]) : []);
    rows('by-policy', th ? Object.entries(th.byPolicy).map(([p, v]) => [p, int.format(v.allowed), int.format(v.rejected)]) : []);
    rows('top-rejected', th ? th.topRejected.map((v) => [v.tracker, int.format(v.rejections)]) : []);
    const d = derive(points);
    chart('chart-hitrate', d.t, d.hitRate, (v) => v.toFixed(0) + '%');
    chart('chart-savings', d.t, d.savings, usd);
    chart('chart-rejections', d.t, d.rejections, (v) => int.format(Math.round(v)));
  };

  const status = $('status');
  const refresh = async () => {
    try {
      const [report, series] = await Promise.all([
        get(''),
        cfg.series ? get('/series') : Promise.resolve({ points: [] }),
      ]);
      const points = series.points.slice().sort((a, b) => a.t - b.t);
      const last = points[points.length - 1];
      // The live totals extend the chart, unless the browser's clock is behind the server's.
      if (!last || Date.now() > last.t) points.push(pointOf(report, Date.now()));
      render(report, points);
      status.textContent = 'Updated ' + new Date().toLocaleTimeString() +
        (report.unavailable.length ? ' (unavailable: ' + report.unavailable.join(', ') + ')' : '');
      status.className = report.unavailable.length ? 'err' : '';
    } catch (error) {
      status.textContent = 'Cannot load the stats: ' + error.message;
      status.className = 'err';
    } finally {
      setTimeout(refresh, cfg.pollMs);
    }
  };
  refresh();
})();
`;
