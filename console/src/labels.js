// The Chinese a regulator reads, for the codes the node answers with. An unknown code shows as
// itself, so a new call or refusal is never hidden.

const DOMAINS = {
  trace: '冷链追溯', licence: '电子证照', auth: '授权办事', governance: '治理', system: '系统',
};
const CALLS = {
  'trace.register_enterprise': '企业登记', 'trace.commission': '首站赋码', 'trace.ship': '出库',
  'trace.receive': '入库', 'trace.split': '分装', 'trace.sell': '销售', 'trace.dispose': '销毁',
  'trace.attach_certificate': '附证', 'trace.hold': '暂停流通', 'trace.release': '解除暂停',
  'trace.recall': '召回',
};
const KINDS = {
  importer: '进口商/首站', cold_store: '冷库', processor: '生产加工', wholesaler: '批发',
  supermarket: '商超', restaurant: '餐饮', ecommerce: '生鲜电商', other: '其他', '-': '监管部门',
};
const STATES = {
  valid: '有效', suspended: '暂扣', rescinded: '撤销', cancelled: '注销', transferred_out: '转出',
  revoked: '吊销', superseded: '已换证', expired: '已过期',
};
const CHANNELS = { api: '接口核验', qr: '亮证扫码', page: '窗口页面' };
const VERDICTS = { acceptable: '通过', not_acceptable: '不通过', unknown: '查无此证' };
const REFUSALS = {
  grant_not_found: '授权不存在', not_grantee: '非被授权方', grant_revoked: '授权已撤回',
  grant_not_yet_valid: '授权未生效', grant_expired: '授权已过期', grant_used_up: '次数已用完',
  out_of_scope: '超出授权范围', invalid_argument: '参数无效',
};
const ORDERS = { held: '暂停流通', recalled: '召回' };

const look = (table) => (code) => table[code] ?? code;
export const domain = (call) => look(DOMAINS)(call.split('.')[0]);
export const call = look(CALLS);
export const kind = look(KINDS);
export const state = look(STATES);
export const channel = look(CHANNELS);
export const verdict = look(VERDICTS);
export const refusal = look(REFUSALS);
export const order = look(ORDERS);

/** Escapes text for HTML. */
export function esc(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A time in Beijing, as people there read it. */
export function time(ms) {
  return new Date(ms).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

/** YYYYMMDD as YYYY-MM-DD. */
export function date(yyyymmdd) {
  const s = String(yyyymmdd);
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

const CODE_STATUS = {
  normal: '流通中', held: '暂停流通', recalled: '已召回', sold: '已售出', disposed: '已销毁',
  split: '已分装', in_transit: '在途',
};
export const codeStatus = look(CODE_STATUS);
