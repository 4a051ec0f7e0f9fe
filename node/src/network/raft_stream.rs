//! Raft messages on one long-lived, ordered stream per peer (`/xinlian/raft/2`).
//!
//! A request-response round trip per Raft message put every append, heartbeat and vote on its
//! own substream, and libp2p's handler dropped inbound streams "at capacity" under load; the
//! dropped appends came back only as retries and block sync. Here each node opens one stream to
//! each peer and writes length-prefixed protobuf frames in order, flushing once per burst:
//!
//! - **Sender side**: a task per peer with a bounded queue. When the peer is slow its queue
//!   fills; a message that does not fit is not sent, counted (`peer_backlog`), and Raft is told
//!   the peer is unreachable, so it stops streaming appends to it and probes instead (raft-rs's
//!   own flow control: the follower's log is brought up to date by the next probe, nothing is
//!   lost). The Raft thread never waits for one slow peer.
//! - **Receiver side**: a task per inbound stream reads frames of at most
//!   `raft_message_bytes_max`, checks the sender is the registry peer of the Raft id it claims,
//!   and hands the message to the consensus loop; when the loop's queue is full the reader waits
//!   (and counts the wait), so the peer's writes back up through Yamux's flow control instead of
//!   being dropped.
//! - **Compact blocks** (`compact.rs`): an append holding a block this node proposed carries
//!   the block's wire ids instead of its transactions; the reader rebuilds the entry from the
//!   transactions this node holds and fetches the rest from the sender (waiting, so order holds)
//!   before Raft sees the message. Version 1 carried bare protobuf frames.

use std::collections::HashMap;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use libp2p::futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use protobuf::Message as _;
use tokio::sync::mpsc;
use xinlian_consensus::{Message, MessageType};

use super::compact::{self, FrameError, Resolved, TxRelay};
use super::{Outgoing, PeerRequest, Peers, peer_id_of, raft_id_of, report_snapshot};
use crate::chain::Chain;
use crate::fault::FaultSwitch;
use crate::raft_loop::Input;

/// The protocol of the Raft streams.
pub(crate) const RAFT_PROTOCOL: StreamProtocol = StreamProtocol::new("/xinlian/raft/2");
/// Raft messages waiting for one peer's stream. raft-rs keeps at most `inflight_msgs_max`
/// appends in flight per follower, plus heartbeats and votes, so an honest backlog stays far
/// below this; a full queue means the peer stopped reading.
const PEER_QUEUE_MESSAGES: usize = 1024;
/// Most messages written before one flush.
const BURST_MAX: usize = 64;
/// How long opening a stream or writing a burst may take before the peer counts as unreachable:
/// about an election timeout, so heartbeats do not wait behind a stalled write for longer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after a failed open the sender drops messages instead of trying again.
const REOPEN_BACKOFF: Duration = Duration::from_millis(500);
/// Most bytes a reader sets aside for a frame before its bytes arrive.
const FRAME_PREALLOCATED_MAX: usize = 64 << 10;
/// How long a reader sleeps when the consensus loop's queue is full before trying again.
const INBOX_RETRY: Duration = Duration::from_millis(1);

/// Raft ids and peer ids, shared with the stream tasks and kept current by the swarm loop.
pub(crate) type SharedPeers = Arc<RwLock<Peers>>;

/// What the sender and reader tasks need.
#[derive(Clone)]
pub(crate) struct StreamContext {
    pub(crate) chain: Arc<Chain>,
    pub(crate) peers: SharedPeers,
    pub(crate) raft_inputs: SyncSender<Input>,
    pub(crate) fault: FaultSwitch,
    /// Most bytes of one Raft message (the config's `raft_message_bytes_max`).
    pub(crate) message_bytes_max: usize,
    /// Transactions held and blocks proposed, for compact blocks.
    pub(crate) relay: Arc<TxRelay>,
    /// The transport's queue, for fetching compact blocks' missing transactions.
    pub(crate) outgoing: mpsc::Sender<Outgoing>,
}

impl StreamContext {
    fn dropped(&self, reason: &str) {
        self.chain.metrics().count_dropped_peer_message(reason);
    }

    fn unreachable(&self, raft_id: u64) {
        let _ = self.raft_inputs.try_send(Input::Unreachable(raft_id));
    }
}

/// The per-peer sender tasks, owned by the swarm loop.
pub(crate) struct RaftSenders {
    control: libp2p_stream::Control,
    queues: HashMap<u64, mpsc::Sender<Message>>,
    context: StreamContext,
}

impl RaftSenders {
    pub(crate) fn new(control: libp2p_stream::Control, context: StreamContext) -> Self {
        RaftSenders {
            control,
            queues: HashMap::new(),
            context,
        }
    }

    /// Ends the sender tasks of Raft ids no longer in the registry (their streams close with
    /// them).
    pub(crate) fn retain_members(&mut self) {
        let Ok(peers) = self.context.peers.read() else {
            return;
        };
        self.queues
            .retain(|raft_id, _| peers.raft_to_peer.contains_key(raft_id));
    }

    /// Queues `message` for its recipient's stream; never waits.
    pub(crate) fn send(&mut self, message: Message) {
        let to = message.to;
        let queue = self.queues.entry(to).or_insert_with(|| {
            let (queue, receiver) = mpsc::channel(PEER_QUEUE_MESSAGES);
            tokio::spawn(run_sender(
                to,
                receiver,
                self.control.clone(),
                self.context.clone(),
            ));
            queue
        });
        let refused = match queue.try_send(message) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(message)) => message,
            // The task ended (the runtime is stopping): nothing more to send.
            Err(mpsc::error::TrySendError::Closed(message)) => {
                self.queues.remove(&to);
                message
            }
        };
        self.context.dropped("peer_backlog");
        if refused.get_msg_type() == MessageType::MsgSnapshot {
            report_snapshot(&self.context.raft_inputs, to, false);
        }
        self.context.unreachable(to);
    }
}

/// Sends one peer's Raft messages over one stream, reopening it after a failure.
async fn run_sender(
    to: u64,
    mut queue: mpsc::Receiver<Message>,
    mut control: libp2p_stream::Control,
    context: StreamContext,
) {
    let mut stream: Option<Stream> = None;
    let mut retry_at = tokio::time::Instant::now();
    let mut burst = Vec::with_capacity(BURST_MAX);
    while queue.recv_many(&mut burst, BURST_MAX).await > 0 {
        let messages = std::mem::take(&mut burst);
        if context.fault.is_isolated() {
            for message in &messages {
                context.dropped("isolated");
                if message.get_msg_type() == MessageType::MsgSnapshot {
                    report_snapshot(&context.raft_inputs, to, false);
                }
            }
            context.unreachable(to);
            continue;
        }
        let delivery = deliver(
            to,
            &messages,
            &mut stream,
            &mut retry_at,
            &mut control,
            &context,
        )
        .await;
        for _ in 0..delivery.snapshots_sent {
            report_snapshot(&context.raft_inputs, to, delivery.written);
        }
        for _ in 0..delivery.snapshots_dropped {
            report_snapshot(&context.raft_inputs, to, false);
        }
        if !delivery.written {
            context.unreachable(to);
        }
    }
}

/// What became of a burst.
struct Delivery {
    /// Written and flushed in time.
    written: bool,
    /// Snapshots in the burst that were written (or not, with the rest).
    snapshots_sent: usize,
    /// Snapshots that could not be framed at all.
    snapshots_dropped: usize,
}

/// Writes `messages` on the stream to `to` (opening it first if needed) and flushes.
async fn deliver(
    to: u64,
    messages: &[Message],
    stream: &mut Option<Stream>,
    retry_at: &mut tokio::time::Instant,
    control: &mut libp2p_stream::Control,
    context: &StreamContext,
) -> Delivery {
    let mut frames = Vec::new();
    let mut snapshots_sent = 0;
    let mut snapshots_dropped = 0;
    for message in messages {
        let is_snapshot = message.get_msg_type() == MessageType::MsgSnapshot;
        // The bound is on the whole message, as the receiver will rebuild it.
        let framed = if message.compute_size() as usize > context.message_bytes_max {
            Err("oversized_outgoing")
        } else {
            // Entry data are shared buffers: the clone copies no block bytes.
            let mut sent = message.clone();
            let compact = context.relay.compact(&mut sent);
            compact::encode_frame(&sent, &compact).ok_or("unencodable")
        };
        match framed {
            Ok(bytes) => {
                frames.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                frames.extend_from_slice(&bytes);
                snapshots_sent += usize::from(is_snapshot);
            }
            Err(reason) => {
                context.dropped(reason);
                snapshots_dropped += usize::from(is_snapshot);
            }
        }
    }
    let written = write_burst(
        to,
        &frames,
        messages.len(),
        stream,
        retry_at,
        control,
        context,
    )
    .await;
    Delivery {
        written,
        snapshots_sent,
        snapshots_dropped,
    }
}

/// Writes framed bytes on the stream to `to`, opening it first if needed; false when the peer
/// could not be reached in time (`count` messages are then counted as dropped).
async fn write_burst(
    to: u64,
    frames: &[u8],
    count: usize,
    stream: &mut Option<Stream>,
    retry_at: &mut tokio::time::Instant,
    control: &mut libp2p_stream::Control,
    context: &StreamContext,
) -> bool {
    if stream.is_none() {
        if tokio::time::Instant::now() < *retry_at {
            for _ in 0..count {
                context.dropped("peer_unreachable");
            }
            return false;
        }
        let Some(peer) = peer_id_of(&context.peers, to) else {
            context.dropped("unknown_recipient");
            return false;
        };
        match tokio::time::timeout(IO_TIMEOUT, control.open_stream(peer, RAFT_PROTOCOL)).await {
            Ok(Ok(opened)) => *stream = Some(opened),
            _ => {
                *retry_at = tokio::time::Instant::now() + REOPEN_BACKOFF;
                for _ in 0..count {
                    context.dropped("peer_unreachable");
                }
                return false;
            }
        }
    }
    let Some(open) = stream.as_mut() else {
        return false;
    };
    let written = tokio::time::timeout(IO_TIMEOUT, async {
        open.write_all(frames).await?;
        open.flush().await
    })
    .await;
    if matches!(written, Ok(Ok(()))) {
        return true;
    }
    tracing::debug!(target: "xinlian.node.p2p", to, "Raft stream broke; reopening");
    *stream = None;
    for _ in 0..count {
        context.dropped("stream_broken");
    }
    false
}

/// Accepts the Raft streams peers open to this node. Each member has one reader: a new stream
/// from a peer (its sender reopened after a failure) replaces the old one, whose reader ends, so
/// a member cannot hold more than one reader however many streams it opens.
pub(crate) fn accept(
    control: &mut libp2p_stream::Control,
    context: StreamContext,
) -> crate::Result<()> {
    let mut incoming = control
        .accept(RAFT_PROTOCOL)
        .map_err(|e| crate::Error::Config(format!("p2p: {e}")))?;
    tokio::spawn(async move {
        let mut readers: HashMap<PeerId, tokio::task::AbortHandle> = HashMap::new();
        while let Some((peer, stream)) = incoming.next().await {
            if raft_id_of(&context.peers, &peer).is_none() {
                context.dropped("not_member");
                continue;
            }
            if let Some(previous) = readers.remove(&peer) {
                previous.abort();
            }
            readers.retain(|_, reader| !reader.is_finished());
            let reader = tokio::spawn(read_stream(peer, stream, context.clone()));
            readers.insert(peer, reader.abort_handle());
        }
    });
    Ok(())
}

/// Reads Raft messages from one peer's stream until it closes or breaks the rules of framing.
async fn read_stream(peer: PeerId, mut stream: Stream, context: StreamContext) {
    let mut waited = false;
    loop {
        let mut length = [0u8; 4];
        if stream.read_exact(&mut length).await.is_err() {
            return;
        }
        let length = u32::from_be_bytes(length) as usize;
        if length > context.message_bytes_max {
            // The frame cannot be skipped safely without reading it; the stream is closed and
            // the peer's sender opens a new one.
            context.dropped("oversized");
            return;
        }
        let Some(raft_id) = raft_id_of(&context.peers, &peer) else {
            // No longer a member (the allow list closes its connection too).
            context.dropped("not_member");
            return;
        };
        // The buffer grows with the bytes that actually arrive, not with the length claimed.
        let mut frame = Vec::with_capacity(length.min(FRAME_PREALLOCATED_MAX));
        match (&mut stream)
            .take(length as u64)
            .read_to_end(&mut frame)
            .await
        {
            Ok(read) if read == length => {}
            _ => return,
        }
        if context.fault.is_isolated() {
            context.dropped("isolated");
            continue;
        }
        let (mut message, compact) = match compact::decode_frame(&frame) {
            Ok(decoded) => decoded,
            Err(e) => {
                context.dropped(e.code());
                continue;
            }
        };
        if message.from != raft_id {
            context.dropped("impersonation");
            continue;
        }
        if !compact.is_empty()
            && let Err(reason) = rebuild(&mut message, compact, raft_id, &context).await
        {
            context.dropped(reason);
            continue;
        }
        let mut input = Input::Peer(message);
        loop {
            match context.raft_inputs.try_send(input) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    if !waited {
                        context.chain.metrics().count_peer_stream_wait("raft_inbox");
                        waited = true;
                    }
                    input = back;
                    tokio::time::sleep(INBOX_RETRY).await;
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        waited = false;
    }
}

/// Rebuilds the compact entries of `message` (from `raft_id`) from the transactions this node
/// holds, fetching the rest from the sender; on failure, names the drop reason (Raft then
/// retries the append by its own rules, and the leader's next try may come whole).
async fn rebuild(
    message: &mut Message,
    compact: Vec<compact::CompactEntry>,
    raft_id: u64,
    context: &StreamContext,
) -> Result<(), &'static str> {
    let max = context.message_bytes_max;
    let resolved = context
        .relay
        .resolve(message, compact, max)
        .map_err(|e| e.code())?;
    let metrics = context.chain.metrics();
    metrics.count_compact_block_txs("held", compact::held_count(&resolved) as u64);
    let mut size = message.compute_size() as usize;
    for mut entry in resolved {
        let missing = entry.missing();
        if !missing.is_empty() {
            let target = &message.entries[entry.position];
            fetch_missing(
                &mut entry,
                &missing,
                target.term,
                target.index,
                raft_id,
                context,
            )
            .await?;
            metrics.count_compact_block_txs("fetched", missing.len() as u64);
        }
        size += entry.size();
        if size > max {
            return Err(FrameError::Oversized.code());
        }
        let position = entry.position;
        let data = entry.assemble().ok_or("compact_unresolved")?;
        message.entries[position].data = data;
    }
    Ok(())
}

/// Asks the sender for the transactions at `missing` of its block entry (`term`, `index`).
async fn fetch_missing(
    entry: &mut Resolved,
    missing: &[u32],
    term: u64,
    index: u64,
    raft_id: u64,
    context: &StreamContext,
) -> Result<(), &'static str> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = Outgoing::FetchEntryTxs {
        peer: raft_id,
        request: PeerRequest::EntryTxs {
            term,
            index,
            positions: missing.to_vec(),
        },
        reply,
    };
    let fetched = tokio::time::timeout(IO_TIMEOUT, async {
        context.outgoing.send(request).await.ok()?;
        answer.await.ok()?.ok()
    })
    .await;
    let Ok(Some(txs)) = fetched else {
        return Err("compact_unresolved");
    };
    if entry.fill(missing, txs) {
        Ok(())
    } else {
        Err("compact_mismatch")
    }
}
