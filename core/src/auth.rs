//! Authorisation on chain (链上授权办事): a holder lets a department (or one of its members) use
//! licences or data items for one matter, for a limited time; every use is recorded as evidence
//! the holder can see.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::encoding::encode;
use crate::ids::Uscc;
use crate::licence::LicenceId;
use crate::{Hash, HashSuite};

/// Longest grant window.
pub const GRANT_DAYS_MAX: u64 = 366;
/// Most licences or data items in one grant's scope.
pub const SCOPE_ITEMS_MAX: usize = 64;
/// The tag of a use code's digest.
pub const USE_CODE_DOMAIN: &str = "xinlian/use-code/v1";

/// Who a grant is for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grantee {
    /// Any member of a department.
    Org(Uscc),
    /// One member (an agent, a named clerk).
    Member(PublicKey),
}

/// What the grantee may do with an item.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum Action {
    /// See it.
    View = 0,
    /// Verify it.
    Verify = 1,
    /// Download a copy.
    Download = 2,
}

/// What a grant covers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Licences (any version of each).
    #[serde(default)]
    pub licences: Vec<LicenceId>,
    /// Named data items, e.g. `社保缴纳记录`.
    #[serde(default)]
    pub data_items: Vec<String>,
    /// What may be done.
    pub actions: Vec<Action>,
}

/// The matter the grant is for (事项).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matter {
    /// Matter code (事项编码).
    pub code: String,
    /// Matter name.
    pub name: String,
    /// Business serial (办件流水号).
    pub serial: String,
}

/// A grant as the chain keeps it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Grant {
    /// Its id (the granting transaction's hash).
    pub id: Hash,
    /// The grantor's key.
    pub grantor: PublicKey,
    /// The grantee.
    pub grantee: Grantee,
    /// What it covers.
    pub scope: Scope,
    /// For which matter.
    pub matter: Matter,
    /// Why (shown to the holder).
    pub purpose: String,
    /// Valid from (ms).
    pub valid_from_ms: u64,
    /// Valid to (ms, exclusive).
    pub valid_to_ms: u64,
    /// Most uses, if limited.
    pub max_uses: Option<u32>,
    /// Uses so far.
    pub uses: u32,
    /// When it was revoked.
    pub revoked_at_ms: Option<u64>,
    /// Digest of the use code ([`use_code_digest`]); the code itself never goes on chain.
    pub use_code_digest: Hash,
    /// Block time it was granted (ms).
    pub granted_at_ms: u64,
}

/// One recorded use (存证).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GrantUse {
    /// The grant.
    pub grant: Hash,
    /// Why, for this use.
    pub reason: String,
    /// The operator's key.
    pub operator: PublicKey,
    /// The operator's department.
    pub org: Uscc,
    /// The licence used (with its version), if any.
    pub licence: Option<LicenceId>,
    /// The data item used, if any.
    pub data_item: Option<String>,
    /// What was done.
    pub action: Action,
    /// Digest of what was returned.
    pub result_digest: Hash,
    /// Block time (ms).
    pub at_ms: u64,
    /// The transaction.
    pub tx: Hash,
}

/// Methods of the authorisation contract.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // a wire type, decoded once per transaction
pub enum AuthCall {
    /// The holder grants access.
    Grant {
        /// Who.
        grantee: Grantee,
        /// What.
        scope: Scope,
        /// For which matter.
        matter: Matter,
        /// Why.
        purpose: String,
        /// From (ms).
        valid_from_ms: u64,
        /// To (ms, exclusive).
        valid_to_ms: u64,
        /// Most uses.
        #[serde(default)]
        max_uses: Option<u32>,
        /// Digest of the 8-digit use code the holder tells the window ([`use_code_digest`]).
        use_code_digest: Hash,
    },
    /// The grantor revokes a grant, from the next block on.
    Revoke {
        /// The grant.
        grant: Hash,
    },
    /// The grantee records a use.
    Use {
        /// The grant.
        grant: Hash,
        /// Why.
        reason: String,
        /// The licence used (its identifier with the version used).
        #[serde(default)]
        licence: Option<LicenceId>,
        /// The data item used.
        #[serde(default)]
        data_item: Option<String>,
        /// What was done.
        action: Action,
        /// Digest of what was returned.
        result_digest: Hash,
    },
}

impl AuthCall {
    /// `auth.method`.
    pub fn name(&self) -> &'static str {
        match self {
            AuthCall::Grant { .. } => "auth.grant",
            AuthCall::Revoke { .. } => "auth.revoke",
            AuthCall::Use { .. } => "auth.use",
        }
    }
}

/// The digest of a use code as the chain stores it: bound to the grantee, so the same code for
/// two departments does not collide and a code is useless to anyone else.
pub fn use_code_digest(suite: HashSuite, grantee: &Grantee, code: &str) -> Hash {
    suite.digest(&encode(&(USE_CODE_DOMAIN, grantee, code)))
}

/// Whether `code` has the form of a use code: 8 digits.
pub fn is_use_code(code: &str) -> bool {
    code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit())
}
