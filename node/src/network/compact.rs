//! Compact blocks: each transaction crosses the network once per peer.
//!
//! Gossip already brings a block's transactions to the followers before the leader proposes it,
//! so the Raft stream need not carry them a second time. When the leader's Raft stream sends an
//! append holding a block this node proposed recently, the block travels as its prefix (header,
//! signature and transaction count, verbatim) and one *wire id* per transaction: the BLAKE3 hash
//! of the transaction's full signed bytes. The follower rebuilds the entry's bytes from the
//! transactions it holds ([`TxRelay::held`]: gossip in and out, its own clients'), fetches the
//! ones it lacks from the sender, and hands Raft the very bytes the leader proposed. Raft, the
//! block hash and every validation rule see nothing different.
//!
//! Why the full signed bytes and not the transaction hash: the transaction hash leaves out the
//! signature, and SM2 signatures are randomised, so two nodes can hold "the same" transaction
//! with different signature bytes. Rebuilding by transaction hash could then give a follower
//! other block bytes than the leader's; by wire id it cannot (BLAKE3 is collision resistant, and
//! every fetched transaction is checked against its id).
//!
//! The frame of `/xinlian/raft/2`: `u32` (big-endian) length of the protobuf Raft message, the
//! message (compacted entries with empty data), then the Borsh list of [`CompactEntry`]s (empty
//! for a message without any).

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use protobuf::Message as _;
use xinlian_consensus::{EntryType, Message};
use xinlian_core::limits::BLOCK_TXS_MAX;

/// The BLAKE3 hash of a signed transaction's canonical bytes.
pub(crate) type WireId = [u8; 32];

/// The wire id of signed transaction bytes.
pub(crate) fn wire_id(bytes: &[u8]) -> WireId {
    *blake3::hash(bytes).as_bytes()
}

/// Most bytes of signed transactions kept for rebuilding blocks: about twice what a busy
/// mempool holds, so a transaction gossiped before its block is still here when the block comes.
const RECENT_BYTES_MAX: usize = 64 << 20;
/// Proposals the leader keeps for compacting appends and answering fetches, by count and by
/// bytes; a follower too far behind for these gets whole entries, as before.
const PROPOSALS_KEPT_MAX: usize = 64;
const PROPOSALS_BYTES_MAX: usize = 64 << 20;

/// One block entry of a Raft message, sent compactly.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CompactEntry {
    /// Its position in the message's entries (whose data travels empty).
    pub position: u32,
    /// The entry's bytes up to the first transaction: header, signature, transaction count.
    pub prefix: Vec<u8>,
    /// The wire id of each transaction, in block order.
    pub txs: Vec<WireId>,
}

/// Why a frame could not be read or a compact entry rebuilt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The frame or its Raft message does not decode.
    Undecodable,
    /// A compact entry names no entry of the message, one with data, or too many transactions.
    Malformed,
    /// The rebuilt message would be larger than a Raft message may be.
    Oversized,
}

impl FrameError {
    /// The drop code counted for it.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            FrameError::Undecodable => "undecodable",
            FrameError::Malformed => "compact_malformed",
            FrameError::Oversized => "oversized",
        }
    }
}

/// Encodes a frame body of `/xinlian/raft/2` (the stream writes its `u32` big-endian length
/// before it): the Raft message (compacted entries emptied) and its compact entries. `None` if
/// the message does not encode.
pub fn encode_frame(message: &Message, compact: &[CompactEntry]) -> Option<Vec<u8>> {
    let raft = message.write_to_bytes().ok()?;
    let mut body = Vec::with_capacity(4 + raft.len() + 4 + compact.len() * 64);
    body.extend_from_slice(&u32::try_from(raft.len()).ok()?.to_be_bytes());
    body.extend_from_slice(&raft);
    borsh::to_writer(&mut body, compact).ok()?;
    Some(body)
}

/// Decodes a frame body (at most the Raft message limit, checked by the reader).
pub(crate) fn decode_frame(body: &[u8]) -> Result<(Message, Vec<CompactEntry>), FrameError> {
    let (length, rest) = body
        .split_first_chunk::<4>()
        .ok_or(FrameError::Undecodable)?;
    let length = u32::from_be_bytes(*length) as usize;
    if length > rest.len() {
        return Err(FrameError::Undecodable);
    }
    let (raft, compact) = rest.split_at(length);
    let message = Message::parse_from_bytes(raft).map_err(|_| FrameError::Undecodable)?;
    let compact: Vec<CompactEntry> =
        borsh::from_slice(compact).map_err(|_| FrameError::Undecodable)?;
    Ok((message, compact))
}

/// A compact entry resolved against what this node holds: the bytes found, and the positions
/// (in the entry's transaction list) still missing.
pub(crate) struct Resolved {
    /// The entry's position in the message.
    pub(crate) position: usize,
    prefix: Vec<u8>,
    txs: Vec<Option<Bytes>>,
    ids: Vec<WireId>,
}

impl Resolved {
    /// Positions of the transactions this node does not hold.
    pub(crate) fn missing(&self) -> Vec<u32> {
        (0u32..)
            .zip(&self.txs)
            .filter(|(_, tx)| tx.is_none())
            .map(|(i, _)| i)
            .collect()
    }

    /// Fills in fetched transactions for `positions`; false if their number or any of their
    /// wire ids is wrong (nothing is then trusted of the answer).
    pub(crate) fn fill(&mut self, positions: &[u32], fetched: Vec<Bytes>) -> bool {
        if positions.len() != fetched.len() {
            return false;
        }
        for (&position, bytes) in positions.iter().zip(fetched) {
            let position = position as usize;
            if self.ids.get(position) != Some(&wire_id(&bytes)) {
                return false;
            }
            self.txs[position] = Some(bytes);
        }
        true
    }

    /// The bytes the entry will have: its prefix and the transactions held so far.
    pub(crate) fn size(&self) -> usize {
        self.prefix.len()
            + self
                .txs
                .iter()
                .map(|tx| tx.as_ref().map_or(0, Bytes::len))
                .sum::<usize>()
    }

    /// The entry's bytes, once nothing is missing.
    pub(crate) fn assemble(self) -> Option<Bytes> {
        let mut data = Vec::with_capacity(self.size());
        data.extend_from_slice(&self.prefix);
        for tx in self.txs {
            data.extend_from_slice(&tx?);
        }
        Some(data.into())
    }

    fn held_count(&self) -> usize {
        self.txs.iter().filter(|tx| tx.is_some()).count()
    }
}

/// A block this node proposed: its entry bytes, where each transaction lies in them, and their
/// wire ids.
struct Proposed {
    term: u64,
    index: u64,
    data: Bytes,
    prefix_len: usize,
    spans: Vec<Range<usize>>,
    ids: Vec<WireId>,
}

/// Signed transactions this node holds, by wire id, oldest forgotten first.
#[derive(Default)]
struct RecentTxs {
    by_id: HashMap<WireId, Bytes>,
    order: VecDeque<WireId>,
    bytes: usize,
}

impl RecentTxs {
    fn insert(&mut self, bytes: Bytes) {
        let id = wire_id(&bytes);
        if self.by_id.contains_key(&id) {
            return;
        }
        self.bytes += bytes.len();
        self.by_id.insert(id, bytes);
        self.order.push_back(id);
        while self.bytes > RECENT_BYTES_MAX {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.by_id.remove(&old) {
                self.bytes -= gone.len();
            }
        }
    }
}

/// What compact blocks need on one node: the transactions it holds, and (on a leader) the
/// blocks it proposed.
#[derive(Default)]
pub struct TxRelay {
    recent: Mutex<RecentTxs>,
    proposals: Mutex<VecDeque<Arc<Proposed>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Both hold plain caches that stay consistent whatever a panicking holder did.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TxRelay {
    /// Records that this node holds these signed transaction bytes (gossiped to or from it).
    pub fn held(&self, bytes: Bytes) {
        lock(&self.recent).insert(bytes);
    }

    /// Records the block entry this node proposed at (`term`, `index`): `data` is the block's
    /// canonical bytes, whose transactions are the last `tx_lens.iter().sum()` bytes, in order.
    pub fn proposed(&self, term: u64, index: u64, data: Bytes, tx_lens: &[usize]) {
        let txs_len: usize = tx_lens.iter().sum();
        let Some(prefix_len) = data.len().checked_sub(txs_len) else {
            return;
        };
        let mut spans = Vec::with_capacity(tx_lens.len());
        let mut start = prefix_len;
        for len in tx_lens {
            spans.push(start..start + len);
            start += len;
        }
        let ids = spans
            .iter()
            .map(|span| wire_id(&data[span.clone()]))
            .collect();
        let mut proposals = lock(&self.proposals);
        // A new term's entry at an index replaces what an older term left there.
        proposals.retain(|p| p.index < index);
        proposals.push_back(Arc::new(Proposed {
            term,
            index,
            data,
            prefix_len,
            spans,
            ids,
        }));
        let mut bytes: usize = proposals.iter().map(|p| p.data.len()).sum();
        while proposals.len() > PROPOSALS_KEPT_MAX || bytes > PROPOSALS_BYTES_MAX {
            let Some(old) = proposals.pop_front() else {
                break;
            };
            bytes -= old.data.len();
        }
    }

    fn proposal(&self, term: u64, index: u64) -> Option<Arc<Proposed>> {
        lock(&self.proposals)
            .iter()
            .rev()
            .find(|p| p.term == term && p.index == index)
            .cloned()
    }

    /// Empties the data of the entries of `message` that are blocks this node proposed, and
    /// returns their compact forms (none for other messages and entries).
    pub(crate) fn compact(&self, message: &mut Message) -> Vec<CompactEntry> {
        if message.entries.is_empty() || lock(&self.proposals).is_empty() {
            return Vec::new();
        }
        let mut compact = Vec::new();
        for (position, entry) in (0u32..).zip(message.entries.iter_mut()) {
            if entry.get_entry_type() != EntryType::EntryNormal || entry.data.is_empty() {
                continue;
            }
            let Some(proposed) = self.proposal(entry.term, entry.index) else {
                continue;
            };
            // The same (term, index) is the same entry by Raft's log matching; the bytes are
            // compared anyway, so a compact entry can only ever stand for these bytes.
            if proposed.data != entry.data {
                continue;
            }
            compact.push(CompactEntry {
                position,
                prefix: proposed.data[..proposed.prefix_len].to_vec(),
                txs: proposed.ids.clone(),
            });
            entry.data = Bytes::new();
        }
        compact
    }

    /// Resolves the compact entries of a received message against the transactions this node
    /// holds. What is held already may not make the rebuilt message exceed `message_bytes_max`
    /// (the bound on a whole Raft message, as if it had come uncompacted); the reader checks the
    /// whole again once fetched transactions are in ([`Resolved::size`]).
    pub(crate) fn resolve(
        &self,
        message: &Message,
        compact: Vec<CompactEntry>,
        message_bytes_max: usize,
    ) -> Result<Vec<Resolved>, FrameError> {
        let mut size = message.compute_size() as usize;
        let mut resolved = Vec::with_capacity(compact.len());
        let mut positions = std::collections::HashSet::new();
        let recent = lock(&self.recent);
        for entry in compact {
            let position = entry.position as usize;
            let Some(target) = message.entries.get(position) else {
                return Err(FrameError::Malformed);
            };
            if !target.data.is_empty()
                || target.get_entry_type() != EntryType::EntryNormal
                || entry.txs.len() > BLOCK_TXS_MAX
                || !positions.insert(position)
            {
                return Err(FrameError::Malformed);
            }
            let txs = entry
                .txs
                .iter()
                .map(|id| recent.by_id.get(id).cloned())
                .collect();
            let entry = Resolved {
                position,
                prefix: entry.prefix,
                txs,
                ids: entry.txs,
            };
            size += entry.size();
            if size > message_bytes_max {
                return Err(FrameError::Oversized);
            }
            resolved.push(entry);
        }
        Ok(resolved)
    }

    /// The transactions at `positions` of the block this node proposed at (`term`, `index`),
    /// for a follower that lacks them; `None` when the proposal is no longer kept or a position
    /// is out of range.
    pub(crate) fn entry_txs(&self, term: u64, index: u64, positions: &[u32]) -> Option<Vec<Bytes>> {
        let proposed = self.proposal(term, index)?;
        positions
            .iter()
            .map(|&p| {
                let span = proposed.spans.get(p as usize)?;
                Some(proposed.data.slice(span.clone()))
            })
            .collect()
    }
}

/// How many of the transactions of `resolved` entries this node held already.
pub(crate) fn held_count(resolved: &[Resolved]) -> usize {
    resolved.iter().map(Resolved::held_count).sum()
}

#[cfg(test)]
mod tests;
