//! Frozen formats: the canonical bytes and hashes of sample values, checked in under
//! `core/tests/fixtures/formats.json`. A mismatch means the format changed. Regenerating the file
//! (`XINLIAN_BLESS_FIXTURES=1 cargo test -p xinlian-core --test it fixtures`) is approving a
//! format change, which breaks every stored chain and signed transaction: never a way to make a
//! test pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xinlian_core::certificate::{CommitCertificate, CommitVote, commit_vote_bytes};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::genesis::{Genesis, GenesisNode, GenesisOrganisation, Suite};
use xinlian_core::types::{
    BlockHeader, Call, MemberRole, OrgRole, Receipt, ReceiptStatus, SystemCall, Transaction,
};
use xinlian_core::{Hash, HashSuite, encoding, state_tree};

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Fixture {
    hex: String,
    sm3: String,
    blake3: String,
}

fn key(scheme: SignatureScheme, seed: u8) -> PrivateKey {
    PrivateKey::from_seed(scheme, [seed; 32]).unwrap()
}

/// A sample's canonical bytes and how to hash it under a suite.
type Sample = (Vec<u8>, Box<dyn Fn(HashSuite) -> Hash>);

fn samples() -> BTreeMap<String, Sample> {
    let sm2 = key(SignatureScheme::Sm2, 1);
    let ed = key(SignatureScheme::Ed25519, 2);
    let tx_sm2 = Transaction {
        chain_id: "xinlian-fixture".into(),
        sender: sm2.public_key(),
        nonce: 42,
        created_at_ms: 1_700_000_000_000,
        valid_until_height: 100,
        call: Call::System(SystemCall::RecordEvidence {
            kind: "contract".into(),
            digest: Hash([7; 32]),
            memo: "固定".into(),
        }),
    };
    let tx_ed = Transaction {
        sender: ed.public_key(),
        call: Call::System(SystemCall::RegisterMember {
            public_key: key(SignatureScheme::Sm2, 3).public_key(),
            name: "窗口".into(),
            role: MemberRole::Operator,
        }),
        ..tx_sm2.clone()
    };
    let signed_sm2 = tx_sm2.clone().sign(&sm2).unwrap();
    let signed_ed = tx_ed.clone().sign(&ed).unwrap();
    let header = BlockHeader {
        chain_id: "xinlian-fixture".into(),
        height: 7,
        parent_hash: Hash([1; 32]),
        tx_root: Hash([2; 32]),
        receipts_root: Hash([3; 32]),
        state_root: Hash([4; 32]),
        certificates_hash: Hash([8; 32]),
        timestamp_ms: 1_700_000_000_123,
        proposer: sm2.public_key(),
    };
    let failure = Receipt {
        tx_hash: Hash([5; 32]),
        height: 7,
        index: 1,
        status: ReceiptStatus::Failure {
            code: "role_forbidden".into(),
            message: "no".into(),
        },
    };
    let genesis = Genesis {
        chain_id: "xinlian-fixture".into(),
        suite: Suite::Gm,
        signature_schemes: vec![SignatureScheme::Sm2, SignatureScheme::Ed25519],
        genesis_time_ms: 1_700_000_000_000,
        organisations: vec![GenesisOrganisation {
            uscc: "11100000000013338W".parse().unwrap(),
            name: "示例机关".into(),
            roles: vec![OrgRole::Regulator, OrgRole::Admin],
            admins: vec![sm2.public_key(), ed.public_key()],
            nodes: vec![GenesisNode {
                id: "node0".into(),
                public_key: key(SignatureScheme::Sm2, 9).public_key(),
                p2p_peer_id: "12D3KooWFixtureNode0".into(),
            }],
        }],
    };
    let mut out: BTreeMap<String, Sample> = BTreeMap::new();
    out.insert(
        "tx_sm2".into(),
        (encoding::encode(&tx_sm2), Box::new(move |s| tx_sm2.hash(s))),
    );
    out.insert(
        "tx_ed25519".into(),
        (encoding::encode(&tx_ed), Box::new(move |s| tx_ed.hash(s))),
    );
    let signed_sm2_bytes = signed_sm2.to_bytes();
    out.insert(
        "signed_tx_sm2".into(),
        (
            signed_sm2_bytes.clone(),
            Box::new(move |s| s.digest(&signed_sm2_bytes)),
        ),
    );
    let signed_ed_bytes = signed_ed.to_bytes();
    out.insert(
        "signed_tx_ed25519".into(),
        (
            signed_ed_bytes.clone(),
            Box::new(move |s| s.digest(&signed_ed_bytes)),
        ),
    );
    out.insert(
        "block_header".into(),
        (encoding::encode(&header), Box::new(move |s| header.hash(s))),
    );
    out.insert(
        "receipt_failure".into(),
        (
            encoding::encode(&failure),
            Box::new(move |s| failure.hash(s)),
        ),
    );
    // What a voter signs, and a certificate of two votes (SM2 and Ed25519 node keys).
    let vote_bytes = commit_vote_bytes("xinlian-fixture", 7, &Hash([6; 32]));
    out.insert(
        "commit_vote_signing".into(),
        (vote_bytes.clone(), Box::new(move |s| s.digest(&vote_bytes))),
    );
    let certificate = CommitCertificate::new(
        "xinlian-fixture",
        7,
        Hash([6; 32]),
        vec![
            CommitVote::sign(&sm2, "node0", "xinlian-fixture", 7, &Hash([6; 32])),
            CommitVote::sign(&ed, "node1", "xinlian-fixture", 7, &Hash([6; 32])),
        ],
    );
    out.insert(
        "commit_certificate".into(),
        (
            certificate.to_bytes(),
            Box::new(move |s| certificate.hash(s)),
        ),
    );
    // A sample state: its entries' canonical bytes, and the root of the state tree over them
    // under each suite; and the proof of one entry (SM3), whose bytes freeze the proof format.
    let tree_of = |suite: HashSuite| {
        let tree = state_tree::MemoryTree::default();
        let writes = state_sample()
            .into_iter()
            .map(|(space, key, value)| (state_tree::key_hash(suite, space, &key), Some(value)));
        let (root, batch) = state_tree::apply(suite, &tree, 0, writes).unwrap();
        tree.store(&batch);
        (tree, root)
    };
    let (sm3_tree, _) = tree_of(HashSuite::Sm3);
    let state_bytes = encoding::encode(&state_sample());
    out.insert(
        "state_tree_root".into(),
        (state_bytes, Box::new(move |s| tree_of(s).1)),
    );
    let lic = state_tree::key_hash(HashSuite::Sm3, 0, b"lic/11010519000000001X");
    let (_, proof) = state_tree::prove(HashSuite::Sm3, &sm3_tree, 0, lic).unwrap();
    out.insert(
        "state_proof_sm3".into(),
        (proof.clone(), Box::new(move |s| s.digest(&proof))),
    );
    let genesis_bytes = encoding::encode(&genesis);
    out.insert(
        "genesis".into(),
        (
            genesis_bytes,
            Box::new(move |s| {
                let mut g = genesis.clone();
                g.suite = if s == HashSuite::Sm3 {
                    Suite::Gm
                } else {
                    Suite::Intl
                };
                g.hash()
            }),
        ),
    );
    out
}

/// The sample state of `state_tree_root`: (space, key, value).
fn state_sample() -> Vec<(u8, Vec<u8>, Vec<u8>)> {
    vec![
        (
            0,
            b"lic/11010519000000001X".to_vec(),
            b"licence record".to_vec(),
        ),
        (
            0,
            b"cc/lot/\x00\x00\x00\x01".to_vec(),
            b"lot record".to_vec(),
        ),
        (1, b"st/tx/day".to_vec(), 7u64.to_be_bytes().to_vec()),
        (1, b"cc/holders/lot/uscc".to_vec(), vec![]),
    ]
}

#[test]
fn encodings_and_hashes_match_the_frozen_fixtures() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats.json");
    let computed: BTreeMap<String, Fixture> = samples()
        .into_iter()
        .map(|(name, (bytes, hash))| {
            let fixture = Fixture {
                hex: hex::encode(&bytes),
                sm3: hash(HashSuite::Sm3).to_hex(),
                blake3: hash(HashSuite::Blake3).to_hex(),
            };
            (name, fixture)
        })
        .collect();
    if std::env::var_os("XINLIAN_BLESS_FIXTURES").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
        return;
    }
    let frozen: BTreeMap<String, Fixture> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixtures file is checked in"))
            .unwrap();
    assert_eq!(
        computed.keys().collect::<Vec<_>>(),
        frozen.keys().collect::<Vec<_>>(),
        "fixture set changed"
    );
    for (name, fixture) in &computed {
        assert_eq!(
            fixture, &frozen[name],
            "format of {name} changed: see docs/encoding.md before approving"
        );
    }
}
