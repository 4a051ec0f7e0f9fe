//! The licence contract: seals, types, sealed issuing, lifecycle, renewal, transfer, and every
//! refusal with its own code.

use xinlian_core::ids::Uscc;
use xinlian_core::licence::{
    FaceField, HolderIdType, Licence, LicenceCall, LicenceDraft, LicenceId, LicenceState,
    LicenceStatus, LicenceTypeCode, Seal, SealKind, StatusAction, seal_signing_bytes,
};

use super::*;
use crate::licence::{licence_key, seal_key, status_at};
use crate::{Overlay, Space};

const TYPE_AUTHORITY: &str = "11100000000013338W";

pub(super) struct Licences {
    pub(super) chain: Chain,
    pub(super) a: PrivateKey,
    b: PrivateKey,
    pub(super) seal_a: PrivateKey,
    seal_b: PrivateKey,
}

pub(super) fn type_code(seq: u16) -> LicenceTypeCode {
    LicenceTypeCode {
        authority: TYPE_AUTHORITY.parse().unwrap(),
        seq,
    }
}

pub(super) fn id(issuer: &str, serial: &str, version: u16) -> LicenceId {
    LicenceId {
        type_code: type_code(11),
        issuer: issuer.parse().unwrap(),
        serial: serial.into(),
        version,
    }
}

impl Licences {
    /// ORG_A and ORG_B each register a seal; ORG_A registers the business-licence type that
    /// both may issue.
    pub(super) fn new() -> Self {
        let mut t = Licences {
            chain: Chain::new(),
            a: key(1),
            b: key(2),
            seal_a: key(51),
            seal_b: key(52),
        };
        let (a, b, seal_a, seal_b) = (t.a.clone(), t.b.clone(), t.seal_a.clone(), t.seal_b.clone());
        t.ok(&a, register_seal("SEAL-A", &seal_a));
        t.ok(&b, register_seal("SEAL-B", &seal_b));
        let register_type = LicenceCall::RegisterType {
            code: type_code(11),
            name: "营业执照".into(),
            issuers: vec![ORG_A.parse().unwrap(), ORG_B.parse().unwrap()],
            required_fields: vec!["经营范围".into()],
        };
        t.ok(&a, register_type);
        t
    }

    fn send(&mut self, signer: &PrivateKey, call: LicenceCall) -> String {
        let tx = self.chain.call(signer, Call::Licence(call));
        code(&self.chain.apply(&[tx])[0]).to_string()
    }

    fn ok(&mut self, signer: &PrivateKey, call: LicenceCall) {
        assert_eq!(self.send(signer, call), "success");
    }

    fn refused(&mut self, signer: &PrivateKey, call: LicenceCall) -> String {
        let before = self.chain.state.clone();
        let code = self.send(signer, call);
        assert!(
            self.chain.state.same_records(&before),
            "{code}: a refused call changed state"
        );
        code
    }

    fn licence(&self, id: &LicenceId) -> Licence {
        Overlay::new(&self.chain.state)
            .get_value(Space::State, &licence_key(id))
            .unwrap()
            .unwrap()
    }

    fn seal(&self, id: &str) -> Seal {
        Overlay::new(&self.chain.state)
            .get_value(Space::State, &seal_key(id))
            .unwrap()
            .unwrap()
    }
}

pub(super) fn register_seal(id: &str, key: &PrivateKey) -> LicenceCall {
    LicenceCall::RegisterSeal {
        id: id.into(),
        name: format!("{id} 证照专用章"),
        kind: SealKind::Licence,
        public_key: key.public_key(),
        valid_from_ms: 0,
        valid_to_ms: 10_000_000,
        picture_digest: None,
    }
}

pub(super) fn draft(id: LicenceId, seal_id: &str, seal: &PrivateKey, document: u8) -> LicenceDraft {
    let document_digest = Hash([document; 32]);
    LicenceDraft {
        seal_signature: seal.sign(&seal_signing_bytes(&id, &document_digest)),
        id,
        number: "91410100MA40000001".into(),
        name: "营业执照".into(),
        issue_date: 20260101,
        valid_from: 20260101,
        valid_to: Some(20301231),
        holder_id_type: HolderIdType::Uscc,
        holder_commitment: Hash([3; 32]),
        holder_key: None,
        region: 410100,
        matter: "企业设立登记".into(),
        document_digest,
        seal_id: seal_id.into(),
        face: vec![FaceField {
            name: "经营范围".into(),
            digest: Hash([4; 32]),
        }],
    }
}

fn change(id: &LicenceId, action: StatusAction) -> LicenceCall {
    LicenceCall::ChangeStatus {
        id: id.clone(),
        action,
        reason: "test".into(),
    }
}

#[test]
fn a_sealed_licence_is_recorded_and_its_status_derived_from_dates() {
    let mut t = Licences::new();
    let (a, seal_a) = (t.a.clone(), t.seal_a.clone());
    let first = id(ORG_A, "2026000001", 1);
    t.ok(
        &a,
        LicenceCall::Issue(draft(first.clone(), "SEAL-A", &seal_a, 1)),
    );
    let licence = t.licence(&first);
    assert_eq!(licence.state, LicenceState::Valid);
    assert_eq!(status_at(&licence, 20270101), LicenceStatus::Valid);
    assert_eq!(status_at(&licence, 20251231), LicenceStatus::NotYetValid);
    assert_eq!(
        status_at(&licence, 20310101),
        LicenceStatus::Expired,
        "never stored, derived"
    );
    assert!(t.seal("SEAL-A").valid_at(licence.recorded_at_ms));
    assert_eq!(licence.events, 1);
}

#[test]
fn issuing_refusals_have_their_own_codes() {
    let mut t = Licences::new();
    let (a, b, seal_a, seal_b) = (t.a.clone(), t.b.clone(), t.seal_a.clone(), t.seal_b.clone());
    let good = id(ORG_A, "2026000002", 1);
    let mut another_digest = draft(good.clone(), "SEAL-A", &seal_a, 1);
    another_digest.document_digest = Hash([9; 32]);
    let mut no_face = draft(good.clone(), "SEAL-A", &seal_a, 1);
    no_face.face.clear();
    let mut inverted = draft(good.clone(), "SEAL-A", &seal_a, 1);
    inverted.valid_to = Some(20251231);
    let mut unknown_type = good.clone();
    unknown_type.type_code = type_code(12);
    let c = key(3);
    let cases: Vec<(&PrivateKey, LicenceDraft, &str)> = vec![
        (
            &a,
            draft(good.clone(), "SEAL-B", &seal_b, 1),
            "seal_not_owned",
        ),
        (
            &a,
            draft(good.clone(), "SEAL-X", &seal_a, 1),
            "seal_not_found",
        ),
        (
            &a,
            draft(good.clone(), "SEAL-A", &seal_b, 1),
            "bad_seal_signature",
        ),
        (&a, another_digest, "bad_seal_signature"),
        (&a, no_face, "face_field_missing"),
        (&a, inverted, "invalid_argument"),
        (
            &b,
            draft(good.clone(), "SEAL-B", &seal_b, 1),
            "issuer_mismatch",
        ),
        (
            &a,
            draft(id(ORG_A, "2026000002", 2), "SEAL-A", &seal_a, 1),
            "version_conflict",
        ),
        (
            &a,
            draft(unknown_type, "SEAL-A", &seal_a, 1),
            "licence_type_not_found",
        ),
        (
            &c,
            draft(id(ORG_C, "1", 1), "SEAL-A", &seal_a, 1),
            "not_type_issuer",
        ),
    ];
    for (signer, call, expected) in cases {
        assert_eq!(t.refused(signer, LicenceCall::Issue(call)), expected);
    }
    t.ok(
        &a,
        LicenceCall::Issue(draft(good.clone(), "SEAL-A", &seal_a, 1)),
    );
    assert_eq!(
        t.refused(&a, LicenceCall::Issue(draft(good, "SEAL-A", &seal_a, 1))),
        "licence_exists"
    );
    // A revoked seal seals nothing afterwards.
    t.ok(
        &a,
        LicenceCall::RevokeSeal {
            id: "SEAL-A".into(),
            reason: "私钥泄露".into(),
        },
    );
    let later = id(ORG_A, "2026000003", 1);
    assert_eq!(
        t.refused(&a, LicenceCall::Issue(draft(later, "SEAL-A", &seal_a, 1))),
        "seal_invalid"
    );
    assert_eq!(
        t.refused(&b, register_seal("SEAL-B", &seal_b)),
        "seal_exists"
    );
    let revoke_other = LicenceCall::RevokeSeal {
        id: "SEAL-A".into(),
        reason: "x".into(),
    };
    assert_eq!(t.refused(&b, revoke_other), "seal_not_owned");
}

#[test]
fn the_lifecycle_allows_only_sensible_transitions_by_the_issuer_or_its_designee() {
    let mut t = Licences::new();
    let (a, b, seal_a) = (t.a.clone(), t.b.clone(), t.seal_a.clone());
    let licence = id(ORG_A, "2026000004", 1);
    t.ok(
        &a,
        LicenceCall::Issue(draft(licence.clone(), "SEAL-A", &seal_a, 1)),
    );
    assert_eq!(
        t.refused(&a, change(&licence, StatusAction::Resume)),
        "bad_transition"
    );
    assert_eq!(
        t.refused(&b, change(&licence, StatusAction::Suspend)),
        "not_licence_issuer"
    );
    t.ok(
        &a,
        LicenceCall::Designate {
            org: ORG_B.parse().unwrap(),
        },
    );
    // The expiry index holds a live licence under its last day, with its recorded state, and
    // lets go of it once it is revoked.
    let listed = |t: &Licences| {
        let key = [
            crate::licence::EXPIRY_PREFIX,
            &20301231u32.to_be_bytes(),
            licence.to_string().as_bytes(),
        ]
        .concat();
        Overlay::new(&t.chain.state)
            .get(Space::Index, &key)
            .unwrap()
    };
    assert_eq!(listed(&t), Some(b"valid".to_vec()));
    t.ok(&b, change(&licence, StatusAction::Suspend));
    assert_eq!(listed(&t), Some(b"suspended".to_vec()));
    t.ok(&a, change(&licence, StatusAction::Resume));
    t.ok(&a, change(&licence, StatusAction::Revoke));
    assert_eq!(listed(&t), None);
    assert_eq!(
        t.refused(&a, change(&licence, StatusAction::Resume)),
        "bad_transition"
    );
    let record = t.licence(&licence);
    assert_eq!(record.state, LicenceState::Revoked);
    assert_eq!(record.events, 4, "issued, suspend, resume, revoke");
}

#[test]
fn renewal_supersedes_and_transfer_links_both_records() {
    let mut t = Licences::new();
    let (a, b, seal_a, seal_b) = (t.a.clone(), t.b.clone(), t.seal_a.clone(), t.seal_b.clone());
    let v1 = id(ORG_A, "2026000005", 1);
    t.ok(
        &a,
        LicenceCall::Issue(draft(v1.clone(), "SEAL-A", &seal_a, 1)),
    );
    let renew = |version: u16, document: u8| LicenceCall::Renew {
        draft: draft(v1.with_version(version), "SEAL-A", &seal_a, document),
        reason: "变更经营范围".into(),
    };
    assert_eq!(t.refused(&a, renew(3, 2)), "version_conflict");
    t.ok(&a, renew(2, 2));
    let v2 = v1.with_version(2);
    assert_eq!(t.licence(&v1).superseded_by, Some(v2.clone()));
    assert_eq!(t.licence(&v2).supersedes, Some(v1.clone()));
    // The console counts the old version as superseded and the new one as valid: one licence
    // in force, two recorded.
    use crate::stats::{daily_key, gauge_key, metric};
    let type_code = v1.type_code.to_string();
    let standing = |state: &str| gauge_key(metric::LICENCE_STATES, &[&type_code, state]);
    assert_eq!(counter(&t.chain.state, standing("superseded")), 1);
    assert_eq!(counter(&t.chain.state, standing("valid")), 1);
    let issued = daily_key(metric::LICENCES_ISSUED, 0, &[&type_code]);
    assert_eq!(counter(&t.chain.state, issued), 2);
    assert_eq!(
        t.refused(&a, change(&v1, StatusAction::Suspend)),
        "bad_transition"
    );

    let to_b: Uscc = ORG_B.parse().unwrap();
    t.ok(
        &a,
        LicenceCall::TransferOut {
            id: v2.clone(),
            to: to_b.clone(),
            reason: "迁出".into(),
        },
    );
    let taken = id(ORG_B, "B2026000001", 1);
    let transfer_in = LicenceCall::TransferIn {
        draft: draft(taken.clone(), "SEAL-B", &seal_b, 3),
        from: v2.clone(),
    };
    t.ok(&b, transfer_in.clone());
    assert_eq!(t.licence(&v2).state, LicenceState::TransferredOut);
    // Transferred out here, and in force under the receiving issuer (the same type).
    assert_eq!(taken.type_code, v1.type_code);
    assert_eq!(counter(&t.chain.state, standing("transferred_out")), 1);
    assert_eq!(counter(&t.chain.state, standing("valid")), 1);
    assert_eq!(t.licence(&v2).transfer, Some((to_b, taken.clone())));
    assert_eq!(
        t.licence(&taken).transfer,
        Some((ORG_A.parse().unwrap(), v2))
    );
    assert_eq!(t.refused(&b, transfer_in), "transfer_mismatch");
}
