//! Answers to peer requests: gossiped transactions to admission, blocks for sync, and a compact
//! block's transactions for the follower that lacks them.

use std::sync::Arc;

use bytes::Bytes;
use libp2p::PeerId;
use xinlian_core::limits::BLOCK_TXS_MAX;
use xinlian_core::types::SignedTransaction;

use super::raft_stream::RAFT_PROTOCOL;
use super::{
    PeerRequest, PeerResponse, Pending, SYNC_BLOCKS_MAX, SharedPeers, VOTES_PER_REQUEST_MAX,
    raft_id_of,
};
use crate::chain::Chain;

/// Most bytes of gossiped transactions queued or being admitted.
const GOSSIP_QUEUED_BYTES_MAX: usize = 64 << 20;

pub(super) fn answer(
    peers: &SharedPeers,
    chain: &Arc<Chain>,
    peer: PeerId,
    request: PeerRequest,
    pending: &Pending,
) -> PeerResponse {
    if pending.fault.is_isolated() {
        chain.metrics().count_dropped_peer_message("isolated");
        return PeerResponse::Refused("isolated".into());
    }
    if raft_id_of(peers, &peer).is_none() {
        return PeerResponse::Refused("not a member".into());
    }
    match request {
        PeerRequest::Raft(_) => {
            chain.metrics().count_dropped_peer_message("wrong_protocol");
            PeerResponse::Refused(format!("Raft messages travel on {}", RAFT_PROTOCOL))
        }
        PeerRequest::Txs(txs) => {
            // Held for rebuilding compact blocks whatever admission makes of them: a compact
            // block names transactions by the hash of their bytes, so bytes held can only ever
            // stand for themselves.
            for tx in &txs {
                pending.relay.held(tx.clone());
            }
            admit_gossip(chain, txs)
        }
        PeerRequest::Votes(votes) => {
            if votes.len() > VOTES_PER_REQUEST_MAX {
                chain.metrics().count_dropped_peer_message("oversized");
                return PeerResponse::Refused(format!(
                    "at most {VOTES_PER_REQUEST_MAX} votes per request"
                ));
            }
            let Some(node_id) = raft_id_of(peers, &peer).and_then(|id| chain.node_id_of(id)) else {
                return PeerResponse::Refused("not a member".into());
            };
            match chain.receive_votes(&node_id, votes) {
                Ok(()) => PeerResponse::Ack,
                Err(e) => {
                    tracing::warn!(target: "xinlian.node.p2p", error = %e, "storing a commit certificate failed");
                    PeerResponse::Refused("not stored".into())
                }
            }
        }
        PeerRequest::StateOffer => match chain.state_server().offer(chain) {
            Ok(offer) => PeerResponse::StateOffer(offer),
            Err(e) => {
                tracing::warn!(target: "xinlian.node.sync", error = %e, "a state snapshot could not be offered");
                PeerResponse::Refused("no snapshot".into())
            }
        },
        PeerRequest::StateChunk { height, after } => {
            match chain
                .state_server()
                .chunk(chain, height, after, pending.sync_bytes_max)
            {
                Ok(chunk) => PeerResponse::StateChunk(chunk),
                Err(e) => {
                    tracing::warn!(target: "xinlian.node.sync", error = %e, "a state snapshot chunk could not be read");
                    PeerResponse::Refused("no chunk".into())
                }
            }
        }
        PeerRequest::Blocks { from, count } => {
            PeerResponse::Blocks(blocks_within(chain, from, count, pending.sync_bytes_max))
        }
        PeerRequest::EntryTxs {
            term,
            index,
            positions,
        } => {
            if positions.len() > BLOCK_TXS_MAX {
                chain.metrics().count_dropped_peer_message("oversized");
                return PeerResponse::Refused(format!(
                    "at most {BLOCK_TXS_MAX} transactions per fetch"
                ));
            }
            match pending.relay.entry_txs(term, index, &positions) {
                Some(txs) => PeerResponse::Txs(txs),
                None => PeerResponse::Refused(format!(
                    "no proposal at term {term}, index {index} with those positions is kept here"
                )),
            }
        }
    }
}

/// Blocks from height `from` on, at most `count` (and [`SYNC_BLOCKS_MAX`]) and at most
/// `bytes_max` bytes together, so the answer always fits a peer message; the first block goes
/// even alone, since a block never exceeds what a peer message carries.
fn blocks_within(chain: &Chain, from: u64, count: u32, bytes_max: usize) -> Vec<Bytes> {
    let mut blocks = Vec::new();
    let mut bytes = 0;
    for height in from..from.saturating_add(u64::from(count.min(SYNC_BLOCKS_MAX))) {
        let Ok(Some(encoded)) = chain.storage().block_bytes(height) else {
            break;
        };
        if !blocks.is_empty() && bytes + encoded.len() > bytes_max {
            break;
        }
        bytes += encoded.len();
        blocks.push(encoded.into());
    }
    blocks
}

/// Admits gossiped transactions on the admission threads (`crate::workers`, one per core, below
/// consensus in priority), off the transport's loop, which must keep carrying messages. At most [`GOSSIP_QUEUED_BYTES_MAX`] bytes of
/// transactions are queued or being admitted; a request beyond that is refused as busy, and the
/// peer's periodic re-send brings its transactions again. Honest gossip stays far below it (a
/// batch is a few hundred transactions of a few hundred bytes); a flooding peer cannot hold more.
fn admit_gossip(chain: &Arc<Chain>, txs: Vec<Bytes>) -> PeerResponse {
    static QUEUED_BYTES: tokio::sync::Semaphore =
        tokio::sync::Semaphore::const_new(GOSSIP_QUEUED_BYTES_MAX);
    let bytes: usize = txs.iter().map(Bytes::len).sum();
    // The permit moves into the task and is released when it ends, even by a panic.
    let permit = u32::try_from(bytes.max(1))
        .ok()
        .and_then(|n| QUEUED_BYTES.try_acquire_many(n).ok());
    let Some(permit) = permit else {
        chain.metrics().count_dropped_peer_message("admission_busy");
        return PeerResponse::Refused("busy".into());
    };
    let queued = || GOSSIP_QUEUED_BYTES_MAX - QUEUED_BYTES.available_permits();
    chain.metrics().set_admission_queued(queued());
    let chain = chain.clone();
    #[allow(clippy::disallowed_methods)] // the node measures its own work
    let received = std::time::Instant::now();
    crate::workers::admission_pool().spawn(move || {
        chain.metrics().admission_waited(received.elapsed());
        // Released at the end of the task, even by a panic.
        let permit = permit;
        let mut decoded = Vec::with_capacity(txs.len());
        for bytes in txs {
            match SignedTransaction::from_bytes(&bytes) {
                Ok(tx) => decoded.push(tx),
                Err(_) => chain.metrics().count_dropped_peer_message("undecodable_tx"),
            }
        }
        // Admission checks the signatures (Ed25519 ones as a batch) and the rules again; a
        // refusal is normal (already pending, just committed) and not an error of the peer.
        let _ = chain.submit_batch(decoded);
        drop(permit);
        chain.metrics().set_admission_queued(queued());
    });
    PeerResponse::Ack
}
