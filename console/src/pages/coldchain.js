// 冷链追溯: lots coded and movements per day by region and enterprise kind, the open holds and
// recalls with what is still in stock, search by code, lot, product, origin or region, and a
// chosen lot's flow through every holder with the recalled part in red.
import { ApiError, get } from '../api.js';
import { daily, draw, overDays, pie, sum, totals } from '../charts.js';
import * as label from '../labels.js';

const MOVES = new Set(['trace.ship', 'trace.receive', 'trace.split', 'trace.sell', 'trace.dispose']);
const RED = '#c62828';

export default async function coldchain(main, params) {
  const stats = await get('/v1/console/coldchain?days=30');
  const gauge = Object.fromEntries(stats.orders.map((g) => [g.dims[0], g.value]));
  const commissions = stats.calls.filter((r) => r.dims[0] === 'trace.commission');
  const coded = sum(commissions);
  const packages = sum(stats.packages);
  main.innerHTML = `
    <section class="card wide"><h2>近 30 日</h2><div class="figures">
      <div class="figure"><b>${coded}</b><span>首站赋码批次</span></div>
      <div class="figure"><b>${packages}</b><span>赋码包装</span></div>
      <div class="figure"><b class="bad" id="recalls">${gauge.recalled ?? 0}</b><span>召回批次</span></div>
      <div class="figure"><b id="holds">${gauge.held ?? 0}</b><span>暂停流通批次</span></div>
    </div></section>
    <section class="card"><h2>每日首站赋码批次（按地区）</h2><div class="chart" id="chart-commissioned"></div></section>
    <section class="card"><h2>每日流转（按环节）</h2><div class="chart" id="chart-moves"></div></section>
    <section class="card"><h2>流转按企业类型</h2><div class="chart" id="chart-kinds"></div></section>
    <section class="card"><h2>每日赋码包装（按企业类型）</h2><div class="chart" id="chart-packages"></div></section>
    <section class="card wide"><h2>暂停流通与召回（在库、在途与波及企业）</h2>
      <table id="orders"><thead><tr><th>批次</th><th>品名</th><th>指令</th><th>批次数</th><th>波及企业</th><th>在库</th><th>在途</th></tr></thead><tbody>
      ${stats.open_orders.map((o) => `<tr class="clickable" data-lot="${label.esc(o.lot.lot)}">
        <td>${label.esc(o.lot.lot)}</td><td>${label.esc(o.lot.product)}</td>
        <td><span class="tag ${label.esc(o.order)}">${label.order(o.order)}</span></td>
        <td>${o.lots}</td><td>${o.enterprises}</td><td class="${o.stock ? 'bad' : ''}">${o.stock}</td><td>${o.in_transit}</td></tr>`).join('')}
      </tbody></table>${stats.open_orders_more ? '<p class="note">仅列出前 20 个。</p>' : ''}</section>
    <section class="card wide"><h2>查询</h2>
      <form class="search" id="search">
        <select id="search-by"><option value="code">追溯码</option><option value="lot">批次码</option>
          <option value="product">品名</option><option value="origin">原产国</option><option value="region">地区代码</option></select>
        <input id="search-text" placeholder="输入追溯码、批次码、品名、原产国或 6 位地区代码" autocomplete="off">
        <button class="primary" type="submit">查询</button>
      </form><div id="search-result"></div></section>
    <section class="card wide" id="flow-card" hidden><h2 id="flow-title">流向</h2>
      <p id="flow-note" class="note"></p><div class="chart tall" id="chart-flow"></div></section>`;

  const region = (dims) => (dims[1] === '-' ? null : dims[1]);
  overDays(main.querySelector('#chart-commissioned'), daily(commissions, stats.days, region));
  const moves = stats.calls.filter((r) => MOVES.has(r.dims[0]));
  overDays(main.querySelector('#chart-moves'), daily(moves, stats.days, (d) => label.call(d[0]), 'line'));
  pie(main.querySelector('#chart-kinds'), '按企业类型', totals(stats.calls, (d) => label.kind(d[2])));
  overDays(main.querySelector('#chart-packages'), daily(stats.packages, stats.days, (d) => label.kind(d[1])));

  for (const row of main.querySelectorAll('#orders tr.clickable')) {
    row.onclick = () => showFlow(row.dataset.lot);
  }
  main.querySelector('#search').onsubmit = (event) => {
    event.preventDefault();
    search(main.querySelector('#search-by').value, main.querySelector('#search-text').value.trim());
  };
  const lot = params.get('lot');
  if (lot) await showFlow(lot);
  const code = params.get('code');
  if (code) await search('code', code);
}

async function search(by, text) {
  const out = document.getElementById('search-result');
  out.innerHTML = '';
  try {
    if (by === 'code') {
      const trace = await get(`/v1/trace/codes/${encodeURIComponent(text)}`);
      out.innerHTML = `<table id="code-result"><tr><th>追溯码</th><td>${label.esc(trace.code)}</td></tr>
        <tr><th>品名</th><td>${label.esc(trace.product)} · ${label.esc(trace.specification)}</td></tr>
        <tr><th>状态</th><td class="${trace.order_lot ? 'bad' : ''}">${label.esc(label.codeStatus(trace.status))}${trace.order_reason ? '：' + label.esc(trace.order_reason) : ''}</td></tr>
        <tr><th>当前持有</th><td>${label.esc(trace.holder?.name ?? '—')}</td></tr>
        <tr><th>所属批次</th><td>${label.esc(trace.lot)}</td></tr></table>`;
      // The flow of the first-station lot the code descends from, so the whole recall shows.
      const origin = trace.lineage?.at(-1)?.lot ?? trace.lot;
      await showFlow(origin);
    } else if (by === 'lot') {
      await showFlow(text);
    } else {
      const query = by === 'region' ? `region=${encodeURIComponent(text)}` : `${by}=${encodeURIComponent(text)}`;
      const found = await get(`/v1/trace/lots?${query}&limit=100`);
      out.innerHTML = found.lots.length === 0 ? '<p class="note">没有找到批次。</p>'
        : `<table id="lots-result"><thead><tr><th>批次</th><th>品名</th><th>原产国</th><th>包装</th><th>赋码时间</th><th>指令</th></tr></thead><tbody>
          ${found.lots.map((l) => `<tr class="clickable" data-lot="${label.esc(l.lot)}"><td>${label.esc(l.lot)}</td><td>${label.esc(l.product)}</td>
            <td>${label.esc(l.origin_country)}</td><td>${l.packages}</td><td>${label.time(l.coded_at_ms)}</td>
            <td>${l.order ? `<span class="tag ${label.esc(l.order)}">${label.order(l.order)}</span>` : ''}</td></tr>`).join('')}</tbody></table>`;
      for (const row of out.querySelectorAll('tr.clickable')) row.onclick = () => showFlow(row.dataset.lot);
    }
  } catch (e) {
    out.innerHTML = `<p class="error">${label.esc(e instanceof ApiError ? e.message : String(e))}</p>`;
  }
}

async function showFlow(lot) {
  const flow = await get(`/v1/console/lots/${encodeURIComponent(lot)}/flow`);
  const card = document.getElementById('flow-card');
  card.hidden = false;
  document.getElementById('flow-title').textContent = `流向：${flow.lot.product} · 批次 ${flow.lot.lot}`;
  const recalled = flow.links.filter((l) => l.recalled).reduce((s, l) => s + l.packages, 0);
  document.getElementById('flow-note').innerHTML = `${flow.lots.length} 个批次（含分装），${flow.nodes.filter((n) => n.enterprise).length} 家企业经手；`
    + `<span class="bad" id="flow-recalled">召回部分流转 ${recalled}，仍在库 ${flow.recalled_in_stock}</span>`
    + (flow.truncated ? '；超出上限的部分未画出' : '');
  // ECharts names nodes by their label: make labels unique, keep ids for links.
  const names = new Map();
  const seen = new Set();
  for (const node of flow.nodes) {
    let name = node.name || node.id;
    if (seen.has(name)) name = `${name}（${node.id.slice(-4)}）`;
    seen.add(name);
    names.set(node.id, name);
  }
  const nodes = flow.nodes.map((n) => ({ name: names.get(n.id) }));
  const links = flow.links.map((l) => ({
    source: names.get(l.source), target: names.get(l.target), value: l.packages,
    lineStyle: l.recalled ? { color: RED, opacity: 0.55 } : { opacity: 0.3 },
  }));
  const el = document.getElementById('chart-flow');
  const series = flow.cyclic
    ? { name: '流向', type: 'graph', layout: 'circular', roam: true, label: { show: true },
        edgeSymbol: ['none', 'arrow'], data: nodes, links }
    : { name: '流向', type: 'sankey', data: nodes, links, emphasis: { focus: 'adjacency' },
        lineStyle: { color: 'source', curveness: 0.5 } };
  draw(el, { tooltip: { trigger: 'item' }, series: [series] });
  el.dataset.recalled = String(recalled);
  card.scrollIntoView({ block: 'nearest' });
}
