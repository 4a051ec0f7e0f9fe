//! The public SM2 and SM3 vectors of `../shared/conformance/` (GB/T 32918.5 Annex A, GB/T 32905,
//! openHiTLS, OpenSSL, Linux testmgr, Bouncy Castle/Botan, RustCrypto, Tongsuo, GmSSL; sources in
//! each record): every valid SM2 signature verifies through our own curve arithmetic and every
//! invalid one is refused, message-level and digest-level; `Z` and `e = SM3(Z || M)` match for
//! every user ID; SM3 matches every digest.

use std::path::PathBuf;

use sm3::{Digest, Sm3};
use xinlian_core::crypto::Signature;
use xinlian_core::crypto::sm2::{self, Sm2PublicKey};

fn vectors(name: &str) -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the conformance vectors live in ../shared beside the clone)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn bytes(record: &serde_json::Value, field: &str) -> Vec<u8> {
    hex::decode(record[field].as_str().unwrap()).unwrap()
}

#[test]
fn sm2_message_vectors_verify_exactly_when_valid() {
    let records = vectors("sm2_vectors.json");
    assert_eq!(records.len(), 16);
    for record in &records {
        let id = String::from_utf8(bytes(record, "id_hex")).unwrap();
        let verdict = Sm2PublicKey::new(&bytes(record, "pub_hex"), &id)
            .and_then(|key| key.verify(&bytes(record, "msg_hex"), &signature(record)));
        assert_eq!(
            verdict.is_ok(),
            record["valid"].as_bool().unwrap(),
            "{}: {verdict:?}",
            record["source"]
        );
    }
}

fn signature(record: &serde_json::Value) -> Signature {
    let mut raw = [0u8; 64];
    raw[..32].copy_from_slice(&bytes(record, "sig_r"));
    raw[32..].copy_from_slice(&bytes(record, "sig_s"));
    Signature(raw)
}

#[test]
fn sm2_digest_vectors_verify_exactly_when_valid() {
    let records = vectors("sm2_digest_vectors.json");
    assert_eq!(records.len(), 17);
    for record in &records {
        // `e` is given, so the user ID does not enter; the default one binds the key.
        let digest: [u8; 32] = bytes(record, "e_hex").try_into().unwrap();
        let verdict = Sm2PublicKey::new(&bytes(record, "pub_hex"), "1234567812345678")
            .and_then(|key| key.verify_digest(&digest, &signature(record)));
        assert_eq!(
            verdict.is_ok(),
            record["valid"].as_bool().unwrap(),
            "{}: {verdict:?}",
            record["source"]
        );
    }
}

#[test]
fn sm2_z_and_e_match_for_every_user_id() {
    let records = vectors("sm2_za_vectors.json");
    assert_eq!(records.len(), 18);
    let mut bound_to_keys = 0;
    for record in &records {
        let point: [u8; 65] = bytes(record, "pub_hex").try_into().unwrap();
        let (id, message) = (bytes(record, "id_hex"), bytes(record, "msg_hex"));
        // Z of the ID's bytes as they are; e = SM3(Z || M).
        let z = sm2::identity_digest(&point, &id).unwrap();
        let e: [u8; 32] = Sm3::new_with_prefix(z)
            .chain_update(&message)
            .finalize()
            .into();
        assert_eq!(e.to_vec(), bytes(record, "e_hex"), "{}", record["source"]);
        // Keys on chain carry their user ID as text: for the 17 vectors whose ID is UTF-8, the
        // key's own digest is the same.
        if let Ok(id) = String::from_utf8(id) {
            let key = Sm2PublicKey::new(&point, &id).unwrap();
            assert_eq!(key.message_digest(&message), e, "{}", record["source"]);
            bound_to_keys += 1;
        }
    }
    assert_eq!(bound_to_keys, 17, "user IDs that are UTF-8");
}

#[test]
fn sm3_matches_every_digest() {
    let records = vectors("sm3_vectors.json");
    assert_eq!(records.len(), 146);
    for record in &records {
        let digest = xinlian_core::HashSuite::Sm3.digest(&bytes(record, "msg_hex"));
        assert_eq!(
            digest.as_bytes().to_vec(),
            bytes(record, "digest_hex"),
            "{}",
            record["label"]
        );
    }
}

/// Our verdict on an Ed25519 record: key parsing (strict, small-order keys refused) and the
/// single-signature check. Records with a key or signature of the wrong length are refusals.
fn ed25519_verdict(record: &serde_json::Value) -> bool {
    let Ok(sig): Result<[u8; 64], _> = bytes(record, "sig_hex").try_into() else {
        return false;
    };
    let key = format!("ed25519:{}", record["pub_hex"].as_str().unwrap());
    key.parse::<xinlian_core::crypto::PublicKey>()
        .and_then(|key| key.verify(&bytes(record, "msg_hex"), &Signature(sig)))
        .is_ok()
}

#[test]
fn ed25519_vectors_get_the_verdicts_of_our_documented_rule() {
    let wycheproof = vectors("ed25519_wycheproof.json");
    assert_eq!(wycheproof.len(), 151);
    for record in &wycheproof {
        assert_eq!(
            ed25519_verdict(record),
            record["valid"].as_bool().unwrap(),
            "wycheproof {}: {}",
            record["id"],
            record["comment"]
        );
    }
    // Speccheck and CCTV: the `cofactored_reject_small_order` column (the README of
    // ../shared/conformance says why that one is ours).
    for (file, count) in [("ed25519_speccheck.json", 12), ("ed25519_cctv.json", 914)] {
        let records = vectors(file);
        assert_eq!(records.len(), count);
        for record in &records {
            assert_eq!(
                ed25519_verdict(record),
                record["expected"]["cofactored_reject_small_order"]
                    .as_bool()
                    .unwrap(),
                "{file} {}",
                record["id"]
            );
        }
    }
}
