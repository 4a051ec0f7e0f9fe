//! The scan page (`/scan/{code}`): what a phone shows after scanning a trace code, in Chinese,
//! rendered on the server as plain HTML so it works on any phone browser without scripts. With
//! `?view=regulator` and a regulator's signed request (see [`super::signed`]) it adds the recall
//! list; unsigned, that view says how to get it and shows nothing more than the consumer's page.
//! And the QR code of a code's scan URL.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use xinlian_contracts::views::trace::CodeReader;
use xinlian_contracts::views::verify::{verify_trace_absent, verify_trace_code};
use xinlian_core::api::trace::{CodeStatus, CodeTrace, RecallList};
use xinlian_core::proof::ProvenQuery;
use xinlian_core::trace::{EventKind, TraceCode};

use super::html::{Checked, PROOF_STYLE, china_time, escape, respond};
use super::proof::{self, PageProof};
use super::signed::Guard;
use super::trace::EnterpriseView;
use super::{ApiError, ApiPath, ApiQuery, blocking};
use crate::chain::Chain;
use crate::trace::{HolderFilter, TraceReader};

/// Options of the scan page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScanQuery {
    /// `regulator` adds the recall list.
    view: Option<String>,
}

/// The scan page.
pub(super) async fn page(
    State(chain): State<Arc<Chain>>,
    Extension(guard): Extension<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ApiPath(code): ApiPath<String>,
    ApiQuery(query): ApiQuery<ScanQuery>,
) -> Response {
    let Ok(code) = code.parse::<TraceCode>() else {
        return respond(
            StatusCode::BAD_REQUEST,
            &message_page(
                "无效的追溯码",
                &format!(
                    "“{}”不是有效的追溯码：可能输错或已损坏，请重新扫码或重新输入。",
                    escape(&code)
                ),
            ),
        );
    };
    if query.view.as_deref() == Some("regulator") {
        let view = EnterpriseView {
            guard: &guard,
            method: &method,
            uri: &uri,
            headers: &headers,
        };
        if let Err(refused) = view.authorise(&chain, None, "a recall list") {
            let body = refused.body();
            return respond(
                StatusCode::UNAUTHORIZED,
                &message_page(
                    "召回名单仅向监管机构开放",
                    &format!(
                        "召回名单列出持有该批次的企业及库存，须由监管机构成员的密钥签名查询（{}：{}）。请使用命令行 <code>xinlian trace holders {} --key 监管密钥.pem</code> 或 SDK 查询；扫码查看追溯信息请去掉 <code>?view=regulator</code>。",
                        escape(&body.code),
                        escape(&body.message),
                        escape(&code.to_string()),
                    ),
                ),
            );
        }
    }
    let regulator = query.view.as_deref() == Some("regulator");
    let not_found = |checked: &Checked| {
        respond(
            StatusCode::NOT_FOUND,
            &message_page_with(
                "未找到追溯码",
                &checked.notice(),
                &format!("链上没有追溯码 {code}。"),
            ),
        )
    };
    // The trace shown, or the code's absence, is derived again from state proven under a
    // certified block, checked as a client's SDK would; without a proof to be had now, this
    // node's answer, said to be unverified.
    let proven = match proof::derive(&chain, move |state, _| {
        Ok(CodeReader::new(state).code(code)?)
    })
    .await
    {
        Ok(proving) => {
            proving
                .certify(&chain, ProvenQuery::TraceCode { code })
                .await
        }
        Err(unavailable) => Err(unavailable),
    };
    let checked =
        proof::check_for_page(&chain, proven, move |answer, bundle, trust| match answer {
            Some(mut trace) => {
                trace.proof = Some(Box::new(bundle));
                verify_trace_code(&trace, trust).map(|v| v.map(Some))
            }
            None => verify_trace_absent(code, &bundle, trust).map(|v| v.map(|()| None)),
        })
        .await;
    let notice = Checked::of(&checked);
    let verified = match checked {
        PageProof::Verified(verified) => match verified.answer {
            Some(trace) => Some(trace),
            None => return not_found(&notice),
        },
        PageProof::Unavailable(_) => None,
        PageProof::Failed(_) => {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                &message_page_with(
                    "追溯信息核验未通过",
                    &notice.notice(),
                    "请稍后重试，或使用其他节点的扫码页面。",
                ),
            );
        }
    };
    let found = blocking(&chain, move |c| {
        let mut reader = TraceReader::new(c.storage(), c.suite());
        let trace = match verified {
            Some(trace) => trace,
            None => match reader.code(code)? {
                Some(trace) => trace,
                None => return Ok(None),
            },
        };
        // The page shows the first lots of a recall; a larger one is for the paged API, and
        // the page says so.
        let recall = if regulator {
            reader
                .holders(code.lot, &HolderFilter::default(), None, SCAN_PAGE_LOTS)?
                .map(|(list, _)| list)
        } else {
            None
        };
        Ok(Some((trace, recall)))
    })
    .await;
    match found {
        Ok(Some((trace, recall))) => respond(
            StatusCode::OK,
            &trace_page(&trace, recall.as_ref(), &notice),
        ),
        Ok(None) => not_found(&notice),
        Err(e) => e.into_response(),
    }
}

/// Lots of a recall the regulator's scan page shows; the paged API has the rest.
const SCAN_PAGE_LOTS: usize = 200;

/// Whether the API is served over TLS, so the URLs it writes for phones are `https://`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Https(pub(super) bool);

/// A QR code (SVG) of the code's scan URL on this node.
pub(super) async fn qr(
    Extension(Https(https)): Extension<Https>,
    headers: HeaderMap,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    let code = super::trace::parse_code(&code)?;
    // The URL a phone should open: this node as the client reached it. (Behind a proxy, a
    // configured public URL would be better; see docs/trace.md.) A host name is at most 255
    // bytes, and only plain host[:port] characters are accepted.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8545");
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if host.len() > 255 || !plain {
        return Err(ApiError::bad_request(
            "invalid_host",
            "the Host header is not a plain host[:port]".into(),
        ));
    }
    let scheme = if https { "https" } else { "http" };
    let url = format!("{scheme}://{host}/scan/{code}");
    let svg = tokio::task::spawn_blocking(move || {
        qrcode::QrCode::new(url.as_bytes()).map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .build()
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("QR worker: {e}")))?
    .map_err(|e| ApiError::internal(format!("QR code: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

const STYLE: &str = "body{font-family:-apple-system,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;background:#f4f6f8;color:#1f2933}\
header{background:#0b6e4f;color:#fff;padding:16px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;font-size:13px;word-break:break-all}\
.banner{padding:14px 16px;font-weight:bold;font-size:18px;color:#fff}.banner.recalled{background:#c62828}.banner.held{background:#ef6c00}.banner.ok{background:#2e7d32;font-size:15px}\
section{background:#fff;margin:10px;border-radius:8px;padding:12px 14px}h2{font-size:16px;margin:0 0 8px}\
table{width:100%;border-collapse:collapse;font-size:14px}td,th{padding:5px 4px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}th{color:#52606d;font-weight:normal;width:36%}\
ol.timeline{list-style:none;margin:0;padding:0}ol.timeline li{border-left:3px solid #0b6e4f;margin-left:6px;padding:0 0 12px 12px;position:relative}\
ol.timeline li:before{content:'';position:absolute;left:-8px;top:2px;width:13px;height:13px;border-radius:50%;background:#0b6e4f}\
.when{color:#52606d;font-size:12px}.what{font-weight:bold}.qr{text-align:center}.qr img{width:180px;height:180px}";

fn message_page(title: &str, message: &str) -> String {
    message_page_with(title, "", message)
}

/// A page with only a message; `notice` (HTML) goes under the header.
fn message_page_with(title: &str, notice: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{STYLE}{PROOF_STYLE}</style></head>\
         <body><header><h1>信链 · 冷链食品追溯</h1></header>{notice}<section id=\"message\"><h2>{title}</h2><p>{message}</p></section></body></html>"
    )
}

fn banner(trace: &CodeTrace) -> String {
    let reason = escape(trace.order_reason.as_deref().unwrap_or(""));
    let (class, text) = match trace.status {
        CodeStatus::Recalled => (
            "recalled",
            format!("⚠ 已召回：{reason}　请勿销售或食用，请联系监管部门。"),
        ),
        CodeStatus::Held => ("held", format!("⚠ 暂停流通：{reason}")),
        CodeStatus::Sold => ("ok", "已售出 · 来源可追溯".to_string()),
        CodeStatus::Disposed => ("held", "已销毁".to_string()),
        CodeStatus::Split => ("ok", "已分装为下级追溯码".to_string()),
        CodeStatus::InTransit => ("ok", "运输中 · 来源可追溯".to_string()),
        CodeStatus::Normal => ("ok", "正常流通 · 来源可追溯".to_string()),
    };
    format!("<div id=\"banner\" class=\"banner {class}\">{text}</div>")
}

fn trace_page(trace: &CodeTrace, recall: Option<&RecallList>, checked: &Checked) -> String {
    let mut page = String::with_capacity(8192);
    let title = escape(&trace.product);
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · 追溯</title><style>{STYLE}{PROOF_STYLE}</style></head><body>\
         <header><h1>{title}</h1><p>追溯码 <span id=\"code\">{}</span></p></header>{}{}",
        trace.code,
        banner(trace),
        checked.notice()
    );
    product_section(&mut page, trace);
    certificates_section(&mut page, trace);
    timeline_section(&mut page, trace);
    if let Some(recall) = recall {
        recall_section(&mut page, recall);
    }
    let _ = write!(
        page,
        "<section class=\"qr\"><img alt=\"追溯码二维码\" src=\"/v1/trace/codes/{}/qr.svg\"></section></body></html>",
        trace.code
    );
    page
}

fn row(page: &mut String, label: &str, value: &str) {
    let _ = write!(page, "<tr><th>{label}</th><td>{}</td></tr>", escape(value));
}

fn product_section(page: &mut String, trace: &CodeTrace) {
    page.push_str("<section id=\"product\"><h2>产品信息</h2><table>");
    row(page, "品名", &trace.product);
    row(page, "类别", &trace.category);
    row(page, "规格", &trace.specification);
    row(page, "原产国", &trace.origin_country);
    let p = trace.production_date;
    row(
        page,
        "生产日期",
        &format!("{}-{:02}-{:02}", p / 10_000, p / 100 % 100, p % 100),
    );
    row(page, "保质期", &format!("{} 天", trace.shelf_life_days));
    row(page, "批号", &trace.batch);
    if let Some(import) = &trace.import {
        row(page, "报关单号", &import.customs_declaration);
        row(page, "入境口岸", &import.entry_port);
    }
    if let Some(holder) = &trace.holder {
        row(
            page,
            "当前持有",
            &format!("{}（{}）", holder.name, holder.kind_label),
        );
    }
    if let Some(link) = &trace.digital_link {
        row(page, "GS1 数字链接", link);
    }
    page.push_str("</table></section>");
}

fn certificates_section(page: &mut String, trace: &CodeTrace) {
    page.push_str("<section id=\"certificates\"><h2>证明文件</h2>");
    if trace.certificates.is_empty() {
        page.push_str("<p>无</p></section>");
        return;
    }
    page.push_str("<table>");
    for c in &trace.certificates {
        let _ = write!(
            page,
            "<tr><th>{}</th><td>{}<br><span class=\"when\">{} · 摘要 {}…</span></td></tr>",
            c.kind.label(),
            escape(&c.number),
            escape(&c.issuer),
            &c.digest.to_hex()[..16]
        );
    }
    page.push_str("</table></section>");
}

fn timeline_section(page: &mut String, trace: &CodeTrace) {
    page.push_str("<section><h2>流转记录</h2><ol class=\"timeline\" id=\"timeline\">");
    // The lineage runs from this lot back to the first station; people read from the start.
    for lot in trace.lineage.iter().rev() {
        for hop in &lot.hops {
            let quantity = if hop.quantity > 0 {
                format!(" {} {}", hop.quantity, escape(&lot.unit))
            } else {
                String::new()
            };
            // A receipt names where the goods came from; every other event where they went.
            let arrow = if hop.kind == EventKind::Received {
                "←"
            } else {
                "→"
            };
            let other = hop
                .counterparty
                .as_ref()
                .map(|c| format!(" {arrow} {}", escape(&c.name)))
                .unwrap_or_default();
            let note = if hop.note.is_empty() {
                String::new()
            } else {
                format!("<br>{}", escape(&hop.note))
            };
            let _ = write!(
                page,
                "<li class=\"hop\"><div class=\"when\">{}</div><div class=\"what\">{}{quantity}</div><div>{}（{}）{other}{note}</div></li>",
                china_time(hop.at_ms),
                hop.label,
                escape(&hop.actor.name),
                hop.actor.kind_label,
            );
        }
    }
    page.push_str("</ol></section>");
}

fn recall_section(page: &mut String, recall: &RecallList) {
    let _ = write!(
        page,
        "<section id=\"recall\"><h2>涉及企业（监管视图）</h2><p class=\"when\">批次 {} 及其分装批次共 {} 个，追溯码 {} 个；库存合计 {}，在途 {}。名单为本节点的答案，未附证明。</p>\
         <table><tr><th>企业</th><td>入/出/售/库存</td></tr>",
        recall.lot, recall.lots_total, recall.codes, recall.stock_total, recall.in_transit_total
    );
    if recall.lots.len() as u64 != recall.lots_total || recall.truncated {
        // Never a partial list that reads as complete: the totals above are for the lots shown.
        let _ = write!(
            page,
            "<p class=\"when\"><b>此处仅列出前 {} 个批次</b>（合计数仅含所列批次）；完整名单请分页查询：<code>xinlian trace holders {} --key 监管密钥.pem</code>。</p>",
            recall.lots.len(),
            recall.lot
        );
    }
    for h in &recall.holders {
        let _ = write!(
            page,
            "<tr class=\"holder\"><th>{}<br><span class=\"when\">{} · {}</span></th><td>{} / {} / {} / <b>{}</b></td></tr>",
            escape(&h.enterprise.name),
            h.enterprise.kind_label,
            h.enterprise.region,
            h.received,
            h.shipped,
            h.sold,
            h.stock
        );
    }
    page.push_str("</table></section>");
}
