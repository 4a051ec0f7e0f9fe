//! Certified state snapshots: a new node, or one far behind, takes the state at a certified
//! height from a peer instead of replaying every block.
//!
//! ```text
//!  peer:  head h ─checkpoint─▶ read-only copy at h ──StateOffer──▶ (h, header, certificate)
//!                                    │                  StateChunk ▶ entries after a key hash,
//!                                    ▼                               in key-hash order, + range proof
//!  this node: certificate checked against its voters ─▶ each chunk checked against the header's
//!             state root as it comes (jmt restore) ─▶ tree and entries stored ─▶ the last
//!             100,000 blocks fetched and checked by hash up to the certified one (their
//!             transactions must stay unreplayable), not executed ─▶ head = h ─▶ blocks after h
//!             applied as usual
//! ```
//!
//! The serving side keeps one checkpoint (hard links, see `Storage::checkpoint`), so a transfer
//! reads one unchanging state however far the chain moves meanwhile; it is replaced once
//! [`REFRESH_BLOCKS`] behind the head and idle for [`IDLE_BEFORE_REPLACE`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use xinlian_contracts::views::verify::follow_voter_changes;
use xinlian_core::certificate::CommitCertificate;
use xinlian_core::limits::TX_VALIDITY_BLOCKS_MAX;
use xinlian_core::proof::Trust;
use xinlian_core::types::{Block, BlockHeader};
use xinlian_core::{Hash, encoding, state_tree};

use crate::chain::Chain;
use crate::network::{PeerRequest, PeerResponse};
use crate::raft_loop::BlockFetcher;
use crate::storage::{Head, StateChunk, Storage};
use crate::{Error, Result};

/// Most entries in one chunk.
pub const CHUNK_ENTRIES_MAX: usize = 4_096;
/// A served checkpoint this many blocks behind the head is replaced by a fresh one.
const REFRESH_BLOCKS: u64 = 1_024;
/// ... once no chunk of it was asked for this long.
const IDLE_BEFORE_REPLACE: Duration = Duration::from_secs(60);
/// How often a node asks its peers for an offer before it replays blocks instead.
const OFFER_ROUNDS_MAX: u32 = 20;
const OFFER_PAUSE: Duration = Duration::from_millis(500);
/// Blocks asked for at once when fetching the history below the snapshot.
const HISTORY_BATCH: u32 = 64;

/// Asks a peer (by Raft id) and waits for its answer.
pub type PeerAsker =
    Box<dyn Fn(u64, PeerRequest) -> std::result::Result<PeerResponse, String> + Send>;

/// What a peer offers: the height of its checkpoint, that block's header and its certificate
/// (canonical bytes).
#[derive(Debug, Serialize, Deserialize)]
pub struct Offer {
    /// The snapshot's height.
    pub height: u64,
    /// Its block's header.
    pub header: Bytes,
    /// That block's commit certificate.
    pub certificate: Bytes,
    /// Every change of the voters up to the snapshot's height, oldest first, each with its
    /// proof (as `GET /v1/gov/voter-changes` serves them), so a node that knows only older
    /// voters, the genesis ones for a new node, can check the certificate: it follows them.
    #[serde(default)]
    pub voter_changes: Vec<xinlian_core::api::VoterChange>,
}

/// Most voter changes an offer carries: governance changes the voters a few times a year.
pub const OFFER_VOTER_CHANGES_MAX: usize = 256;

/// A chunk as it travels.
#[derive(Debug, Serialize, Deserialize)]
pub struct Chunk {
    /// (space byte ‖ key, value), in key-hash order.
    pub entries: Vec<(Bytes, Bytes)>,
    /// The range proof of the last entry.
    pub proof: Bytes,
    /// Whether entries follow.
    pub more: bool,
}

/// The checkpoint this node serves.
struct Served {
    height: u64,
    storage: Storage,
    dir: PathBuf,
    used: Instant,
}

/// Serves this node's state to peers that bootstrap from it.
pub struct Server {
    dir: PathBuf,
    served: Mutex<Option<Served>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Server {
    /// A server keeping its checkpoints under `data_dir/state-sync` (emptied now: a checkpoint
    /// left by an earlier run is not served again).
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("state-sync");
        let _ = std::fs::remove_dir_all(&dir);
        Server {
            dir,
            served: Mutex::new(None),
        }
    }

    /// The snapshot this node offers, once its block's certificate formed here. Takes a fresh
    /// checkpoint when none is served or the one served is old and idle.
    pub fn offer(&self, chain: &Chain) -> Result<Option<Offer>> {
        let mut served = lock(&self.served);
        let head = chain.head().height;
        let stale = served.as_ref().is_none_or(|s| {
            s.height + REFRESH_BLOCKS < head && s.used.elapsed() > IDLE_BEFORE_REPLACE
        });
        if stale && head > 0 {
            std::fs::create_dir_all(&self.dir)?;
            let dir = self.dir.join(format!("at-{head}"));
            let _ = std::fs::remove_dir_all(&dir);
            chain.storage().checkpoint(&dir)?;
            let storage = Storage::open_read_only(&dir)?;
            let height = storage.head()?.map_or(0, |h| h.height);
            #[allow(clippy::disallowed_methods)] // the node keeps its own time
            let used = Instant::now();
            let fresh = Served {
                height,
                storage,
                dir,
                used,
            };
            if let Some(old) = served.replace(fresh) {
                drop(old.storage);
                let _ = std::fs::remove_dir_all(&old.dir);
            }
        }
        let Some(snapshot) = served.as_ref() else {
            return Ok(None);
        };
        let Some(certificate) = chain.storage().certificate(snapshot.height)? else {
            return Ok(None);
        };
        let Some(block) = snapshot.storage.block(snapshot.height)? else {
            return Ok(None);
        };
        let (mut voter_changes, _) = chain.voter_changes(0, OFFER_VOTER_CHANGES_MAX)?;
        voter_changes.retain(|change| change.height <= snapshot.height);
        Ok(Some(Offer {
            height: snapshot.height,
            header: encoding::encode(&block.header).into(),
            certificate: certificate.to_bytes().into(),
            voter_changes,
        }))
    }

    /// A chunk of the snapshot at `height` after key hash `after`; `None` when this node serves
    /// no snapshot at that height (any more).
    pub fn chunk(
        &self,
        chain: &Chain,
        height: u64,
        after: Option<[u8; 32]>,
        bytes_max: usize,
    ) -> Result<Option<Chunk>> {
        let mut served = lock(&self.served);
        let Some(snapshot) = served.as_mut().filter(|s| s.height == height) else {
            return Ok(None);
        };
        #[allow(clippy::disallowed_methods)] // the node keeps its own time
        let now = Instant::now();
        snapshot.used = now;
        let chunk =
            snapshot
                .storage
                .state_chunk(chain.suite(), after, CHUNK_ENTRIES_MAX, bytes_max)?;
        Ok(Some(match chunk {
            Some(StateChunk {
                entries,
                proof,
                more,
            }) => Chunk {
                entries: entries
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
                proof: proof.into(),
                more,
            },
            None => Chunk {
                entries: Vec::new(),
                proof: Bytes::new(),
                more: false,
            },
        }))
    }
}

/// A checked offer.
struct Checked {
    peer: u64,
    header: BlockHeader,
    /// The changes of the voters it carried that this node had not applied, each checked.
    voter_changes: Vec<xinlian_core::api::VoterChange>,
}

/// Where a snapshot's chunks and the blocks below it come from: a peer over the transport, or
/// (for the benchmark) another store on this machine.
pub trait SnapshotSource {
    /// The chunk of the snapshot at `height` after key hash `after`.
    fn chunk(&self, height: u64, after: Option<[u8; 32]>) -> Result<Chunk>;
    /// Blocks `from..from + count` in canonical bytes (possibly fewer, from `from`).
    fn blocks(&self, from: u64, count: u32) -> Result<Vec<Vec<u8>>>;
}

/// A peer as a snapshot source.
struct PeerSource<'a> {
    peer: u64,
    ask: &'a PeerAsker,
    fetch_blocks: &'a BlockFetcher,
}

impl SnapshotSource for PeerSource<'_> {
    fn chunk(&self, height: u64, after: Option<[u8; 32]>) -> Result<Chunk> {
        match (self.ask)(self.peer, PeerRequest::StateChunk { height, after }) {
            Ok(PeerResponse::StateChunk(Some(chunk))) => Ok(chunk),
            Ok(PeerResponse::StateChunk(None)) => Err(Error::Consensus(format!(
                "the peer serves no snapshot at {height} any more"
            ))),
            Ok(other) => Err(Error::Consensus(format!("peer answered {other:?}"))),
            Err(e) => Err(Error::Consensus(e)),
        }
    }

    fn blocks(&self, from: u64, count: u32) -> Result<Vec<Vec<u8>>> {
        (self.fetch_blocks)(self.peer, from, count).map_err(Error::Consensus)
    }
}

/// The offers of `peers` whose certificate certifies their header with the voters in force
/// there, the highest first: this node's voters, followed through the changes the offer carries
/// above its head (each certified by the voters before it, see `xinlian_contracts::views::
/// verify::follow_voter_change`).
fn checked_offers(chain: &Chain, ask: &PeerAsker, peers: &[u64]) -> Vec<Checked> {
    let suite = chain.suite();
    let own = Trust {
        chain_id: chain.genesis().chain_id.clone(),
        suite,
        voters: chain.voter_set(),
        since: chain.head().height + 1,
    };
    let chain_id = &chain.genesis().chain_id;
    let mut offers = Vec::new();
    for &peer in peers {
        let Ok(PeerResponse::StateOffer(Some(offer))) = ask(peer, PeerRequest::StateOffer) else {
            continue;
        };
        let Some((voters, voter_changes)) = followed_voters(&own, &offer) else {
            tracing::warn!(target: "xinlian.node.sync", peer, height = offer.height, "a snapshot offer's changes of the voters do not verify");
            continue;
        };
        let (Ok(header), Ok(certificate)) = (
            encoding::decode::<BlockHeader>(&offer.header, "snapshot header", 64 << 10),
            CommitCertificate::from_bytes(&offer.certificate),
        ) else {
            tracing::warn!(target: "xinlian.node.sync", peer, "a snapshot offer does not decode");
            continue;
        };
        let hash = header.hash(suite);
        let certified = header.height == offer.height
            && header.chain_id == *chain_id
            && certificate
                .verify(chain_id, header.height, &hash, &voters)
                .is_ok();
        if !certified {
            tracing::warn!(target: "xinlian.node.sync", peer, height = offer.height, "a snapshot offer is not certified by this node's voters");
            continue;
        }
        offers.push(Checked {
            peer,
            header,
            voter_changes,
        });
    }
    offers.sort_by_key(|o| std::cmp::Reverse(o.header.height));
    offers
}

/// The voters in force at the offer's height, from `own` followed through the offer's changes
/// above `own.since` and below that height, and every change it carries from there up to its
/// height (all checked); `None` when one fails.
fn followed_voters(
    own: &Trust,
    offer: &Offer,
) -> Option<(
    xinlian_core::certificate::VoterSet,
    Vec<xinlian_core::api::VoterChange>,
)> {
    let new: Vec<_> = offer
        .voter_changes
        .iter()
        .filter(|change| change.height >= own.since && change.height <= offer.height)
        .cloned()
        .collect();
    let below = new.iter().take_while(|c| c.height < offer.height).count();
    let at_height = follow_voter_changes(own, &new[..below]).ok()?;
    follow_voter_changes(&at_height, &new[below..]).ok()?;
    Some((at_height.voters, new))
}

/// Takes a certified snapshot from a peer when one lies at least `min_gain` blocks above the
/// head: its state, checked chunk by chunk against the certified state root, and the blocks of
/// the last [`TX_VALIDITY_BLOCKS_MAX`] heights below it, checked by hash. Returns the height
/// installed, or `None` when no peer offered one worth taking (the caller replays blocks).
pub fn bootstrap(
    chain: &Chain,
    ask: &PeerAsker,
    fetch_blocks: &BlockFetcher,
    peers: &[u64],
    min_gain: u64,
) -> Result<Option<u64>> {
    #[allow(clippy::disallowed_methods)] // the node measures its own work
    let started = Instant::now();
    let mut cleared = false;
    for round in 0..OFFER_ROUNDS_MAX {
        let head = chain.head().height;
        let offers = checked_offers(chain, ask, peers);
        let worth: Vec<Checked> = offers
            .into_iter()
            .filter(|o| o.header.height >= head + min_gain)
            .collect();
        if worth.is_empty() {
            if round + 1 < OFFER_ROUNDS_MAX {
                std::thread::sleep(OFFER_PAUSE);
            }
            continue;
        }
        for offer in worth {
            let source = PeerSource {
                peer: offer.peer,
                ask,
                fetch_blocks,
            };
            cleared = true;
            match install(chain, &source, &offer.header).and_then(|entries| {
                chain
                    .adopt_voter_changes(&offer.voter_changes)
                    .map(|()| entries)
            }) {
                Ok(entries) => {
                    tracing::info!(
                        target: "xinlian.node.sync",
                        height = offer.header.height,
                        peer = offer.peer,
                        entries,
                        seconds = started.elapsed().as_secs_f64(),
                        "bootstrapped from a certified snapshot"
                    );
                    return Ok(Some(offer.header.height));
                }
                Err(e) => tracing::warn!(
                    target: "xinlian.node.sync",
                    height = offer.header.height,
                    peer = offer.peer,
                    error = %e,
                    "a snapshot could not be installed; trying another"
                ),
            }
        }
    }
    if cleared {
        // This node's own state went with the first attempt: replaying blocks on it would
        // diverge, so stop (the store is marked, and refuses to open until wiped).
        return Err(Error::Corrupt(
            "no certified snapshot could be installed, and this node's state was cleared for one: wipe the data directory and start the node again to take a fresh snapshot".into(),
        ));
    }
    Ok(None)
}

/// Installs the snapshot of the block whose header is `header` (its certificate checked by the
/// caller) from `source`, in place of this node's state. Returns how many entries it held.
pub fn install(chain: &Chain, source: &dyn SnapshotSource, header: &BlockHeader) -> Result<usize> {
    let suite = chain.suite();
    let storage = chain.storage();
    let height = header.height;
    storage.clear_state()?;
    let mut restore = storage.restore_tree(suite, height, header.state_root)?;
    let mut after: Option<[u8; 32]> = None;
    let mut count = 0;
    loop {
        let chunk = source.chunk(height, after)?;
        if chunk.entries.is_empty() {
            if after.is_none() {
                return Err(Error::Consensus("an empty snapshot".into()));
            }
            break;
        }
        let entries: Vec<(jmt::KeyHash, Vec<u8>, Vec<u8>)> = chunk
            .entries
            .into_iter()
            .map(|(tree_key, value)| {
                let (space, key) = tree_key.split_first().unwrap_or((&u8::MAX, &[]));
                let hash = state_tree::key_hash(suite, *space, key);
                (hash, tree_key.to_vec(), value.to_vec())
            })
            .collect();
        if entries
            .iter()
            .any(|(_, k, _)| k.first().is_none_or(|s| *s > 1))
        {
            return Err(Error::Consensus("a snapshot entry names no space".into()));
        }
        restore.add_chunk(
            entries.iter().map(|(h, _, v)| (*h, v.clone())).collect(),
            &chunk.proof,
        )?;
        storage.put_state_entries(&entries)?;
        count += entries.len();
        after = entries.last().map(|(h, _, _)| h.0);
        if !chunk.more {
            break;
        }
    }
    restore.finish()?;
    let root = state_tree::root_at(suite, &storage.tree_reader(), height)?;
    if root != header.state_root {
        return Err(Error::Consensus(format!(
            "the restored state's root {root} is not the certified {}",
            header.state_root
        )));
    }
    let hash = header.hash(suite);
    let carried_through = fetch_history(chain, source, header, hash)?;
    chain.install_snapshot_head(
        Head {
            height,
            hash,
            state_root: header.state_root,
            timestamp_ms: header.timestamp_ms,
        },
        carried_through,
    )?;
    Ok(count)
}

/// Fetches the blocks of the last [`TX_VALIDITY_BLOCKS_MAX`] heights up to the snapshot's,
/// from the top down, each checked to be the parent of the one above it (the top one the
/// certified block), and stores them unexecuted. Returns the highest height whose certificate
/// they carry.
fn fetch_history(
    chain: &Chain,
    source: &dyn SnapshotSource,
    header: &BlockHeader,
    hash: Hash,
) -> Result<u64> {
    let suite = chain.suite();
    let lowest = header.height.saturating_sub(TX_VALIDITY_BLOCKS_MAX).max(1);
    let mut expected = hash;
    let mut top = header.height;
    let mut carried_through = 0;
    let mut batch = u64::from(HISTORY_BATCH);
    while top >= lowest {
        let from = (top + 1).saturating_sub(batch).max(lowest);
        let count = u32::try_from(top - from + 1).unwrap_or(HISTORY_BATCH);
        let fetched = source.blocks(from, count)?;
        let mut blocks = Vec::with_capacity(fetched.len());
        for (bytes, at) in fetched.into_iter().zip(from..) {
            let block = Block::from_bytes(&bytes)?;
            if block.header.height != at {
                return Err(Error::Consensus(format!(
                    "asked for block {at}, the peer sent {}",
                    block.header.height
                )));
            }
            blocks.push((bytes, block));
        }
        let Some(reached) = blocks.last().map(|(_, b)| b.header.height) else {
            return Err(Error::Consensus(format!("the peer sent no block {from}")));
        };
        if reached < top {
            // The answer was cut to fit a message: ask for as many as came.
            batch = reached - from + 1;
            continue;
        }
        for (_, block) in blocks.iter().rev() {
            if block.header.hash(suite) != expected {
                return Err(Error::Consensus(format!(
                    "block {} does not chain up to the certified block {}",
                    block.header.height, header.height
                )));
            }
            expected = block.header.parent_hash;
            if let Some(last) = block.certificates.last() {
                carried_through = carried_through.max(last.height);
            }
        }
        chain.storage().put_synced_history(suite, &blocks)?;
        top = from - 1;
    }
    if lowest == 1 && expected != chain.genesis().hash() {
        return Err(Error::Consensus(
            "the fetched history does not start at this chain's genesis".into(),
        ));
    }
    Ok(carried_through)
}
