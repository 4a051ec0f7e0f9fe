//! JSON bodies of the HTTP API, shared by the node (which writes them) and the SDK (which reads
//! them). Byte fields are lowercase hex.

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::crypto::Signature;
use crate::crypto::SignatureScheme;
use crate::genesis::Suite;
use crate::types::{Block, BlockHeader, Receipt, SignedTransaction};

/// Every error the API returns: `{"error": {"code": ..., "message": ...}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// A stable code and a message for people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable, snake case (e.g. `bad_signature`).
    pub code: String,
    /// What was wrong, naming the offending value.
    pub message: String,
}

/// Answer to `POST /v1/txs`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitTxResponse {
    /// The accepted transaction's hash.
    pub tx_hash: Hash,
}

/// Where a transaction stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Accepted into the mempool, not yet in a block.
    Pending,
    /// In a block; see the receipt for success or failure.
    Committed,
    /// Dropped before reaching a block (e.g. its validity window passed).
    Rejected,
}

/// Answer to `GET /v1/txs/{hash}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatusResponse {
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// Pending, committed or rejected.
    pub status: TxState,
    /// Height of the block holding it, once committed.
    pub height: Option<u64>,
    /// Its receipt, once committed.
    pub receipt: Option<Receipt>,
    /// Why it was rejected, when it was.
    pub error: Option<ErrorBody>,
    /// The transaction itself, once committed.
    pub tx: Option<SignedTransaction>,
}

/// Answer to `GET /v1/blocks/{height}` and `/v1/blocks/latest`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockResponse {
    /// The block hash.
    pub hash: Hash,
    /// The header.
    pub header: BlockHeader,
    /// The proposer's signature.
    pub signature: Signature,
    /// Hashes of the transactions, in order.
    pub tx_hashes: Vec<Hash>,
    /// The transactions.
    pub txs: Vec<SignedTransaction>,
}

impl BlockResponse {
    /// Builds the view of `block`.
    pub fn new(block: Block, suite: crate::HashSuite) -> Self {
        BlockResponse {
            hash: block.header.hash(suite),
            tx_hashes: block.txs.iter().map(|t| t.hash(suite)).collect(),
            header: block.header,
            signature: block.signature,
            txs: block.txs,
        }
    }
}

/// Answer to `GET /v1/status`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// The chain id.
    pub chain_id: String,
    /// This node's id from genesis.
    pub node_id: String,
    /// Latest committed height (0 before the first block).
    pub height: u64,
    /// Hash of the latest block (the genesis hash at height 0).
    pub latest_hash: Hash,
    /// The genesis hash.
    pub genesis_hash: Hash,
    /// Node id of the current leader, if known.
    pub leader: Option<String>,
    /// The cryptographic suite.
    pub suite: Suite,
    /// Schemes the chain accepts.
    pub signature_schemes: Vec<SignatureScheme>,
    /// Transactions waiting in this node's mempool.
    pub mempool_txs: usize,
    /// Node software version.
    pub version: String,
}
