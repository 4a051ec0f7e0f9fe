//! Unit tests of the signature schemes; OpenSSL interoperability lives in `core/tests/it`.

use super::sm2::{parse_signature, signature_from_der, signature_to_der};
use super::*;

/// GM/T 0003.5-2012 annex A.2 (also GB/T 32918.5-2017 annex A): key pair, message
/// "message digest", ID 1234567812345678 and the published signature.
const GMT_PRIVATE: &str = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
const GMT_PUBLIC: &str = "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020\
                          CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
const GMT_SIGNATURE: &str = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3\
                             B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";
const SM2_N: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";

fn gmt_public_key() -> PublicKey {
    PublicKey::Sm2(
        Sm2PublicKey::new(&hex::decode(GMT_PUBLIC).unwrap(), DEFAULT_SM2_USER_ID).unwrap(),
    )
}

fn gmt_signature() -> Signature {
    Signature::from_hex(GMT_SIGNATURE).unwrap()
}

#[test]
fn gmt_0003_5_example_verifies() {
    gmt_public_key()
        .verify(b"message digest", &gmt_signature())
        .unwrap();
}

#[test]
fn gmt_0003_5_private_key_gives_published_public_key() {
    let seed: [u8; 32] = hex::decode(GMT_PRIVATE).unwrap().try_into().unwrap();
    let key = PrivateKey::from_seed(SignatureScheme::Sm2, seed).unwrap();
    assert_eq!(key.public_key(), gmt_public_key());
}

#[test]
fn gmt_example_fails_for_tampered_message_or_other_id() {
    let key = gmt_public_key();
    assert!(key.verify(b"message digesT", &gmt_signature()).is_err());
    let other_id = PublicKey::Sm2(
        Sm2PublicKey::new(&hex::decode(GMT_PUBLIC).unwrap(), "ALICE123@YAHOO.COM").unwrap(),
    );
    assert!(
        other_id
            .verify(b"message digest", &gmt_signature())
            .is_err()
    );
}

fn with_r_s(r: &str, s: &str) -> Signature {
    Signature::from_hex(&format!("{r}{s}")).unwrap()
}

/// GB/T 32918.2 section 7.1 B1/B2: r and s must lie in [1, n-1].
#[test]
fn sm2_rejects_r_or_s_out_of_range() {
    let zero = "00".repeat(32);
    let one = format!("{}01", "00".repeat(31));
    let max = "FF".repeat(32);
    for (r, s) in [
        (&zero, &one),
        (&one, &zero),
        (&SM2_N.to_string(), &one),
        (&one, &SM2_N.to_string()),
        (&max, &one),
    ] {
        let err = gmt_public_key()
            .verify(b"message digest", &with_r_s(r, s))
            .unwrap_err();
        assert!(err.to_string().contains("outside [1, n-1]"), "{err}");
    }
}

/// GB/T 32918.2 section 7.1 B5: t = (r + s) mod n must not be 0.
#[test]
fn sm2_rejects_r_plus_s_equal_to_n() {
    // r = 1, s = n - 1.
    let one = format!("{}01", "00".repeat(31));
    let n_minus_one = format!("{}22", &SM2_N[..62]);
    let err = parse_signature(&with_r_s(&one, &n_minus_one).0).unwrap_err();
    assert!(err.to_string().contains("r + s equals n"), "{err}");
    // r = n - 1, s = 1 as well, and a pair with carries through every byte.
    assert!(parse_signature(&with_r_s(&n_minus_one, &one).0).is_err());
}

#[test]
fn sm2_public_key_must_be_on_curve_and_uncompressed() {
    let mut bytes = hex::decode(GMT_PUBLIC).unwrap();
    bytes[64] ^= 1;
    assert!(
        Sm2PublicKey::new(&bytes, DEFAULT_SM2_USER_ID).is_err(),
        "off-curve point accepted"
    );
    let compressed = [&[0x02u8][..], &hex::decode(&GMT_PUBLIC[2..66]).unwrap()].concat();
    assert!(Sm2PublicKey::new(&compressed, DEFAULT_SM2_USER_ID).is_err());
    let mut identity = [0u8; 65];
    identity[0] = 0x04;
    assert!(Sm2PublicKey::new(&identity, DEFAULT_SM2_USER_ID).is_err());
    assert!(Sm2PublicKey::new(&[0u8], DEFAULT_SM2_USER_ID).is_err());
}

#[test]
fn sm2_der_round_trip_and_strictness() {
    let der = signature_to_der(&gmt_signature()).unwrap();
    // Both r and s have their top bit set: 0x30 0x46 then two 33-byte INTEGERs.
    assert_eq!(der.len(), 72);
    assert_eq!(&der[..2], &[0x30, 0x46]);
    assert_eq!(signature_from_der(&der).unwrap(), gmt_signature());
    // A redundant leading zero makes the INTEGER non-minimal: not strict DER.
    let mut padded = vec![0x30, 0x47, 0x02, 0x22, 0x00];
    padded.extend_from_slice(&der[4..]);
    assert!(signature_from_der(&padded).is_err());
    // Trailing garbage.
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(signature_from_der(&trailing).is_err());
}

#[test]
fn sign_and_verify_both_schemes() {
    for scheme in [SignatureScheme::Sm2, SignatureScheme::Ed25519] {
        let key = PrivateKey::from_seed(scheme, [42; 32]).unwrap();
        let sig = key.sign(b"payload");
        key.public_key().verify(b"payload", &sig).unwrap();
        assert!(key.public_key().verify(b"payloaD", &sig).is_err());
        let other = PrivateKey::from_seed(scheme, [43; 32]).unwrap();
        assert!(
            other.public_key().verify(b"payload", &sig).is_err(),
            "{scheme}: other key"
        );
    }
}

#[test]
fn sm2_user_id_is_part_of_identity() {
    let key = PrivateKey::from_seed(SignatureScheme::Sm2, [9; 32])
        .unwrap()
        .with_user_id("alice@dept")
        .unwrap();
    let text = key.public_key().to_string();
    assert!(text.ends_with(";id=alice@dept"), "{text}");
    let parsed: PublicKey = text.parse().unwrap();
    assert_eq!(parsed, key.public_key());
    parsed.verify(b"m", &key.sign(b"m")).unwrap();
}

#[test]
fn sm2_secret_out_of_range_is_refused() {
    assert!(PrivateKey::from_seed(SignatureScheme::Sm2, [0; 32]).is_err());
    let n: [u8; 32] = hex::decode(SM2_N).unwrap().try_into().unwrap();
    assert!(PrivateKey::from_seed(SignatureScheme::Sm2, n).is_err());
    let mut n_minus_one = n;
    n_minus_one[31] -= 1;
    assert!(PrivateKey::from_seed(SignatureScheme::Sm2, n_minus_one).is_err());
}

/// RFC 8032 section 7.1, test 1 (empty message).
#[test]
fn ed25519_rfc8032_test_1() {
    let seed: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
    let key = PrivateKey::from_seed(SignatureScheme::Ed25519, seed).unwrap();
    assert_eq!(
        key.public_key().to_string(),
        "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    assert_eq!(
        key.sign(b"").to_hex(),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
}

#[test]
fn ed25519_rejects_small_order_key_and_non_canonical_s() {
    // The identity point (small order).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(Ed25519PublicKey::from_bytes(&identity).is_err());
    let key = PrivateKey::from_seed(SignatureScheme::Ed25519, [5; 32]).unwrap();
    let mut sig = key.sign(b"m");
    // S + L is the same scalar but not canonical; strict verification refuses it.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    key.public_key().verify(b"m", &sig).unwrap();
    let mut carry = 0u16;
    for (s_byte, l_byte) in sig.0[32..].iter_mut().zip(L) {
        let sum = u16::from(*s_byte) + u16::from(l_byte) + carry;
        *s_byte = sum as u8;
        carry = sum >> 8;
    }
    // S < L < 2^253, so S + L still fits in 32 bytes.
    assert_eq!(carry, 0);
    assert!(key.public_key().verify(b"m", &sig).is_err());
}

#[test]
fn public_key_text_round_trip_and_errors() {
    for scheme in [SignatureScheme::Sm2, SignatureScheme::Ed25519] {
        let key = PrivateKey::from_seed(scheme, [3; 32]).unwrap().public_key();
        assert_eq!(key.to_string().parse::<PublicKey>().unwrap(), key);
    }
    for bad in ["", "sm2", "rsa:00", "sm2:zz", "ed25519:00", "sm2:04"] {
        assert!(bad.parse::<PublicKey>().is_err(), "{bad:?} accepted");
    }
}

#[test]
fn signature_hex_errors_name_the_field() {
    let err = Signature::from_hex("abc").unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
}

#[test]
fn parsed_sm2_keys_are_cached_per_user_id() {
    let key = PrivateKey::from_seed(SignatureScheme::Sm2, [11; 32]).unwrap();
    let PublicKey::Sm2(public) = key.public_key() else {
        unreachable!()
    };
    let signature = key.sign(b"m");
    // Parsed twice (the second from the cache), and under another user ID (another Z).
    let again = Sm2PublicKey::new(public.point(), DEFAULT_SM2_USER_ID).unwrap();
    let other_id = Sm2PublicKey::new(public.point(), "another-user").unwrap();
    let other_again = Sm2PublicKey::new(public.point(), "another-user").unwrap();
    again.verify(b"m", &signature).unwrap();
    assert_eq!(other_id.user_id(), "another-user");
    assert!(other_id.verify(b"m", &signature).is_err(), "Z differs");
    assert!(other_again.verify(b"m", &signature).is_err(), "Z differs");
    // A point off the curve is refused every time, never cached.
    let mut off_curve = *public.point();
    off_curve[64] ^= 1;
    for _ in 0..2 {
        assert!(Sm2PublicKey::new(&off_curve, DEFAULT_SM2_USER_ID).is_err());
    }
}

// Our SM2 verdicts against the sm2 crate's: `sm2_differential` (property test and fuzz target).

#[test]
fn ed25519_keys_with_y_above_the_field_prime_are_refused() {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    // y = p + c for small c decodes to the point with y = c: an alias of another key.
    let mut aliases = 0;
    for c in 2u8..19 {
        let mut bytes = [0xff; 32];
        bytes[0] = 0xed + c; // p = 2^255 - 19 ends ...ffed (little-endian first byte)
        bytes[31] = 0x7f;
        let Some(point) = CompressedEdwardsY(bytes).decompress() else {
            continue;
        };
        if point.is_small_order() {
            continue;
        }
        aliases += 1;
        let err = Ed25519PublicKey::from_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains("canonical"), "{err}");
        // The canonical encoding of the same point is a valid key.
        Ed25519PublicKey::from_bytes(&point.compress().to_bytes()).unwrap();
    }
    assert!(aliases > 0, "no non-canonical alias found to test");
}
