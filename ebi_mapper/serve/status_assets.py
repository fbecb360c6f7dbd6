"""The status page's inline CSS and script (kept apart so status_page.py stays about markup).

The script is the only client-side code of the page; it never writes data with ``innerHTML``
(only ``textContent`` and numeric attributes), so nothing from a snapshot can become markup.
What it does is listed in :mod:`ebi_mapper.serve.status_page`; ``tests/serve/
test_status_page_browser.py`` runs it in headless Chromium.
"""

from __future__ import annotations

__all__ = ["PAGE_CSS", "PAGE_JS"]

PAGE_CSS = """
:root{--bg:#f4f5f7;--card:#fff;--ink:#1d2330;--muted:#5f6b7a;--line:#e3e6eb;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
 "Helvetica Neue",Arial,sans-serif}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:1rem 1.5rem;background:#1d2330;color:#fff}
header h1{font-size:1.15rem;margin:0;font-weight:600;letter-spacing:.01em}
header .meta{margin:0;color:#c9d1dc;flex:1}
.stale{color:#ffb4a2}
.switch{display:inline-flex;border:1px solid #55606f;border-radius:6px;overflow:hidden}
.switch button{font:inherit;color:#dfe5ec;background:transparent;border:0;padding:.35rem .8rem;cursor:pointer}
.switch button[aria-pressed="true"]{background:#fff;color:#1d2330;font-weight:600}
.switch button:focus-visible{outline:2px solid #56B4E9;outline-offset:-2px}
main{padding:1rem 1.5rem;display:grid;gap:1.25rem}
footer{padding:0 1.5rem 1.5rem;color:var(--muted);font-size:.85rem}
section.mapping{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.25rem;
 box-shadow:0 1px 2px rgba(0,0,0,.04)}
section.mapping h2{margin:0 0 .25rem;font-size:1.1rem}
section.mapping h2 small{font-weight:400;color:var(--muted);font-size:.85rem;margin-left:.4rem}
h3{font-size:.95rem;margin:.75rem 0 .4rem}
.sources{list-style:none;margin:0 0 .5rem;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;color:var(--muted)}
.sources b{color:var(--ink)}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f0f2f5;padding:1px 4px;border-radius:4px}
.muted{color:var(--muted)}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:.5rem;margin:.5rem 0}
.tile{border:1px solid var(--line);border-radius:8px;padding:.45rem .7rem;display:flex;flex-direction:column}
.tile .label{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.tile .value{font-size:1.3rem;font-weight:600;font-variant-numeric:tabular-nums}
.tile .hint{font-size:.75rem;color:var(--muted)}
.tiles.now .tile{background:#f8fafc}
body[data-view="minutes"] .view-hours,body[data-view="hours"] .view-minutes{display:none}
.view-title{color:var(--muted);font-weight:500}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:.75rem}
figure.chart-box{margin:0;border:1px solid var(--line);border-radius:8px;padding:.6rem .7rem .4rem}
figcaption{font-weight:600;font-size:.85rem;margin-bottom:.3rem;display:flex;justify-content:space-between;gap:1rem}
figcaption .total{font-variant-numeric:tabular-nums;color:var(--muted);font-weight:500}
svg.chart{width:100%;height:auto;display:block}
svg.chart .grid{stroke:#eef0f3;stroke-width:1}
svg.chart .axis{stroke:#aab3bf;stroke-width:1}
svg.chart text{font-size:12.5px;fill:var(--muted);font-family:inherit}
svg.chart .ylab{text-anchor:end}
svg.chart .empty{text-anchor:middle;font-size:14px;fill:#9aa4b1}
svg.chart rect.bar:hover{opacity:.75}
.legend{list-style:none;margin:.3rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.8rem}
.legend b{font-weight:600;font-variant-numeric:tabular-nums;margin-left:.2rem}
.swatch{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin-right:.35rem;vertical-align:-1px}
.tables{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:.75rem}
table{width:100%;border-collapse:collapse;font-size:.85rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:500}
tbody th{font-weight:600;overflow-wrap:break-word;min-width:9rem;max-width:16rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
q.example{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem;overflow-wrap:anywhere;
 white-space:pre-wrap}
q.example::before,q.example::after{content:none}
.limits .limit{display:grid;grid-template-columns:8rem minmax(120px,1fr) 15rem;align-items:center;gap:.75rem;margin:.3rem 0}
.limits .label{font-weight:600}
.meter{height:.8rem;background:#eef0f3;border-radius:999px;overflow:hidden}
.meter .fill{height:100%;background:#009E73;border-radius:999px;transition:width .4s}
@media (max-width:600px){.charts,.tables{grid-template-columns:1fr}header{padding:.75rem 1rem}main{padding:.75rem}}
"""

PAGE_JS = r"""
(() => {
  'use strict';
  const body = document.body;
  const every = Math.max(1, Number(body.dataset.refresh) || 10) * 1000;
  const url = body.dataset.jsonUrl || 'status.json';
  const stale = document.querySelector('.stale');
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const get = (o, p) => p.split('.').reduce((a, k) => (a == null ? a : a[k]), o);
  const isNum = v => typeof v === 'number' && isFinite(v);
  const fix = (v, n) => Array.from({length: n}, (_, i) => (Array.isArray(v) && isNum(v[i]) ? v[i] : 0));
  const fmtNum = v => !isNum(v) ? '–' : v.toLocaleString('en-US', Number.isInteger(v)
    ? {maximumFractionDigits: 0} : {minimumFractionDigits: 1, maximumFractionDigits: 1});
  const fmtAxis = v => (v >= 1e6 ? (v / 1e6).toFixed(1).replace(/\.0$/, '') + 'M'
    : v >= 1e3 ? (v / 1e3).toFixed(1).replace(/\.0$/, '') + 'k' : fmtNum(v));
  const fmtSecs = v => (isNum(v) ? v.toFixed(1) + ' s' : '–');
  const pad = n => String(n).padStart(2, '0');
  const clock = (t, f) => {
    const d = new Date(t * 1000);
    if (!isNum(t) || isNaN(d)) return '–';
    const hm = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
    if (f === '%H:%M') return hm;
    if (f === '%H:%M:%S') return hm + ':' + pad(d.getUTCSeconds());
    const day = pad(d.getUTCDate()) + ' ' + MON[d.getUTCMonth()] + ' ';
    return f === '%d %b %H:%M:%S' ? day + hm + ':' + pad(d.getUTCSeconds()) : day + pad(d.getUTCHours()) + ':00';
  };
  // Examples arrive redacted (the snapshot's contract); cut them as the server does.
  const text = v => (v == null ? '' : String(v));
  const cut = v => { const cp = Array.from(text(v)); return cp.length > 300 ? cp.slice(0, 299).join('') + '…' : cp.join(''); };
  const FMT = {secs: fmtSecs, clock: v => clock(v, '%H:%M:%S'), stamp: v => clock(v, '%d %b %H:%M:%S'),
               text, example: cut, num: fmtNum};
  const fmt = (v, f) => (FMT[f] || fmtNum)(v);
  const niceMax = v => {
    v = Math.max(1, v);
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    return [1, 2, 5, 10].map(s => s * p).find(x => x >= v);
  };
  const sumOf = d => (d == null ? 0 : Array.isArray(d) ? fix(d, d.length).reduce((a, b) => a + b, 0)
    : Object.values(d).reduce((a, s) => a + sumOf(s), 0));
  const series = (view, srcs, n) => srcs.flatMap(src => {
    const d = view[src];
    const pre = srcs.length > 1 ? src.replace(/_/g, '-') + ': ' : '';
    if (d && typeof d === 'object' && !Array.isArray(d)) return Object.keys(d).map(k => [pre + k, fix(d[k], n)]);
    return d == null ? [] : [[src.replace(/_/g, '-'), fix(d, n)]];
  });

  function drawChart(svg, snap) {
    const view = get(snap, svg.dataset.chart) || {};
    const starts = Array.isArray(view.starts) ? view.starts : [];
    const n = Number(svg.dataset.n), H = Number(svg.dataset.h), tfmt = svg.dataset.tfmt;
    const ser = series(view, svg.dataset.src.split(','), n);
    const want = JSON.parse(svg.dataset.series);
    if (starts.length !== n || ser.length !== want.length || ser.some((s, k) => s[0] !== want[k])) return false;
    const totals = starts.map((_, i) => ser.reduce((a, s) => a + s[1][i], 0));
    const top = niceMax(Math.max(0, ...totals));
    const grand = totals.reduce((a, b) => a + b, 0);
    const base = Array(n).fill(H);
    for (const r of svg.querySelectorAll('rect.bar')) {
      const k = Number(r.dataset.k), i = Number(r.dataset.i), v = ser[k][1][i], h = v / top * H;
      base[i] -= h;
      r.setAttribute('y', base[i].toFixed(2));
      r.setAttribute('height', h.toFixed(2));
      r.querySelector('title').textContent = clock(starts[i], tfmt) + ' UTC · ' + ser[k][0] + ': ' + fmtNum(v);
    }
    svg.querySelector('[data-role="ymax"]').textContent = fmtAxis(top);
    svg.querySelector('[data-role="ymid"]').textContent = fmtAxis(top / 2);
    for (const t of svg.querySelectorAll('text.xlab')) t.textContent = clock(starts[Number(t.dataset.i)], tfmt);
    const empty = svg.querySelector('.empty');
    if (empty) empty.setAttribute('visibility', grand ? 'hidden' : 'visible');
    const fig = svg.closest('figure');
    fig.querySelector('.total').textContent = fmtNum(grand);
    for (const b of fig.querySelectorAll('[data-legend]')) b.textContent = fmtNum(sumOf(ser[Number(b.dataset.legend)][1]));
    const caption = fig.querySelector('figcaption').firstChild.textContent.trim();
    svg.setAttribute('aria-label', caption + ': ' + fmtNum(grand) + ' in total' +
      (n ? ', at most ' + fmtNum(Math.max(...totals)) + ' in one bucket' : ''));
    return true;
  }

  function apply(snap) {
    const maps = Array.isArray(snap.mappings) ? snap.mappings : [];
    const objects = maps.filter(m => m && typeof m === 'object' && !Array.isArray(m));
    if (document.querySelectorAll('section.mapping').length !== objects.length) return false;
    for (const el of document.querySelectorAll('[data-key-path]')) {
      const v = get(snap, el.dataset.keyPath);
      if (String(v == null ? '' : v) !== el.dataset.key) return false;
    }
    for (const el of document.querySelectorAll('[data-len-path]')) {
      const v = get(snap, el.dataset.lenPath);
      if ((Array.isArray(v) ? v.length : 0) !== Number(el.dataset.len)) return false;
    }
    for (const svg of document.querySelectorAll('svg[data-chart]')) if (!drawChart(svg, snap)) return false;
    for (const el of document.querySelectorAll('[data-path]')) el.textContent = fmt(get(snap, el.dataset.path), el.dataset.fmt);
    for (const el of document.querySelectorAll('[data-sum-src]')) {
      el.textContent = fmtNum(sumOf((get(snap, el.dataset.sum) || {})[el.dataset.sumSrc]));
    }
    for (const el of document.querySelectorAll('[data-used]')) {
      const l = get(snap, el.dataset.used) || {};
      const pct = isNum(l.limit) && l.limit > 0 ? Math.max(0, Math.min(100, 100 * (isNum(l.used) ? l.used : 0) / l.limit)) : 0;
      el.style.width = pct.toFixed(1) + '%';
      el.parentElement.setAttribute('aria-valuenow', text(l.used));
      el.parentElement.setAttribute('aria-valuemax', text(l.limit));
      el.parentElement.setAttribute('title', text(l.used) + ' of ' + text(l.limit) + ' used');
    }
    const up = document.querySelector('[data-uptime]');
    if (up && isNum(snap.generated_at) && isNum(snap.started_at)) up.textContent = uptime(snap.generated_at - snap.started_at);
    return true;
  }

  function uptime(s) {
    if (!(s >= 0)) return '–';
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d ? d + ' d ' + h + ' h' : h ? h + ' h ' + m + ' min' : m + ' min ' + Math.floor(s % 60) + ' s';
  }

  async function tick() {
    try {
      const r = await fetch(url + location.search, {cache: 'no-store', credentials: 'same-origin',
                                                    headers: {accept: 'application/json'}});
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const snap = await r.json();
      stale.textContent = '';
      if (!apply(snap)) { location.reload(); return; }
    } catch (e) {
      stale.textContent = '· not updated: ' + e.message;
    }
    setTimeout(tick, every);
  }

  const setView = v => {
    body.dataset.view = v;
    for (const b of document.querySelectorAll('.switch button')) b.setAttribute('aria-pressed', String(b.dataset.view === v));
    try { sessionStorage.setItem('ebi-status-view', v); } catch (e) { /* storage may be off */ }
  };
  for (const b of document.querySelectorAll('.switch button')) b.addEventListener('click', () => setView(b.dataset.view));
  try {
    const v = sessionStorage.getItem('ebi-status-view');
    if (v === 'minutes' || v === 'hours') setView(v);
  } catch (e) { /* storage may be off */ }
  setTimeout(tick, every);
})();
"""
