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
/// How far a signed request's time may be from the node's clock.
pub const SIGNED_WINDOW_MS: u64 = 60_000;
/// The tag of what a signed request signs.
pub const SIGNED_QUERY_DOMAIN: &str = "xinlian/query/v1";

/// The bytes a client signs for a request: the tag, the chain id, the method, the path with its
/// query, the time, and the digest of the body (empty for GET). The chain id keeps a request
/// signed for one chain from being replayed on another.
pub fn signed_request_bytes(
    suite: HashSuite,
    chain_id: &str,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
    body: &[u8],
) -> Vec<u8> {
    encode(&(
        SIGNED_QUERY_DOMAIN,
        chain_id,
        method,
        path_and_query,
        time_ms,
        suite.digest(body),
    ))
}

/// A grant with its uses.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    /// The grant.
    pub grant: Grant,
    /// Every use, oldest first.
    pub uses: Vec<GrantUse>,
}

/// Answer to the grant listings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantsResponse {
    /// Grants, oldest first.
    pub grants: Vec<GrantView>,
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
    /// First day (`YYYY-MM-DD`, UTC).
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
