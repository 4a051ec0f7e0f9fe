//! The messages of `/xinlian/peer/2` (CBOR): what one peer asks another and the answers.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::chain::PeerVote;

/// What one peer asks another.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    /// A Raft message, protobuf-encoded. Refused since Raft moved to its own streams; kept so a
    /// node of the previous version gets a clear refusal instead of an unreadable request.
    Raft(Vec<u8>),
    /// Signed transactions (canonical bytes) admitted by the sender.
    Txs(Vec<Bytes>),
    /// Blocks from `from` on, at most `count`.
    Blocks {
        /// First height.
        from: u64,
        /// How many.
        count: u32,
    },
    /// Transactions of a block the asked node proposed and sent compactly: the block entry at
    /// Raft (`term`, `index`), the transactions at `positions` in it.
    EntryTxs {
        /// The entry's term.
        term: u64,
        /// The entry's index.
        index: u64,
        /// Positions in the block's transaction list (at most `BLOCK_TXS_MAX`).
        positions: Vec<u32>,
    },
    /// The sender's own commit votes (at most [`VOTES_PER_REQUEST_MAX`]); whose they are is the
    /// sender's identity on the transport, never a field of the message.
    Votes(Vec<PeerVote>),
    /// The certified state snapshot the asked node serves (`crate::state_sync`).
    StateOffer,
    /// A chunk of the snapshot at `height`: entries after key hash `after` (from the first when
    /// `None`).
    StateChunk {
        /// The snapshot's height.
        height: u64,
        /// The key hash of the last entry received.
        after: Option<[u8; 32]>,
    },
}

/// Most commit votes one request carries.
pub const VOTES_PER_REQUEST_MAX: usize = 64;

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    /// Received.
    Ack,
    /// Blocks in canonical bytes, in height order.
    Blocks(Vec<Bytes>),
    /// Signed transactions in canonical bytes, in the order asked.
    Txs(Vec<Bytes>),
    /// The snapshot offered, if any is certified yet.
    StateOffer(Option<crate::state_sync::Offer>),
    /// A chunk; `None` when no snapshot at that height is served (any more).
    StateChunk(Option<crate::state_sync::Chunk>),
    /// Refused, with the reason.
    Refused(String),
}
