//! Admission checks a call's stateless bounds: a transaction that breaks one never enters a
//! mempool, and is refused with the very error (code and message) execution gives it. Each case
//! runs both on the same chain and compares them.

use proptest::prelude::*;
use xinlian_core::auth::{Action, AuthCall};
use xinlian_core::encoding;
use xinlian_core::licence::{FaceField, LicenceCall};
use xinlian_core::limits::{NAME_BYTES_MAX, TEXT_BYTES_MAX, TX_BYTES_MAX};
use xinlian_core::trace::{
    Certificate, CertificateKind, EnterpriseKind, ImportDetails, LotCode, PACKAGES_PER_LOT_MAX,
    Product, SELECTION_RANGES_MAX, Selection, Serials, TraceCall,
};

use super::auth::{grant, use_of};
use super::coldchain::{
    ALL_CERTIFICATES, COLD_STORE, Trace, UNREGISTERED, certificate, commission,
    register_enterprise, uscc,
};
use super::licence::{Licences, draft, id, register_seal, type_code};
use super::*;

const DAY_MS: u64 = 86_400_000;

/// Admission's verdict on `tx` for the next block.
fn admission(chain: &Chain, tx: &SignedTransaction) -> Result<(), ContractError> {
    chain
        .executor
        .check_admission(&chain.state, tx, chain.height + 1)
        .unwrap()
        .map(|_| ())
}

/// Admission refuses `call` with `expected`; executed anyway in a block of its own, it is
/// refused with the same code and message. Returns the refusal.
fn refused_alike(
    chain: &mut Chain,
    signer: &PrivateKey,
    call: Call,
    expected: &str,
) -> ContractError {
    let tx = chain.call(signer, call);
    let refusal = admission(chain, &tx).expect_err("admission let it in");
    let receipt = chain.apply(&[tx]).remove(0);
    match receipt.status {
        ReceiptStatus::Failure { code, message } => assert_eq!(
            (code.as_str(), message),
            (refusal.code(), refusal.to_string())
        ),
        ReceiptStatus::Success => panic!("execution accepted what admission refused: {refusal}"),
    }
    assert_eq!(refusal.code(), expected, "{refusal}");
    refusal
}

/// Admission lets `call` in, and it executes.
fn admitted(chain: &mut Chain, signer: &PrivateKey, call: Call) {
    let tx = chain.call(signer, call);
    admission(chain, &tx).expect("admission refused a valid call");
    assert_eq!(code(&chain.apply(&[tx])[0]), "success");
}

fn long(bytes: usize) -> String {
    "x".repeat(bytes)
}

/// `value`, changed by `f`: one broken field of an otherwise valid call.
fn edit<T>(mut value: T, f: impl FnOnce(&mut T)) -> T {
    f(&mut value);
    value
}

fn evidence_with(kind: &str, memo: String) -> Call {
    Call::System(SystemCall::RecordEvidence {
        kind: kind.into(),
        digest: Hash([9; 32]),
        memo,
    })
}

/// The flood this guards against: a 45 KB memo fits a transaction (64 KiB) but not the memo
/// limit (4 KiB). It never enters the mempool.
#[test]
fn an_evidence_memo_of_45_kb_never_enters_the_mempool() {
    let mut chain = Chain::new();
    let memo = "备".repeat(15_000);
    assert_eq!(memo.len(), 45_000);
    let call = evidence_with("contract", memo);
    let size = encoding::encode(&chain.call(&key(1), call.clone())).len();
    assert!(
        size < TX_BYTES_MAX,
        "{size} bytes: within the transaction limit"
    );
    let refusal = refused_alike(&mut chain, &key(1), call, "invalid_argument");
    assert!(
        matches!(
            refusal,
            ContractError::InvalidArgument { field: "memo", .. }
        ),
        "{refusal:?}"
    );
    admitted(
        &mut chain,
        &key(1),
        evidence_with("contract", long(TEXT_BYTES_MAX)),
    );
    refused_alike(
        &mut chain,
        &key(1),
        evidence_with("contract", long(TEXT_BYTES_MAX + 1)),
        "invalid_argument",
    );
}

/// The call's bounds come after the prechecks: an expired, duplicate or unknown sender's
/// transaction is refused as such (the block builder drops only expired and duplicate ones).
#[test]
fn prechecks_win_over_bounds() {
    let mut chain = Chain::new();
    let flood = || evidence_with("contract", long(45_000));
    let mut expired = chain.call(&key(1), flood());
    expired.tx.valid_until_height = 0;
    assert_eq!(
        admission(&chain, &expired).unwrap_err().code(),
        "tx_expired"
    );
    let stranger = chain.call(&key(50), flood());
    assert_eq!(
        admission(&chain, &stranger).unwrap_err().code(),
        "unknown_sender"
    );
    // Refused in a block, its hash is still committed: sent again, it is a duplicate.
    let tx = chain.call(&key(1), flood());
    assert_eq!(
        code(&chain.apply(std::slice::from_ref(&tx))[0]),
        "invalid_argument"
    );
    assert_eq!(admission(&chain, &tx).unwrap_err().code(), "duplicate_tx");
}

#[test]
fn system_and_governance_bounds() {
    let mut chain = Chain::new();
    let admin = key(1);
    let member = |name: String| {
        Call::System(SystemCall::RegisterMember {
            public_key: key(10).public_key(),
            name,
            role: MemberRole::Operator,
        })
    };
    for name in [String::new(), long(NAME_BYTES_MAX + 1)] {
        refused_alike(&mut chain, &admin, member(name), "invalid_argument");
    }
    for kind in [String::new(), long(NAME_BYTES_MAX + 1)] {
        let call = evidence_with(&kind, String::new());
        refused_alike(&mut chain, &admin, call, "invalid_argument");
    }
    admitted(&mut chain, &admin, member(long(NAME_BYTES_MAX)));

    let long_memo = Call::Governance(GovCall::Propose {
        change: GovChange::RemoveNode {
            id: "node-101".into(),
        },
        memo: long(TEXT_BYTES_MAX + 1),
    });
    refused_alike(&mut chain, &admin, long_memo, "invalid_argument");
    let changes = [
        edit(add_org(&key(40)), |c| {
            if let GovChange::AddOrganisation { admins, .. } = c {
                admins.clear();
            }
        }),
        edit(add_org(&key(40)), |c| {
            if let GovChange::AddOrganisation { name, .. } = c {
                *name = long(NAME_BYTES_MAX + 1);
            }
        }),
        GovChange::AddNode {
            org: ORG_A.parse().unwrap(),
            id: String::new(),
            public_key: key(60).public_key(),
            p2p_peer_id: "peer-new".into(),
            learner: false,
        },
        GovChange::AddNode {
            org: ORG_A.parse().unwrap(),
            id: "node-new".into(),
            public_key: key(60).public_key(),
            p2p_peer_id: long(NAME_BYTES_MAX + 1),
            learner: false,
        },
        GovChange::SetSignatureSchemes { schemes: vec![] },
    ];
    for change in changes {
        refused_alike(&mut chain, &admin, propose(change), "invalid_argument");
    }
    admitted(&mut chain, &admin, propose(add_org(&key(40))));
}

#[test]
fn cold_chain_bounds() {
    let mut t = Trace::new();
    let (registrar, importer) = (t.registrar.clone(), t.importer.clone());
    let lot = t.commission(3000, &ALL_CERTIFICATES);
    let chain = &mut t.chain;
    let trace = |call: TraceCall| Call::Trace(call);

    let enterprise =
        || register_enterprise(UNREGISTERED, EnterpriseKind::ColdStore, &key(30), 410100);
    let enterprise_edits: [fn(&mut TraceCall); 4] = [
        |c| {
            if let TraceCall::RegisterEnterprise { address, .. } = c {
                *address = long(TEXT_BYTES_MAX + 1);
            }
        },
        |c| {
            if let TraceCall::RegisterEnterprise { region, .. } = c {
                *region = 100_000;
            }
        },
        |c| {
            if let TraceCall::RegisterEnterprise { admins, .. } = c {
                *admins = (0..17).map(|i| key(100 + i).public_key()).collect();
            }
        },
        |c| {
            if let TraceCall::RegisterEnterprise { admins, .. } = c {
                *admins = vec![key(30).public_key(), key(30).public_key()];
            }
        },
    ];
    for f in enterprise_edits {
        let call = trace(edit(enterprise(), f));
        refused_alike(chain, &registrar, call, "invalid_argument");
    }

    let lot_edits: [LotEdit; 13] = [
        (
            |l| l.product.name = long(NAME_BYTES_MAX + 1),
            "invalid_argument",
        ),
        (
            |l| l.product.gtin = Some("6901234567893".into()),
            "invalid_argument",
        ),
        (|l| *l.origin_country = "br".into(), "invalid_argument"),
        (|l| *l.production_date = 20261301, "invalid_argument"),
        (|l| *l.shelf_life_days = 0, "invalid_argument"),
        (|l| *l.batch = long(NAME_BYTES_MAX + 1), "invalid_argument"),
        (|l| *l.packages = 0, "invalid_quantity"),
        (
            |l| *l.packages = PACKAGES_PER_LOT_MAX + 1,
            "invalid_quantity",
        ),
        (|l| *l.unit = long(65), "invalid_argument"),
        (
            |l| l.import.as_mut().unwrap().entry_port = long(NAME_BYTES_MAX + 1),
            "invalid_argument",
        ),
        (
            |l| *l.certificates = vec![certificate(CertificateKind::Disinfection); 33],
            "invalid_argument",
        ),
        (
            |l| l.certificates[0].issuer = long(NAME_BYTES_MAX + 1),
            "invalid_argument",
        ),
        (
            |l| l.certificates[1].number = String::new(),
            "invalid_argument",
        ),
    ];
    for (f, expected) in lot_edits {
        let call = trace(edit(commission(10, &ALL_CERTIFICATES), |c| {
            f(lot_fields(c))
        }));
        refused_alike(chain, &importer, call, expected);
    }

    let code = LotCode(lot);
    let ranges: Vec<(u32, u32)> = (0..=SELECTION_RANGES_MAX as u32)
        .map(|i| (2 * i + 1, 2 * i + 1))
        .collect();
    let selections = [
        (Selection::Quantity(0), "invalid_quantity"),
        (Selection::Serials(Serials::default()), "invalid_quantity"),
        (
            Selection::Serials(Serials::try_from(ranges).unwrap()),
            "invalid_quantity",
        ),
    ];
    for (select, expected) in selections {
        let ship = TraceCall::Ship {
            lot: code,
            to: uscc(COLD_STORE),
            select: select.clone(),
            temperature_log: None,
        };
        refused_alike(chain, &importer, trace(ship), expected);
        let sell = TraceCall::Sell {
            lot: code,
            select: select.clone(),
        };
        refused_alike(chain, &importer, trace(sell), expected);
        let dispose = TraceCall::Dispose {
            lot: code,
            select,
            reason: "破损".into(),
        };
        refused_alike(chain, &importer, trace(dispose), expected);
    }
    let split = |packages: u32, specification: String, unit: &str, select: Selection| {
        Call::Trace(TraceCall::Split {
            lot: code,
            select,
            packages,
            specification,
            unit: unit.into(),
        })
    };
    let one = || Selection::Quantity(1);
    let splits = [
        (split(0, "1kg/袋".into(), "袋", one()), "invalid_quantity"),
        (
            split(20, long(NAME_BYTES_MAX + 1), "袋", one()),
            "invalid_argument",
        ),
        (split(20, "1kg/袋".into(), "", one()), "invalid_argument"),
        (
            split(20, "1kg/袋".into(), "袋", Selection::Quantity(0)),
            "invalid_quantity",
        ),
    ];
    for (call, expected) in splits {
        refused_alike(chain, &importer, call, expected);
    }
    let dispose = TraceCall::Dispose {
        lot: code,
        select: one(),
        reason: long(TEXT_BYTES_MAX + 1),
    };
    refused_alike(chain, &importer, trace(dispose), "invalid_argument");
    let mut paper = certificate(CertificateKind::Other);
    paper.issuer = long(NAME_BYTES_MAX + 1);
    let attach = TraceCall::AttachCertificate {
        lot: code,
        certificate: paper,
    };
    refused_alike(chain, &importer, trace(attach), "invalid_argument");
    let orders = [
        TraceCall::Hold {
            lot: code,
            reason: String::new(),
        },
        TraceCall::Release {
            lot: code,
            reason: long(TEXT_BYTES_MAX + 1),
        },
        TraceCall::Recall {
            lot: code,
            reason: long(TEXT_BYTES_MAX + 1),
        },
    ];
    for order in orders {
        refused_alike(chain, &registrar, trace(order), "invalid_argument");
    }
    admitted(chain, &importer, split(20, "1kg/袋".into(), "袋", one()));
    admitted(chain, &registrar, trace(enterprise()));
}

/// One broken field of a commissioning, and the code both give for it.
type LotEdit = (fn(Lot<'_>), &'static str);

/// The fields of a commissioning, to break one at a time.
struct Lot<'a> {
    product: &'a mut Product,
    origin_country: &'a mut String,
    production_date: &'a mut u32,
    shelf_life_days: &'a mut u32,
    batch: &'a mut String,
    packages: &'a mut u32,
    unit: &'a mut String,
    import: &'a mut Option<ImportDetails>,
    certificates: &'a mut Vec<Certificate>,
}

fn lot_fields(call: &mut TraceCall) -> Lot<'_> {
    let TraceCall::Commission {
        product,
        origin_country,
        production_date,
        shelf_life_days,
        batch,
        packages,
        unit,
        import,
        certificates,
    } = call
    else {
        unreachable!("a commissioning");
    };
    Lot {
        product,
        origin_country,
        production_date,
        shelf_life_days,
        batch,
        packages,
        unit,
        import,
        certificates,
    }
}

#[test]
fn licence_bounds() {
    let mut t = Licences::new();
    let (a, seal_a) = (t.a.clone(), t.seal_a.clone());
    let chain = &mut t.chain;
    let licence = |call: LicenceCall| Call::Licence(call);

    let seals = [
        edit(register_seal("SEAL-A2", &key(53)), |c| {
            if let LicenceCall::RegisterSeal { id, .. } = c {
                *id = long(65);
            }
        }),
        edit(register_seal("SEAL-A2", &key(53)), |c| {
            if let LicenceCall::RegisterSeal { name, .. } = c {
                *name = long(NAME_BYTES_MAX + 1);
            }
        }),
        edit(register_seal("SEAL-A2", &key(53)), |c| {
            if let LicenceCall::RegisterSeal { valid_to_ms, .. } = c {
                *valid_to_ms = 0;
            }
        }),
    ];
    for call in seals {
        refused_alike(chain, &a, licence(call), "invalid_argument");
    }
    let revoke = LicenceCall::RevokeSeal {
        id: "SEAL-A".into(),
        reason: long(TEXT_BYTES_MAX + 1),
    };
    refused_alike(chain, &a, licence(revoke), "invalid_argument");
    let licence_type = |issuers: Vec<&str>, required_fields: Vec<String>| {
        Call::Licence(LicenceCall::RegisterType {
            code: type_code(12),
            name: "食品经营许可证".into(),
            issuers: issuers.iter().map(|u| u.parse().unwrap()).collect(),
            required_fields,
        })
    };
    refused_alike(chain, &a, licence_type(vec![], vec![]), "invalid_argument");
    let too_many = vec!["经营项目".to_string(); 65];
    refused_alike(
        chain,
        &a,
        licence_type(vec![ORG_A], too_many),
        "invalid_argument",
    );

    let good = || draft(id(ORG_A, "S001", 1), "SEAL-A", &seal_a, 1);
    let drafts: [(LicenceCall, &str); 8] = [
        (
            LicenceCall::Issue(draft(id(ORG_A, "S001", 2), "SEAL-A", &seal_a, 1)),
            "version_conflict",
        ),
        (
            LicenceCall::Issue(draft(id(ORG_A, "s001", 1), "SEAL-A", &seal_a, 1)),
            "invalid_argument",
        ),
        (
            LicenceCall::Issue(edit(good(), |d| d.number = String::new())),
            "invalid_argument",
        ),
        (
            LicenceCall::Issue(edit(good(), |d| d.matter = long(TEXT_BYTES_MAX + 1))),
            "invalid_argument",
        ),
        (
            LicenceCall::Issue(edit(good(), |d| d.valid_to = Some(20251231))),
            "invalid_argument",
        ),
        (
            LicenceCall::Issue(edit(good(), |d| d.region = 999_999)),
            "invalid_argument",
        ),
        (
            LicenceCall::Issue(edit(good(), |d| {
                d.face = vec![
                    FaceField {
                        name: "经营范围".into(),
                        digest: Hash([4; 32]),
                    };
                    65
                ]
            })),
            "invalid_argument",
        ),
        (
            LicenceCall::Renew {
                draft: good(),
                reason: "换证".into(),
            },
            "version_conflict",
        ),
    ];
    for (call, expected) in drafts {
        refused_alike(chain, &a, licence(call), expected);
    }
    let renew = LicenceCall::Renew {
        draft: draft(id(ORG_A, "S001", 2), "SEAL-A", &seal_a, 2),
        reason: long(TEXT_BYTES_MAX + 1),
    };
    refused_alike(chain, &a, licence(renew), "invalid_argument");
    let status = LicenceCall::ChangeStatus {
        id: id(ORG_A, "S001", 1),
        action: xinlian_core::licence::StatusAction::Suspend,
        reason: String::new(),
    };
    refused_alike(chain, &a, licence(status), "invalid_argument");
    let transfer = LicenceCall::TransferOut {
        id: id(ORG_A, "S001", 1),
        to: ORG_B.parse().unwrap(),
        reason: long(TEXT_BYTES_MAX + 1),
    };
    refused_alike(chain, &a, licence(transfer), "invalid_argument");
    // A state check comes first at execution here (the licence transferred out): both refuse,
    // with different codes.
    let transfer_in = LicenceCall::TransferIn {
        draft: edit(good(), |d| d.matter = long(TEXT_BYTES_MAX + 1)),
        from: id(ORG_B, "S009", 1),
    };
    let tx = chain.call(&a, licence(transfer_in));
    assert_eq!(
        admission(chain, &tx).unwrap_err().code(),
        "invalid_argument"
    );
    assert_eq!(code(&chain.apply(&[tx])[0]), "licence_not_found");

    admitted(chain, &a, licence(LicenceCall::Issue(good())));
}

#[test]
fn auth_bounds() {
    let mut chain = Chain::new();
    let (holder, window) = (key(3), key(1));
    let now = 1000 * (chain.height + 1);
    let good = || grant("12345678", 0, now + 100_000, None);
    let grant_edits: [fn(GrantFields<'_>); 9] = [
        |g| g.scope.data_items.clear(),
        |g| g.scope.data_items = vec!["项目".into(); 65],
        |g| g.scope.actions.clear(),
        |g| g.scope.data_items[0] = long(NAME_BYTES_MAX + 1),
        |g| g.matter.code = long(65),
        |g| g.matter.name = String::new(),
        |g| g.matter.serial = long(65),
        |g| *g.purpose = long(TEXT_BYTES_MAX + 1),
        |g| *g.purpose = String::new(),
    ];
    for f in grant_edits {
        let call = Call::Auth(edit(good(), |c| f(grant_fields(c))));
        refused_alike(&mut chain, &holder, call, "invalid_argument");
    }
    let now = 1000 * (chain.height + 1);
    let windows = [
        (now + 10, now + 10),
        (now + 10, now),
        (now, now + 367 * DAY_MS),
    ];
    for (from, to) in windows {
        let call = Call::Auth(grant("12345678", from, to, None));
        refused_alike(&mut chain, &holder, call, "invalid_window");
    }
    let call = Call::Auth(grant("12345678", 0, now + 100_000, Some(0)));
    refused_alike(&mut chain, &holder, call, "invalid_quantity");
    // The window against the block time is execution's alone: admission cannot know the time.
    let past = chain.call(&holder, Call::Auth(grant("12345678", 0, 1, None)));
    assert_eq!(admission(&chain, &past), Ok(()));
    assert_eq!(code(&chain.apply(&[past])[0]), "invalid_window");

    let mut use_call = use_of(Hash([1; 32]), "社保缴纳记录", Action::View);
    if let AuthCall::Use { reason, .. } = &mut use_call {
        *reason = long(TEXT_BYTES_MAX + 1);
    }
    refused_alike(
        &mut chain,
        &window,
        Call::Auth(use_call),
        "invalid_argument",
    );
    let now = 1000 * (chain.height + 1);
    admitted(
        &mut chain,
        &holder,
        Call::Auth(grant("12345678", 0, now + 100_000, Some(1))),
    );
}

/// The fields of a grant, to break one at a time.
struct GrantFields<'a> {
    scope: &'a mut xinlian_core::auth::Scope,
    matter: &'a mut xinlian_core::auth::Matter,
    purpose: &'a mut String,
}

fn grant_fields(call: &mut AuthCall) -> GrantFields<'_> {
    let AuthCall::Grant {
        scope,
        matter,
        purpose,
        ..
    } = call
    else {
        unreachable!("a grant");
    };
    GrantFields {
        scope,
        matter,
        purpose,
    }
}

/// When admission refuses, execution refuses with the same error; when execution accepts,
/// admission did.
fn agree(
    admitted: &Result<(), ContractError>,
    status: &ReceiptStatus,
) -> Result<(), TestCaseError> {
    match (admitted, status) {
        (Err(e), ReceiptStatus::Failure { code, message }) => {
            prop_assert_eq!((code.as_str(), message.clone()), (e.code(), e.to_string()));
        }
        (Err(e), ReceiptStatus::Success) => {
            prop_assert!(false, "admission refused a success: {}", e)
        }
        (Ok(()), _) => {}
    }
    Ok(())
}

/// A text of a few characters in any script, padded to a length in bytes that is either short
/// or close to `limit` (on either side of it).
fn text_near(limit: usize) -> impl Strategy<Value = String> {
    let pad = prop_oneof![0usize..4, limit.saturating_sub(24)..limit + 4];
    ("\\PC{0,6}", pad).prop_map(|(head, pad)| head + &long(pad))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Texts in any script, their lengths in bytes around the limits: admission and execution
    /// agree on evidence, which has no state-dependent check after the sender's.
    #[test]
    fn admission_and_execution_agree_on_evidence(
        (kind, memo) in (text_near(NAME_BYTES_MAX), text_near(TEXT_BYTES_MAX)),
    ) {
        let mut chain = Chain::new();
        let tx = chain.call(&key(1), evidence_with(&kind, memo));
        let admitted = admission(&chain, &tx);
        let status = chain.apply(&[tx]).remove(0).status;
        agree(&admitted, &status)?;
        prop_assert_eq!(admitted.is_ok(), status == ReceiptStatus::Success);
    }

    /// Grant windows, use counts and purposes around their limits. The window against the
    /// block time is execution's alone: where it fails, both refuse, maybe with other codes.
    #[test]
    fn admission_and_execution_agree_on_grants(
        from in prop_oneof![0u64..800 * DAY_MS, 0u64..2_000],
        to in prop_oneof![0u64..800 * DAY_MS, 0u64..2_000],
        max_uses in proptest::option::of(0u32..3),
        purpose_bytes in prop_oneof![0usize..4, TEXT_BYTES_MAX - 2..TEXT_BYTES_MAX + 2],
    ) {
        let mut chain = Chain::new();
        let mut call = grant("12345678", from, to, max_uses);
        *grant_fields(&mut call).purpose = long(purpose_bytes);
        let tx = chain.call(&key(3), Call::Auth(call));
        let now = 1000 * (chain.height + 1);
        let admitted = admission(&chain, &tx);
        let status = chain.apply(&[tx]).remove(0).status;
        if to > now && from <= now + 366 * DAY_MS {
            agree(&admitted, &status)?;
        } else {
            prop_assert!(admitted.is_ok() || status != ReceiptStatus::Success);
        }
    }
}
