//! Interoperability with the `openssl` command (OpenSSL 3): key files both ways, signatures both
//! ways, with the SM2 distinguishing ID given explicitly (`distid:1234567812345678`), because the
//! OpenSSL command line otherwise uses an empty ID.

use std::path::Path;
use std::process::Command;

use xinlian_core::crypto::keyfile::{self, Protection};
use xinlian_core::crypto::sm2::{signature_from_der, signature_to_der};
use xinlian_core::crypto::{PrivateKey, PublicKey, SignatureScheme};

const DISTID: &str = "distid:1234567812345678";
const MESSAGE: &[u8] = b"message digest";

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl binary is installed (make deps installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The raw public key bytes OpenSSL derives from a key file (the tail of its SPKI DER).
fn openssl_public_key(dir: &Path, key_file: &str, len: usize) -> Vec<u8> {
    let der = openssl(
        dir,
        &["pkey", "-in", key_file, "-pubout", "-outform", "DER"],
    );
    der[der.len() - len..].to_vec()
}

fn raw_public_key(key: &PublicKey) -> Vec<u8> {
    match key {
        PublicKey::Sm2(k) => k.point().to_vec(),
        PublicKey::Ed25519(k) => k.to_bytes().to_vec(),
    }
}

fn load(dir: &Path, file: &str, password: Option<&[u8]>) -> PrivateKey {
    keyfile::from_pem(&std::fs::read_to_string(dir.join(file)).unwrap(), password).unwrap()
}

#[test]
fn sm2_key_from_openssl_genpkey_loads_and_matches() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &["genpkey", "-algorithm", "SM2", "-out", "k.pem"],
    );
    let key = load(dir.path(), "k.pem", None);
    assert_eq!(key.scheme(), SignatureScheme::Sm2);
    assert_eq!(
        raw_public_key(&key.public_key()),
        openssl_public_key(dir.path(), "k.pem", 65)
    );
}

#[test]
fn sm2_signature_by_us_verifies_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::from_seed(SignatureScheme::Sm2, [11; 32]).unwrap();
    std::fs::write(
        dir.path().join("k.pem"),
        keyfile::to_pem(&key, None).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("msg"), MESSAGE).unwrap();
    std::fs::write(
        dir.path().join("sig.der"),
        signature_to_der(&key.sign(MESSAGE)).unwrap(),
    )
    .unwrap();
    openssl(
        dir.path(),
        &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"],
    );
    let out = openssl(
        dir.path(),
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3", "-in",
            "msg", "-sigfile", "sig.der", "-pkeyopt", DISTID,
        ],
    );
    assert!(String::from_utf8_lossy(&out).contains("Verified Successfully"));
}

#[test]
fn sm2_signature_by_openssl_verifies_with_us() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &["genpkey", "-algorithm", "SM2", "-out", "k.pem"],
    );
    std::fs::write(dir.path().join("msg"), MESSAGE).unwrap();
    openssl(
        dir.path(),
        &[
            "pkeyutl", "-sign", "-inkey", "k.pem", "-rawin", "-digest", "sm3", "-in", "msg",
            "-out", "sig.der", "-pkeyopt", DISTID,
        ],
    );
    let signature =
        signature_from_der(&std::fs::read(dir.path().join("sig.der")).unwrap()).unwrap();
    let public = load(dir.path(), "k.pem", None).public_key();
    public.verify(MESSAGE, &signature).unwrap();
    assert!(public.verify(b"message digesT", &signature).is_err());
}

#[test]
fn keys_we_write_are_read_by_openssl_pkey() {
    for (scheme, len) in [(SignatureScheme::Sm2, 65), (SignatureScheme::Ed25519, 32)] {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::from_seed(scheme, [12; 32]).unwrap();
        std::fs::write(
            dir.path().join("k.pem"),
            keyfile::to_pem(&key, None).unwrap(),
        )
        .unwrap();
        assert_eq!(
            openssl_public_key(dir.path(), "k.pem", len),
            raw_public_key(&key.public_key()),
            "{scheme}"
        );
    }
}

#[test]
fn encrypted_key_files_round_trip_both_ways() {
    for (scheme, algorithm) in [
        (SignatureScheme::Sm2, "SM2"),
        (SignatureScheme::Ed25519, "ED25519"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::from_seed(scheme, [13; 32]).unwrap();
        let protection = Protection {
            password: b"s3cret",
            salt: [1; 16],
            iv: [2; 16],
        };
        std::fs::write(
            dir.path().join("ours.pem"),
            keyfile::to_pem(&key, Some(protection)).unwrap(),
        )
        .unwrap();
        // OpenSSL decrypts ours.
        openssl(
            dir.path(),
            &[
                "pkey",
                "-in",
                "ours.pem",
                "-passin",
                "pass:s3cret",
                "-out",
                "plain.pem",
            ],
        );
        assert_eq!(
            load(dir.path(), "plain.pem", None).public_key(),
            key.public_key()
        );
        // We decrypt OpenSSL's.
        openssl(
            dir.path(),
            &[
                "genpkey",
                "-algorithm",
                algorithm,
                "-out",
                "theirs-plain.pem",
            ],
        );
        openssl(
            dir.path(),
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                "theirs-plain.pem",
                "-passout",
                "pass:pw",
                "-out",
                "theirs.pem",
            ],
        );
        let decrypted = load(dir.path(), "theirs.pem", Some(b"pw"));
        assert_eq!(
            decrypted.public_key(),
            load(dir.path(), "theirs-plain.pem", None).public_key()
        );
        // Wrong or missing password: a clear error, not a panic.
        let text = std::fs::read_to_string(dir.path().join("theirs.pem")).unwrap();
        assert!(
            keyfile::from_pem(&text, Some(b"wrong"))
                .unwrap_err()
                .to_string()
                .contains("wrong password")
        );
        assert!(
            keyfile::from_pem(&text, None)
                .unwrap_err()
                .to_string()
                .contains("password is needed")
        );
    }
}

#[test]
fn ed25519_signatures_interoperate_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &["genpkey", "-algorithm", "ED25519", "-out", "k.pem"],
    );
    std::fs::write(dir.path().join("msg"), MESSAGE).unwrap();
    openssl(
        dir.path(),
        &[
            "pkeyutl", "-sign", "-inkey", "k.pem", "-rawin", "-in", "msg", "-out", "sig",
        ],
    );
    let key = load(dir.path(), "k.pem", None);
    let sig = std::fs::read(dir.path().join("sig")).unwrap();
    let signature = xinlian_core::crypto::Signature(sig.try_into().unwrap());
    key.public_key().verify(MESSAGE, &signature).unwrap();
    // And OpenSSL verifies ours.
    std::fs::write(dir.path().join("ours.sig"), key.sign(MESSAGE).0).unwrap();
    openssl(
        dir.path(),
        &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"],
    );
    openssl(
        dir.path(),
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
            "-sigfile", "ours.sig",
        ],
    );
}

#[test]
fn files_that_are_not_keys_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "p256.pem",
        ],
    );
    let p256 = std::fs::read_to_string(dir.path().join("p256.pem")).unwrap();
    assert!(
        keyfile::from_pem(&p256, None)
            .unwrap_err()
            .to_string()
            .contains("only the SM2 curve")
    );
    for junk in [
        "",
        "hello",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ] {
        let err = keyfile::from_pem(junk, None).unwrap_err();
        assert!(
            matches!(err, xinlian_core::Error::InvalidKeyFile(_)),
            "{junk:?}: {err}"
        );
    }
}
