//! The signature-verification hot path and what surrounds it (`docs/BENCHMARKS.md`): SM2 and
//! Ed25519 signing and verification, SM3 and BLAKE3, Merkle roots, the transaction encoding, and
//! the signature-and-root validation of a 1,000-transaction block for each suite.
//!
//! `cargo bench -p xinlian-benches --bench crypto` measures; `-- --test` runs each once, as the
//! checks do. `scripts/bench-crypto.sh` runs it beside `openssl speed` and prints the ratios.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use rayon::prelude::*;
use xinlian_core::crypto::{PrivateKey, PublicKey, Signature, SignatureScheme};
use xinlian_core::genesis::Suite;
use xinlian_core::types::{Block, BlockHeader, Call, SignedTransaction, SystemCall, Transaction};
use xinlian_core::verify::verify_signatures;
use xinlian_core::{Hash, HashSuite, merkle};

/// A transaction as a terminal sends one: an evidence record of about 150 bytes.
fn transaction(key: &PrivateKey, nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: "xinlian-bench".into(),
        sender: key.public_key(),
        nonce,
        created_at_ms: 1_763_900_000_000 + nonce,
        valid_until_height: 1_000,
        call: Call::System(SystemCall::RecordEvidence {
            kind: "inspection-report".into(),
            digest: Hash([nonce as u8; 32]),
            memo: "批次抽检报告".into(),
        }),
    }
    .sign(key)
    .unwrap()
}

/// `count` transactions from 50 senders (a block from many terminals, some sending several).
fn transactions(scheme: SignatureScheme, count: usize) -> Vec<SignedTransaction> {
    let keys: Vec<PrivateKey> = (1..=50u8)
        .map(|seed| PrivateKey::from_seed(scheme, [seed; 32]).unwrap())
        .collect();
    (0..count)
        .map(|i| transaction(&keys[i % keys.len()], i as u64))
        .collect()
}

fn messages_and_signatures(
    scheme: SignatureScheme,
    count: usize,
) -> Vec<(PublicKey, Vec<u8>, Signature)> {
    transactions(scheme, count)
        .into_iter()
        .map(|tx| (tx.tx.sender.clone(), tx.tx.signing_bytes(), tx.signature))
        .collect()
}

/// `sign` and `verify` of one transaction's signing bytes; returns what was verified.
fn sign_and_verify(
    group: &mut BenchmarkGroup<'_, WallTime>,
    scheme: SignatureScheme,
) -> (PublicKey, Vec<u8>, Signature) {
    let key = PrivateKey::from_seed(scheme, [7; 32]).unwrap();
    let message = transaction(&key, 1).tx.signing_bytes();
    group.bench_function("sign", |b| b.iter(|| key.sign(&message)));
    let signature = key.sign(&message);
    let public = key.public_key();
    group.bench_function("verify", |b| {
        b.iter(|| public.verify(&message, &signature).unwrap())
    });
    (public, message, signature)
}

fn sm2(c: &mut Criterion) {
    let mut group = c.benchmark_group("sm2");
    let (public, message, signature) = sign_and_verify(&mut group, SignatureScheme::Sm2);
    // The sm2 crate's own verifier (constant-time arithmetic, Z from its parsed key), for
    // comparison with ours above.
    let PublicKey::Sm2(sm2_key) = &public else {
        unreachable!()
    };
    let library =
        sm2::dsa::VerifyingKey::from_sec1_bytes(sm2_key.user_id(), sm2_key.point()).unwrap();
    let raw = sm2::dsa::Signature::from_slice(&signature.0).unwrap();
    group.bench_function("verify_sm2_crate", |b| {
        use sm2::dsa::signature::Verifier;
        b.iter(|| library.verify(&message, &raw).unwrap())
    });
    // Cold keys: each key verifies far fewer times than earns it a window table, as with many
    // terminals that each send now and then.
    let cold: Vec<(PublicKey, Vec<u8>, Signature)> = (0..3_000u32)
        .map(|i| {
            let mut seed = [1u8; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            let key = PrivateKey::from_seed(SignatureScheme::Sm2, seed).unwrap();
            let message = transaction(&key, u64::from(i)).tx.signing_bytes();
            let signature = key.sign(&message);
            (key.public_key(), message, signature)
        })
        .collect();
    let mut next = 0;
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(2));
    group.bench_function("verify_cold_key", |b| {
        b.iter(|| {
            let (key, message, signature) = &cold[next % cold.len()];
            next += 1;
            key.verify(message, signature).unwrap()
        })
    });
    let items = messages_and_signatures(SignatureScheme::Sm2, 256);
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function(
        BenchmarkId::new("verify_parallel", rayon::current_num_threads()),
        |b| {
            b.iter(|| {
                items
                    .par_iter()
                    .for_each(|(key, message, signature)| key.verify(message, signature).unwrap())
            })
        },
    );
    group.finish();
}

fn ed25519(c: &mut Criterion) {
    let mut group = c.benchmark_group("ed25519");
    sign_and_verify(&mut group, SignatureScheme::Ed25519);
    for size in [64, 1024] {
        let txs = transactions(SignatureScheme::Ed25519, size);
        let refs: Vec<&SignedTransaction> = txs.iter().collect();
        group.throughput(Throughput::Elements(size as u64));
        // One batch call of this size, on one core: `verify_batch` as the node makes it.
        let messages: Vec<Vec<u8>> = txs.iter().map(|tx| tx.tx.signing_bytes()).collect();
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let signatures: Vec<ed25519_dalek::Signature> = txs
            .iter()
            .map(|tx| ed25519_dalek::Signature::from_bytes(&tx.signature.0))
            .collect();
        let keys: Vec<ed25519_dalek::VerifyingKey> = txs
            .iter()
            .map(|tx| match &tx.tx.sender {
                PublicKey::Ed25519(key) => {
                    ed25519_dalek::VerifyingKey::from_bytes(&key.to_bytes()).unwrap()
                }
                PublicKey::Sm2(_) => unreachable!(),
            })
            .collect();
        group.bench_function(BenchmarkId::new("verify_batch", size), |b| {
            b.iter(|| ed25519_dalek::verify_batch(&messages, &signatures, &keys).unwrap())
        });
        // The node's path: batches of 64 spread over the cores, with the encoding checks.
        group.bench_function(BenchmarkId::new("verify_signatures", size), |b| {
            b.iter(|| verify_signatures(&refs).unwrap())
        });
    }
    group.finish();
}

fn hashes(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    for size in [1024usize, 64 * 1024] {
        let data = vec![0x5a_u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        for (name, suite) in [("sm3", HashSuite::Sm3), ("blake3", HashSuite::Blake3)] {
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter(|| suite.digest(&data))
            });
        }
    }
    group.finish();
}

fn merkle_roots(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle_root");
    for leaves in [1_000usize, 10_000] {
        let data: Vec<[u8; 32]> = (0..leaves)
            .map(|i| {
                let mut leaf = [0u8; 32];
                leaf[..8].copy_from_slice(&(i as u64).to_le_bytes());
                leaf
            })
            .collect();
        group.throughput(Throughput::Elements(leaves as u64));
        for (name, suite) in [("sm3", HashSuite::Sm3), ("blake3", HashSuite::Blake3)] {
            group.bench_function(BenchmarkId::new(name, leaves), |b| {
                b.iter(|| merkle::root(suite, &data))
            });
        }
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("transaction");
    let key = PrivateKey::from_seed(SignatureScheme::Sm2, [7; 32]).unwrap();
    let tx = transaction(&key, 1);
    let bytes = tx.to_bytes();
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("encode", |b| b.iter(|| tx.to_bytes()));
    group.bench_function("decode", |b| {
        b.iter(|| SignedTransaction::from_bytes(&bytes).unwrap())
    });
    group.finish();
}

/// A signed block of `count` transactions, as its bytes arrive from a peer.
fn block_bytes(suite: Suite, count: usize) -> Vec<u8> {
    let txs = transactions(suite.default_scheme(), count);
    let proposer = PrivateKey::from_seed(suite.default_scheme(), [99; 32]).unwrap();
    let header = BlockHeader {
        chain_id: "xinlian-bench".into(),
        height: 1,
        parent_hash: Hash([0; 32]),
        tx_root: Block::compute_tx_root(suite.hash_suite(), &txs),
        receipts_root: Hash([0; 32]),
        state_root: Hash([0; 32]),
        certificates_hash: Hash([0; 32]),
        timestamp_ms: 1_763_900_000_000,
        proposer: proposer.public_key(),
    };
    Block {
        signature: header.sign(&proposer),
        header,
        certificates: Vec::new(),
        txs,
    }
    .to_bytes()
}

/// What a follower does with a block before executing it, and what bounds it: decode, check the
/// proposer's signature and the transaction root, verify every transaction's signature (none in
/// the verify-once cache: a block first seen from a peer).
fn validate(suite: Suite, bytes: &[u8]) {
    let block = Block::from_bytes(bytes).unwrap();
    block.header.verify_signature(&block.signature).unwrap();
    assert_eq!(
        Block::compute_tx_root(suite.hash_suite(), &block.txs),
        block.header.tx_root
    );
    let txs: Vec<&SignedTransaction> = block.txs.iter().collect();
    verify_signatures(&txs).unwrap();
}

fn block_validation(c: &mut Criterion) {
    let mut group = c.benchmark_group("block_validation");
    group.sample_size(10);
    for (name, suite) in [("gm", Suite::Gm), ("intl", Suite::Intl)] {
        let bytes = block_bytes(suite, 1_000);
        group.throughput(Throughput::Elements(1_000));
        group.bench_function(BenchmarkId::new(name, 1_000), |b| {
            b.iter_batched(|| (), |()| validate(suite, &bytes), BatchSize::SmallInput)
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    sm2,
    ed25519,
    hashes,
    merkle_roots,
    encoding,
    block_validation
);
criterion_main!(benches);
