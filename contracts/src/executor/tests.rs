//! Each test names the rule it checks.

use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::genesis::{Genesis, GenesisNode, GenesisOrganisation, Suite};
use xinlian_core::types::{GovCall, GovChange, MemberRole, OrgRole, SystemCall, Transaction};

use super::*;
use crate::{MemoryState, Space};

mod auth;
mod bounds;
mod coldchain;
mod licence;

const ORG_A: &str = "91110000600037341L";
const ORG_B: &str = "11430000006122244L";
const ORG_C: &str = "11100000000013338W";

fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_seed(SignatureScheme::Sm2, [seed; 32]).unwrap()
}

fn org(uscc: &str, admin: &PrivateKey, node_seed: u8) -> GenesisOrganisation {
    GenesisOrganisation {
        uscc: uscc.parse().unwrap(),
        name: format!("org {uscc}"),
        roles: vec![
            OrgRole::Regulator,
            OrgRole::Admin,
            OrgRole::EnterpriseRegistrar,
            OrgRole::Issuer,
        ],
        admins: vec![admin.public_key()],
        nodes: vec![GenesisNode {
            id: format!("node-{node_seed}"),
            public_key: key(node_seed).public_key(),
            p2p_peer_id: format!("peer-{node_seed}"),
        }],
    }
}

struct Chain {
    executor: Executor,
    state: MemoryState,
    height: u64,
}

impl Chain {
    fn new() -> Self {
        let genesis = Genesis {
            chain_id: "test-chain".into(),
            suite: Suite::Gm,
            signature_schemes: vec![SignatureScheme::Sm2, SignatureScheme::Ed25519],
            genesis_time_ms: 0,
            organisations: vec![
                org(ORG_A, &key(1), 101),
                org(ORG_B, &key(2), 102),
                org(ORG_C, &key(3), 103),
            ],
        };
        genesis.validate().unwrap();
        let mut state = MemoryState::default();
        let writes = Executor::genesis_writes(&genesis, &state);
        state.apply(&writes, []);
        Chain {
            executor: Executor::new(ChainRules::from_genesis(&genesis)),
            state,
            height: 0,
        }
    }

    fn tx(&self, signer: &PrivateKey, call: SystemCall) -> SignedTransaction {
        self.call(signer, Call::System(call))
    }

    fn call(&self, signer: &PrivateKey, call: Call) -> SignedTransaction {
        Transaction {
            chain_id: "test-chain".into(),
            sender: signer.public_key(),
            nonce: 7,
            created_at_ms: 0,
            valid_until_height: self.height + 10,
            call,
        }
        .sign(signer)
        .unwrap()
    }

    fn apply(&mut self, txs: &[SignedTransaction]) -> Vec<Receipt> {
        self.height += 1;
        let block = BlockContext {
            height: self.height,
            timestamp_ms: 1000 * self.height,
        };
        let outcome = self
            .executor
            .execute_block(&self.state, &block, txs)
            .unwrap();
        // Every test checks this too: admission's bounds are never stricter than execution, so
        // a call that succeeded passes them.
        for (tx, receipt) in txs.iter().zip(&outcome.receipts) {
            if matches!(receipt.status, ReceiptStatus::Success) {
                assert_eq!(crate::check_bounds(&tx.tx.call), Ok(()), "{:?}", tx.tx.call);
            }
        }
        self.state
            .apply(&outcome.writes, txs.iter().map(|t| t.hash(HashSuite::Sm3)));
        outcome.receipts
    }
}

fn code(receipt: &Receipt) -> &str {
    match &receipt.status {
        ReceiptStatus::Success => "success",
        ReceiptStatus::Failure { code, .. } => code,
    }
}

fn register(public_key: &PrivateKey, role: MemberRole) -> SystemCall {
    SystemCall::RegisterMember {
        public_key: public_key.public_key(),
        name: "clerk".into(),
        role,
    }
}

fn evidence() -> SystemCall {
    SystemCall::RecordEvidence {
        kind: "contract".into(),
        digest: Hash([9; 32]),
        memo: String::new(),
    }
}

#[test]
fn admin_registers_member_who_then_records_evidence() {
    let mut chain = Chain::new();
    let clerk = key(10);
    let r = chain.apply(&[chain.tx(&key(1), register(&clerk, MemberRole::Operator))]);
    assert_eq!(code(&r[0]), "success");
    let r = chain.apply(&[chain.tx(&clerk, evidence())]);
    assert_eq!(code(&r[0]), "success");
}

#[test]
fn unknown_sender_is_refused() {
    let mut chain = Chain::new();
    let r = chain.apply(&[chain.tx(&key(50), evidence())]);
    assert_eq!(code(&r[0]), "unknown_sender");
}

#[test]
fn operator_may_not_register_members() {
    let mut chain = Chain::new();
    let clerk = key(10);
    chain.apply(&[chain.tx(&key(1), register(&clerk, MemberRole::Operator))]);
    let r = chain.apply(&[chain.tx(&clerk, register(&key(11), MemberRole::Operator))]);
    assert_eq!(code(&r[0]), "role_forbidden");
}

#[test]
fn admin_may_not_remove_another_organisations_member() {
    let mut chain = Chain::new();
    let r = chain.apply(&[chain.tx(
        &key(2),
        SystemCall::RemoveMember {
            public_key: key(1).public_key(),
        },
    )]);
    assert_eq!(code(&r[0]), "other_organisation");
}

#[test]
fn removed_member_can_no_longer_send() {
    let mut chain = Chain::new();
    let clerk = key(10);
    chain.apply(&[chain.tx(&key(1), register(&clerk, MemberRole::Operator))]);
    let r = chain.apply(&[chain.tx(
        &key(1),
        SystemCall::RemoveMember {
            public_key: clerk.public_key(),
        },
    )]);
    assert_eq!(code(&r[0]), "success");
    let r = chain.apply(&[chain.tx(&clerk, evidence())]);
    assert_eq!(code(&r[0]), "unknown_sender");
}

#[test]
fn replay_of_committed_transaction_is_refused() {
    let mut chain = Chain::new();
    let tx = chain.tx(&key(1), evidence());
    assert_eq!(code(&chain.apply(std::slice::from_ref(&tx))[0]), "success");
    assert_eq!(code(&chain.apply(&[tx])[0]), "duplicate_tx");
}

#[test]
fn duplicate_within_one_block_is_refused() {
    let mut chain = Chain::new();
    let tx = chain.tx(&key(1), evidence());
    let r = chain.apply(&[tx.clone(), tx]);
    assert_eq!((code(&r[0]), code(&r[1])), ("success", "duplicate_tx"));
}

#[test]
fn validity_window_is_enforced_by_height() {
    let mut chain = Chain::new();
    let mut expired = chain.tx(&key(1), evidence());
    expired.tx.valid_until_height = 0;
    let mut too_far = chain.tx(&key(1), evidence());
    too_far.tx.valid_until_height = 2 + TX_VALIDITY_BLOCKS_MAX;
    let r = chain.apply(&[expired, too_far]);
    assert_eq!(
        (code(&r[0]), code(&r[1])),
        ("tx_expired", "tx_window_too_far")
    );
}

#[test]
fn wrong_chain_is_refused() {
    let mut chain = Chain::new();
    let mut tx = chain.tx(&key(1), evidence());
    tx.tx.chain_id = "other".into();
    assert_eq!(code(&chain.apply(&[tx])[0]), "wrong_chain");
}

/// A console counter's value (0 when absent).
fn counter(state: &MemoryState, key: Vec<u8>) -> u64 {
    state
        .get(Space::Index, &key)
        .unwrap()
        .map_or(0, |v| crate::stats::value_of(&v))
}

#[test]
fn refused_call_changes_no_state() {
    let chain = Chain::new();
    let clerk = key(10);
    let bad = SystemCall::RegisterMember {
        public_key: clerk.public_key(),
        name: String::new(),
        role: MemberRole::Operator,
    };
    let height = chain.height + 1;
    let block = BlockContext {
        height,
        timestamp_ms: 0,
    };
    let outcome = chain
        .executor
        .execute_block(&chain.state, &block, &[chain.tx(&key(1), bad)])
        .unwrap();
    assert_eq!(code(&outcome.receipts[0]), "invalid_argument");
    // It wrote nothing but the console's count of refusals by call and code.
    let counted = crate::stats::daily_key(
        crate::stats::metric::TX,
        crate::stats::day_of(0),
        &["system.register_member", "invalid_argument"],
    );
    let keys: Vec<_> = outcome.writes.keys().collect();
    assert_eq!(
        keys,
        [&(Space::Index, counted)],
        "a refused call wrote {keys:?}"
    );
}

#[test]
fn same_blocks_give_same_state() {
    let run = || {
        let mut chain = Chain::new();
        let clerk = key(10);
        chain.apply(&[chain.tx(&key(1), register(&clerk, MemberRole::Operator))]);
        chain.apply(&[chain.tx(&clerk, evidence())]);
        chain.state
    };
    assert!(run().same_records(&run()));
}

fn propose(change: GovChange) -> Call {
    Call::Governance(GovCall::Propose {
        change,
        memo: "why".into(),
    })
}

fn approve(id: Hash) -> Call {
    Call::Governance(GovCall::Approve { proposal_id: id })
}

fn add_org(admin: &PrivateKey) -> GovChange {
    GovChange::AddOrganisation {
        uscc: xinlian_core::ids::Uscc::with_check_character("11410100MB9234567").unwrap(),
        name: "新成员单位".into(),
        roles: vec![OrgRole::Admin],
        admins: vec![admin.public_key()],
    }
}

/// The default policy: a change takes effect once more than half of the admin organisations
/// approved it, not before.
#[test]
fn a_proposal_takes_effect_at_majority_only() {
    let mut chain = Chain::new();
    let newcomer = key(40);
    let proposal = chain.call(&key(1), propose(add_org(&newcomer)));
    let id = proposal.hash(HashSuite::Sm3);
    assert_eq!(code(&chain.apply(&[proposal])[0]), "success");
    // One of three: the newcomer is not a member yet.
    assert_eq!(
        code(&chain.apply(&[chain.tx(&newcomer, evidence())])[0]),
        "unknown_sender"
    );
    assert_eq!(
        code(&chain.apply(&[chain.call(&key(2), approve(id))])[0]),
        "success"
    );
    // Two of three: in force.
    assert_eq!(
        code(&chain.apply(&[chain.tx(&newcomer, evidence())])[0]),
        "success"
    );
    assert_eq!(
        code(&chain.apply(&[chain.call(&key(3), approve(id))])[0]),
        "proposal_closed"
    );
}

#[test]
fn governance_refusals_have_their_own_codes() {
    let mut chain = Chain::new();
    let operator = key(10);
    chain.apply(&[chain.tx(&key(1), register(&operator, MemberRole::Operator))]);
    let r = chain.apply(&[chain.call(&operator, propose(add_org(&key(41))))]);
    assert_eq!(
        code(&r[0]),
        "role_forbidden",
        "an operator is not a governor"
    );
    assert_eq!(
        code(&chain.apply(&[chain.call(&key(1), approve(Hash([7; 32])))])[0]),
        "proposal_not_found"
    );
    let proposal = chain.call(
        &key(1),
        propose(GovChange::RemoveNode {
            id: "node-101".into(),
        }),
    );
    let id = proposal.hash(HashSuite::Sm3);
    chain.apply(&[proposal]);
    assert_eq!(
        code(&chain.apply(&[chain.call(&key(1), approve(id))])[0]),
        "already_approved"
    );
    let unknown_org = GovChange::AddNode {
        org: xinlian_core::ids::Uscc::with_check_character("11410100MB8234567").unwrap(),
        id: "x".into(),
        public_key: key(50).public_key(),
        p2p_peer_id: "p".into(),
        learner: false,
    };
    assert_eq!(
        code(&chain.apply(&[chain.call(&key(1), propose(unknown_org))])[0]),
        "unknown_organisation"
    );
    let taken_peer = GovChange::AddNode {
        org: ORG_A.parse().unwrap(),
        id: "node-new".into(),
        public_key: key(50).public_key(),
        p2p_peer_id: "peer-102".into(),
        learner: false,
    };
    assert_eq!(
        code(&chain.apply(&[chain.call(&key(1), propose(taken_peer))])[0]),
        "node_exists"
    );
    let no_schemes = GovChange::SetSignatureSchemes { schemes: vec![] };
    assert_eq!(
        code(&chain.apply(&[chain.call(&key(1), propose(no_schemes))])[0]),
        "invalid_argument"
    );
}

/// Nodes get Raft ids after the genesis nodes, never reused; removal keeps the record.
#[test]
fn nodes_join_with_the_next_raft_id_and_leave_by_proposal() {
    let mut chain = Chain::new();
    let add = GovChange::AddNode {
        org: ORG_B.parse().unwrap(),
        id: "node-new".into(),
        public_key: key(60).public_key(),
        p2p_peer_id: "peer-new".into(),
        learner: true,
    };
    let proposal = chain.call(&key(1), propose(add));
    let id = proposal.hash(HashSuite::Sm3);
    chain.apply(&[proposal]);
    chain.apply(&[chain.call(&key(2), approve(id))]);
    let read = |chain: &Chain| {
        let overlay = Overlay::new(&chain.state);
        crate::governance::list_nodes(&overlay).unwrap()
    };
    let nodes = read(&chain);
    assert_eq!(nodes.len(), 4);
    assert_eq!((nodes[3].raft_id, nodes[3].learner), (4, true));
    let remove = chain.call(
        &key(2),
        propose(GovChange::RemoveNode {
            id: "node-101".into(),
        }),
    );
    let id = remove.hash(HashSuite::Sm3);
    chain.apply(&[remove]);
    chain.apply(&[chain.call(&key(3), approve(id))]);
    assert!(read(&chain).iter().any(|n| n.id == "node-101" && n.removed));
}

/// A chain can move between schemes by governance, without a new genesis.
#[test]
fn accepted_schemes_change_by_governance() {
    let mut chain = Chain::new();
    let ed = PrivateKey::from_seed(SignatureScheme::Ed25519, [70; 32]).unwrap();
    chain.apply(&[chain.tx(&key(1), register(&ed, MemberRole::Operator))]);
    assert_eq!(
        code(&chain.apply(&[chain.tx(&ed, evidence())])[0]),
        "success"
    );
    let only_sm2 = chain.call(
        &key(1),
        propose(GovChange::SetSignatureSchemes {
            schemes: vec![SignatureScheme::Sm2],
        }),
    );
    let id = only_sm2.hash(HashSuite::Sm3);
    chain.apply(&[only_sm2]);
    chain.apply(&[chain.call(&key(3), approve(id))]);
    assert_eq!(
        code(&chain.apply(&[chain.tx(&ed, evidence())])[0]),
        "scheme_not_accepted"
    );
}
