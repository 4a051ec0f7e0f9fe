//! The single-node chain: admission into the mempool, block production, and reads.
//!
//! ```text
//! submit ─▶ form, chain, scheme, signature ─▶ contracts' admission check ─▶ mempool
//!                                                                            │
//! produce_block: oldest txs ─▶ drop expired/duplicate ─▶ execute ─▶ header ─▶ sign ─▶ one synced batch
//! ```
//! The consensus issue replaces "produce and commit" by "propose through Raft, commit on apply";
//! admission and execution stay as they are.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use xinlian_contracts::{BlockContext, ChainRules, ContractError, Executor};
use xinlian_core::api::ErrorBody;
use xinlian_core::crypto::PrivateKey;
use xinlian_core::genesis::Genesis;
use xinlian_core::limits::{BLOCK_TXS_MAX, TX_BYTES_MAX};
use xinlian_core::types::{Block, BlockHeader, Call, NodeRecord, Receipt, SignedTransaction};
use xinlian_core::{Hash, HashSuite, merkle};

use crate::membership::Membership;
use crate::mempool::{InsertError, Mempool, RejectedTxs};
use crate::metrics::Metrics;
use crate::storage::{Head, Storage, TxLocation};
use crate::verified::VerifiedCache;
use crate::{Config, Error, Result};

/// Why a submitted transaction was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Its canonical encoding is larger than [`TX_BYTES_MAX`].
    #[error("transaction is {0} bytes, more than the limit of {TX_BYTES_MAX}")]
    TooLarge(usize),
    /// The signature does not verify for the sender over this chain's signing bytes.
    #[error("{0}")]
    BadSignature(String),
    /// A contract rule refused it (chain, window, duplicate, sender, role).
    #[error(transparent)]
    Refused(#[from] ContractError),
    /// The same transaction is already waiting.
    #[error("transaction {0} is already pending")]
    AlreadyPending(Hash),
    /// The mempool is full; try again later.
    #[error("mempool is full ({0} transactions); try again later")]
    MempoolFull(usize),
    /// The node failed.
    #[error(transparent)]
    Internal(#[from] Error),
}

impl SubmitError {
    /// The stable code the API returns.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::TooLarge(_) => "tx_too_large",
            SubmitError::BadSignature(_) => "bad_signature",
            SubmitError::Refused(e) => e.code(),
            SubmitError::AlreadyPending(_) => "already_pending",
            SubmitError::MempoolFull(_) => "mempool_full",
            SubmitError::Internal(_) => "internal",
        }
    }
}

/// Writes a fresh random admin token to `DATA_DIR/admin.token` (mode 0600): whoever can read the
/// node's data directory is a local admin and may use the fault switch.
fn write_admin_token(data_dir: &std::path::Path) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no OS randomness: {e}")))?;
    let token = hex::encode(bytes);
    let path = data_dir.join("admin.token");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&path)?, token.as_bytes())?;
    Ok(token)
}

/// Merkle root over receipt hashes, as a header's `receipts_root` must be.
fn receipts_root(suite: HashSuite, receipts: &[Receipt]) -> Hash {
    let leaves: Vec<Hash> = receipts
        .iter()
        .map(|r| merkle::leaf_hash(suite, r.hash(suite).as_bytes()))
        .collect();
    merkle::root_of_leaf_hashes(suite, &leaves)
}

/// Why a committed entry was not applied as a block. Every node reaches the same verdict, so
/// the chains stay identical.
#[derive(Debug, thiserror::Error)]
pub enum BlockRefusal {
    /// This node already holds this very block (it synced it before Raft replayed the entry).
    #[error("block {0} is already applied")]
    AlreadyApplied(u64),
    /// It does not extend the head (a proposal overtaken by another leader's).
    #[error("stale block at height {height}; head is {head}")]
    Stale {
        /// The block's height.
        height: u64,
        /// The head it should have followed.
        head: u64,
    },
    /// The proposer is not a member node, or its signature does not verify.
    #[error("bad proposer: {0}")]
    Proposer(String),
    /// It does not decode, or breaks a rule of form.
    #[error("malformed block: {0}")]
    Malformed(String),
    /// Executing it gives other roots than its header claims.
    #[error("outcome mismatch: {0}")]
    Outcome(String),
}

impl BlockRefusal {
    /// Stable code for metrics and logs.
    pub fn code(&self) -> &'static str {
        match self {
            BlockRefusal::AlreadyApplied(_) => "already_applied",
            BlockRefusal::Stale { .. } => "stale",
            BlockRefusal::Proposer(_) => "bad_proposer",
            BlockRefusal::Malformed(_) => "malformed",
            BlockRefusal::Outcome(_) => "outcome_mismatch",
        }
    }
}

/// What applying a committed entry did.
#[derive(Debug)]
pub enum Applied {
    /// A block was stored; the new head.
    Block(Head),
    /// The entry was refused; nothing changed but the applied index.
    Refused(BlockRefusal),
}

/// Where a transaction stands, as the node knows it.
pub enum TxLookup {
    /// In a block.
    Committed(TxLocation, Receipt),
    /// Waiting in the mempool.
    Pending,
    /// Dropped before a block.
    Rejected(ErrorBody),
    /// Never seen (or forgotten).
    Unknown,
}

/// A running chain on one node.
pub struct Chain {
    storage: Storage,
    genesis: Genesis,
    executor: Executor,
    node_key: PrivateKey,
    node_id: String,
    block_txs_max: usize,
    mempool: Mutex<Mempool>,
    rejected: Mutex<RejectedTxs>,
    head: Mutex<Head>,
    metrics: Metrics,
    leader: Mutex<Option<String>>,
    gossip: std::sync::OnceLock<Gossip>,
    isolated: std::sync::atomic::AtomicBool,
    admin_token: String,
    p2p_peer_id: String,
    membership: tokio::sync::watch::Sender<Arc<Membership>>,
    verified: Mutex<VerifiedCache>,
    /// The head's height, watched by event streams (`GET /v1/events`).
    heights: tokio::sync::watch::Sender<u64>,
    /// Transactions dropped from the mempool without entering a block, as it happens.
    rejections: tokio::sync::broadcast::Sender<Rejection>,
}

/// A transaction the mempool dropped without it entering a block (expired or a duplicate).
#[derive(Clone, Debug)]
pub struct Rejection {
    /// The transaction.
    pub tx_hash: Hash,
    /// Why.
    pub error: ErrorBody,
}

/// How many rejections an event stream may fall behind by before it is told it missed some.
const REJECTIONS_BUFFERED: usize = 1024;

/// Checks that the registry's record of this node names this node's keys.
fn check_own_record(record: &NodeRecord, node_key: &PrivateKey, p2p_peer_id: &str) -> Result<()> {
    if record.removed {
        return Err(Error::Membership(format!(
            "node {:?} was removed from the chain by governance; it can no longer take part",
            record.id
        )));
    }
    if record.public_key != node_key.public_key() || record.p2p_peer_id != p2p_peer_id {
        return Err(Error::Membership(format!(
            "the chain registers node {:?} with key {} and peer id {}; this node has key {} and peer id {}",
            record.id,
            record.public_key,
            record.p2p_peer_id,
            node_key.public_key(),
            p2p_peer_id
        )));
    }
    Ok(())
}

/// Passes a transaction admitted over HTTP on to the peers.
pub type Gossip = Box<dyn Fn(&SignedTransaction) + Send + Sync>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks is a bug that already stopped the node's work;
    // the data behind them (queues) stays consistent, so carry on with it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Chain {
    /// Opens the store, writes genesis on first start, checks it matches on later starts, and
    /// checks this node's keys against the node registry. A node not in the registry yet starts
    /// as a joiner: it syncs blocks until governance adds it.
    pub fn open(
        config: &Config,
        genesis: Genesis,
        node_key: PrivateKey,
        p2p_peer_id: String,
    ) -> Result<Self> {
        genesis.validate()?;
        std::fs::create_dir_all(&config.data_dir)?;
        let storage = Storage::open(&config.data_dir, config.rocksdb_cache_bytes)?;
        let head = match (storage.genesis()?, storage.head()?) {
            (Some(stored), Some(head)) if stored == genesis => head,
            (Some(stored), _) => {
                return Err(Error::Genesis(format!(
                    "the store holds chain {:?} with genesis {}, the genesis file gives {}",
                    stored.chain_id,
                    stored.hash(),
                    genesis.hash()
                )));
            }
            (None, _) => {
                storage.init_genesis(&genesis, &Executor::genesis_writes(&genesis, &storage))?
            }
        };
        let membership = Membership::load(&storage)?;
        match membership.by_id(&config.node_id) {
            Some(record) => check_own_record(record, &node_key, &p2p_peer_id)?,
            None => tracing::info!(
                target: "xinlian.node",
                node_id = %config.node_id,
                public_key = %node_key.public_key(),
                p2p_peer_id = %p2p_peer_id,
                "this node is not in the chain's node registry yet; it will sync blocks and join once governance adds it with these keys"
            ),
        }
        let metrics = Metrics::new();
        metrics.set_height(head.height);
        Ok(Chain {
            executor: Executor::new(ChainRules::from_genesis(&genesis)),
            storage,
            genesis,
            node_key,
            node_id: config.node_id.clone(),
            p2p_peer_id,
            block_txs_max: config.block_txs_max,
            mempool: Mutex::new(Mempool::new(config.mempool_txs_max)),
            rejected: Mutex::new(RejectedTxs::new(config.rejected_txs_kept_max)),
            heights: tokio::sync::watch::Sender::new(head.height),
            head: Mutex::new(head),
            rejections: tokio::sync::broadcast::Sender::new(REJECTIONS_BUFFERED),
            metrics,
            leader: Mutex::new(None),
            gossip: std::sync::OnceLock::new(),
            isolated: std::sync::atomic::AtomicBool::new(false),
            admin_token: write_admin_token(&config.data_dir)?,
            membership: tokio::sync::watch::Sender::new(Arc::new(membership)),
            // Room for everything the mempool can hold, twice: a block's transactions are
            // usually still here when it is applied.
            verified: Mutex::new(VerifiedCache::new(2 * config.mempool_txs_max)),
        })
    }

    /// The chain's hash suite.
    pub fn suite(&self) -> HashSuite {
        self.genesis.hash_suite()
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The store, for reads.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Signature schemes the chain accepts now (governance may have changed genesis's).
    pub fn accepted_schemes(&self) -> Result<Vec<xinlian_core::crypto::SignatureScheme>> {
        Ok(self.executor.accepted_schemes(&self.storage)?)
    }

    /// The node registry as of the head, with Raft's members as last applied here.
    pub fn membership(&self) -> Arc<Membership> {
        self.membership.borrow().clone()
    }

    /// A receiver that sees every change of [`Chain::membership`] (the transport's allow list).
    pub fn watch_membership(&self) -> tokio::sync::watch::Receiver<Arc<Membership>> {
        self.membership.subscribe()
    }

    /// A receiver that sees the head's height change after each committed block.
    pub fn watch_height(&self) -> tokio::sync::watch::Receiver<u64> {
        self.heights.subscribe()
    }

    /// A receiver of the rejections that happen from now on.
    pub fn subscribe_rejections(&self) -> tokio::sync::broadcast::Receiver<Rejection> {
        self.rejections.subscribe()
    }

    /// Remembers a transaction the mempool dropped as rejected, counts it and tells the event
    /// streams.
    fn record_rejection(&self, rejected: &mut RejectedTxs, tx_hash: Hash, e: &ContractError) {
        let error = ErrorBody {
            code: e.code().into(),
            message: e.to_string(),
        };
        rejected.insert(tx_hash, error.clone());
        self.metrics.count_rejected(e.code());
        // No receiver is not an error: nobody is listening.
        let _ = self.rejections.send(Rejection { tx_hash, error });
    }

    /// Records Raft's voters and learners after a membership change was applied.
    pub fn set_raft_members(&self, voters: Vec<u64>, learners: Vec<u64>) {
        let current = self.membership();
        let updated = (*current).clone().with_raft_members(voters, learners);
        if updated != *current {
            self.membership.send_replace(Arc::new(updated));
        }
    }

    fn reload_membership(&self) -> Result<()> {
        let current = self.membership();
        let updated = Membership::load(&self.storage)?.with_raft_members(
            current.raft_voters().to_vec(),
            current.raft_learners().to_vec(),
        );
        if updated != *current {
            self.membership.send_replace(Arc::new(updated));
        }
        Ok(())
    }

    /// This node's own registry record, once governance has added it.
    pub fn own_record(&self) -> Option<NodeRecord> {
        self.membership().by_id(&self.node_id).cloned()
    }

    /// This node's Raft id, once it is an active member; an error when its registered keys are
    /// not this node's.
    pub fn admitted_raft_id(&self) -> Result<Option<u64>> {
        match self.own_record() {
            Some(record) => {
                check_own_record(&record, &self.node_key, &self.p2p_peer_id)?;
                Ok(Some(record.raft_id))
            }
            None => Ok(None),
        }
    }

    /// The node id behind a Raft id.
    pub fn node_id_of(&self, raft_id: u64) -> Option<String> {
        self.membership().by_raft_id(raft_id).map(|n| n.id.clone())
    }

    /// Raft ids of the genesis voters.
    pub fn genesis_voters(&self) -> Vec<u64> {
        (1..=self.genesis.nodes().count() as u64).collect()
    }

    /// The leader as last seen by the consensus loop.
    pub fn leader(&self) -> Option<String> {
        lock(&self.leader).clone()
    }

    /// Records the leader the consensus loop sees.
    pub fn set_leader(&self, leader: Option<String>) {
        *lock(&self.leader) = leader;
    }

    /// The latest block.
    pub fn head(&self) -> Head {
        lock(&self.head).clone()
    }

    /// Transactions waiting.
    pub fn mempool_len(&self) -> usize {
        lock(&self.mempool).len()
    }

    /// Whether the fault switch cuts this node off from its peers.
    pub fn is_isolated(&self) -> bool {
        self.isolated.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Cuts this node off from its peers, or reconnects it (fault injection for local tests).
    pub fn set_isolated(&self, isolated: bool) {
        self.isolated
            .store(isolated, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `token` is this node's local admin token.
    pub fn is_admin_token(&self, token: &str) -> bool {
        // Length first, then every byte: no early exit that would time the comparison.
        token.len() == self.admin_token.len()
            && token
                .bytes()
                .zip(self.admin_token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Sets where admitted client transactions are passed on (once, at start).
    pub fn set_gossip(&self, gossip: Gossip) {
        let _ = self.gossip.set(gossip);
    }

    /// Admits a client's transaction (see [`Chain::submit`]) and passes it on to the peers, so
    /// whichever node leads now or later can include it.
    pub fn submit_from_client(&self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        let copy = self.gossip.get().map(|_| tx.clone());
        let hash = self.submit(tx)?;
        if let (Some(gossip), Some(tx)) = (self.gossip.get(), copy) {
            gossip(&tx);
        }
        Ok(hash)
    }

    /// Admits a transaction into the mempool after checking its size, signature and the contract
    /// rules against committed state. Returns its hash.
    pub fn submit(&self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        let result = self.admit(tx);
        if let Err(e) = &result {
            self.metrics.count_rejected(e.code());
        }
        result
    }

    fn admit(&self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        let size = tx.to_bytes().len();
        if size > TX_BYTES_MAX {
            return Err(SubmitError::TooLarge(size));
        }
        let rules = self.executor.rules();
        // Chain and scheme first, so a transaction for another chain says so rather than
        // failing its signature check.
        if tx.tx.chain_id != rules.chain_id {
            return Err(ContractError::WrongChain {
                expected: rules.chain_id.clone(),
                found: tx.tx.chain_id.clone(),
            }
            .into());
        }
        let schemes = self.accepted_schemes()?;
        if !schemes.contains(&tx.tx.sender.scheme()) {
            return Err(ContractError::SchemeNotAccepted(tx.tx.sender.scheme().to_string()).into());
        }
        // A duplicate (re-gossiped, or sent twice) is recognised by its hash before the costly
        // signature check; the hash excludes the signature, so this cannot admit a forgery.
        let hash = tx.hash(self.suite());
        if lock(&self.mempool).contains(&hash) {
            return Err(SubmitError::AlreadyPending(hash));
        }
        // Gossip can bring a transaction after its block did; the block's check counts.
        if !lock(&self.verified).contains(&hash, &tx.signature) {
            tx.verify_signature()
                .map_err(|e| SubmitError::BadSignature(e.to_string()))?;
            self.metrics.count_signature_check("admission");
            lock(&self.verified).insert(&hash, &tx.signature);
        }
        let next_height = self.head().height + 1;
        self.executor
            .check_admission(&self.storage, &tx, next_height)
            .map_err(Error::from)??;
        let mut mempool = lock(&self.mempool);
        match mempool.insert(hash, tx) {
            Ok(()) => {
                self.metrics.set_mempool(mempool.len());
                Ok(hash)
            }
            Err(InsertError::AlreadyPending) => Err(SubmitError::AlreadyPending(hash)),
            Err(InsertError::Full) => Err(SubmitError::MempoolFull(mempool.len())),
        }
    }

    /// Up to `n` of the oldest waiting transactions, for re-sending to peers.
    pub fn oldest_pending(&self, n: usize) -> Vec<SignedTransaction> {
        lock(&self.mempool)
            .oldest(n)
            .into_iter()
            .map(|(_, tx)| tx)
            .collect()
    }

    /// Drops waiting transactions whose window closed at the head, remembering why.
    fn prune_expired(&self, head_height: u64) {
        let expired: Vec<(Hash, u64)> = lock(&self.mempool)
            .oldest(usize::MAX)
            .into_iter()
            .filter(|(_, tx)| tx.tx.valid_until_height <= head_height)
            .map(|(hash, tx)| (hash, tx.tx.valid_until_height))
            .collect();
        if expired.is_empty() {
            return;
        }
        let mut rejected = lock(&self.rejected);
        for (hash, valid_until) in &expired {
            let e = ContractError::Expired {
                valid_until: *valid_until,
                height: head_height + 1,
            };
            self.record_rejection(&mut rejected, *hash, &e);
        }
        drop(rejected);
        let hashes: Vec<Hash> = expired.into_iter().map(|(h, _)| h).collect();
        self.finish(&hashes);
    }

    /// Most transactions per block.
    pub fn block_txs_max(&self) -> usize {
        self.block_txs_max
    }

    /// Builds, executes and signs the next block from the oldest waiting transactions, without
    /// storing it: the leader proposes it through Raft and every node (this one too) applies it
    /// when committed. Returns `None` when nothing waits.
    pub fn build_block(&self, now_ms: u64) -> Result<Option<Block>> {
        let candidates = lock(&self.mempool).oldest(self.block_txs_max);
        if candidates.is_empty() {
            return Ok(None);
        }
        let head = self.head();
        let height = head.height + 1;
        let (txs, dropped) = self.select_includable(candidates, height)?;
        self.finish(&dropped);
        if txs.is_empty() {
            return Ok(None);
        }
        // The leader's clock, kept strictly increasing along the chain.
        let timestamp_ms = now_ms.max(head.timestamp_ms + 1);
        let context = BlockContext {
            height,
            timestamp_ms,
        };
        let outcome =
            self.executor
                .execute_block(&self.storage, &context, &txs, &head.state_root)?;
        let header = self.header(&head, &context, &txs, &outcome.receipts, outcome.state_root);
        Ok(Some(Block {
            signature: header.sign(&self.node_key),
            header,
            txs,
        }))
    }

    /// Applies the committed Raft entry at `index`: a block that passes validation is executed
    /// and stored with `index` in one batch; anything else (stale, invalid) is recorded as
    /// applied and changes nothing, the same way on every node.
    pub fn apply_entry(&self, index: u64, data: &[u8]) -> Result<Applied> {
        #[allow(clippy::disallowed_methods)] // the node measures its own work
        let started = Instant::now();
        let block = match self.validate(data) {
            Ok(block) => block,
            Err(refusal) => {
                self.storage.set_applied_index(index)?;
                if !matches!(refusal, BlockRefusal::AlreadyApplied(_)) {
                    self.metrics.count_refused_block(refusal.code());
                }
                return Ok(Applied::Refused(refusal));
            }
        };
        let head = self.head();
        let context = BlockContext {
            height: block.header.height,
            timestamp_ms: block.header.timestamp_ms,
        };
        let outcome =
            self.executor
                .execute_block(&self.storage, &context, &block.txs, &head.state_root)?;
        let suite = self.suite();
        let receipts_root = receipts_root(suite, &outcome.receipts);
        if receipts_root != block.header.receipts_root
            || outcome.state_root != block.header.state_root
        {
            let refusal = BlockRefusal::Outcome(format!(
                "block {} claims receipts root {} and state root {}; executing it gives {receipts_root} and {}",
                block.header.height,
                block.header.receipts_root,
                block.header.state_root,
                outcome.state_root
            ));
            self.storage.set_applied_index(index)?;
            self.metrics.count_refused_block(refusal.code());
            return Ok(Applied::Refused(refusal));
        }
        let block_hash = block.header.hash(suite);
        let new_head = self.storage.commit_block(
            &block,
            &block_hash,
            &outcome.receipts,
            &outcome.writes,
            index,
        )?;
        *lock(&self.head) = new_head.clone();
        self.heights.send_replace(new_head.height);
        if block
            .txs
            .iter()
            .any(|tx| matches!(tx.tx.call, Call::Governance(_)))
        {
            self.reload_membership()?;
        }
        let done: Vec<Hash> = outcome.receipts.iter().map(|r| r.tx_hash).collect();
        self.finish(&done);
        self.prune_expired(new_head.height);
        self.metrics
            .block_committed(new_head.height, block.txs.len(), started.elapsed());
        Ok(Applied::Block(new_head))
    }

    /// Applies a block fetched by block sync (catching up after a snapshot): the same checks
    /// and execution as a committed entry, leaving the applied Raft index where it is.
    pub fn apply_synced_block(&self, data: &[u8]) -> Result<Applied> {
        let index = self.storage.applied_index()?;
        let outcome = self.apply_entry(index, data)?;
        Ok(outcome)
    }

    /// The checks a follower makes before executing a committed block.
    fn validate(&self, data: &[u8]) -> Result<Block, BlockRefusal> {
        let block = Block::from_bytes(data).map_err(|e| BlockRefusal::Malformed(e.to_string()))?;
        let header = &block.header;
        let head = self.head();
        if header.chain_id != self.genesis.chain_id {
            return Err(BlockRefusal::Malformed(format!(
                "block for chain {:?}",
                header.chain_id
            )));
        }
        if header.height <= head.height && self.holds(&block) {
            return Err(BlockRefusal::AlreadyApplied(header.height));
        }
        if header.height != head.height + 1 || header.parent_hash != head.hash {
            return Err(BlockRefusal::Stale {
                height: header.height,
                head: head.height,
            });
        }
        if !self.membership().may_propose(&header.proposer) {
            return Err(BlockRefusal::Proposer(format!(
                "{} is not an active voting node",
                header.proposer
            )));
        }
        header
            .verify_signature(&block.signature)
            .map_err(|e| BlockRefusal::Proposer(format!("proposer signature: {e}")))?;
        if header.timestamp_ms <= head.timestamp_ms {
            return Err(BlockRefusal::Malformed(format!(
                "timestamp {} does not follow {}",
                header.timestamp_ms, head.timestamp_ms
            )));
        }
        if block.txs.len() > BLOCK_TXS_MAX {
            return Err(BlockRefusal::Malformed(format!(
                "{} transactions, more than {BLOCK_TXS_MAX}",
                block.txs.len()
            )));
        }
        if Block::compute_tx_root(self.suite(), &block.txs) != header.tx_root {
            return Err(BlockRefusal::Malformed(
                "transaction root does not match".into(),
            ));
        }
        self.verify_block_signatures(&block)?;
        Ok(block)
    }

    /// Verifies the signatures of a block's transactions that this node has not verified yet:
    /// SM2 ones in parallel across the cores, Ed25519 ones in batches
    /// ([`xinlian_core::verify`]). The outcome, and the first failure in block order, are the
    /// same on every node whatever each had verified before.
    fn verify_block_signatures(&self, block: &Block) -> Result<(), BlockRefusal> {
        let suite = self.suite();
        let unchecked: Vec<(Hash, &SignedTransaction)> = {
            let verified = lock(&self.verified);
            block
                .txs
                .iter()
                .map(|tx| (tx.hash(suite), tx))
                .filter(|(hash, tx)| !verified.contains(hash, &tx.signature))
                .collect()
        };
        let cached = block.txs.len() - unchecked.len();
        self.metrics.count_signature_checks("cached", cached as u64);
        self.metrics
            .count_signature_checks("block", unchecked.len() as u64);
        let txs: Vec<&SignedTransaction> = unchecked.iter().map(|(_, tx)| *tx).collect();
        xinlian_core::verify::verify_signatures(&txs).map_err(|rejected| {
            let hash = unchecked[rejected.index].0;
            BlockRefusal::Malformed(format!("transaction {hash}: {}", rejected.error))
        })?;
        let mut verified = lock(&self.verified);
        for (hash, tx) in &unchecked {
            verified.insert(hash, &tx.signature);
        }
        Ok(())
    }

    /// Whether the stored block at `block`'s height is `block`.
    fn holds(&self, block: &Block) -> bool {
        let suite = self.suite();
        matches!(
            self.storage.block(block.header.height),
            Ok(Some(stored)) if stored.header.hash(suite) == block.header.hash(suite)
        )
    }

    /// Splits candidates into those that may enter block `height` and those whose window has
    /// passed or that were committed meanwhile (remembered as rejected).
    fn select_includable(
        &self,
        candidates: Vec<(Hash, SignedTransaction)>,
        height: u64,
    ) -> Result<(Vec<SignedTransaction>, Vec<Hash>)> {
        let mut txs = Vec::with_capacity(candidates.len());
        let mut dropped = Vec::new();
        for (hash, tx) in candidates {
            match self.executor.check_admission(&self.storage, &tx, height)? {
                Err(e @ (ContractError::Expired { .. } | ContractError::Duplicate(_))) => {
                    self.record_rejection(&mut lock(&self.rejected), hash, &e);
                    dropped.push(hash);
                }
                // Other refusals (a sender removed meanwhile) are recorded in a receipt.
                _ => txs.push(tx),
            }
        }
        Ok((txs, dropped))
    }

    fn header(
        &self,
        head: &Head,
        context: &BlockContext,
        txs: &[SignedTransaction],
        receipts: &[Receipt],
        state_root: Hash,
    ) -> BlockHeader {
        let suite = self.suite();
        BlockHeader {
            chain_id: self.genesis.chain_id.clone(),
            height: context.height,
            parent_hash: head.hash,
            tx_root: Block::compute_tx_root(suite, txs),
            receipts_root: receipts_root(suite, receipts),
            state_root,
            timestamp_ms: context.timestamp_ms,
            proposer: self.node_key.public_key(),
        }
    }

    fn finish(&self, hashes: &[Hash]) {
        let mut mempool = lock(&self.mempool);
        mempool.remove(hashes);
        self.metrics.set_mempool(mempool.len());
    }

    /// Where transaction `hash` stands.
    pub fn lookup_tx(&self, hash: &Hash) -> Result<TxLookup> {
        if let Some(location) = self.storage.tx_location(hash)? {
            let receipt = self
                .storage
                .receipt(hash)?
                .ok_or_else(|| Error::Corrupt(format!("tx {hash} has no receipt")))?;
            return Ok(TxLookup::Committed(location, receipt));
        }
        if lock(&self.mempool).contains(hash) {
            return Ok(TxLookup::Pending);
        }
        if let Some(reason) = lock(&self.rejected).get(hash) {
            return Ok(TxLookup::Rejected(reason.clone()));
        }
        Ok(TxLookup::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use xinlian_core::crypto::{PrivateKey, SignatureScheme};
    use xinlian_core::genesis::{Genesis, GenesisNode, GenesisOrganisation, Suite};
    use xinlian_core::ids::Uscc;
    use xinlian_core::types::{OrgRole, SystemCall, Transaction};

    use super::*;

    fn key(seed: u8) -> PrivateKey {
        PrivateKey::from_seed(SignatureScheme::Sm2, [seed; 32]).unwrap()
    }

    fn chain(dir: &std::path::Path) -> Chain {
        let genesis = Genesis {
            chain_id: "verify-once".into(),
            suite: Suite::Gm,
            signature_schemes: vec![SignatureScheme::Sm2],
            genesis_time_ms: 0,
            organisations: vec![GenesisOrganisation {
                uscc: Uscc::with_check_character("11410100MB1234567").unwrap(),
                name: "org".into(),
                roles: vec![OrgRole::Admin],
                admins: vec![key(1).public_key()],
                nodes: vec![GenesisNode {
                    id: "n".into(),
                    public_key: key(2).public_key(),
                    p2p_peer_id: "peer".into(),
                }],
            }],
        };
        let config = Config::new(
            "n",
            dir.join("data"),
            dir.join("g"),
            dir.join("k"),
            dir.join("p"),
        );
        Chain::open(&config, genesis, key(2), "peer".into()).unwrap()
    }

    fn evidence(chain: &Chain, nonce: u64) -> SignedTransaction {
        Transaction {
            chain_id: "verify-once".into(),
            sender: key(1).public_key(),
            nonce,
            created_at_ms: 0,
            valid_until_height: chain.head().height + 10,
            call: Call::System(SystemCall::RecordEvidence {
                kind: "k".into(),
                digest: Hash([nonce as u8; 32]),
                memo: String::new(),
            }),
        }
        .sign(&key(1))
        .unwrap()
    }

    /// A transaction verified on admission is not verified again in its block; the same
    /// transaction carrying another signature is verified, and refused.
    #[test]
    fn signatures_are_verified_once_but_never_trusted_by_hash_alone() {
        let dir = tempfile::tempdir().unwrap();
        let chain = chain(dir.path());
        chain.submit(evidence(&chain, 1)).unwrap();
        let block = chain.build_block(1_000).unwrap().unwrap();
        assert!(matches!(
            chain.apply_entry(1, &block.to_bytes()).unwrap(),
            Applied::Block(_)
        ));
        let metrics = chain.metrics().render();
        assert!(
            metrics.contains("xinlian_signature_checks_total{code=\"cached\"} 1"),
            "{metrics}"
        );

        chain.submit(evidence(&chain, 2)).unwrap();
        let mut block = chain.build_block(2_000).unwrap().unwrap();
        let other = evidence(&chain, 3);
        block.txs[0].signature = other.signature;
        match chain.apply_entry(2, &block.to_bytes()).unwrap() {
            Applied::Refused(BlockRefusal::Malformed(why)) => {
                assert!(why.contains("transaction"), "{why}")
            }
            other => panic!("a swapped signature was accepted: {other:?}"),
        }
    }

    /// Gossip may bring a transaction after its block: the block's check counts, and the late
    /// copy is refused as committed without a second verification.
    #[test]
    fn a_transaction_first_seen_in_a_block_is_not_verified_again_when_gossiped() {
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (leader, follower) = (chain(dir_a.path()), chain(dir_b.path()));
        let tx = evidence(&leader, 1);
        leader.submit(tx.clone()).unwrap();
        let block = leader.build_block(1_000).unwrap().unwrap();
        assert!(matches!(
            follower.apply_entry(1, &block.to_bytes()).unwrap(),
            Applied::Block(_)
        ));
        assert!(follower.submit(tx).is_err(), "committed already");
        let metrics = follower.metrics().render();
        assert!(
            metrics.contains("xinlian_signature_checks_total{code=\"block\"} 1"),
            "{metrics}"
        );
        assert!(
            !metrics.contains("xinlian_signature_checks_total{code=\"admission\"}"),
            "{metrics}"
        );
    }
}
