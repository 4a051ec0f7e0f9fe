//! Licence queries and verdicts, derived from the licence contract's state through any
//! [`StateReader`]: the node's store, or the entries a proof bundle proved.

use borsh::BorshDeserialize;
use xinlian_core::Hash;
use xinlian_core::api::licence::{LicenceRecord, OrgRef, Verdict, VerifyRequest};
use xinlian_core::ids::Uscc;
use xinlian_core::licence::{
    Licence, LicenceEvent, LicenceId, LicenceStatus, LicenceType, QR_FRESH_MS, QrPayload, Seal,
    seal_signing_bytes,
};

use crate::licence::{self, status_at};
use crate::{ExecError, Overlay, Space, StateReader, system};

type Result<T> = std::result::Result<T, ExecError>;

/// Most history entries returned with a record.
const HISTORY_MAX: usize = 1_000;
/// Most versions followed to find the latest.
const VERSIONS_MAX: usize = 999;

/// Reads licences from state. Every read is a point read of a key, so the entries an answer
/// was derived from can each be proved (lists are read by their count and sequence numbers).
pub struct LicenceReader<'a> {
    state: &'a dyn StateReader,
}

impl<'a> LicenceReader<'a> {
    /// A reader over `state`.
    pub fn new(state: &'a dyn StateReader) -> Self {
        LicenceReader { state }
    }

    fn get<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>> {
        Overlay::new(self.state).get_value(Space::State, key)
    }

    /// A licence record as stored.
    pub fn licence(&self, id: &LicenceId) -> Result<Option<Licence>> {
        self.get(&licence::licence_key(id))
    }

    fn org(&self, uscc: &Uscc) -> Result<OrgRef> {
        let org: Option<system::Organisation> = self.get(&system::org_key(uscc))?;
        Ok(OrgRef {
            uscc: uscc.clone(),
            name: org.map(|o| o.name).unwrap_or_default(),
        })
    }

    /// The latest version, following renewals.
    fn latest(&self, licence: &Licence) -> Result<LicenceId> {
        let mut latest = licence.id.clone();
        let mut next = licence.superseded_by.clone();
        for _ in 0..VERSIONS_MAX {
            let Some(id) = next else { break };
            next = self.licence(&id)?.and_then(|l| l.superseded_by);
            latest = id;
        }
        Ok(latest)
    }

    /// The first [`HISTORY_MAX`] of the licence's events, by their sequence numbers below the
    /// count the record keeps: a node cannot leave one out of a proven answer.
    fn history(&self, licence: &Licence) -> Result<Vec<LicenceEvent>> {
        let prefix = licence::events_prefix(&licence.id);
        let count = (licence.events as usize).min(HISTORY_MAX);
        let mut events = Vec::with_capacity(count);
        for seq in 0..count as u32 {
            let key = [prefix.as_slice(), &seq.to_be_bytes()].concat();
            let event = self.get(&key)?.ok_or_else(|| ExecError::Corrupt {
                key: format!("licence {} event {seq}", licence.id),
                reason: format!("missing, below the count of {}", licence.events),
            })?;
            events.push(event);
        }
        Ok(events)
    }

    /// The public record with the status on `today` (`YYYYMMDD`, China time).
    pub fn record(&self, id: &LicenceId, today: u32) -> Result<Option<LicenceRecord>> {
        let Some(licence) = self.licence(id)? else {
            return Ok(None);
        };
        let seal: Seal = self
            .get(&licence::seal_key(&licence.seal_id))?
            .ok_or_else(|| ExecError::Corrupt {
                key: format!("licence {id}"),
                reason: "names a missing seal".into(),
            })?;
        let licence_type: Option<LicenceType> = self.get(&licence::type_key(&id.type_code))?;
        let status = status_at(&licence, today);
        Ok(Some(LicenceRecord {
            status,
            status_code: status.code().into(),
            status_label: status.label().into(),
            latest: self.latest(&licence)?,
            type_name: licence_type.map(|t| t.name).unwrap_or_default(),
            issuer: self.org(&id.issuer)?,
            seal,
            history: self.history(&licence)?,
            licence,
            proof: None,
        }))
    }

    /// The verdict for an identifier and, optionally, a presented document's digest.
    pub fn verify(&self, request: &VerifyRequest, today: u32) -> Result<Verdict> {
        let record = self.record(&request.id, today)?;
        Ok(judge(&request.id, record.as_ref(), request.document_digest))
    }
}

/// What a clerk is told when no document was presented: the record alone was checked.
pub const DOCUMENT_NOT_CHECKED: &str = "未出示证照文件，只核验了链上记录和电子印章，未核验证照文件本身：请持证人出示证照文件核验，或扫描持证人的亮证二维码";

/// The verdict on `id`, its record (if on the chain) and the presented document's digest (if
/// any). Kept apart from storage so each rule can be tested on a record built in memory.
pub fn judge(id: &LicenceId, record: Option<&LicenceRecord>, document: Option<Hash>) -> Verdict {
    let mut verdict = Verdict {
        id: id.clone(),
        record_genuine: false,
        genuine: false,
        acceptable: false,
        status: None,
        status_code: None,
        latest: false,
        latest_id: None,
        name: None,
        issuer: None,
        seal: None,
        seal_valid_at_issue: false,
        document_matches: None,
        holder_present: None,
        reasons: Vec::new(),
        proof: None,
    };
    let Some(record) = record else {
        verdict
            .reasons
            .push("链上没有此证照标识，证照不是真实签发的".into());
        return verdict;
    };
    let licence = &record.licence;
    let message = seal_signing_bytes(&licence.id, &licence.document_digest);
    let signature_ok = record
        .seal
        .public_key
        .verify(&message, &licence.seal_signature)
        .is_ok();
    let seal_ok =
        record.seal.org == licence.id.issuer && record.seal.valid_at(licence.recorded_at_ms);
    let matches = document.map(|d| d == licence.document_digest);
    verdict.record_genuine = signature_ok && seal_ok;
    // Genuine only for a document someone looked at: an identifier alone is public (printed on
    // the licence, in URLs) and proves nothing about the paper or file in front of the window.
    verdict.genuine = verdict.record_genuine && matches == Some(true);
    verdict.seal_valid_at_issue = seal_ok;
    verdict.document_matches = matches;
    verdict.latest = record.latest == licence.id;
    verdict.acceptable = verdict.genuine && record.status == LicenceStatus::Valid && verdict.latest;
    if !signature_ok {
        verdict.reasons.push("电子印章签名验证失败".into());
    }
    if !seal_ok {
        verdict
            .reasons
            .push("签发时印章无效或不属于签发机关".into());
    }
    if matches == Some(false) {
        verdict
            .reasons
            .push("出示的证照文件与链上记录不一致（文件已被改动）".into());
    }
    if record.status != LicenceStatus::Valid {
        let why = record
            .history
            .last()
            .map(|e| e.reason.clone())
            .filter(|r| !r.is_empty() && record.status != LicenceStatus::Expired)
            .map(|r| format!("：{r}"))
            .unwrap_or_default();
        verdict.reasons.push(format!(
            "证照状态为“{}”（{}）{why}",
            record.status_label, record.status_code
        ));
    }
    if !verdict.latest {
        verdict
            .reasons
            .push(format!("已有新版本 {}，本版本已被替代", record.latest));
    }
    if matches.is_none() {
        verdict.reasons.push(DOCUMENT_NOT_CHECKED.into());
    }
    verdict.status = Some(record.status);
    verdict.status_code = Some(record.status_code.clone());
    verdict.latest_id = Some(record.latest.clone());
    verdict.name = Some(licence.name.clone());
    verdict.issuer = Some(record.issuer.clone());
    verdict.seal = Some((record.seal.id.clone(), record.seal.name.clone()));
    verdict
}

impl LicenceReader<'_> {
    /// The verdict for a holder's QR code at `now_ms`: the licence and its document as
    /// [`LicenceReader::verify`] sees them, and whether the holder the licence names signed the
    /// code within the last two minutes. The caller refuses a nonce seen before.
    pub fn verify_qr(
        &self,
        qr: &QrPayload,
        challenge: &[u8; 16],
        today: u32,
        now_ms: u64,
    ) -> Result<Verdict> {
        let request = VerifyRequest {
            id: qr.id.clone(),
            document_digest: Some(qr.document_digest),
            window: None,
        };
        let mut verdict = self.verify(&request, today)?;
        let Some(licence) = self.licence(&qr.id)? else {
            return Ok(verdict);
        };
        let message = QrPayload::signing_bytes(&qr.id, &qr.document_digest, qr.time_ms, &qr.nonce);
        let signed = licence
            .holder_key
            .as_ref()
            .is_some_and(|key| key.verify(&message, &qr.signature).is_ok());
        // Made in the last two minutes (a few seconds of clock skew allowed ahead): the nonce
        // cache remembers codes at least that long.
        let fresh =
            qr.time_ms <= now_ms + 5_000 && now_ms.saturating_sub(qr.time_ms) <= QR_FRESH_MS;
        let ours = qr.nonce == *challenge;
        if licence.holder_key.is_none() {
            verdict
                .reasons
                .push("此证照未登记持证人密钥，不能以二维码亮证".into());
        } else if !ours {
            verdict
                .reasons
                .push("二维码不是为本窗口生成的（可能是截图）".into());
        } else if !signed {
            verdict.reasons.push("二维码不是持证人签发的".into());
        } else if !fresh {
            verdict
                .reasons
                .push("二维码已过期，请持证人刷新后重新出示".into());
        }
        let present = ours && signed && fresh;
        verdict.holder_present = Some(present);
        verdict.acceptable &= present;
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use xinlian_core::HashSuite;
    use xinlian_core::crypto::{PrivateKey, SignatureScheme};
    use xinlian_core::licence::{HolderIdType, LicenceState, LicenceTypeCode, SealKind};

    use super::*;

    const ISSUER: &str = "11410100MB1234567W";
    const RECORDED_MS: u64 = 1_800_000_000_000;

    /// A record as `LicenceReader::record` would give it: sealed by its issuer's seal, valid,
    /// the latest version, with `document` as its sealed document.
    fn record(document: &[u8]) -> LicenceRecord {
        let issuer = Uscc::with_check_character(&ISSUER[..17]).unwrap();
        let id = LicenceId {
            type_code: LicenceTypeCode {
                authority: issuer.clone(),
                seq: 12,
            },
            issuer: issuer.clone(),
            serial: "JY1410100TEST01".into(),
            version: 1,
        };
        let seal_key = PrivateKey::from_seed(SignatureScheme::Ed25519, [7; 32]).unwrap();
        let digest = HashSuite::Sm3.digest(document);
        let licence = Licence {
            id: id.clone(),
            number: id.serial.clone(),
            name: "食品经营许可证".into(),
            issue_date: 20260101,
            valid_from: 20260101,
            valid_to: None,
            holder_id_type: HolderIdType::Uscc,
            holder_commitment: digest,
            holder_key: None,
            region: 410100,
            matter: String::new(),
            document_digest: digest,
            seal_id: "SEAL-01".into(),
            seal_signature: seal_key.sign(&seal_signing_bytes(&id, &digest)),
            face: Vec::new(),
            state: LicenceState::Valid,
            supersedes: None,
            superseded_by: None,
            transfer: None,
            recorded_at_ms: RECORDED_MS,
            events: 0,
        };
        let status = LicenceStatus::Valid;
        LicenceRecord {
            status,
            status_code: status.code().into(),
            status_label: status.label().into(),
            latest: id.clone(),
            type_name: "食品经营许可证".into(),
            issuer: OrgRef {
                uscc: issuer.clone(),
                name: "郑州市市场监督管理局".into(),
            },
            seal: Seal {
                id: "SEAL-01".into(),
                name: "证照专用章".into(),
                kind: SealKind::Licence,
                org: issuer,
                public_key: seal_key.public_key(),
                valid_from_ms: RECORDED_MS - 1,
                valid_to_ms: RECORDED_MS + 1,
                picture_digest: None,
                revoked: None,
            },
            history: Vec::new(),
            licence,
            proof: None,
        }
    }

    const DOCUMENT: &[u8] = b"{\"name\":\"food licence\"}";

    #[test]
    fn the_presented_document_matching_a_valid_record_is_acceptable() {
        let record = record(DOCUMENT);
        let digest = HashSuite::Sm3.digest(DOCUMENT);
        let verdict = judge(&record.licence.id, Some(&record), Some(digest));
        assert!(verdict.record_genuine && verdict.genuine && verdict.acceptable);
        assert_eq!(verdict.document_matches, Some(true));
        assert!(verdict.reasons.is_empty(), "{:?}", verdict.reasons);
    }

    #[test]
    fn without_a_document_only_the_record_is_vouched_for() {
        let record = record(DOCUMENT);
        let verdict = judge(&record.licence.id, Some(&record), None);
        assert!(verdict.record_genuine, "the record and seal were checked");
        assert!(!verdict.genuine && !verdict.acceptable);
        assert_eq!(
            verdict.document_matches, None,
            "the document was not checked"
        );
        assert_eq!(verdict.reasons, vec![DOCUMENT_NOT_CHECKED.to_string()]);
    }

    #[test]
    fn an_altered_document_is_not_genuine() {
        let record = record(DOCUMENT);
        let altered = HashSuite::Sm3.digest(b"{\"name\":\"food licence!\"}");
        let verdict = judge(&record.licence.id, Some(&record), Some(altered));
        assert!(verdict.record_genuine && !verdict.genuine && !verdict.acceptable);
        assert_eq!(verdict.document_matches, Some(false));
        assert!(verdict.reasons.iter().any(|r| r.contains("文件已被改动")));
    }

    #[test]
    fn a_revoked_licence_with_its_document_is_genuine_but_not_acceptable() {
        let mut record = record(DOCUMENT);
        record.status = LicenceStatus::Revoked;
        record.status_code = "07".into();
        record.status_label = LicenceStatus::Revoked.label().into();
        let digest = HashSuite::Sm3.digest(DOCUMENT);
        let verdict = judge(&record.licence.id, Some(&record), Some(digest));
        assert!(verdict.genuine && !verdict.acceptable);
        assert!(verdict.reasons.iter().any(|r| r.contains("07")));
        let unchecked = judge(&record.licence.id, Some(&record), None);
        assert!(!unchecked.genuine && !unchecked.acceptable);
        assert!(unchecked.reasons.iter().any(|r| r.contains("07")));
        assert!(unchecked.reasons.iter().any(|r| r == DOCUMENT_NOT_CHECKED));
    }

    #[test]
    fn a_forged_seal_signature_is_not_genuine_even_with_the_document() {
        let mut record = record(DOCUMENT);
        record.licence.seal_signature.0[0] ^= 1;
        let digest = HashSuite::Sm3.digest(DOCUMENT);
        let verdict = judge(&record.licence.id, Some(&record), Some(digest));
        assert!(!verdict.record_genuine && !verdict.genuine && !verdict.acceptable);
        assert_eq!(verdict.document_matches, Some(true));
        assert!(verdict.reasons.iter().any(|r| r.contains("签名验证失败")));
    }

    #[test]
    fn a_seal_not_valid_when_recorded_makes_the_record_not_genuine() {
        let mut record = record(DOCUMENT);
        record.seal.revoked = Some((RECORDED_MS - 1, "私钥泄露".into()));
        let digest = HashSuite::Sm3.digest(DOCUMENT);
        let verdict = judge(&record.licence.id, Some(&record), Some(digest));
        assert!(!verdict.record_genuine && !verdict.seal_valid_at_issue && !verdict.genuine);
    }

    #[test]
    fn an_unknown_identifier_is_not_genuine_and_says_so_once() {
        let record = record(DOCUMENT);
        let verdict = judge(&record.licence.id, None, None);
        assert!(!verdict.record_genuine && !verdict.genuine && !verdict.acceptable);
        assert_eq!(verdict.reasons.len(), 1, "{:?}", verdict.reasons);
        assert!(verdict.reasons[0].contains("链上没有此证照"));
    }

    #[test]
    fn a_superseded_version_is_not_acceptable() {
        let mut record = record(DOCUMENT);
        record.latest = LicenceId {
            version: 2,
            ..record.licence.id.clone()
        };
        let digest = HashSuite::Sm3.digest(DOCUMENT);
        let verdict = judge(&record.licence.id, Some(&record), Some(digest));
        assert!(verdict.genuine && !verdict.latest && !verdict.acceptable);
    }
}
