//! Blocks and their headers.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::SignedTransaction;
use crate::certificate::CommitCertificate;
use crate::crypto::{PrivateKey, PublicKey, Signature};
use crate::encoding::{decode, encode};
use crate::hash::domains;
use crate::limits::BLOCK_BYTES_MAX;
use crate::{Hash, HashSuite, Result, merkle};

/// What a block commits to. Its hash links the chain; the proposer signs it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct BlockHeader {
    /// The chain.
    pub chain_id: String,
    /// Height, from 1 (genesis state is height 0 and has no block).
    pub height: u64,
    /// Hash of the previous header; the genesis hash for height 1.
    pub parent_hash: Hash,
    /// Merkle root over the transaction hashes.
    pub tx_root: Hash,
    /// Merkle root over the receipt hashes.
    pub receipts_root: Hash,
    /// Root of the state tree after this block (see `docs/formats.md`).
    pub state_root: Hash,
    /// Hash of the commit certificates of earlier blocks that this block carries
    /// ([`Block::certificates_hash`]), so they are on chain under this block's own certificate.
    pub certificates_hash: Hash,
    /// The proposer's clock, milliseconds since the Unix epoch; never decreases along the chain.
    pub timestamp_ms: u64,
    /// The proposing node's key.
    pub proposer: PublicKey,
}

impl BlockHeader {
    /// The block hash.
    pub fn hash(&self, suite: HashSuite) -> Hash {
        suite.digest_tagged(&domains::BLOCK_HASH, &encode(self))
    }

    /// The bytes a proposer signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        encode(&(domains::BLOCK_SIGN.as_str(), self))
    }

    /// Signs the header with the proposer's node key.
    pub fn sign(&self, key: &PrivateKey) -> Signature {
        key.sign(&self.signing_bytes())
    }

    /// Checks the proposer's signature.
    pub fn verify_signature(&self, signature: &Signature) -> Result<()> {
        self.proposer.verify(&self.signing_bytes(), signature)
    }
}

/// A header, its signature and its transactions.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The proposer's signature over the header.
    pub signature: Signature,
    /// Commit certificates of earlier blocks, by increasing height, each above the highest
    /// carried before and within [`crate::limits::CERTIFICATE_CARRY_WINDOW`] blocks; at most
    /// [`crate::limits::CARRIED_CERTIFICATES_MAX`]. Before the transactions, so a block's bytes
    /// end with them (compact relay sends them by id).
    pub certificates: Vec<CommitCertificate>,
    /// The transactions, in execution order.
    pub txs: Vec<SignedTransaction>,
}

impl Block {
    /// The header's `certificates_hash` for `certificates`.
    pub fn certificates_hash(suite: HashSuite, certificates: &[CommitCertificate]) -> Hash {
        suite.digest_tagged(&domains::CARRIED_CERTIFICATES, &encode(&certificates))
    }

    /// Merkle root over the hashes of `txs`, as the header's `tx_root` must be.
    pub fn compute_tx_root(suite: HashSuite, txs: &[SignedTransaction]) -> Hash {
        let hashes: Vec<Hash> = txs.iter().map(|t| t.hash(suite)).collect();
        Self::tx_root_of_hashes(suite, &hashes)
    }

    /// Merkle root over transaction hashes already computed (a node hashes each transaction
    /// once and carries the hash along).
    pub fn tx_root_of_hashes(suite: HashSuite, tx_hashes: &[Hash]) -> Hash {
        let leaves: Vec<Hash> = tx_hashes
            .iter()
            .map(|h| merkle::leaf_hash(suite, h.as_bytes()))
            .collect();
        merkle::root_of_leaf_hashes(suite, &leaves)
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes canonical bytes of at most [`BLOCK_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        decode(bytes, "block", BLOCK_BYTES_MAX)
    }
}
