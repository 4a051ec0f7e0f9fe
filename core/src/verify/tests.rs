#![allow(clippy::unwrap_used)]

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use sha2::{Digest, Sha512};

use super::*;
use crate::Hash;
use crate::crypto::{PrivateKey, Signature, SignatureScheme};
use crate::types::{Call, SystemCall, Transaction};

fn unsigned(sender: PublicKey, nonce: u64) -> Transaction {
    Transaction {
        chain_id: "verify-test".into(),
        sender,
        nonce,
        created_at_ms: 0,
        valid_until_height: 10,
        call: Call::System(SystemCall::RecordEvidence {
            kind: "test".into(),
            digest: Hash([nonce as u8; 32]),
            memo: String::new(),
        }),
    }
}

fn signed(scheme: SignatureScheme, seed: u8, nonce: u64) -> SignedTransaction {
    let key = PrivateKey::from_seed(scheme, [seed; 32]).unwrap();
    unsigned(key.public_key(), nonce).sign(&key).unwrap()
}

/// A mixed block: Ed25519 and SM2 transactions interleaved.
fn block(len: usize) -> Vec<SignedTransaction> {
    (0..len)
        .map(|i| {
            let scheme = if i % 5 == 0 {
                SignatureScheme::Sm2
            } else {
                SignatureScheme::Ed25519
            };
            signed(scheme, (i % 7) as u8 + 1, i as u64)
        })
        .collect()
}

fn corrupt(tx: &mut SignedTransaction) {
    tx.signature.0[40] ^= 1;
}

fn refs(txs: &[SignedTransaction]) -> Vec<&SignedTransaction> {
    txs.iter().collect()
}

/// The first failure when each signature is checked alone, in order.
fn one_by_one(txs: &[SignedTransaction]) -> Option<usize> {
    txs.iter().position(|tx| tx.verify_signature().is_err())
}

/// An Ed25519 signature whose `R` carries a point of order 4: `R = rB + T`, `s = r + k a`. The
/// cofactored equation holds; the cofactorless one (ed25519-dalek's `verify_strict`) does not.
/// Only the key's owner can make one, since `k` depends on `R`.
fn torsioned(seed: u8, nonce: u64) -> SignedTransaction {
    let a = Scalar::from_bytes_mod_order([seed; 32]);
    let a_point = EdwardsPoint::mul_base(&a);
    let key = crate::crypto::Ed25519PublicKey::from_bytes(&a_point.compress().to_bytes()).unwrap();
    let tx = unsigned(PublicKey::Ed25519(key), nonce);
    let order_four = CompressedEdwardsY([0; 32]).decompress().unwrap();
    let r = Scalar::from_bytes_mod_order([seed.wrapping_add(9); 32]);
    let r_point = EdwardsPoint::mul_base(&r) + order_four;
    let r_bytes = r_point.compress().to_bytes();
    let mut hasher = Sha512::new();
    hasher.update(r_bytes);
    hasher.update(a_point.compress().to_bytes());
    hasher.update(tx.signing_bytes());
    let k = Scalar::from_bytes_mod_order_wide(&hasher.finalize().into());
    let s = r + k * a;
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r_bytes);
    signature[32..].copy_from_slice(s.as_bytes());
    SignedTransaction {
        tx,
        signature: Signature(signature),
    }
}

#[test]
fn a_good_block_passes() {
    let txs = block(300);
    verify_signatures(&refs(&txs)).unwrap();
}

#[test]
fn the_first_bad_signature_is_named_whichever_scheme() {
    let mut txs = block(300);
    corrupt(&mut txs[250]); // Ed25519, in a late batch
    corrupt(&mut txs[200]); // SM2
    corrupt(&mut txs[131]); // Ed25519, in the third batch
    let rejected = verify_signatures(&refs(&txs)).unwrap_err();
    assert_eq!(rejected.index, 131);
    assert!(
        rejected.error.to_string().contains("Ed25519"),
        "{}",
        rejected.error
    );
    corrupt(&mut txs[131]);
    assert_eq!(verify_signatures(&refs(&txs)).unwrap_err().index, 200);
}

#[test]
fn a_bad_chain_id_fails_the_batch_path_too() {
    let mut txs = block(70);
    txs[3].tx.chain_id.clear();
    let rejected = verify_signatures(&refs(&txs)).unwrap_err();
    assert_eq!(rejected.index, 3);
    assert!(rejected.error.to_string().contains("chain id"));
}

#[test]
fn a_torsioned_r_is_judged_alike_alone_and_in_any_batch() {
    let odd = torsioned(3, 1);
    let dalek_key = match &odd.tx.sender {
        PublicKey::Ed25519(key) => *key.dalek(),
        PublicKey::Sm2(_) => unreachable!(),
    };
    let dalek_signature = ed25519_dalek::Signature::from_bytes(&odd.signature.0);
    assert!(
        dalek_key
            .verify_strict(&odd.tx.signing_bytes(), &dalek_signature)
            .is_err(),
        "the cofactorless equation refuses it"
    );
    odd.verify_signature().unwrap();
    // Alone, with others, at every position of a batch, several in one batch: always accepted.
    for position in [0, 17, 63, 64, 100] {
        let mut txs = block(130);
        txs[position] = odd.clone();
        txs[position + 1] = torsioned(4, 2);
        verify_signatures(&refs(&txs)).unwrap();
    }
}

#[test]
fn bad_encodings_are_refused_before_any_batch() {
    let good = signed(SignatureScheme::Ed25519, 1, 1);
    let mut small_order_r = good.clone();
    small_order_r.signature.0[..32].copy_from_slice(&[0; 32]);
    small_order_r.signature.0[31] = 0x80; // order 4, with the sign bit set
    let mut identity_r = good.clone();
    identity_r.signature.0[..32].copy_from_slice(&[0; 32]);
    identity_r.signature.0[0] = 1;
    let mut non_canonical_r = good.clone();
    non_canonical_r.signature.0[..32].copy_from_slice(&[0xff; 32]);
    non_canonical_r.signature.0[31] = 0x7f; // y = 2^255 - 1 >= p
    let mut large_s = good.clone();
    large_s.signature.0[63] = 0xff;
    for (name, tx) in [
        ("small-order R", small_order_r),
        ("identity R", identity_r),
        ("non-canonical R", non_canonical_r),
        ("S above the order", large_s),
    ] {
        assert!(
            ed25519::check_encodings(&tx.signature).is_err(),
            "{name} passed the encoding checks"
        );
        assert!(tx.verify_signature().is_err(), "{name} verified");
        let mut txs = block(10);
        txs[6] = tx;
        assert_eq!(
            verify_signatures(&refs(&txs)).unwrap_err().index,
            6,
            "{name}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever is corrupted, the batch path names the same transaction as checking one by one.
    #[test]
    fn batches_agree_with_one_by_one(
        len in 1usize..200,
        corrupted in proptest::collection::vec(0usize..200, 0..4),
        byte in 0usize..64,
    ) {
        let mut txs = block(len);
        for index in corrupted.into_iter().filter(|i| *i < len) {
            txs[index].signature.0[byte] ^= 0x20;
        }
        let expected = one_by_one(&txs);
        let got = verify_signatures(&refs(&txs)).err().map(|rejected| rejected.index);
        prop_assert_eq!(got, expected);
    }

    /// Admission's batches give every transaction the verdict it gets alone, corrupted or not,
    /// whichever scheme, with a torsioned `R` among them.
    #[test]
    fn each_verdict_of_a_batch_is_the_verdict_alone(
        len in 1usize..150,
        corrupted in proptest::collection::vec(0usize..150, 0..4),
        byte in 0usize..64,
        torsion_at in 0usize..150,
    ) {
        let mut txs = block(len);
        for index in corrupted.into_iter().filter(|i| *i < len) {
            txs[index].signature.0[byte] ^= 0x20;
        }
        if torsion_at < len {
            txs[torsion_at] = torsioned(3, torsion_at as u64);
        }
        let alone: Vec<bool> = txs.iter().map(|tx| tx.verify_signature().is_ok()).collect();
        let each: Vec<bool> = verify_each(&refs(&txs)).iter().map(Result::is_ok).collect();
        prop_assert_eq!(each, alone);
    }
}
