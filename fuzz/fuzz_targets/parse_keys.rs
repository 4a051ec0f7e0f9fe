//! Parsing keys and signatures from their text and binary forms (API paths and headers, key
//! files, DER signatures): refused with an error or parsed, never a panic; what parses prints
//! back to a form that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xinlian_core::crypto::{PublicKey, Signature, keyfile, sm2};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = text.parse::<PublicKey>() {
        let again: PublicKey = key.to_string().parse().expect("a key's text parses");
        assert!(again == key);
    }
    if let Ok(signature) = Signature::from_hex(&text) {
        assert_eq!(
            Signature::from_hex(&signature.to_hex()).unwrap().0,
            signature.0
        );
    }
    let _ = keyfile::from_pem(&text, None);
    let _ = keyfile::from_pem(&text, Some(b"password"));
    if let Ok(signature) = sm2::signature_from_der(data) {
        let der = sm2::signature_to_der(&signature).expect("a parsed signature has a DER form");
        assert_eq!(sm2::signature_from_der(&der).unwrap().0, signature.0);
    }
    if let Ok(point) = <[u8; 65]>::try_from(data.get(..65).unwrap_or_default()) {
        let _ = sm2::Sm2PublicKey::new(&point, "1234567812345678");
    }
});
