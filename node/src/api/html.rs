//! What the server-rendered pages (scan page, window page) share: HTML answers, escaping, China
//! time, and the notice that says whether the answer shown was verified against the voters'
//! signatures.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use xinlian_contracts::views::verify::VerifiedAnswer;

use super::ApiError;
use super::proof::PageProof;

/// An HTML answer.
pub(super) fn respond(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM` (UTC+8, the users' time zone) of a block time.
pub(super) fn china_time(ms: u64) -> String {
    let secs = ms / 1000 + 8 * 3600;
    let days = (secs / 86_400) as i64;
    let (hh, mm) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let (y, m, d) = xinlian_core::calendar::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}")
}

/// Whether the answer a page shows was checked against the voters' signatures.
#[derive(Debug)]
pub(super) enum Checked {
    /// It is the answer derived again from state proven under a certified block.
    Verified {
        /// The block.
        height: u64,
        /// Its time.
        block_time_ms: u64,
        /// Voters who signed its certificate.
        signers: usize,
        /// Voters in force.
        voters: usize,
    },
    /// It is this node's answer, unverified, for this reason (in Chinese, for the reader).
    Unverified(String),
    /// Its proof failed: the page shows no answer.
    Failed {
        /// The proof error's code.
        code: &'static str,
        /// Why, in the SDK's words.
        reason: String,
    },
}

impl Checked {
    /// What `proof` says, for a page.
    pub(super) fn of<T>(proof: &PageProof<T>) -> Self {
        match proof {
            PageProof::Verified(v) => Checked::verified(v),
            PageProof::Unavailable(e) => Checked::Unverified(unavailable_reason(e)),
            PageProof::Failed(e) => Checked::Failed {
                code: e.code(),
                reason: e.to_string(),
            },
        }
    }

    /// What a verified answer says, for a page.
    pub(super) fn verified<T>(v: &VerifiedAnswer<T>) -> Self {
        Checked::Verified {
            height: v.height,
            block_time_ms: v.block_time_ms,
            signers: v.signers,
            voters: v.voters,
        }
    }

    /// The notice under the page's headline.
    pub(super) fn notice(&self) -> String {
        match self {
            Checked::Verified {
                height,
                block_time_ms,
                signers,
                voters,
            } => format!(
                "<div id=\"proof\" class=\"proof verified\" data-height=\"{height}\" data-signers=\"{signers}\" data-voters=\"{voters}\">\
                 ✔ 已核验：与第 {height} 块（{}）的链上状态一致，该块经 {voters} 个部门节点中的 {signers} 个签名确认</div>",
                china_time(*block_time_ms)
            ),
            Checked::Unverified(reason) => format!(
                "<div id=\"proof\" class=\"proof unverified\">⚠ 未经签名核验：{}。以下为本节点的答案。</div>",
                escape(reason)
            ),
            Checked::Failed { code, reason } => format!(
                "<div id=\"proof\" class=\"proof failed\" data-code=\"{code}\">✘ 核验未通过：本节点的答案与各部门签名确认的链上状态不符，请勿采信；请改用其他节点查询，并告知本节点的运维部门。<small>{code}：{}</small></div>",
                escape(reason)
            ),
        }
    }
}

/// Why no proof could be had, for a reader.
fn unavailable_reason(e: &ApiError) -> String {
    let body = e.body();
    match body.code.as_str() {
        "certificate_pending" => "本节点尚未收齐最新区块的部门签名，请稍后刷新".into(),
        "no_certified_block" => "链上尚无区块".into(),
        "proof_too_large" => "答案涉及的链上记录过多，页面无法附带证明".into(),
        code => format!("暂时无法取得证明（{code}）"),
    }
}

/// The notice's look, for each page's stylesheet.
pub(super) const PROOF_STYLE: &str = ".proof{padding:10px 16px;font-size:15px;line-height:1.5}.proof.verified{background:#e8f5e9;color:#1b5e20}\
.proof.unverified{background:#fff8e1;color:#7a4f01}.proof.failed{background:#c62828;color:#fff;font-weight:bold}.proof small{display:block;font-weight:normal;font-size:12px;word-break:break-all}";

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_in_china_time() {
        assert_eq!(super::china_time(0), "1970-01-01 08:00");
    }

    #[test]
    fn the_proof_notice_names_height_signers_and_escapes_reasons() {
        let verified = super::Checked::Verified {
            height: 64,
            block_time_ms: 0,
            signers: 3,
            voters: 4,
        }
        .notice();
        assert!(
            verified.contains("第 64 块（1970-01-01 08:00）"),
            "{verified}"
        );
        assert!(
            verified.contains("4 个部门节点中的 3 个签名确认"),
            "{verified}"
        );
        let failed = super::Checked::Failed {
            code: "bad_state_proof",
            reason: "key <script>".into(),
        }
        .notice();
        assert!(failed.contains("proof failed") && failed.contains("key &lt;script&gt;"));
        let unverified = super::Checked::Unverified("<b>".into()).notice();
        assert!(unverified.contains("&lt;b&gt;") && !unverified.contains("<b>"));
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
