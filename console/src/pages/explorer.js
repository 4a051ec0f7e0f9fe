// 区块浏览: the newest blocks, search by height, transaction hash, trace code or licence id,
// and governance proposals with their approvals.
import { ApiError, find, get } from '../api.js';
import * as label from '../labels.js';

export default async function explorer(main, params) {
  const [blocks, proposals] = await Promise.all([
    get('/v1/console/blocks?limit=20'), get('/v1/gov/proposals'),
  ]);
  main.innerHTML = `
    <section class="card wide"><h2>查询</h2>
      <form class="search" id="explore"><input id="query" placeholder="区块高度、交易哈希、追溯码或证照标识" autocomplete="off">
      <button class="primary" type="submit">查询</button></form><div id="found"></div></section>
    <section class="card wide"><h2>最新区块</h2><table id="blocks"><thead><tr><th>高度</th><th>时间</th><th>交易</th><th>哈希</th><th>提交证书</th></tr></thead><tbody>
      ${blocks.blocks.map((b) => `<tr class="clickable" data-height="${b.height}"><td>${b.height}</td><td>${label.time(b.timestamp_ms)}</td>
        <td>${b.txs}</td><td>${label.esc(b.hash.slice(0, 16))}…</td><td>${b.certified ? '<span class="ok">✔ 已认证</span>' : '—'}</td></tr>`).join('')}
    </tbody></table></section>
    <section class="card wide"><h2>治理提案</h2><table id="proposals"><thead><tr><th>提案</th><th>变更</th><th>状态</th><th>批准</th></tr></thead><tbody>
      ${proposals.proposals.map((p) => `<tr><td>${label.esc(p.proposal.id.slice(0, 16))}…<br><span class="note">${label.esc(p.proposal.memo)}</span></td>
        <td>${label.esc(Object.keys(p.proposal.change)[0])}</td><td>${label.esc(p.status)}</td>
        <td>${p.proposal.approvals.length} / ${p.approvals_needed}<br><span class="note">${p.proposal.approvals.map(label.esc).join('<br>')}</span></td></tr>`).join('')}
    </tbody></table></section>`;
  for (const row of main.querySelectorAll('#blocks tr.clickable')) row.onclick = () => explore(row.dataset.height);
  main.querySelector('#explore').onsubmit = (event) => {
    event.preventDefault();
    explore(main.querySelector('#query').value.trim());
  };
  const q = params.get('q');
  if (q) await explore(q);
}

const json = (value) => `<pre>${label.esc(JSON.stringify(value, null, 2))}</pre>`;

async function explore(query) {
  const out = document.getElementById('found');
  document.getElementById('query').value = query;
  try {
    if (/^\d{1,15}$/.test(query)) {
      const block = await find(`/v1/blocks/${query}`);
      out.innerHTML = block ? `<h2>区块 ${block.header.height}</h2>
        <p>${block.certificate ? `<span class="ok" id="certified">✔ ${block.certificate.votes.length} 个投票节点签名认证</span>` : '<span class="note">尚无提交证书</span>'}</p>${json(block)}`
        : '<p class="note">没有这个高度的区块。</p>';
    } else if (/^[0-9a-f]{64}$/i.test(query)) {
      const tx = await find(`/v1/txs/${query}`);
      out.innerHTML = tx ? `<h2>交易（${label.esc(tx.status)}）</h2>${json(tx)}` : '<p class="note">本节点不知道这笔交易。</p>';
    } else if (/^\d{16}/.test(query)) {
      location.hash = `#/coldchain?code=${encodeURIComponent(query)}`;
    } else {
      location.hash = `#/licences?id=${encodeURIComponent(query)}`;
    }
  } catch (e) {
    out.innerHTML = `<p class="error">${label.esc(e instanceof ApiError ? e.message : String(e))}</p>`;
  }
}
