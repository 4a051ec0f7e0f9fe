//! The public SM2 vectors of `../shared/conformance/sm2_vectors.json` (GB/T 32918.5 Annex A,
//! openHiTLS, Bouncy Castle/Botan, RustCrypto, Tongsuo; sources in each record) through
//! `Sm2PublicKey::verify`, which runs our own curve arithmetic: every valid signature verifies
//! and every invalid one is refused.

use std::path::PathBuf;

use xinlian_core::crypto::Signature;
use xinlian_core::crypto::sm2::Sm2PublicKey;

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
        let mut raw = [0u8; 64];
        raw[..32].copy_from_slice(&bytes(record, "sig_r"));
        raw[32..].copy_from_slice(&bytes(record, "sig_s"));
        let verdict = Sm2PublicKey::new(&bytes(record, "pub_hex"), &id)
            .and_then(|key| key.verify(&bytes(record, "msg_hex"), &Signature(raw)));
        assert_eq!(
            verdict.is_ok(),
            record["valid"].as_bool().unwrap(),
            "{}: {verdict:?}",
            record["source"]
        );
    }
}
