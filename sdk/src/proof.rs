//! Offline checks of what a node served: that a transaction is in a block, proven against the
//! block header's transaction root, and that the header is signed by its proposer. A party that
//! trusts a header (a regulator's own node, an archived copy) needs nothing else from the node
//! that served the proof.
//!
//! ```
//! use xinlian_core::HashSuite;
//! use xinlian_core::merkle;
//! # use xinlian_core::Hash;
//! // A block's transaction hashes, as `GET /v1/blocks/{height}` lists them.
//! let tx_hashes: Vec<Hash> = (0..5u8).map(|i| HashSuite::Sm3.digest(&[i])).collect();
//! let leaves: Vec<Hash> = tx_hashes
//!     .iter()
//!     .map(|h| merkle::leaf_hash(HashSuite::Sm3, h.as_bytes()))
//!     .collect();
//! let tx_root = merkle::root_of_leaf_hashes(HashSuite::Sm3, &leaves);
//!
//! let proof = xinlian_sdk::proof::prove_inclusion(HashSuite::Sm3, &tx_hashes, &tx_hashes[3])?;
//! xinlian_sdk::proof::verify_inclusion(HashSuite::Sm3, &tx_root, &tx_hashes[3], &proof)?;
//! // The same proof does not prove another transaction.
//! assert!(xinlian_sdk::proof::verify_inclusion(HashSuite::Sm3, &tx_root, &tx_hashes[2], &proof).is_err());
//! # Ok::<(), xinlian_sdk::SdkError>(())
//! ```

use xinlian_core::api::BlockResponse;
use xinlian_core::merkle::{self, InclusionProof};
use xinlian_core::{Hash, HashSuite};

use crate::{Result, SdkError};

/// The proof that `tx` is among `tx_hashes` (a block's transactions, in order).
pub fn prove_inclusion(suite: HashSuite, tx_hashes: &[Hash], tx: &Hash) -> Result<InclusionProof> {
    let index = tx_hashes
        .iter()
        .position(|hash| hash == tx)
        .ok_or_else(|| SdkError::Decode(format!("transaction {tx} is not in this block")))?;
    let leaves: Vec<Hash> = tx_hashes
        .iter()
        .map(|hash| merkle::leaf_hash(suite, hash.as_bytes()))
        .collect();
    Ok(merkle::prove(suite, &leaves, index)?)
}

/// Checks that `proof` leads from `tx` to a header's `tx_root`.
pub fn verify_inclusion(
    suite: HashSuite,
    tx_root: &Hash,
    tx: &Hash,
    proof: &InclusionProof,
) -> Result<()> {
    let leaf = merkle::leaf_hash(suite, tx.as_bytes());
    Ok(proof.verify(suite, &leaf, tx_root)?)
}

/// Checks a block as served: its hash is its header's, the proposer's signature verifies, and
/// its transaction list matches the header's root. Whether the proposer may propose is the
/// chain's registry's business (`GET /v1/gov/nodes`).
pub fn verify_block(suite: HashSuite, block: &BlockResponse) -> Result<()> {
    if block.header.hash(suite) != block.hash {
        return Err(SdkError::Decode(format!(
            "block {} does not hash to its header",
            block.hash
        )));
    }
    block.header.verify_signature(&block.signature)?;
    let hashes: Vec<Hash> = block.txs.iter().map(|tx| tx.hash(suite)).collect();
    if hashes != block.tx_hashes {
        return Err(SdkError::Decode(
            "the block's transaction hashes do not match its transactions".into(),
        ));
    }
    let leaves: Vec<Hash> = hashes
        .iter()
        .map(|hash| merkle::leaf_hash(suite, hash.as_bytes()))
        .collect();
    if merkle::root_of_leaf_hashes(suite, &leaves) != block.header.tx_root {
        return Err(SdkError::Decode(
            "the block's transactions do not match its header's root".into(),
        ));
    }
    Ok(())
}
