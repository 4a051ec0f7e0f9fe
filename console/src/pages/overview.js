// 总览: the chain's nodes and head, commit latency and transactions per minute live from the
// event stream, and activity per day and domain from the node's counters.
import { get } from '../api.js';
import { daily, draw, overDays, pie, totals } from '../charts.js';
import * as label from '../labels.js';

const LIVE_POINTS = 60;

export default async function overview(main) {
  const [status, nodes, stats] = await Promise.all([
    get('/v1/status'), get('/v1/gov/nodes'), get('/v1/console/overview?days=14'),
  ]);
  const active = nodes.nodes.filter((n) => !n.removed);
  const leader = active.find((n) => n.id === status.leader);
  main.innerHTML = `
    <section class="card wide"><h2>链与节点</h2><div class="figures">
      <div class="figure"><b id="height">${status.height}</b><span>区块高度</span></div>
      <div class="figure"><b>${active.length}</b><span>节点（${nodes.raft_voters.length} 个投票）</span></div>
      <div class="figure"><b>${label.esc(leader?.id ?? '—')}</b><span>当前领导者</span></div>
      <div class="figure"><b id="tpm">—</b><span>每分钟交易（实时）</span></div>
      <div class="figure"><b id="latency">—</b><span>提交延迟 ms（实时）</span></div>
      <div class="figure"><b>${label.esc(status.chain_id)}</b><span>链标识 · ${label.esc(status.suite)}</span></div>
    </div></section>
    <section class="card"><h2>实时：每个区块的提交延迟与交易数</h2><div class="chart" id="chart-live"></div></section>
    <section class="card"><h2>今日各业务交易</h2><div class="chart" id="chart-today"></div></section>
    <section class="card wide"><h2>近 14 日各业务交易（含被拒）</h2><div class="chart" id="chart-days"></div></section>
    <section class="card wide"><h2>节点</h2><table><thead><tr><th>节点</th><th>组织</th><th>Raft</th><th>状态</th></tr></thead><tbody>
      ${nodes.nodes.map((n) => `<tr><td>${label.esc(n.id)}</td><td>${label.esc(n.org)}</td><td>${n.raft_id}</td>
        <td>${n.removed ? '已移除' : n.learner ? '学习者' : n.id === status.leader ? '<b class="ok">领导者</b>' : '投票者'}</td></tr>`).join('')}
    </tbody></table></section>`;

  const byDomain = (dims) => label.domain(dims[0]);
  overDays(main.querySelector('#chart-days'), daily(stats.transactions, stats.days, byDomain));
  const today = stats.transactions.filter((row) => row.day === stats.days.to);
  pie(main.querySelector('#chart-today'), '今日交易', totals(today, byDomain));

  const points = [];
  const chart = draw(main.querySelector('#chart-live'), {
    legend: { top: 0 },
    grid: { left: 48, right: 48, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: [] },
    yAxis: [{ type: 'value', name: 'ms' }, { type: 'value', name: '笔', minInterval: 1 }],
    series: [
      { name: '提交延迟', type: 'line', data: [], smooth: true },
      { name: '交易数', type: 'bar', yAxisIndex: 1, data: [] },
    ],
  });
  if (!chart) return undefined; // superseded by a newer navigation
  const events = new EventSource(`/v1/events?from_height=${status.height + 1}`);
  events.addEventListener('block', (event) => {
    const block = JSON.parse(event.data);
    const now = Date.now();
    points.push({ height: block.height, at: now, latency: Math.max(0, now - block.timestamp_ms), txs: block.receipts.length });
    while (points.length > LIVE_POINTS) points.shift();
    const minute = points.filter((p) => now - p.at <= 60_000).reduce((sum, p) => sum + p.txs, 0);
    main.querySelector('#height').textContent = block.height;
    main.querySelector('#tpm').textContent = minute;
    main.querySelector('#latency').textContent = points.at(-1).latency;
    chart.setOption({
      xAxis: { data: points.map((p) => p.height) },
      series: [{ data: points.map((p) => p.latency) }, { data: points.map((p) => p.txs) }],
    });
  });
  return () => events.close();
}
