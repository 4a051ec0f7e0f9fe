//! The chain's hash function: SM3 for the national suite, BLAKE3 for the international one.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use sm3::Digest;

use crate::{Error, Result};

/// A 32-byte digest under the chain's hash suite. Shown and parsed as 64 lowercase hex digits.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash, used as the parent of the first block.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|e| Error::Hex {
            field: "hash",
            reason: format!("{e} (expected 64 hex digits)"),
        })?;
        Ok(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The hash function fixed by a chain's genesis.
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
pub enum HashSuite {
    /// GB/T 32905 SM3: the national (`gm`) suite.
    Sm3 = 0,
    /// BLAKE3: the international (`intl`) suite.
    Blake3 = 1,
}

impl HashSuite {
    /// Hashes `data` in one go.
    pub fn digest(self, data: &[u8]) -> Hash {
        self.digest_parts(&[data])
    }

    /// Hashes the concatenation of `parts` without copying them together.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Hash {
        match self {
            HashSuite::Sm3 => {
                let mut hasher = sm3::Sm3::new();
                for part in parts {
                    hasher.update(part);
                }
                Hash(hasher.finalize().into())
            }
            HashSuite::Blake3 => {
                let mut hasher = blake3::Hasher::new();
                for part in parts {
                    hasher.update(part);
                }
                Hash(*hasher.finalize().as_bytes())
            }
        }
    }

    /// Hashes `data` under a domain tag, so a digest made for one purpose (a transaction id, a
    /// Merkle leaf, a state commitment) can never be mistaken for another.
    pub fn digest_tagged(self, domain: &Domain, data: &[u8]) -> Hash {
        let tag = domain.0.as_bytes();
        let tag_len = [u8::try_from(tag.len()).unwrap_or(u8::MAX)];
        self.digest_parts(&[&tag_len, tag, data])
    }
}

/// A domain-separation tag for hashing and signing. The set of tags is closed: they are
/// constants here, so no two purposes share one.
#[derive(Debug)]
pub struct Domain(&'static str);

impl Domain {
    /// The text of the tag.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// Tags in use. Changing one is a format change (see the conformance fixtures).
pub mod domains {
    use super::Domain;
    /// Transaction hash (its identity).
    pub const TX_HASH: Domain = Domain("xinlian/tx-hash/v1");
    /// What a sender signs for a transaction.
    pub const TX_SIGN: Domain = Domain("xinlian/tx-sign/v1");
    /// Block header hash.
    pub const BLOCK_HASH: Domain = Domain("xinlian/block-hash/v1");
    /// What a proposer signs for a block header.
    pub const BLOCK_SIGN: Domain = Domain("xinlian/block-sign/v1");
    /// Receipt hash (leaf of the receipts root).
    pub const RECEIPT_HASH: Domain = Domain("xinlian/receipt-hash/v1");
    /// Genesis document hash.
    pub const GENESIS: Domain = Domain("xinlian/genesis/v1");
    /// Member id from a public key.
    pub const MEMBER_ID: Domain = Domain("xinlian/member-id/v1");
    /// What a voter signs for a committed block.
    pub const COMMIT_VOTE: Domain = Domain("xinlian/commit-vote/v1");
    /// Commit certificate hash.
    pub const COMMIT_CERTIFICATE: Domain = Domain("xinlian/commit-certificate/v1");
    /// The certificates a block carries.
    pub const CARRIED_CERTIFICATES: Domain = Domain("xinlian/carried-certificates/v1");
    /// A state entry's place in the state tree: the hash of its space and key.
    pub const STATE_KEY: Domain = Domain("xinlian/state-key/v1");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GB/T 32905-2016 appendix A, example 1: SM3("abc").
    #[test]
    fn sm3_abc_vector() {
        assert_eq!(
            HashSuite::Sm3.digest(b"abc").to_hex(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    /// GB/T 32905-2016 appendix A, example 2: the 512-bit message "abcd" x 16.
    #[test]
    fn sm3_512_bit_vector() {
        let msg = b"abcd".repeat(16);
        assert_eq!(
            HashSuite::Sm3.digest(&msg).to_hex(),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    /// SM3 of the empty message (widely published value).
    #[test]
    fn sm3_empty_vector() {
        assert_eq!(
            HashSuite::Sm3.digest(b"").to_hex(),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
    }

    /// BLAKE3 of the empty input, from the reference test vectors.
    #[test]
    fn blake3_empty_vector() {
        assert_eq!(
            HashSuite::Blake3.digest(b"").to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn parts_equal_concatenation() {
        for suite in [HashSuite::Sm3, HashSuite::Blake3] {
            assert_eq!(suite.digest_parts(&[b"ab", b"c"]), suite.digest(b"abc"));
        }
    }

    #[test]
    fn domains_separate_digests() {
        let a = HashSuite::Sm3.digest_tagged(&domains::TX_HASH, b"x");
        let b = HashSuite::Sm3.digest_tagged(&domains::BLOCK_HASH, b"x");
        assert_ne!(a, b);
    }

    #[test]
    fn hash_hex_rejects_bad_input() {
        assert!(Hash::from_hex("zz").is_err());
        assert!(Hash::from_hex(&"00".repeat(31)).is_err());
        assert!(Hash::from_hex(&"00".repeat(32)).is_ok());
    }
}
