//! Signature schemes: SM2 (GB/T 32918.2, with SM3 and a per-identity user ID) and Ed25519
//! (RFC 8032, strict encodings, cofactored equation).
//!
//! Keys carry their scheme, so a chain can accept both and move from one to the other without a
//! new genesis. Public keys are validated when parsed (on the curve, not the identity, not of small
//! order), so a [`PublicKey`] value is always usable.

pub(crate) mod ed25519;
mod key_cache;
pub mod keyfile;
pub mod sm2;
mod sm2_curve;
#[cfg(any(test, feature = "differential"))]
pub mod sm2_differential;

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub use self::sm2::{DEFAULT_SM2_USER_ID, Sm2PublicKey};
pub use ed25519::Ed25519PublicKey;

/// A signature scheme a key belongs to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[borsh(use_discriminant = true)]
pub enum SignatureScheme {
    /// SM2 with SM3 (GB/T 32918.2), the national scheme.
    Sm2 = 0,
    /// Ed25519 (RFC 8032) with strict encodings and the cofactored equation.
    Ed25519 = 1,
}

impl SignatureScheme {
    /// The scheme's name as used in text forms (`sm2`, `ed25519`).
    pub fn name(self) -> &'static str {
        match self {
            SignatureScheme::Sm2 => "sm2",
            SignatureScheme::Ed25519 => "ed25519",
        }
    }
}

impl FromStr for SignatureScheme {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sm2" => Ok(SignatureScheme::Sm2),
            "ed25519" => Ok(SignatureScheme::Ed25519),
            other => Err(Error::InvalidPublicKey(format!(
                "unknown signature scheme {other:?} (expected sm2 or ed25519)"
            ))),
        }
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A validated public key of either scheme.
///
/// Text form: `sm2:<130 hex digits of the uncompressed point>` (with `;id=<user id>` when the SM2
/// user ID is not the default) or `ed25519:<64 hex digits>`.
#[derive(Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub enum PublicKey {
    /// An SM2 public key with the user ID its signatures are made under.
    Sm2(Sm2PublicKey),
    /// An Ed25519 public key.
    Ed25519(Ed25519PublicKey),
}

impl PublicKey {
    /// The scheme of this key.
    pub fn scheme(&self) -> SignatureScheme {
        match self {
            PublicKey::Sm2(_) => SignatureScheme::Sm2,
            PublicKey::Ed25519(_) => SignatureScheme::Ed25519,
        }
    }

    /// Verifies `signature` over `message` under this key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        match self {
            PublicKey::Sm2(key) => key.verify(message, signature),
            PublicKey::Ed25519(key) => key.verify(message, signature),
        }
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKey::Sm2(key) => write!(f, "sm2:{key}"),
            PublicKey::Ed25519(key) => write!(f, "ed25519:{key}"),
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let (scheme, rest) = text.split_once(':').ok_or_else(|| {
            Error::InvalidPublicKey(format!("{text:?} lacks a scheme prefix (sm2: or ed25519:)"))
        })?;
        match scheme.parse()? {
            SignatureScheme::Sm2 => Ok(PublicKey::Sm2(rest.parse()?)),
            SignatureScheme::Ed25519 => Ok(PublicKey::Ed25519(rest.parse()?)),
        }
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A 64-byte signature: `r || s` for SM2 (GB/T 35276 raw form), `R || S` for Ed25519.
/// Its scheme is the scheme of the key it is checked against. Shown as 128 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Parses 128 hex digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(text, &mut out).map_err(|e| Error::Hex {
            field: "signature",
            reason: format!("{e} (expected 128 hex digits)"),
        })?;
        Ok(Signature(out))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        Signature::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A private key of either scheme. Never serialised except into a key file.
#[derive(Clone)]
pub enum PrivateKey {
    /// SM2 signing key, bound to its user ID.
    Sm2(::sm2::dsa::SigningKey),
    /// Ed25519 signing key.
    Ed25519(ed25519_dalek::SigningKey),
}

impl PrivateKey {
    /// Derives a key from 32 uniformly random bytes supplied by the caller (the core crate owns
    /// no randomness). For SM2 the bytes are the secret scalar and must lie in `[1, n-2]`; the
    /// chance that random bytes do not is below 2^-32, and the caller then draws again.
    pub fn from_seed(scheme: SignatureScheme, seed: [u8; 32]) -> Result<Self> {
        match scheme {
            SignatureScheme::Sm2 => Ok(PrivateKey::Sm2(sm2::signing_key_from_bytes(
                &seed,
                DEFAULT_SM2_USER_ID,
            )?)),
            SignatureScheme::Ed25519 => Ok(PrivateKey::Ed25519(
                ed25519_dalek::SigningKey::from_bytes(&seed),
            )),
        }
    }

    /// Rebinds an SM2 key to another user ID (no effect on Ed25519 keys).
    pub fn with_user_id(self, user_id: &str) -> Result<Self> {
        match self {
            PrivateKey::Sm2(key) => Ok(PrivateKey::Sm2(sm2::signing_key_from_bytes(
                &key.to_bytes(),
                user_id,
            )?)),
            other => Ok(other),
        }
    }

    /// The scheme of this key.
    pub fn scheme(&self) -> SignatureScheme {
        match self {
            PrivateKey::Sm2(_) => SignatureScheme::Sm2,
            PrivateKey::Ed25519(_) => SignatureScheme::Ed25519,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::Sm2(key) => {
                PublicKey::Sm2(Sm2PublicKey::from_verifying_key(key.verifying_key()))
            }
            PrivateKey::Ed25519(key) => PublicKey::Ed25519(Ed25519PublicKey::from_signing_key(key)),
        }
    }

    /// Signs `message`. SM2 signs `SM3(Z || message)` with a deterministic nonce (RFC 6979),
    /// Ed25519 signs per RFC 8032.
    pub fn sign(&self, message: &[u8]) -> Signature {
        use ::sm2::dsa::signature::Signer;
        match self {
            PrivateKey::Sm2(key) => {
                let sig: ::sm2::dsa::Signature = key.sign(message);
                Signature(sig.to_bytes().into())
            }
            PrivateKey::Ed25519(key) => Signature(key.sign(message).to_bytes()),
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrivateKey({}, public {})",
            self.scheme(),
            self.public_key()
        )
    }
}

#[cfg(test)]
mod tests;
