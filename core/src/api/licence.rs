//! JSON bodies of the licence queries and verification (`/v1/licences/...`).

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::ids::Uscc;
use crate::licence::{Licence, LicenceEvent, LicenceId, LicenceStatus, Seal};
use crate::proof::ProofBundle;

/// An organisation as the licence answers name it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRef {
    /// USCC.
    pub uscc: Uscc,
    /// Name (empty when the organisation is not on the chain).
    pub name: String,
}

/// Answer to `GET /v1/licences/{id}`: the public record, no personal data.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceRecord {
    /// The record as stored (the holder appears only as a salted commitment).
    pub licence: Licence,
    /// The status now (expiry derived from the validity window, China time).
    pub status: LicenceStatus,
    /// The national status code, `01` to `07`.
    pub status_code: String,
    /// The status's Chinese label.
    pub status_label: String,
    /// The latest version of this licence.
    pub latest: LicenceId,
    /// The licence type's name.
    pub type_name: String,
    /// The issuer.
    pub issuer: OrgRef,
    /// The seal it was issued under.
    pub seal: Seal,
    /// Its history, oldest first.
    pub history: Vec<LicenceEvent>,
    /// With `?proof=true`: the state entries this record was derived from, proved under a
    /// certified block (`docs/formats.md`); the record then holds as of that block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Box<ProofBundle>>,
}

/// `POST /v1/licences/verify`: an identifier and the digest of the presented document.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The licence identifier.
    pub id: LicenceId,
    /// Digest of the document presented (under the chain's hash suite). Without it only the
    /// record and its seal are checked: the verdict is then neither genuine nor acceptable,
    /// because nothing says the paper or file in front of the window is the one sealed.
    #[serde(default)]
    pub document_digest: Option<Hash>,
    /// The window asking: a label it chooses (1 to 64 characters), under which the node counts
    /// the verifications it answers for the console. Nothing is checked against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// `POST /v1/licences/verify-qr`: the text of the QR code the holder's phone shows.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyQrRequest {
    /// `XLV1|…` (see `xinlian_core::licence::QrPayload`).
    pub qr: String,
    /// The challenge this window displayed for the holder's phone (32 hex digits).
    pub challenge: String,
    /// The window asking, as in [`VerifyRequest::window`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// The verdict a window acts on.
///
/// Three levels, each requiring the one before:
/// - `record_genuine`: what the chain alone can say (the record and its seal);
/// - `genuine`: that, and the document presented matches the record (`document_matches` is
///   `Some(true)`); without a presented document it is `false` and `document_matches` is `None`
///   ("not checked"), so a verdict never vouches for a document nobody looked at;
/// - `acceptable`: genuine, in force and the latest version.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The identifier asked about.
    pub id: LicenceId,
    /// The record on the chain is genuine: recorded, sealed by a seal of its issuer that was
    /// valid when it was recorded, and the seal's signature verifies over the identifier and the
    /// recorded document digest. Says nothing about the document presented.
    pub record_genuine: bool,
    /// The record is genuine and the presented document's digest matches it. `false` when no
    /// document was presented (see `document_matches`).
    pub genuine: bool,
    /// Genuine, in force (status `01`) and the latest version: the window may accept it.
    pub acceptable: bool,
    /// The status now, when recorded.
    pub status: Option<LicenceStatus>,
    /// Its national code.
    pub status_code: Option<String>,
    /// Whether it is the latest version.
    pub latest: bool,
    /// The latest version's identifier.
    pub latest_id: Option<LicenceId>,
    /// The licence's name (e.g. 营业执照).
    pub name: Option<String>,
    /// The issuer.
    pub issuer: Option<OrgRef>,
    /// The seal's id and name.
    pub seal: Option<(String, String)>,
    /// Whether the seal was valid when the licence was recorded.
    pub seal_valid_at_issue: bool,
    /// Whether the presented document's digest matches the record; `None` when no document was
    /// presented, i.e. the document was not checked.
    pub document_matches: Option<bool>,
    /// For a QR code: whether it was signed just now by the holder the licence names.
    pub holder_present: Option<bool>,
    /// Why it is not acceptable, in Chinese, for the window clerk, with what to do when the
    /// document was not checked.
    pub reasons: Vec<String>,
    /// With `?proof=true`: the state entries this verdict was derived from, proved under a
    /// certified block; the verdict then holds as of that block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Box<ProofBundle>>,
}
