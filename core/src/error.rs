//! The one error type of the core crate.

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can be wrong with input handed to the core crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A public key could not be parsed or is not acceptable (off-curve, identity, weak).
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// A private key could not be parsed or is out of range.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    /// A signature is malformed, out of range or does not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// A key file is not a PKCS#8 key of a supported scheme, or its password is wrong.
    #[error("invalid key file: {0}")]
    InvalidKeyFile(String),
    /// Canonical bytes failed to decode, or were not canonical.
    #[error("invalid encoding: {0}")]
    Encoding(String),
    /// Hex text failed to decode.
    #[error("invalid hex in {field}: {reason}")]
    Hex {
        /// Which field held the bad hex.
        field: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A value is larger than its named limit.
    #[error("{what} is {actual} bytes, more than the limit of {limit}")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Its size.
        actual: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// An identifier (USCC, licence id, ...) fails its format or check character.
    #[error("invalid identifier {value:?}: {reason}")]
    InvalidIdentifier {
        /// The identifier as given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A Merkle proof is malformed or does not lead to the root.
    #[error("invalid Merkle proof: {0}")]
    InvalidProof(String),
    /// A genesis document breaks one of its rules.
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
}
