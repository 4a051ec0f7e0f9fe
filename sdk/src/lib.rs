//! Xinlian SDK: build, sign, submit, wait, query.
//!
//! ```text
//!  keys (generate / PKCS#8 PEM) ──▶ Client::sign_call / TxBuilder ──▶ SignedTransaction
//!                                                                            │ Client::submit
//!       Client::wait_for_commit ◀── GET /v1/events (blocks, receipts) ◀──────┘
//! ```
//!
//! Every node error surfaces as [`SdkError::Node`] with the node's status, code and message, and
//! a committed call the contract refused as [`SdkError::Refused`] with the receipt's code; nothing
//! the node refused is retried as if it were a network failure.
//!
//! - [`keys`]: generate keys of either scheme, read and write PKCS#8 PEM (OpenSSL reads them).
//! - [`calls`] and [`TxBuilder`]: every contract call, and transactions built offline.
//! - [`Client`]: submit, [`Client::commit`] (sign, submit, wait), every query, signed queries.
//! - [`events`]: the node's event stream of blocks, receipts and rejections.
//! - [`licence`]: sealing and checking licence documents offline; QR payloads.
//! - [`proof`]: a block and a transaction's Merkle inclusion, checked offline.
//! - [`tls`]: HTTPS to nodes: the trust root and a client certificate ([`Client::with_tls`]).
//!
//! Runnable programs are in `sdk/examples/` (a cold-chain terminal, a licence window, a holder
//! granting and revoking); run them against `make run`'s testnet.
//!
//! ```no_run
//! # async fn demo() -> Result<(), xinlian_sdk::SdkError> {
//! use xinlian_core::crypto::SignatureScheme;
//! use xinlian_core::types::{Call, SystemCall};
//! let key = xinlian_sdk::keys::generate(SignatureScheme::Sm2)?;
//! let client = xinlian_sdk::Client::new("http://127.0.0.1:8545")?;
//! let call = Call::System(SystemCall::RecordEvidence {
//!     kind: "contract".into(),
//!     digest: xinlian_core::HashSuite::Sm3.digest(b"the contract"),
//!     memo: String::new(),
//! });
//! let tx = client.sign_call(&key, call).await?;
//! let hash = client.submit(&tx).await?;
//! let outcome = client.wait_for_commit(&hash, std::time::Duration::from_secs(10)).await?;
//! println!("{:?}", outcome.receipt);
//! # Ok(()) }
//! ```

mod builder;
mod client;
pub mod console;
mod error;
pub mod events;
pub mod keys;
pub mod licence;
pub mod proof;
pub mod tls;

pub use builder::TxBuilder;
pub use client::{Client, DEFAULT_VALIDITY_BLOCKS};
pub use tls::{ClientCert, TlsOptions};

/// Every contract's calls, as typed values: system (members, evidence), governance, cold-chain
/// traceability, licences and authorisation.
pub mod calls {
    pub use xinlian_core::auth::{Action, AuthCall, Grantee, Matter, Scope, use_code_digest};
    pub use xinlian_core::licence::{LicenceCall, LicenceDraft, StatusAction};
    pub use xinlian_core::trace::{Selection, TraceCall};
    pub use xinlian_core::types::{Call, GovCall, GovChange, MemberRole, OrgRole, SystemCall};
}

/// The client's clock in ms since the epoch: for `created_at_ms`, grant windows, seal validity
/// and QR codes. It never decides validity on the chain; block times do.
#[allow(clippy::disallowed_methods)]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fresh 8-digit use code from the OS random source, for a holder's grant.
pub fn new_use_code() -> Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| SdkError::Random(e.to_string()))?;
    Ok(format!("{:08}", u32::from_le_bytes(bytes) % 100_000_000))
}
pub use error::{Result, SdkError};
