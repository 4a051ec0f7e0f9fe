//! The decoders of what arrives from outside: a transaction and a block in the canonical
//! encoding (from peers, from a block sync), a transaction and the request bodies in JSON (from
//! clients). Each input either decodes or is refused with an error; what decodes encodes back to
//! exactly the bytes it came from (one encoding per value), and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xinlian_core::api::auth::ResolveRequest;
use xinlian_core::api::licence::{VerifyQrRequest, VerifyRequest};
use xinlian_core::types::{Block, SignedTransaction};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::from_bytes(data) {
        assert_eq!(tx.to_bytes(), data, "a transaction has one encoding");
        assert_eq!(tx.encoded_len(), data.len());
    }
    if let Ok(block) = Block::from_bytes(data) {
        assert_eq!(block.to_bytes(), data, "a block has one encoding");
    }
    if let Ok(tx) = serde_json::from_slice::<SignedTransaction>(data) {
        // What a client's JSON decodes to survives its own JSON form.
        let again: SignedTransaction =
            serde_json::from_str(&serde_json::to_string(&tx).unwrap()).unwrap();
        assert_eq!(again.to_bytes(), tx.to_bytes());
    }
    let _ = serde_json::from_slice::<VerifyRequest>(data);
    let _ = serde_json::from_slice::<VerifyQrRequest>(data);
    let _ = serde_json::from_slice::<ResolveRequest>(data);
});
