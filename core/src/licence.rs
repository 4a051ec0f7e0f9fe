//! Electronic licences (电子证照) under electronic seals (电子印章): identifiers in the GB/T 36904
//! form, seals, licence types, licence records and the calls that change them. The chain keeps
//! statuses, commitments and signatures; personal data stays with the holder and the issuer.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{PublicKey, Signature};
use crate::encoding::encode;
use crate::ids::{Uscc, mod37_36_check};
use crate::{Error, Hash, Result};

/// The fixed root of electronic licence identifiers.
pub const LICENCE_ID_ROOT: &str = "1.2.156.3005.2";
/// Longest serial part of an identifier.
pub const SERIAL_CHARS_MAX: usize = 64;
/// What a seal signs for a licence: this tag, the identifier and the document's digest.
pub const SEAL_SIGN_DOMAIN: &str = "xinlian/licence-seal/v1";

fn invalid(text: &str, reason: &str) -> Error {
    Error::InvalidIdentifier {
        value: text.chars().take(160).collect(),
        reason: reason.to_string(),
    }
}

/// A licence type code (证照类型代码): the defining authority's USCC and a 3-digit sequence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct LicenceTypeCode {
    /// The defining authority.
    pub authority: Uscc,
    /// Its sequence, 0 to 999.
    pub seq: u16,
}

impl fmt::Display for LicenceTypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:03}", self.authority.as_str(), self.seq)
    }
}

impl FromStr for LicenceTypeCode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        if text.len() != 21 || !text.is_ascii() {
            return Err(invalid(text, "a type code is a USCC and 3 digits"));
        }
        let (uscc, seq) = text.split_at(18);
        if !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(text, "a type code ends in 3 digits"));
        }
        Ok(LicenceTypeCode {
            authority: Uscc::parse(uscc)?,
            seq: seq.parse().map_err(|_| invalid(text, "sequence"))?,
        })
    }
}

/// An electronic licence identifier (电子证照标识, GB/T 36904-2018):
/// `1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct LicenceId {
    /// The licence type.
    pub type_code: LicenceTypeCode,
    /// The issuing body.
    pub issuer: Uscc,
    /// The licence number or another unique string (digits and upper-case letters).
    pub serial: String,
    /// Version, 1 to 999; a renewal or change takes the next.
    pub version: u16,
}

impl LicenceId {
    fn body(&self) -> String {
        format!(
            "{}{}{}{:03}",
            self.type_code,
            self.issuer.as_str(),
            self.serial,
            self.version
        )
    }

    /// The same licence at another version.
    pub fn with_version(&self, version: u16) -> LicenceId {
        LicenceId {
            version,
            ..self.clone()
        }
    }

    /// Checks the parts' forms (the serial's alphabet and length, the version's range).
    pub fn validate(&self) -> Result<()> {
        let ok_serial = !self.serial.is_empty()
            && self.serial.len() <= SERIAL_CHARS_MAX
            && self
                .serial
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if !ok_serial {
            return Err(invalid(
                &self.serial,
                "the serial is 1 to 64 digits and upper-case letters",
            ));
        }
        if !(1..=999).contains(&self.version) {
            return Err(invalid(&self.version.to_string(), "version is 001 to 999"));
        }
        Ok(())
    }
}

impl fmt::Display for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let check = mod37_36_check(&self.body()).unwrap_or('0');
        write!(
            f,
            "{LICENCE_ID_ROOT}.{}.{}.{}.{:03}.{check}",
            self.type_code,
            self.issuer.as_str(),
            self.serial,
            self.version
        )
    }
}

impl FromStr for LicenceId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let rest = text
            .strip_prefix(LICENCE_ID_ROOT)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| invalid(text, "an identifier starts with 1.2.156.3005.2."))?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts.as_slice() else {
            return Err(invalid(
                text,
                "expected 5 parts after the root: type, issuer, serial, version, check",
            ));
        };
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(text, "the version is 3 digits"));
        }
        let id = LicenceId {
            type_code: type_code.parse()?,
            issuer: Uscc::parse(issuer)?,
            serial: serial.to_string(),
            version: version.parse().map_err(|_| invalid(text, "version"))?,
        };
        id.validate()?;
        let expected = mod37_36_check(&id.body()).ok_or_else(|| invalid(text, "alphabet"))?;
        if check.len() != 1 || !check.starts_with(expected) {
            return Err(invalid(text, crate::ids::MISTYPED));
        }
        Ok(id)
    }
}

crate::text_serde::serde_as_text!(
    LicenceTypeCode,
    "^[0-9A-HJ-NPQRTUWXY]{18}[0-9]{3}$",
    "Licence type code: defining authority's USCC and 3 digits"
);
crate::text_serde::serde_as_text!(
    LicenceId,
    "^1\\.2\\.156\\.3005\\.2\\.[0-9A-Z]{21}\\.[0-9A-Z]{18}\\.[0-9A-Z]{1,64}\\.[0-9]{3}\\.[0-9A-Z]$",
    "Electronic licence identifier (GB/T 36904-2018) with its MOD 37,36 check character"
);

/// The bytes a seal signs for licence `id` with document digest `digest`.
pub fn seal_signing_bytes(id: &LicenceId, digest: &Hash) -> Vec<u8> {
    encode(&(SEAL_SIGN_DOMAIN, id.to_string(), digest))
}

/// What a holder's QR code signs.
pub const QR_SIGN_DOMAIN: &str = "xinlian/licence-qr/v1";
/// How old a QR code may be when a window checks it.
pub const QR_FRESH_MS: u64 = 120_000;

/// The QR code a holder's phone shows: the identifier, the document's digest, the time and the
/// window's challenge (a random nonce the window displays and the phone scans), signed by the
/// holder's key the licence names. A window accepts a code only for its own challenge, within
/// [`QR_FRESH_MS`], and once; so a screenshot is useless at another window, or later.
///
/// Text form: `XLV1|<identifier>|<digest hex>|<time ms>|<nonce, 32 hex>|<signature, 128 hex>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrPayload {
    /// The licence.
    pub id: LicenceId,
    /// The document's digest.
    pub document_digest: Hash,
    /// When the phone made it (ms).
    pub time_ms: u64,
    /// The window's challenge.
    pub nonce: [u8; 16],
    /// The holder's signature over [`QrPayload::signing_bytes`].
    pub signature: Signature,
}

impl QrPayload {
    /// The bytes the holder signs.
    pub fn signing_bytes(id: &LicenceId, digest: &Hash, time_ms: u64, nonce: &[u8; 16]) -> Vec<u8> {
        encode(&(QR_SIGN_DOMAIN, id.to_string(), digest, time_ms, nonce))
    }

    /// The text the QR code holds.
    pub fn to_text(&self) -> String {
        format!(
            "XLV1|{}|{}|{}|{}|{}",
            self.id,
            self.document_digest,
            self.time_ms,
            hex::encode(self.nonce),
            hex::encode(self.signature.0)
        )
    }

    /// Parses the text of a QR code.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| invalid(text, why);
        let parts: Vec<&str> = text.split('|').collect();
        let ["XLV1", id, digest, time, nonce, signature] = parts.as_slice() else {
            return Err(bad("expected XLV1|identifier|digest|time|nonce|signature"));
        };
        let nonce: [u8; 16] = hex::decode(nonce)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("the nonce is 32 hex digits"))?;
        let signature: [u8; 64] = hex::decode(signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("the signature is 128 hex digits"))?;
        Ok(QrPayload {
            id: id.parse()?,
            document_digest: Hash::from_hex(digest)?,
            time_ms: time
                .parse()
                .map_err(|_| bad("the time is ms since the epoch"))?,
            nonce,
            signature: Signature(signature),
        })
    }
}

/// Kinds of seal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum SealKind {
    /// The organisation's official seal (公章).
    Official = 0,
    /// A licence seal (证照专用章).
    Licence = 1,
    /// A business seal (业务专用章).
    Business = 2,
    /// Other.
    Other = 3,
}

/// A registered electronic seal (GB/T 38540's seal, as the chain keeps it).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Seal {
    /// Seal id (esID), unique on the chain.
    pub id: String,
    /// Its name, e.g. 郑州市市场监督管理局证照专用章.
    pub name: String,
    /// Its kind.
    pub kind: SealKind,
    /// The owning organisation.
    pub org: Uscc,
    /// The key that signs with it.
    pub public_key: PublicKey,
    /// Valid from (ms since the epoch).
    pub valid_from_ms: u64,
    /// Valid until (ms, exclusive).
    pub valid_to_ms: u64,
    /// Digest of the seal's picture.
    pub picture_digest: Option<Hash>,
    /// When it was revoked, and why.
    pub revoked: Option<(u64, String)>,
}

impl Seal {
    /// Whether it could seal at time `ms`.
    pub fn valid_at(&self, ms: u64) -> bool {
        self.valid_from_ms <= ms
            && ms < self.valid_to_ms
            && self.revoked.as_ref().is_none_or(|(at, _)| ms < *at)
    }
}

/// A licence type in the registry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LicenceType {
    /// Its code.
    pub code: LicenceTypeCode,
    /// Its name, e.g. 营业执照.
    pub name: String,
    /// Organisations that may issue it.
    pub issuers: Vec<Uscc>,
    /// Face fields every licence of this type must carry.
    pub required_fields: Vec<String>,
    /// The organisation that registered it.
    pub registered_by: Uscc,
}

/// What kind of id the holder has (CZZTDMLXDM).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum HolderIdType {
    /// `111`: a citizen identity number.
    Citizen = 0,
    /// `001`: a USCC.
    Uscc = 1,
}

impl HolderIdType {
    /// The national code.
    pub fn code(self) -> &'static str {
        match self {
            HolderIdType::Citizen => "111",
            HolderIdType::Uscc => "001",
        }
    }
}

/// A face field: its name, and a salted digest of its value (the value stays off the chain).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaceField {
    /// The field's name, e.g. 经营范围.
    pub name: String,
    /// Salted digest of its value.
    pub digest: Hash,
}

/// A licence's status as stored. Expiry (`05`) is never stored: it is derived from the validity
/// window and the time of the question.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum LicenceState {
    /// `01` valid.
    Valid = 1,
    /// `02` suspended (暂扣).
    Suspended = 2,
    /// `03` rescinded (撤销).
    Rescinded = 3,
    /// `04` cancelled (注销).
    Cancelled = 4,
    /// `06` transferred out (转出).
    TransferredOut = 6,
    /// `07` revoked (吊销).
    Revoked = 7,
}

impl LicenceState {
    /// The name in JSON (snake case), as the console's aggregates key it.
    pub fn name(self) -> &'static str {
        match self {
            LicenceState::Valid => "valid",
            LicenceState::Suspended => "suspended",
            LicenceState::Rescinded => "rescinded",
            LicenceState::Cancelled => "cancelled",
            LicenceState::TransferredOut => "transferred_out",
            LicenceState::Revoked => "revoked",
        }
    }
}

/// The status a verifier sees: the stored state, or `05` expired when the window has passed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// Recorded, but its validity has not begun (our addition to the national codes: `00`).
    NotYetValid,
    /// `01`.
    Valid,
    /// `02`.
    Suspended,
    /// `03`.
    Rescinded,
    /// `04`.
    Cancelled,
    /// `05`.
    Expired,
    /// `06`.
    TransferredOut,
    /// `07`.
    Revoked,
}

impl LicenceStatus {
    /// The national status code.
    pub fn code(self) -> &'static str {
        match self {
            LicenceStatus::NotYetValid => "00",
            LicenceStatus::Valid => "01",
            LicenceStatus::Suspended => "02",
            LicenceStatus::Rescinded => "03",
            LicenceStatus::Cancelled => "04",
            LicenceStatus::Expired => "05",
            LicenceStatus::TransferredOut => "06",
            LicenceStatus::Revoked => "07",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            LicenceStatus::NotYetValid => "未到生效日期",
            LicenceStatus::Valid => "有效",
            LicenceStatus::Suspended => "暂扣",
            LicenceStatus::Rescinded => "撤销",
            LicenceStatus::Cancelled => "注销",
            LicenceStatus::Expired => "失效（已过有效期）",
            LicenceStatus::TransferredOut => "转出",
            LicenceStatus::Revoked => "吊销",
        }
    }
}

/// A licence record: public metadata, commitments and the seal signature.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Licence {
    /// Its identifier.
    pub id: LicenceId,
    /// The printed number (证照编号).
    pub number: String,
    /// The licence's name (证照名称).
    pub name: String,
    /// Issue date, `YYYYMMDD`.
    pub issue_date: u32,
    /// Valid from, `YYYYMMDD`.
    pub valid_from: u32,
    /// Valid to, `YYYYMMDD` inclusive; `None` for long-term (长期).
    pub valid_to: Option<u32>,
    /// Holder id type.
    pub holder_id_type: HolderIdType,
    /// Salted SM3 commitment of the holder's id number and name.
    pub holder_commitment: Hash,
    /// The holder's key, when the holder shows the licence as a signed QR code.
    pub holder_key: Option<PublicKey>,
    /// Region (GB/T 2260).
    pub region: u32,
    /// The related matter (关联事项).
    pub matter: String,
    /// Digest of the licence document (OFD, PDF or JSON).
    pub document_digest: Hash,
    /// The seal used.
    pub seal_id: String,
    /// The seal's signature over [`seal_signing_bytes`].
    pub seal_signature: Signature,
    /// Face fields (names and salted value digests).
    pub face: Vec<FaceField>,
    /// Stored state.
    pub state: LicenceState,
    /// The version this one replaced.
    pub supersedes: Option<LicenceId>,
    /// The version that replaced this one.
    pub superseded_by: Option<LicenceId>,
    /// For a transferred-out licence, where it went; for a transferred-in one, where it came from.
    pub transfer: Option<(Uscc, LicenceId)>,
    /// Block time it was recorded (ms).
    pub recorded_at_ms: u64,
    /// Changes recorded on it.
    pub events: u32,
}

/// A change of a licence's state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StatusAction {
    /// Valid → suspended.
    Suspend,
    /// Suspended → valid.
    Resume,
    /// → rescinded (final).
    Rescind,
    /// → cancelled (final).
    Cancel,
    /// → revoked (final).
    Revoke,
}

/// One entry in a licence's history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LicenceEvent {
    /// What happened, e.g. `issued`, `suspend`, `renewed_to`.
    pub what: String,
    /// Why.
    pub reason: String,
    /// The organisation that acted.
    pub org: Uscc,
    /// The member key that signed.
    pub operator: PublicKey,
    /// Block time (ms).
    pub at_ms: u64,
    /// The transaction.
    pub tx: Hash,
}

/// The issuing fields of a licence (issue, transfer in, renew).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceDraft {
    /// Its identifier (the issuer part must be the sender's organisation).
    pub id: LicenceId,
    /// The printed number.
    pub number: String,
    /// The licence's name.
    pub name: String,
    /// Issue date, `YYYYMMDD`.
    pub issue_date: u32,
    /// Valid from, `YYYYMMDD`.
    pub valid_from: u32,
    /// Valid to, `YYYYMMDD`; absent for long-term.
    #[serde(default)]
    pub valid_to: Option<u32>,
    /// Holder id type.
    pub holder_id_type: HolderIdType,
    /// Salted SM3 commitment of the holder's id number and name.
    pub holder_commitment: Hash,
    /// The holder's key, for the signed QR code (see [`QrPayload`]).
    #[serde(default)]
    pub holder_key: Option<PublicKey>,
    /// Region.
    pub region: u32,
    /// Related matter.
    pub matter: String,
    /// Document digest.
    pub document_digest: Hash,
    /// The seal.
    pub seal_id: String,
    /// The seal's signature over [`seal_signing_bytes`].
    pub seal_signature: Signature,
    /// Face fields.
    #[serde(default)]
    pub face: Vec<FaceField>,
}

/// Methods of the licence contract.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // a wire type, decoded once per transaction
pub enum LicenceCall {
    /// An issuing organisation's admin registers a seal.
    RegisterSeal {
        /// Seal id (esID).
        id: String,
        /// Name.
        name: String,
        /// Kind.
        kind: SealKind,
        /// The signing key.
        public_key: PublicKey,
        /// Valid from (ms).
        valid_from_ms: u64,
        /// Valid to (ms, exclusive).
        valid_to_ms: u64,
        /// Picture digest.
        #[serde(default)]
        picture_digest: Option<Hash>,
    },
    /// The owner's admin revokes a seal from the next block on.
    RevokeSeal {
        /// Seal id.
        id: String,
        /// Why.
        reason: String,
    },
    /// An issuing organisation's admin registers a licence type.
    RegisterType {
        /// Its code.
        code: LicenceTypeCode,
        /// Its name.
        name: String,
        /// Who may issue it.
        issuers: Vec<Uscc>,
        /// Required face fields.
        required_fields: Vec<String>,
    },
    /// An issuer records a licence, sealed.
    Issue(LicenceDraft),
    /// The issuer (or its designee) changes a licence's state.
    ChangeStatus {
        /// The licence.
        id: LicenceId,
        /// The change.
        action: StatusAction,
        /// Why.
        reason: String,
    },
    /// The issuer issues the next version; the old one is superseded.
    Renew {
        /// The new version's record (same type, issuer and serial; version + 1).
        draft: LicenceDraft,
        /// Why (renewal, change of particulars).
        reason: String,
    },
    /// The issuer transfers a licence out to another organisation.
    TransferOut {
        /// The licence.
        id: LicenceId,
        /// The receiving organisation.
        to: Uscc,
        /// Why.
        reason: String,
    },
    /// The receiving organisation records the transferred licence under its own identifier.
    TransferIn {
        /// The new record.
        draft: LicenceDraft,
        /// The transferred-out licence.
        from: LicenceId,
    },
    /// An issuer lets another organisation change its licences' states.
    Designate {
        /// The designee.
        org: Uscc,
    },
}

impl LicenceCall {
    /// `licence.method`.
    pub fn name(&self) -> &'static str {
        match self {
            LicenceCall::RegisterSeal { .. } => "licence.register_seal",
            LicenceCall::RevokeSeal { .. } => "licence.revoke_seal",
            LicenceCall::RegisterType { .. } => "licence.register_type",
            LicenceCall::Issue(_) => "licence.issue",
            LicenceCall::ChangeStatus { .. } => "licence.change_status",
            LicenceCall::Renew { .. } => "licence.renew",
            LicenceCall::TransferOut { .. } => "licence.transfer_out",
            LicenceCall::TransferIn { .. } => "licence.transfer_in",
            LicenceCall::Designate { .. } => "licence.designate",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_are_their_json_names() {
        use LicenceState::*;
        for state in [
            Valid,
            Suspended,
            Rescinded,
            Cancelled,
            TransferredOut,
            Revoked,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.name()));
        }
    }

    const EXAMPLE: &str =
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S";

    #[test]
    fn the_published_identifier_parses_and_prints_back() {
        let id: LicenceId = EXAMPLE.parse().unwrap();
        assert_eq!(id.type_code.authority.as_str(), "11100000000013338W");
        assert_eq!(id.type_code.seq, 11);
        assert_eq!(id.issuer.as_str(), "11430000006122244L");
        assert_eq!((id.serial.as_str(), id.version), ("20230000403", 2));
        assert_eq!(id.to_string(), EXAMPLE);
        let next = id.with_version(3);
        assert_eq!(next.to_string().parse::<LicenceId>().unwrap(), next);
    }

    #[test]
    fn malformed_identifiers_are_refused() {
        for bad in [
            EXAMPLE.replace(".S", ".T"),
            EXAMPLE.replace("1.2.156.3005.2.", "1.2.156.3005.3."),
            EXAMPLE.replace(".002.", ".2."),
            EXAMPLE.replace(".002.", ".000."),
            EXAMPLE.replace("20230000403", "2023-0403"),
            EXAMPLE.replace("W011", "W01"),
            EXAMPLE.replace(".S", ""),
            EXAMPLE.replace("11430000006122244L", "11430000006122244M"),
        ] {
            assert!(bad.parse::<LicenceId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_wrong_check_character_says_mistyped_without_the_right_one() {
        let typo = EXAMPLE.replace(".S", ".T");
        let err = typo.parse::<LicenceId>().unwrap_err().to_string();
        assert!(
            err.contains(&typo) && err.contains("mistyped or damaged"),
            "{err}"
        );
        assert!(!err.contains("expected") && !err.contains("'S'"), "{err}");
    }
}
