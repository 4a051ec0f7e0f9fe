//! Building transactions without a node at hand: the chain id, a validity window, a nonce and a
//! time around a call, then signed. [`Client::sign_call`](crate::Client::sign_call) does the same
//! with the chain id and height asked of a node.
//!
//! Every contract's calls are the typed enums of [`calls`](crate::calls): the compiler checks a
//! call's fields, and the node checks who may send it.
//!
//! ```
//! use xinlian_core::crypto::SignatureScheme;
//! use xinlian_sdk::calls::{Call, SystemCall};
//! use xinlian_sdk::TxBuilder;
//!
//! let key = xinlian_sdk::keys::generate(SignatureScheme::Sm2)?;
//! let call = Call::System(SystemCall::RecordEvidence {
//!     kind: "inspection-report".into(),
//!     digest: xinlian_core::HashSuite::Sm3.digest(b"report No. 2026-118"),
//!     memo: "批次抽检".into(),
//! });
//! // The chain's head is at height 200 (`GET /v1/status` says so).
//! let tx = TxBuilder::new("xinlian-local", 200, call.clone()).sign(&key)?;
//! assert_eq!(tx.tx.valid_until_height, 200 + xinlian_sdk::DEFAULT_VALIDITY_BLOCKS);
//! let tx = TxBuilder::new("xinlian-local", 200, call)
//!     .valid_until_height(260)
//!     .sign(&key)?;
//! tx.verify_signature()?;
//! // A wrong key is refused locally, before anything reaches a node.
//! let other = xinlian_sdk::keys::generate(SignatureScheme::Ed25519)?;
//! assert!(TxBuilder::new("xinlian-local", 200, tx.tx.call.clone()).sender(key.public_key()).sign(&other).is_err());
//! # Ok::<(), xinlian_sdk::SdkError>(())
//! ```

use xinlian_core::crypto::{PrivateKey, PublicKey};
use xinlian_core::types::{Call, SignedTransaction, Transaction};

use crate::{DEFAULT_VALIDITY_BLOCKS, Result, keys, now_ms};

/// A transaction being built; [`TxBuilder::sign`] finishes it.
#[derive(Clone, Debug)]
pub struct TxBuilder {
    chain_id: String,
    call: Call,
    sender: Option<PublicKey>,
    nonce: Option<u64>,
    created_at_ms: Option<u64>,
    valid_until_height: u64,
}

impl TxBuilder {
    /// A transaction for `chain_id` making `call`, valid for [`DEFAULT_VALIDITY_BLOCKS`] blocks
    /// after `head_height` (the chain's height now) unless set.
    pub fn new(chain_id: impl Into<String>, head_height: u64, call: Call) -> Self {
        TxBuilder {
            chain_id: chain_id.into(),
            call,
            sender: None,
            nonce: None,
            created_at_ms: None,
            valid_until_height: head_height.saturating_add(DEFAULT_VALIDITY_BLOCKS),
        }
    }

    /// The last height it may enter a block at (the chain allows at most 100,000 ahead).
    pub fn valid_until_height(mut self, height: u64) -> Self {
        self.valid_until_height = height;
        self
    }

    /// A chosen nonce (by default a random one, so equal calls have different hashes).
    pub fn nonce(mut self, nonce: u64) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// The time shown as when it was made (by default now).
    pub fn created_at_ms(mut self, ms: u64) -> Self {
        self.created_at_ms = Some(ms);
        self
    }

    /// The sender, when it is not the signing key's own public key (signing then fails: a
    /// check that the right key file was picked).
    pub fn sender(mut self, sender: PublicKey) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The unsigned transaction.
    pub fn build(self, default_sender: PublicKey) -> Result<Transaction> {
        Ok(Transaction {
            chain_id: self.chain_id,
            sender: self.sender.unwrap_or(default_sender),
            nonce: match self.nonce {
                Some(nonce) => nonce,
                None => keys::random_nonce()?,
            },
            created_at_ms: self.created_at_ms.unwrap_or_else(now_ms),
            valid_until_height: self.valid_until_height,
            call: self.call,
        })
    }

    /// Signs with `key`.
    pub fn sign(self, key: &PrivateKey) -> Result<SignedTransaction> {
        Ok(self.build(key.public_key())?.sign(key)?)
    }
}
