// 电子证照: licences recorded per day by type, by state now, expiring within 30 days,
// verifications this node answered per day and channel, and a licence's history.
import { ApiError, get } from '../api.js';
import { daily, draw, overDays, pie, sum, totals } from '../charts.js';
import * as label from '../labels.js';

const WHAT = {
  issued: '签发', renewed_from: '换证（新证）', renewed_to: '换证（旧证）', suspend: '暂扣', resume: '恢复',
  rescind: '撤销', cancel: '注销', revoke: '吊销', transferred_out: '转出', transferred_in: '转入',
};

export default async function licences(main, params) {
  const stats = await get('/v1/console/licences?days=30');
  const names = new Map(stats.names.map((n) => [n.code, n.name]));
  const typeName = (code) => names.get(code) ?? code;
  // Expiry is derived, never recorded: a licence past its window still reads valid (or
  // suspended) in the recorded states, so the node counts those apart and they move here.
  const expired = new Map(stats.expired.map((g) => [g.dims[0], g.value]));
  const states = [
    ...stats.states.map((g) => ({
      dims: g.dims,
      value: g.dims[1] === 'valid' ? Math.max(0, g.value - (expired.get(g.dims[0]) ?? 0)) : g.value,
    })),
    ...stats.expired.map((g) => ({ dims: [g.dims[0], 'expired'], value: g.value })),
  ];
  const byState = totals(states, (d) => label.state(d[1]));
  const types = [...new Set(states.map((g) => g.dims[0]))];
  const inForce = sum(states.filter((g) => g.dims[1] === 'valid'));
  const lapsed = sum(stats.expired);
  const verified = sum(stats.verifications);
  main.innerHTML = `
    <section class="card wide"><h2>证照</h2><div class="figures">
      <div class="figure"><b>${inForce}</b><span>有效（未换证、未过期）</span></div>
      <div class="figure"><b>${lapsed}</b><span>已过有效期</span></div>
      <div class="figure"><b>${stats.expiring_total}</b><span>30 日内到期</span></div>
      <div class="figure"><b>${verified}</b><span>近 30 日本节点核验</span></div>
    </div></section>
    <section class="card"><h2>每日签发（按证照类型）</h2><div class="chart" id="chart-issued"></div></section>
    <section class="card"><h2>证照状态</h2><div class="chart" id="chart-states"></div></section>
    <section class="card"><h2>每日核验（按渠道）</h2><div class="chart" id="chart-verifications"></div></section>
    <section class="card"><h2>核验结果</h2><div class="chart" id="chart-verdicts"></div></section>
    <section class="card wide"><h2>每日核验（按窗口）</h2><div class="chart" id="chart-windows"></div></section>
    <section class="card wide"><h2>30 日内到期</h2><table id="expiring"><thead><tr><th>证照</th><th>名称</th><th>有效期至</th></tr></thead><tbody>
      ${stats.expiring.map((l) => `<tr class="clickable" data-id="${label.esc(l.id)}"><td>${label.esc(l.id)}</td><td>${label.esc(l.name)}</td><td>${label.date(l.valid_to)}</td></tr>`).join('')}
    </tbody></table></section>
    <section class="card wide"><h2>证照履历</h2>
      <form class="search" id="licence-search"><input id="licence-id" placeholder="证照标识" autocomplete="off"><button class="primary" type="submit">查询</button></form>
      <div id="history"></div></section>`;
  overDays(main.querySelector('#chart-issued'), daily(stats.issued, stats.days, (d) => typeName(d[0])));
  draw(main.querySelector('#chart-states'), {
    legend: { type: 'scroll', top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: types.map(typeName) },
    yAxis: { type: 'value', minInterval: 1 },
    series: byState.map(({ name }) => ({
      name, type: 'bar', stack: 'state',
      data: types.map((type) => sum(states
        .filter((g) => g.dims[0] === type && label.state(g.dims[1]) === name))),
    })),
  });
  overDays(main.querySelector('#chart-verifications'),
    daily(stats.verifications, stats.days, (d) => label.channel(d[0]), 'line'));
  pie(main.querySelector('#chart-verdicts'), '核验结果', totals(stats.verifications, (d) => label.verdict(d[1])));
  overDays(main.querySelector('#chart-windows'),
    daily(stats.verifications, stats.days, (d) => (d[2] && d[2] !== '-' ? d[2] : '未注明窗口')));
  for (const row of main.querySelectorAll('#expiring tr.clickable')) row.onclick = () => history(row.dataset.id);
  main.querySelector('#licence-search').onsubmit = (event) => {
    event.preventDefault();
    history(main.querySelector('#licence-id').value.trim());
  };
  const id = params.get('id');
  if (id) await history(id);
}

async function history(id) {
  const out = document.getElementById('history');
  document.getElementById('licence-id').value = id;
  try {
    const record = await get(`/v1/licences/${encodeURIComponent(id)}`);
    const l = record.licence;
    out.innerHTML = `<table id="licence-record">
      <tr><th>名称</th><td>${label.esc(l.name)}（${label.esc(record.type_name)}）</td></tr>
      <tr><th>编号</th><td>${label.esc(l.number)}</td></tr>
      <tr><th>状态</th><td class="${record.status === 'valid' ? 'ok' : 'bad'}">${label.esc(record.status_label)}</td></tr>
      <tr><th>签发机关</th><td>${label.esc(record.issuer.name)}（${label.esc(record.issuer.uscc)}）</td></tr>
      <tr><th>有效期</th><td>${label.date(l.valid_from)} 至 ${l.valid_to ? label.date(l.valid_to) : '长期'}</td></tr>
      <tr><th>最新版本</th><td>${label.esc(record.latest)}</td></tr></table>
      <h2>履历</h2><table id="licence-history"><thead><tr><th>时间</th><th>事项</th><th>原因</th><th>机构</th><th>交易</th></tr></thead><tbody>
      ${record.history.map((e) => `<tr><td>${label.time(e.at_ms)}</td><td>${label.esc(WHAT[e.what] ?? e.what)}</td><td>${label.esc(e.reason)}</td>
        <td>${label.esc(e.org)}</td><td><a href="#/explorer?q=${label.esc(e.tx)}">${label.esc(e.tx.slice(0, 16))}…</a></td></tr>`).join('')}
      </tbody></table>`;
  } catch (e) {
    out.innerHTML = `<p class="error">${label.esc(e instanceof ApiError ? e.message : String(e))}</p>`;
  }
}
