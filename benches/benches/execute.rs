//! What executing a block costs without RocksDB, signatures or the network: 1,000 evidence
//! records through the contracts on an in-memory state, with the hashes a node carries in from
//! admission, under each hash suite. Beside the node's `xinlian_apply_stage_seconds{code="execute"}`
//! this says how much of a block's execution is the contracts' own work (docs/BENCHMARKS.md).

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use xinlian_contracts::{BlockContext, ChainRules, Executor, MemoryState};
use xinlian_core::Hash;
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::genesis::{Genesis, GenesisNode, GenesisOrganisation, Suite};
use xinlian_core::types::{Call, OrgRole, SignedTransaction, SystemCall, Transaction};

const TXS: usize = 1_000;

fn chain(suite: Suite, admin: &PrivateKey) -> (Executor, MemoryState) {
    let node = PrivateKey::from_seed(SignatureScheme::Ed25519, [9; 32]).unwrap();
    let genesis = Genesis {
        chain_id: "bench".into(),
        suite,
        signature_schemes: vec![SignatureScheme::Sm2, SignatureScheme::Ed25519],
        genesis_time_ms: 0,
        organisations: vec![GenesisOrganisation {
            uscc: "91110000600037341L".parse().unwrap(),
            name: "org".into(),
            roles: vec![OrgRole::Admin],
            admins: vec![admin.public_key()],
            nodes: vec![GenesisNode {
                id: "n".into(),
                public_key: node.public_key(),
                p2p_peer_id: "p".into(),
            }],
        }],
    };
    genesis.validate().unwrap();
    let mut state = MemoryState::default();
    state.apply(&Executor::genesis_writes(&genesis, &state), []);
    (Executor::new(ChainRules::from_genesis(&genesis)), state)
}

fn evidence(admin: &PrivateKey, nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: "bench".into(),
        sender: admin.public_key(),
        nonce,
        created_at_ms: 0,
        valid_until_height: 100,
        call: Call::System(SystemCall::RecordEvidence {
            kind: "bench".into(),
            digest: Hash([nonce as u8; 32]),
            memo: format!("record {nonce}"),
        }),
    }
    .sign(admin)
    .unwrap()
}

fn execute(c: &mut Criterion) {
    let mut group = c.benchmark_group("execute");
    group.throughput(Throughput::Elements(TXS as u64));
    let admin = PrivateKey::from_seed(SignatureScheme::Ed25519, [1; 32]).unwrap();
    for (name, suite) in [("gm", Suite::Gm), ("intl", Suite::Intl)] {
        let (executor, state) = chain(suite, &admin);
        let txs: Vec<SignedTransaction> = (0..TXS as u64).map(|n| evidence(&admin, n)).collect();
        let hashes: Vec<Hash> = txs.iter().map(|tx| tx.hash(suite.hash_suite())).collect();
        let context = BlockContext {
            height: 1,
            timestamp_ms: 1,
        };
        group.bench_function(format!("evidence_block_{name}"), |b| {
            b.iter_batched(
                || (),
                |()| {
                    executor
                        .execute_block_hashed(&state, &context, &txs, &hashes)
                        .unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, execute);
criterion_main!(benches);
