//! Ed25519 with strict verification: canonical `S`, no small-order `R` or public key.

use std::fmt;
use std::io;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::VerifyingKey;

use super::Signature;
use crate::{Error, Result};

/// A validated Ed25519 public key: a canonical point encoding that is not of small order.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ed25519PublicKey(VerifyingKey);

impl Ed25519PublicKey {
    /// Parses a 32-byte key, refusing weak (small-order) keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::InvalidPublicKey(format!("Ed25519 key is {} bytes; expected 32", bytes.len()))
        })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| Error::InvalidPublicKey("Ed25519 key is not a valid point".to_string()))?;
        if key.is_weak() {
            return Err(Error::InvalidPublicKey(
                "Ed25519 key has small order".to_string(),
            ));
        }
        // Decompression accepts a few non-canonical y encodings; a key must round-trip exactly.
        if key.to_bytes() != bytes {
            return Err(Error::InvalidPublicKey(
                "Ed25519 key is not canonically encoded".to_string(),
            ));
        }
        Ok(Ed25519PublicKey(key))
    }

    pub(super) fn from_signing_key(key: &ed25519_dalek::SigningKey) -> Self {
        Ed25519PublicKey(key.verifying_key())
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Verifies with `verify_strict`: rejects non-canonical `S` and small-order `R`.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| Error::InvalidSignature("Ed25519 signature does not verify".to_string()))
    }
}

impl BorshSerialize for Ed25519PublicKey {
    fn serialize<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        self.0.to_bytes().serialize(writer)
    }
}

impl BorshDeserialize for Ed25519PublicKey {
    fn deserialize_reader<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        let bytes = <[u8; 32]>::deserialize_reader(reader)?;
        Ed25519PublicKey::from_bytes(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }
}

impl fmt::Display for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519PublicKey({self})")
    }
}

impl FromStr for Ed25519PublicKey {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let bytes = hex::decode(text).map_err(|e| Error::Hex {
            field: "ed25519 public key",
            reason: e.to_string(),
        })?;
        Ed25519PublicKey::from_bytes(&bytes)
    }
}
