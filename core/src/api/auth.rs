//! JSON bodies of the authorisation queries (`/v1/auth/...`) and the signed-request headers.

use serde::{Deserialize, Serialize};

use crate::auth::{Grant, GrantUse};
use crate::encoding::encode;
use crate::ids::Uscc;
use crate::{Hash, HashSuite};

/// Header carrying the signer's public key.
pub const SIGNED_KEY_HEADER: &str = "x-xinlian-key";
/// Header carrying the signing time (ms since the epoch).
pub const SIGNED_TIME_HEADER: &str = "x-xinlian-time";
/// Header carrying the signature (128 hex digits).
pub const SIGNED_SIGNATURE_HEADER: &str = "x-xinlian-signature";
/// Header naming the node the request is for (its `node_id`, as `/v1/status` gives it).
pub const SIGNED_AUDIENCE_HEADER: &str = "x-xinlian-audience";
/// Header carrying the request's nonce (32 hex digits, fresh for every request).
pub const SIGNED_NONCE_HEADER: &str = "x-xinlian-nonce";
/// How far a signed request's time may be from the node's clock.
pub const SIGNED_WINDOW_MS: u64 = 60_000;
/// The tag of what a signed request signs.
pub const SIGNED_QUERY_DOMAIN: &str = "xinlian/query/v2";

/// What a signed request is bound to besides its method, path and body.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequestContext<'a> {
    /// The chain's id: a request signed for one chain is refused on another.
    pub chain_id: &'a str,
    /// The node the request is for (its `node_id`): a request captured at one node is refused
    /// at every other.
    pub audience: &'a str,
    /// When it was signed (ms since the epoch): refused outside [`SIGNED_WINDOW_MS`].
    pub time_ms: u64,
    /// Fresh per request, so two identical requests in the same millisecond (an Ed25519
    /// signature is deterministic) are two requests, and each is accepted once.
    pub nonce: [u8; 16],
}

/// The bytes a client signs for a request: the tag, the chain id, the audience node, the time,
/// the nonce, the method, the path with its query, and the digest of the body (empty for GET).
pub fn signed_request_bytes(
    suite: HashSuite,
    context: &SignedRequestContext<'_>,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Vec<u8> {
    encode(&(
        SIGNED_QUERY_DOMAIN,
        context.chain_id,
        context.audience,
        context.time_ms,
        context.nonce,
        method,
        path_and_query,
        suite.digest(body),
    ))
}

/// A grant with its uses, a page at a time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    /// The grant (its `uses` is how many there are in all).
    pub grant: Grant,
    /// Uses, oldest first: all of them, or a page when `uses_next` is set.
    pub uses: Vec<GrantUse>,
    /// The link to the next page of uses (`/v1/auth/grants/{id}?after=<cursor>`), absent when
    /// `uses` ends with the last one. Nothing is cut off silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses_next: Option<String>,
    /// With `?proof=true`: the state entries this page was derived from (the grant with its
    /// count of uses, and each use of the page by its sequence number), proved under a certified
    /// block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Box<crate::proof::ProofBundle>>,
}

/// Answer to the grant listings, a page at a time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantsResponse {
    /// Grants, in the order of their ids; each with its first page of uses.
    pub grants: Vec<GrantView>,
    /// The link to the next page of grants (the same query with `after=<cursor>`), absent on
    /// the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `POST /v1/auth/resolve`: the use code a holder told the window.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// 8 digits.
    pub code: String,
}

/// One line of a usage report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCount {
    /// A matter code, or a licence type code.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Uses.
    pub uses: u64,
}

/// Answer to `GET /v1/auth/report`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    /// The department.
    pub org: Uscc,
    /// First day (`YYYY-MM-DD`, China Standard Time: a use at 23:30 in Beijing counts on that
    /// day).
    pub from: String,
    /// Last day.
    pub to: String,
    /// Uses in all.
    pub total: u64,
    /// By matter.
    pub by_matter: Vec<UsageCount>,
    /// By licence type (uses of data items are not counted here).
    pub by_licence_type: Vec<UsageCount>,
    /// The grants used.
    pub grants: Vec<Hash>,
}
