//! Xinlian core: the pure foundation every other crate stands on.
//!
//! ```text
//!   keys (SM2 / Ed25519) ──sign──▶ SignedTransaction ──▶ Block { header, txs }
//!        │                               │                    │
//!   key files (PKCS#8 PEM)     canonical bytes (borsh)   Merkle roots (RFC 6962 style)
//! ```
//!
//! This crate does no I/O, reads no clock and owns no randomness: callers hand in bytes, times and
//! random seeds. That keeps the chain's rules replayable in one process and lets the SDK verify
//! offline.
//!
//! ```
//! use xinlian_core::crypto::{PrivateKey, SignatureScheme};
//! let key = PrivateKey::from_seed(SignatureScheme::Sm2, [7u8; 32]).unwrap();
//! let sig = key.sign(b"message digest");
//! assert!(key.public_key().verify(b"message digest", &sig).is_ok());
//! assert!(key.public_key().verify(b"message digesT", &sig).is_err());
//! ```

pub mod api;
pub mod auth;
pub mod calendar;
pub mod certificate;
pub mod crypto;
pub mod encoding;
pub mod error;
pub mod genesis;
pub mod hash;
pub mod ids;
pub mod licence;
pub mod limits;
pub mod merkle;
pub mod proof;
pub mod state_tree;
mod text_serde;
pub mod trace;
pub mod types;
pub mod verify;

pub use error::{Error, Result};
pub use hash::{Hash, HashSuite};

/// OpenAPI schemas for the types with a custom text form.
#[cfg(feature = "openapi")]
mod openapi_schemas {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

    fn text(pattern: &str, description: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .description(Some(description))
            .into()
    }

    macro_rules! text_schema {
        ($ty:ty, $pattern:expr, $description:expr) => {
            impl utoipa::PartialSchema for $ty {
                fn schema() -> RefOr<Schema> {
                    text($pattern, $description)
                }
            }
            impl utoipa::ToSchema for $ty {}
        };
    }

    text_schema!(
        crate::Hash,
        "^[0-9a-f]{64}$",
        "32-byte digest under the chain's hash suite, hex"
    );
    text_schema!(
        crate::crypto::Signature,
        "^[0-9a-f]{128}$",
        "64-byte signature: r||s (SM2) or R||S (Ed25519), hex"
    );
    text_schema!(
        crate::crypto::PublicKey,
        "^(sm2:04[0-9a-f]{128}(;id=.+)?|ed25519:[0-9a-f]{64})$",
        "Public key: sm2:<uncompressed point>[;id=<user id>] or ed25519:<32 bytes>, hex"
    );
    text_schema!(
        crate::ids::Uscc,
        "^[0-9A-HJ-NPQRTUWXY]{18}$",
        "Unified social credit code (GB 32100-2015)"
    );
}
