//! Licence lookups, verification, and the window's verification page (`/verify/{id}`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use xinlian_core::Hash;
use xinlian_core::api::licence::{LicenceRecord, Verdict, VerifyQrRequest, VerifyRequest};
use xinlian_core::calendar::china_date;
use xinlian_core::licence::{LicenceId, LicenceStatus, QrPayload};
use xinlian_core::proof::ProvenQuery;

use super::html::{Checked, PROOF_STYLE, escape, respond};
use super::proof::{self, PageProof, ProofParam};
use super::{ApiError, ApiJson, ApiPath, ApiQuery, blocking};
use crate::chain::Chain;
use crate::console::Verifications;
use xinlian_contracts::views::licence::LicenceReader;

/// The one way every route reads a licence identifier, so the same bad identifier gets the
/// same code and message from the path, a JSON body or a QR code.
fn parse_id(text: &str) -> Result<LicenceId, ApiError> {
    text.parse().map_err(|e: xinlian_core::Error| {
        ApiError::bad_request("invalid_licence_id", e.to_string())
    })
}

/// `VerifyRequest` as it arrives: the identifier as text, parsed by [`parse_id`] rather than by
/// serde, whose rejection would be a generic `invalid_field` ("Failed to deserialize...").
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyBody {
    id: String,
    #[serde(default)]
    document_digest: Option<Hash>,
    #[serde(default)]
    window: Option<String>,
}

/// Most characters of a window's label.
const WINDOW_CHARS_MAX: usize = 64;

/// The label a verification is counted under: the window's own (1 to 64 characters, no control
/// characters), or `-` when it gave none.
fn window_label(window: Option<&str>) -> Result<String, ApiError> {
    let Some(window) = window else {
        return Ok("-".into());
    };
    let chars = window.chars().count();
    if !(1..=WINDOW_CHARS_MAX).contains(&chars) || window.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_window",
            format!(
                "a window's label is 1 to {WINDOW_CHARS_MAX} characters without control characters"
            ),
        ));
    }
    Ok(window.to_string())
}

fn today() -> u32 {
    china_date(crate::now_ms())
}

/// A licence's public record: status now, latest version, issuer, seal, history.
#[utoipa::path(get, path = "/v1/licences/{id}", tag = "licences",
    params(("id" = String, Path, description = "Licence identifier (GB/T 36904)"), ProofParam),
    responses(
        (status = 200, description = "The public record; with proof=true also its proof bundle, the record then holding as of the bundle's block", body = LicenceRecord),
        (status = 400, description = "Malformed identifier", body = xinlian_core::api::ErrorResponse),
        (status = 404, description = "No such licence (a proven absence comes with the verify call)", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "proof=true and this node holds no certificate for its head yet (certificate_pending) or no block (no_certified_block)", body = xinlian_core::api::ErrorResponse),
        (status = 422, description = "proof=true and the answer is derived from more state entries than a proof bundle carries (proof_too_large)", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn record(
    State(chain): State<Arc<Chain>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(param): ApiQuery<ProofParam>,
) -> Result<Json<LicenceRecord>, ApiError> {
    let id = parse_id(&id)?;
    let shown = id.to_string();
    let not_found = || ApiError::not_found("licence_not_found", format!("no licence {shown}"));
    if !param.proof {
        let record = blocking(&chain, move |c| {
            Ok(LicenceReader::new(c.storage()).record(&id, today())?)
        })
        .await?;
        return record.map(Json).ok_or_else(not_found);
    }
    let query = ProvenQuery::Licence { id: id.clone() };
    let (mut record, bundle) = proof::derive(&chain, move |state, block_ms| {
        Ok(LicenceReader::new(state).record(&id, china_date(block_ms))?)
    })
    .await?
    .certify_found(&chain, query)
    .await?
    .ok_or_else(not_found)?;
    record.proof = Some(Box::new(bundle));
    Ok(Json(record))
}

/// A verdict on a presented licence: genuine, in force, latest; with the reasons.
#[utoipa::path(post, path = "/v1/licences/verify", tag = "licences",
    request_body = VerifyRequest,
    params(ProofParam),
    responses(
        (status = 200, description = "The verdict (also for unknown licences: genuine false). Without document_digest the document is not checked: document_matches is null, genuine and acceptable are false, record_genuine says whether the record and its seal check out. With proof=true also its proof bundle (proving an unknown licence absent), the verdict then holding as of the bundle's block", body = Verdict),
        (status = 400, description = "Malformed request; invalid_licence_id for a malformed identifier, with the same message as GET /v1/licences/{id}", body = xinlian_core::api::ErrorResponse),
        (status = 415, description = "Not Content-Type: application/json", body = xinlian_core::api::ErrorResponse),
        (status = 503, description = "proof=true and this node holds no certificate for its head yet (certificate_pending) or no block (no_certified_block)", body = xinlian_core::api::ErrorResponse),
        (status = 422, description = "proof=true and the answer is derived from more state entries than a proof bundle carries (proof_too_large)", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn verify(
    State(chain): State<Arc<Chain>>,
    Extension(counter): Extension<Arc<Verifications>>,
    uri: axum::http::Uri,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<Verdict>, ApiError> {
    let param: ProofParam = ApiQuery::from_uri(&uri)?;
    let window = window_label(body.window.as_deref())?;
    let request = VerifyRequest {
        id: parse_id(&body.id)?,
        document_digest: body.document_digest,
        window: None,
    };
    let count = move |c: &Chain, verdict: &Verdict| {
        counter.count(
            c.storage(),
            crate::now_ms(),
            ["api", outcome(verdict), &window],
        );
    };
    if !param.proof {
        let verdict = blocking(&chain, move |c| {
            let verdict = LicenceReader::new(c.storage()).verify(&request, today())?;
            count(c, &verdict);
            Ok(verdict)
        })
        .await?;
        return Ok(Json(verdict));
    }
    let query = ProvenQuery::LicenceVerdict {
        id: request.id.clone(),
        document_digest: request.document_digest,
    };
    let proving = proof::derive(&chain, move |state, block_ms| {
        Ok(LicenceReader::new(state).verify(&request, china_date(block_ms))?)
    })
    .await?;
    let (mut verdict, bundle) = proving.certify(&chain, query).await?;
    count(&chain, &verdict);
    verdict.proof = Some(Box::new(bundle));
    Ok(Json(verdict))
}

/// How the console counts a verdict.
fn outcome(verdict: &Verdict) -> &'static str {
    if verdict.acceptable {
        "acceptable"
    } else if verdict.status.is_none() {
        "unknown"
    } else {
        "not_acceptable"
    }
}

/// A verdict on the QR code a holder's phone shows: the licence, its document, and whether the
/// holder signed the code just now. Each code is accepted once.
#[utoipa::path(post, path = "/v1/licences/verify-qr", tag = "licences",
    request_body = VerifyQrRequest,
    responses(
        (status = 200, description = "The verdict, with holder_present", body = Verdict),
        (status = 400, description = "Not a QR payload (invalid_qr), or its identifier is malformed (invalid_licence_id)", body = xinlian_core::api::ErrorResponse),
        (status = 415, description = "Not Content-Type: application/json", body = xinlian_core::api::ErrorResponse),
        (status = 409, description = "This QR code was already shown", body = xinlian_core::api::ErrorResponse),
    ))]
pub(super) async fn verify_qr(
    State(chain): State<Arc<Chain>>,
    axum::Extension(guard): axum::Extension<Arc<super::signed::Guard>>,
    Extension(counter): Extension<Arc<Verifications>>,
    ApiJson(request): ApiJson<VerifyQrRequest>,
) -> Result<Json<Verdict>, ApiError> {
    // A well-formed code with a broken identifier gets the identifier's own error, as on the
    // other routes.
    if let ["XLV1", id, ..] = request.qr.split('|').collect::<Vec<_>>().as_slice() {
        parse_id(id)?;
    }
    let qr = QrPayload::parse(&request.qr)
        .map_err(|e| ApiError::bad_request("invalid_qr", e.to_string()))?;
    let challenge: [u8; 16] = hex::decode(&request.challenge)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_challenge", "the challenge is 32 hex digits".into())
        })?;
    let (nonce, licence) = (qr.nonce, qr.id.to_string());
    let window = window_label(request.window.as_deref())?;
    let verdict = blocking(&chain, move |c| {
        let verdict =
            LicenceReader::new(c.storage()).verify_qr(&qr, &challenge, today(), crate::now_ms())?;
        counter.count(
            c.storage(),
            crate::now_ms(),
            ["qr", outcome(&verdict), &window],
        );
        Ok(verdict)
    })
    .await?;
    // Only a code the holder really signed uses up its nonce: a forged one must not block the
    // holder's next code.
    if verdict.holder_present == Some(true) {
        guard.accept_nonce(&chain, &licence, nonce)?;
    }
    Ok(Json(verdict))
}

/// Options of the window page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    /// Digest of the presented document (64 hex digits).
    digest: Option<String>,
    /// The window showing the page (its label, as on `POST /v1/licences/verify`).
    window: Option<String>,
}

/// The window page: the verdict in large type, green or red.
pub(super) async fn page(
    State(chain): State<Arc<Chain>>,
    Extension(counter): Extension<Arc<Verifications>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Response {
    let Ok(id) = id.parse::<LicenceId>() else {
        return respond(
            StatusCode::BAD_REQUEST,
            &verdict_page(
                None,
                &format!(
                    "“{}”不是有效的证照标识：可能输错或已损坏，请重新扫码或重新输入",
                    escape(&id)
                ),
                "",
            ),
        );
    };
    let digest = match query.digest.as_deref().map(|d| Hash::from_hex(d).ok()) {
        Some(None) => {
            return respond(
                StatusCode::BAD_REQUEST,
                &verdict_page(None, "文件摘要格式错误（应为 64 位十六进制）", ""),
            );
        }
        Some(Some(d)) => Some(d),
        None => None,
    };
    let Ok(window) = window_label(query.window.as_deref()) else {
        return respond(
            StatusCode::BAD_REQUEST,
            &verdict_page(None, "窗口名称应为 1 至 64 个字符", ""),
        );
    };
    let request = VerifyRequest {
        id,
        document_digest: digest,
        window: None,
    };
    let (proven, checked) = match proven_verdict(&chain, request.clone()).await {
        failed @ PageProof::Failed(_) => {
            // Nothing this node says about the licence is shown: the clerk must not accept it
            // on this node's word.
            let checked = Checked::of(&failed);
            let _ = blocking(&chain, move |c| {
                counter.count(
                    c.storage(),
                    crate::now_ms(),
                    ["page", "not_acceptable", &window],
                );
                Ok(())
            })
            .await;
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                &verdict_page(
                    None,
                    "本节点的答案未通过链上签名核验，请勿据此受理",
                    &checked.notice(),
                ),
            );
        }
        PageProof::Verified(verified) => {
            let checked = Checked::verified(&verified);
            let day = china_date(verified.block_time_ms);
            (Some((verified.answer, day)), checked)
        }
        unavailable => (None, Checked::of(&unavailable)),
    };
    let shown = blocking(&chain, move |c| {
        let today = today();
        let reader = LicenceReader::new(c.storage());
        let (verdict, checked) = match proven {
            Some((verdict, day)) if day == today => (verdict, checked),
            // Proven as of another day (no block since midnight): it stands if today's date
            // gives the same verdict (an expiry may fall in between); if not, today's verdict,
            // said to be unverified.
            Some((verdict, day)) => {
                let now = reader.verify(&request, today)?;
                if now == verdict {
                    (now, checked)
                } else {
                    let reason = format!(
                        "最近的已签名区块在 {}-{:02}-{:02}，按今日日期判定的结果未经签名核验",
                        day / 10_000,
                        day / 100 % 100,
                        day % 100
                    );
                    (now, Checked::Unverified(reason))
                }
            }
            None => (reader.verify(&request, today)?, checked),
        };
        counter.count(
            c.storage(),
            crate::now_ms(),
            ["page", outcome(&verdict), &window],
        );
        Ok((verdict, checked))
    })
    .await;
    match shown {
        Ok((verdict, checked)) => respond(
            StatusCode::OK,
            &verdict_page(Some(&verdict), "", &checked.notice()),
        ),
        Err(e) => e.into_response(),
    }
}

/// The verdict for the window page, proven and checked as a client would check it.
async fn proven_verdict(chain: &Arc<Chain>, request: VerifyRequest) -> PageProof<Verdict> {
    let query = ProvenQuery::LicenceVerdict {
        id: request.id.clone(),
        document_digest: request.document_digest,
    };
    let proven = match proof::derive(chain, move |state, block_ms| {
        Ok(LicenceReader::new(state).verify(&request, china_date(block_ms))?)
    })
    .await
    {
        Ok(proving) => proving.certify(chain, query).await,
        Err(unavailable) => Err(unavailable),
    };
    proof::check_for_page(chain, proven, |mut verdict: Verdict, bundle, trust| {
        verdict.proof = Some(Box::new(bundle));
        xinlian_contracts::views::verify::verify_verdict(&verdict, trust)
    })
    .await
}

const STYLE: &str = "body{font-family:-apple-system,'PingFang SC','Noto Sans CJK SC','WenQuanYi Zen Hei','Microsoft YaHei',sans-serif;margin:0;background:#f4f6f8;color:#1f2933}\
header{background:#1f3a93;color:#fff;padding:14px 18px;font-size:18px}\
.verdict{padding:28px 18px;color:#fff;font-size:34px;font-weight:bold;text-align:center}.verdict.ok{background:#2e7d32}.verdict.bad{background:#c62828}.verdict.unchecked{background:#f9a825;color:#1f2933}\
.verdict small{display:block;font-size:18px;font-weight:normal;margin-top:8px}\
section{background:#fff;margin:12px;border-radius:8px;padding:14px 16px;max-width:900px}\
table{width:100%;border-collapse:collapse;font-size:16px}th,td{padding:6px 4px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}th{color:#52606d;font-weight:normal;width:5.5em;white-space:nowrap}td{word-break:break-all}\
ul#reasons{font-size:20px;color:#c62828;margin:0;padding-left:22px}ul#reasons.unchecked{color:#7a4f01}code{word-break:break-all}";

/// The page; `notice` (HTML) says whether the verdict was verified.
fn verdict_page(verdict: Option<&Verdict>, problem: &str, notice: &str) -> String {
    let mut page = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>证照核验</title><style>{STYLE}{PROOF_STYLE}</style></head><body><header>信链 · 电子证照核验</header>"
    );
    let Some(v) = verdict else {
        let _ = write!(
            page,
            "<div id=\"verdict\" class=\"verdict bad\">无法核验<small>{problem}</small></div>{notice}</body></html>"
        );
        return page;
    };
    let in_force = v.status == Some(LicenceStatus::Valid) && v.latest;
    // Green only for a document that was checked. A record in force whose document nobody
    // presented is amber: the clerk must still check the document, not accept the licence.
    let (class, headline) = if v.acceptable {
        ("ok", "✔ 真实有效")
    } else if !v.record_genuine || v.document_matches == Some(false) {
        ("bad", "✘ 证照不真实")
    } else if !in_force || v.holder_present == Some(false) {
        ("bad", "✘ 证照当前不可用")
    } else {
        ("unchecked", "⚠ 未核验证照文件")
    };
    let _ = write!(
        page,
        "<div id=\"verdict\" class=\"verdict {class}\">{headline}<small>{}</small></div>{notice}",
        escape(v.name.as_deref().unwrap_or(""))
    );
    if !v.reasons.is_empty() {
        let _ = write!(page, "<section><ul id=\"reasons\" class=\"{class}\">");
        for reason in &v.reasons {
            let _ = write!(page, "<li>{}</li>", escape(reason));
        }
        page.push_str("</ul></section>");
    }
    page.push_str("<section><table>");
    let mut row = |label: &str, value: String| {
        let _ = write!(page, "<tr><th>{label}</th><td>{}</td></tr>", escape(&value));
    };
    row("证照标识", v.id.to_string());
    if let (Some(status), Some(code)) = (v.status, &v.status_code) {
        row("状态", format!("{}（{code}）", status.label()));
    }
    if let Some(issuer) = &v.issuer {
        row("签发机关", format!("{} {}", issuer.name, issuer.uscc));
    }
    if let Some((id, name)) = &v.seal {
        let valid = if v.seal_valid_at_issue {
            "签发时有效"
        } else {
            "签发时无效"
        };
        row("电子印章", format!("{name}（{id}，{valid}）"));
    }
    if let Some(latest) = &v.latest_id {
        row(
            "最新版本",
            if v.latest {
                "是".to_string()
            } else {
                latest.to_string()
            },
        );
    }
    if let Some(present) = v.holder_present {
        row(
            "持证人亮证",
            if present {
                "持证人本人刚刚出示"
            } else {
                "未通过"
            }
            .to_string(),
        );
    }
    if v.status.is_some() {
        row(
            "出示文件",
            match v.document_matches {
                Some(true) => "与链上记录一致",
                Some(false) => "与链上记录不一致",
                None => "未出示，未核验",
            }
            .to_string(),
        );
    }
    page.push_str("</table></section></body></html>");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(document_matches: Option<bool>, status: LicenceStatus) -> Verdict {
        let id: LicenceId =
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S"
                .parse()
                .unwrap();
        let genuine = document_matches == Some(true);
        Verdict {
            latest_id: Some(id.clone()),
            id,
            record_genuine: true,
            genuine,
            acceptable: genuine && status == LicenceStatus::Valid,
            status: Some(status),
            status_code: Some(status.code().into()),
            latest: true,
            name: Some("营业执照".into()),
            issuer: None,
            seal: None,
            seal_valid_at_issue: true,
            document_matches,
            holder_present: None,
            reasons: Vec::new(),
            proof: None,
        }
    }

    #[test]
    fn green_only_for_a_checked_document() {
        let page = verdict_page(Some(&verdict(Some(true), LicenceStatus::Valid)), "", "");
        assert!(page.contains("verdict ok") && page.contains("真实有效"));
        let page = verdict_page(Some(&verdict(None, LicenceStatus::Valid)), "", "");
        assert!(page.contains("verdict unchecked") && page.contains("未核验证照文件"));
        assert!(!page.contains("真实有效") && page.contains("未出示，未核验"));
        let page = verdict_page(Some(&verdict(None, LicenceStatus::Revoked)), "", "");
        assert!(page.contains("verdict bad") && page.contains("证照当前不可用"));
        let page = verdict_page(Some(&verdict(Some(false), LicenceStatus::Valid)), "", "");
        assert!(page.contains("verdict bad") && page.contains("证照不真实"));
    }
}
