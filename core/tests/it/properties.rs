//! Property tests: canonical encodings round-trip, and decoding refuses what is not canonical.

use proptest::prelude::*;
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::types::{Call, SignedTransaction, SystemCall, Transaction};
use xinlian_core::{Hash, encoding};

fn arb_tx() -> impl Strategy<Value = SignedTransaction> {
    (
        any::<bool>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        ".{0,40}",
        ".{0,80}",
    )
        .prop_filter_map(
            "seed outside the SM2 range",
            |(sm2, seed, nonce, created, until, kind, memo)| {
                let scheme = if sm2 {
                    SignatureScheme::Sm2
                } else {
                    SignatureScheme::Ed25519
                };
                let key = PrivateKey::from_seed(scheme, seed).ok()?;
                let tx = Transaction {
                    chain_id: "prop-chain".into(),
                    sender: key.public_key(),
                    nonce,
                    created_at_ms: created,
                    valid_until_height: until,
                    call: Call::System(SystemCall::RecordEvidence {
                        kind,
                        digest: Hash(seed),
                        memo,
                    }),
                };
                tx.sign(&key).ok()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn signed_transactions_round_trip(tx in arb_tx()) {
        let bytes = tx.to_bytes();
        prop_assert_eq!(tx.encoded_len(), bytes.len());
        let back = SignedTransaction::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &tx);
        prop_assert!(back.verify_signature().is_ok());
        let json = serde_json::to_string(&tx).unwrap();
        prop_assert_eq!(serde_json::from_str::<SignedTransaction>(&json).unwrap(), tx);
    }

    #[test]
    fn trailing_bytes_are_refused(tx in arb_tx(), extra in any::<u8>()) {
        let mut bytes = tx.to_bytes();
        bytes.push(extra);
        prop_assert!(SignedTransaction::from_bytes(&bytes).is_err());
    }

    #[test]
    fn truncation_never_panics(tx in arb_tx(), cut in any::<prop::sample::Index>()) {
        let bytes = tx.to_bytes();
        let cut = cut.index(bytes.len());
        prop_assert!(SignedTransaction::from_bytes(&bytes[..cut]).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = SignedTransaction::from_bytes(&bytes);
        let _ = encoding::decode::<xinlian_core::types::Block>(&bytes, "block", 1 << 20);
    }

    #[test]
    fn a_flipped_bit_breaks_the_signature_or_the_decoding(tx in arb_tx(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = tx.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(changed) = SignedTransaction::from_bytes(&bytes) {
            prop_assert!(changed.verify_signature().is_err());
        }
    }
}
