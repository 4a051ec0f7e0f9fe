//! Key files: PKCS#8 PEM that OpenSSL 3 reads and writes, optionally password-protected.
//!
//! SM2 keys are `id-ecPublicKey` with the SM2 curve OID (1.2.156.10197.1.301) as parameters, as
//! `openssl genpkey -algorithm SM2` writes them; Ed25519 keys use OID 1.3.101.112 (RFC 8410).
//! Encrypted files use PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, which every OpenSSL 3 reads.
//! The SM2 user ID is not part of PKCS#8 (OpenSSL does not store it either); a loaded SM2 key uses
//! the default ID until [`PrivateKey::with_user_id`] rebinds it.

use pkcs8::der::SecretDocument;
use pkcs8::pkcs5::pbes2;
use pkcs8::{
    EncodePrivateKey, EncryptedPrivateKeyInfoRef, LineEnding, ObjectIdentifier, PrivateKeyInfoRef,
};

use super::sm2::signing_key_from_bytes;
use super::{DEFAULT_SM2_USER_ID, PrivateKey};
use crate::{Error, Result};

/// PBKDF2 iterations for new encrypted key files (OWASP's 2023 floor for PBKDF2-HMAC-SHA256 is
/// 600,000; files written with fewer still load).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

const PLAIN_LABEL: &str = "PRIVATE KEY";
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// How to protect a key file: the password and the random salt and IV the caller drew (the core
/// crate owns no randomness).
pub struct Protection<'a> {
    /// The password.
    pub password: &'a [u8],
    /// PBKDF2 salt (16 random bytes).
    pub salt: [u8; 16],
    /// AES-CBC initialisation vector (16 random bytes).
    pub iv: [u8; 16],
}

/// Writes `key` as PKCS#8 PEM, encrypted when `protection` is given.
pub fn to_pem(key: &PrivateKey, protection: Option<Protection<'_>>) -> Result<String> {
    let document = pkcs8_document(key)?;
    let Some(protection) = protection else {
        let pem = document
            .to_pem(PLAIN_LABEL, LineEnding::LF)
            .map_err(keyfile_error)?;
        return Ok(pem.to_string());
    };
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
        PBKDF2_ITERATIONS,
        &protection.salt,
        protection.iv,
    )
    .map_err(keyfile_error)?;
    let info = PrivateKeyInfoRef::try_from(document.as_bytes()).map_err(keyfile_error)?;
    let encrypted = info
        .encrypt_with_params(params, protection.password)
        .map_err(keyfile_error)?;
    let pem = encrypted
        .to_pem(ENCRYPTED_LABEL, LineEnding::LF)
        .map_err(keyfile_error)?;
    Ok(pem.to_string())
}

fn pkcs8_document(key: &PrivateKey) -> Result<SecretDocument> {
    match key {
        PrivateKey::Sm2(key) => {
            let secret = ::sm2::SecretKey::from(key.as_nonzero_scalar());
            secret.to_pkcs8_der().map_err(keyfile_error)
        }
        // PKCS#8 v1 without the optional public key: OpenSSL 3.0 refuses the v2 form that
        // `SigningKey::to_pkcs8_der` writes.
        PrivateKey::Ed25519(key) => {
            let keypair = ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: key.to_bytes(),
                public_key: None,
            };
            keypair.to_pkcs8_der().map_err(keyfile_error)
        }
    }
}

/// Reads a PKCS#8 PEM key file of either scheme. An encrypted file needs `password`.
pub fn from_pem(text: &str, password: Option<&[u8]>) -> Result<PrivateKey> {
    let (label, document) = SecretDocument::from_pem(text)
        .map_err(|e| Error::InvalidKeyFile(format!("not a PEM document: {e}")))?;
    match (label, password) {
        (PLAIN_LABEL, _) => from_pkcs8_der(document.as_bytes()),
        (ENCRYPTED_LABEL, Some(password)) => {
            let encrypted =
                EncryptedPrivateKeyInfoRef::try_from(document.as_bytes()).map_err(keyfile_error)?;
            let plain = encrypted.decrypt(password).map_err(|_| {
                Error::InvalidKeyFile("cannot decrypt: wrong password or damaged file".to_string())
            })?;
            from_pkcs8_der(plain.as_bytes())
        }
        (ENCRYPTED_LABEL, None) => Err(Error::InvalidKeyFile(
            "the key file is encrypted; a password is needed".to_string(),
        )),
        (other, _) => Err(Error::InvalidKeyFile(format!(
            "PEM label is {other:?}; expected \"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\" (PKCS#8)"
        ))),
    }
}

/// Whether a PEM text is an encrypted PKCS#8 key (so a caller knows to ask for a password).
pub fn is_encrypted(text: &str) -> bool {
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey> {
    let info = PrivateKeyInfoRef::try_from(der).map_err(keyfile_error)?;
    let algorithm = info.algorithm.oid;
    if algorithm == OID_ED25519 {
        let key = ed25519_dalek::SigningKey::try_from(info).map_err(keyfile_error)?;
        return Ok(PrivateKey::Ed25519(key));
    }
    if algorithm != OID_EC_PUBLIC_KEY {
        return Err(Error::InvalidKeyFile(format!(
            "algorithm {algorithm} is neither SM2 (EC with curve {OID_SM2_CURVE}) nor Ed25519 ({OID_ED25519})"
        )));
    }
    let curve = info.algorithm.parameters_oid().map_err(keyfile_error)?;
    if curve != OID_SM2_CURVE {
        return Err(Error::InvalidKeyFile(format!(
            "EC key on curve {curve}; only the SM2 curve {OID_SM2_CURVE} is supported"
        )));
    }
    let secret = ::sm2::SecretKey::try_from(info).map_err(keyfile_error)?;
    Ok(PrivateKey::Sm2(signing_key_from_bytes(
        &secret.to_bytes(),
        DEFAULT_SM2_USER_ID,
    )?))
}

fn keyfile_error(e: impl std::fmt::Display) -> Error {
    Error::InvalidKeyFile(e.to_string())
}
