// 授权办事: grants made and revoked per day, grants live now, uses per department and matter,
// refused uses by reason.
import { get } from '../api.js';
import { daily, overDays, pie, sum, totals } from '../charts.js';
import * as label from '../labels.js';

export default async function auth(main) {
  const stats = await get('/v1/console/auth?days=30');
  const names = new Map(stats.names.map((n) => [n.code, n.name]));
  const used = sum(stats.uses);
  const refused = sum(stats.refused);
  main.innerHTML = `
    <section class="card wide"><h2>授权</h2><div class="figures">
      <div class="figure"><b id="live-grants">${stats.live}</b><span>有效或待生效授权</span></div>
      <div class="figure"><b>${used}</b><span>近 30 日使用</span></div>
      <div class="figure"><b class="${refused ? 'bad' : ''}">${refused}</b><span>近 30 日被拒使用</span></div>
    </div></section>
    <section class="card"><h2>每日授权与撤回</h2><div class="chart" id="chart-grants"></div></section>
    <section class="card"><h2>每日使用（按部门）</h2><div class="chart" id="chart-uses"></div></section>
    <section class="card"><h2>使用按事项</h2><div class="chart" id="chart-matters"></div></section>
    <section class="card"><h2>被拒使用（按原因）</h2><div class="chart" id="chart-refused"></div></section>`;
  const grantLabel = { granted: '授权', revoked: '撤回' };
  overDays(main.querySelector('#chart-grants'), daily(stats.grants, stats.days, (d) => grantLabel[d[0]] ?? d[0]));
  overDays(main.querySelector('#chart-uses'), daily(stats.uses, stats.days, (d) => names.get(d[0]) ?? d[0]));
  pie(main.querySelector('#chart-matters'), '按事项', totals(stats.uses, (d) => d[2] || d[1]));
  overDays(main.querySelector('#chart-refused'), daily(stats.refused, stats.days, (d) => label.refusal(d[0])));
}
