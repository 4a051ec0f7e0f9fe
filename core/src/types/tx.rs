//! Transactions and their signatures.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::Call;
use crate::crypto::{PrivateKey, PublicKey, Signature};
use crate::encoding::{decode, encode};
use crate::hash::domains;
use crate::limits::{CHAIN_ID_BYTES_MAX, TX_BYTES_MAX};
use crate::{Error, Hash, HashSuite, Result};

/// What a sender asks the chain to do. Its hash (under the chain's suite) is its identity.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// The chain this transaction is for; part of what is signed.
    pub chain_id: String,
    /// The sender's public key; must belong to a registered member.
    pub sender: PublicKey,
    /// Chosen by the sender so that two otherwise equal calls have different hashes.
    pub nonce: u64,
    /// When the sender made it (milliseconds since the Unix epoch). Shown to people; never
    /// decides validity.
    pub created_at_ms: u64,
    /// The last height at which this transaction may be included. Replay protection rests on
    /// this window and on hash uniqueness, never on wall-clock time.
    pub valid_until_height: u64,
    /// The contract call.
    pub call: Call,
}

impl Transaction {
    /// The transaction's identity: its canonical bytes hashed under the tag `TX_HASH`. The
    /// signature is not part of it, so re-signing cannot make a replay look new.
    pub fn hash(&self, suite: HashSuite) -> Hash {
        suite.digest_tagged(&domains::TX_HASH, &encode(self))
    }

    /// The bytes a sender signs: the tag `TX_SIGN` and the canonical transaction (which starts
    /// with the chain id), so a signature is good for this chain and this purpose only.
    pub fn signing_bytes(&self) -> Vec<u8> {
        encode(&(domains::TX_SIGN.as_str(), self))
    }

    /// Signs with `key`, whose public key must be the sender.
    pub fn sign(self, key: &PrivateKey) -> Result<SignedTransaction> {
        if key.public_key() != self.sender {
            return Err(Error::InvalidSignature(format!(
                "signing key {} is not the sender {}",
                key.public_key(),
                self.sender
            )));
        }
        let signature = key.sign(&self.signing_bytes());
        Ok(SignedTransaction {
            tx: self,
            signature,
        })
    }
}

/// A transaction with its sender's signature, as posted to a node and stored in blocks.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// The sender's signature over [`Transaction::signing_bytes`].
    pub signature: Signature,
}

impl SignedTransaction {
    /// Checks the form (chain id length) and the signature. Whether the sender may make the call
    /// is the contracts' business.
    pub fn verify_signature(&self) -> Result<()> {
        self.check_form()?;
        self.tx
            .sender
            .verify(&self.tx.signing_bytes(), &self.signature)
    }

    /// Checks the form a signature check relies on: a chain id of 1 to [`CHAIN_ID_BYTES_MAX`]
    /// bytes.
    pub fn check_form(&self) -> Result<()> {
        if self.tx.chain_id.is_empty() || self.tx.chain_id.len() > CHAIN_ID_BYTES_MAX {
            return Err(Error::Encoding(format!(
                "chain id must be 1 to {CHAIN_ID_BYTES_MAX} bytes, got {}",
                self.tx.chain_id.len()
            )));
        }
        Ok(())
    }

    /// The transaction's hash (see [`Transaction::hash`]).
    pub fn hash(&self, suite: HashSuite) -> Hash {
        self.tx.hash(suite)
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// The length of [`SignedTransaction::to_bytes`], without encoding.
    pub fn encoded_len(&self) -> usize {
        crate::encoding::encoded_len(self)
    }

    /// Decodes canonical bytes of at most [`TX_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        decode(bytes, "signed transaction", TX_BYTES_MAX)
    }
}
