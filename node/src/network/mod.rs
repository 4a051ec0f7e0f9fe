//! The peer-to-peer transport: libp2p over TCP with Noise and Yamux. Raft messages travel on one
//! long-lived stream per peer (`raft_stream.rs`, `/xinlian/raft/2`), blocks the leader proposed
//! as compact blocks (`compact.rs`); transaction gossip, block sync, the fetches of compact
//! blocks' missing transactions, commit votes and state snapshots use a request-response protocol
//! (`/xinlian/peer/2`, CBOR, its messages in `messages.rs`), answered in `answer.rs`.
//!
//! Only the nodes in the chain's node registry may connect (an allow list that follows every
//! governance change); a Raft message must come from the peer whose registry record has the Raft
//! id it claims. A removed node is cut off once Raft has applied its removal. Every message is
//! size-bounded, every queue is bounded; what cannot be queued is dropped and counted (gossip is
//! re-sent, Raft retries by its own rules), and a Raft reader waits rather than drops.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use std::io;

use bytes::Bytes;
use libp2p::futures::{AsyncRead, AsyncWrite, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, allow_block_list, connection_limits, identity, noise, tcp,
    yamux,
};
use tokio::sync::mpsc;
use xinlian_consensus::Message;
use xinlian_core::crypto::PrivateKey;
use xinlian_core::types::SignedTransaction;

use crate::chain::{Chain, PeerVote};
use crate::fault::FaultSwitch;
use crate::membership::Membership;
use crate::raft_loop::Input;
use crate::{Config, Error, Result};

mod answer;
mod compact;
mod gossip;
mod messages;
mod raft_stream;

pub use compact::{CompactEntry, TxRelay, encode_frame as raft_frame};
pub use messages::{PeerRequest, PeerResponse, VOTES_PER_REQUEST_MAX};
use raft_stream::{RaftSenders, SharedPeers, StreamContext};

/// Version 2: byte strings travel as CBOR byte strings (version 1 wrote each byte as a number),
/// and compact blocks' transactions can be fetched.
const PROTOCOL: &str = "/xinlian/peer/2";
/// Most outgoing items taken from the queue at once (and so most transactions per gossip request).
const OUTGOING_BATCH_MAX: usize = 256;
/// Most outgoing items waiting for the transport.
pub const OUTGOING_MAX: usize = 8_192;
/// Most blocks one sync response carries.
pub const SYNC_BLOCKS_MAX: u32 = 64;
/// Connections one peer may hold with this node.
const PEER_CONNECTIONS_MAX: u32 = 2;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const REDIAL_INTERVAL: Duration = Duration::from_secs(2);

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    /// At most two connections per peer (one dialled each way): a member cannot multiply its
    /// streams by opening connections.
    limits: connection_limits::Behaviour,
    rpc: request_response::Behaviour<CountingCodec>,
    streams: libp2p_stream::Behaviour,
}

/// libp2p's CBOR codec (which enforces the size limits), counting requests it cannot read
/// (oversized or malformed): libp2p drops those without an event.
#[derive(Clone)]
struct CountingCodec {
    inner: request_response::cbor::codec::Codec<PeerRequest, PeerResponse>,
    on_unreadable: Arc<dyn Fn() + Send + Sync>,
}

/// The peer codec as the node builds it, counting nothing, for the hostile-input tests.
#[cfg(test)]
fn peer_codec_for_tests() -> CountingCodec {
    CountingCodec {
        inner: request_response::cbor::codec::Codec::default()
            .set_request_size_maximum(1 << 20)
            .set_response_size_maximum(1 << 20),
        on_unreadable: Arc::new(|| {}),
    }
}

impl request_response::Codec for CountingCodec {
    type Protocol = StreamProtocol;
    type Request = PeerRequest;
    type Response = PeerResponse;

    async fn read_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<PeerRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let read = self.inner.read_request(protocol, io).await;
        if read.is_err() {
            (self.on_unreadable)();
        }
        read
    }

    async fn read_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<PeerResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.inner.read_response(protocol, io).await
    }

    async fn write_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        request: PeerRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.inner.write_request(protocol, io, request).await
    }

    async fn write_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        response: PeerResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.inner.write_response(protocol, io, response).await
    }
}

/// Something to send.
pub enum Outgoing {
    /// A Raft message to its recipient.
    Raft(Message),
    /// A transaction to every peer.
    Tx(Box<SignedTransaction>),
    /// This node's commit vote to every peer.
    Vote(PeerVote),
    /// Fetch blocks from a peer (block sync); the answer goes to `reply`.
    FetchBlocks {
        /// The peer's Raft id.
        peer: u64,
        /// First height.
        from: u64,
        /// How many.
        count: u32,
        /// Where the blocks (canonical bytes) or the failure go.
        reply: BlocksReply,
    },
    /// Ask a peer anything else; the answer goes to `reply`.
    Ask {
        /// The peer's Raft id.
        peer: u64,
        /// What to ask.
        request: PeerRequest,
        /// Where the answer or the failure goes.
        reply: AskReply,
    },
    /// Fetch transactions of a compact block from the peer that sent it.
    FetchEntryTxs {
        /// The peer's Raft id.
        peer: u64,
        /// What to ask.
        request: PeerRequest,
        /// Where the transactions or the failure go.
        reply: TxsReply,
    },
}

/// Where the answer to a block fetch goes.
type BlocksReply = tokio::sync::oneshot::Sender<Result<Vec<Vec<u8>>, String>>;
/// Where the answer to an [`Outgoing::Ask`] goes.
type AskReply = tokio::sync::oneshot::Sender<Result<PeerResponse, String>>;
/// Where the answer to a fetch of a compact block's transactions goes.
pub(crate) type TxsReply = tokio::sync::oneshot::Sender<Result<Vec<Bytes>, String>>;

/// Requests in flight whose outcome someone waits for.
struct Pending {
    fetches: HashMap<request_response::OutboundRequestId, BlocksReply>,
    tx_fetches: HashMap<request_response::OutboundRequestId, TxsReply>,
    asks: HashMap<request_response::OutboundRequestId, AskReply>,
    /// Gossip windows per peer.
    gossip: gossip::GossipFlow,
    /// Most bytes of blocks in one sync answer.
    sync_bytes_max: usize,
    /// Cuts this node off from its peers in testnets (always open in production builds).
    fault: FaultSwitch,
    /// Transactions held and blocks proposed, for compact blocks.
    relay: Arc<TxRelay>,
}

/// A handle to queue outgoing items.
#[derive(Clone)]
pub struct NetworkHandle {
    outgoing: mpsc::Sender<Outgoing>,
    chain: Arc<Chain>,
    /// The transactions and proposals compact blocks are made of and rebuilt from.
    relay: Arc<TxRelay>,
    /// The consensus loop's inputs, once it runs: told of Raft messages that found the queue
    /// full, so a lost snapshot or append is retried by Raft's rules instead of waited for.
    raft_inputs: Arc<std::sync::OnceLock<SyncSender<Input>>>,
}

impl NetworkHandle {
    /// What compact blocks are made of: the consensus loop records its proposals there.
    pub fn relay(&self) -> Arc<TxRelay> {
        self.relay.clone()
    }
    /// Block sync: asks peer `peer` for blocks and waits (on the calling, non-async thread).
    pub fn fetch_blocks(
        &self,
        peer: u64,
        from: u64,
        count: u32,
    ) -> std::result::Result<Vec<Vec<u8>>, String> {
        self.request(|reply| Outgoing::FetchBlocks {
            peer,
            from,
            count,
            reply,
        })
    }

    /// Queues the request `make` builds around its reply channel and waits for the answer (on
    /// the calling, non-async thread).
    fn request<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<std::result::Result<T, String>>) -> Outgoing,
    ) -> std::result::Result<T, String> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.outgoing
            .blocking_send(make(reply))
            .map_err(|_| "transport stopped".to_string())?;
        answer
            .blocking_recv()
            .map_err(|_| "transport dropped the request".to_string())?
    }

    /// Asks peer `peer` and waits for the answer (on the calling, non-async thread).
    pub fn ask(
        &self,
        peer: u64,
        request: PeerRequest,
    ) -> std::result::Result<PeerResponse, String> {
        self.request(|reply| Outgoing::Ask {
            peer,
            request,
            reply,
        })
    }

    /// Sets where lost Raft messages are reported (once, when the consensus loop starts).
    pub fn set_raft_inputs(&self, inputs: SyncSender<Input>) {
        let _ = self.raft_inputs.set(inputs);
    }

    /// Queues an item; drops and counts it when the queue is full (and tells Raft of a lost Raft
    /// message).
    pub fn send(&self, item: Outgoing) {
        let Err(refused) = self.outgoing.try_send(item) else {
            return;
        };
        self.chain
            .metrics()
            .count_dropped_peer_message("outgoing_queue_full");
        if let Outgoing::Raft(message) = refused.into_inner()
            && let Some(inputs) = self.raft_inputs.get()
        {
            if message.get_msg_type() == xinlian_consensus::MessageType::MsgSnapshot {
                report_snapshot(inputs, message.to, false);
            }
            let _ = inputs.try_send(Input::Unreachable(message.to));
        }
    }
}

/// Checks `p2p_listen`'s TCP port is free by binding it for a moment, so a port in use stops the
/// node before its store opens and its Raft thread starts (libp2p would only report it later).
/// Another process could take the port in between; then libp2p's own error still stops the node.
pub fn probe_listen(config: &Config) -> Result<()> {
    use libp2p::multiaddr::Protocol;
    let Ok(address) = config.p2p_listen.parse::<Multiaddr>() else {
        return Ok(()); // the config check reports it
    };
    let mut ip = None;
    let mut port = None;
    for part in address.iter() {
        match part {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Ip6(a) => ip = Some(std::net::IpAddr::V6(a)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    if let (Some(ip), Some(port)) = (ip, port)
        && port != 0
    {
        std::net::TcpListener::bind((ip, port)).map_err(|e| {
            Error::Config(format!(
                "p2p_listen {}: {e} (is another node or program using the port?)",
                config.p2p_listen
            ))
        })?;
    }
    Ok(())
}

/// The libp2p identity from an Ed25519 key file's key.
pub fn identity_of(key: &PrivateKey) -> Result<identity::Keypair> {
    match key {
        PrivateKey::Ed25519(signing) => identity::Keypair::ed25519_from_bytes(signing.to_bytes())
            .map_err(|e| Error::Config(format!("p2p_key_file: {e}"))),
        PrivateKey::Sm2(_) => Err(Error::Config(
            "p2p_key_file must be an Ed25519 key (libp2p identity)".into(),
        )),
    }
}

/// Raft ids and libp2p peer ids of the nodes the transport lets in.
#[derive(Default)]
pub(crate) struct Peers {
    raft_to_peer: HashMap<u64, PeerId>,
    peer_to_raft: HashMap<PeerId, u64>,
}

impl Peers {
    fn from_membership(membership: &Membership) -> Self {
        let mut peers = Peers::default();
        for node in membership.reachable() {
            // The contract checks the form of a peer id only loosely; one that does not parse
            // can never connect, so it is skipped rather than fatal.
            match node.p2p_peer_id.parse::<PeerId>() {
                Ok(peer) => {
                    peers.raft_to_peer.insert(node.raft_id, peer);
                    peers.peer_to_raft.insert(peer, node.raft_id);
                }
                Err(e) => {
                    tracing::warn!(target: "xinlian.node.p2p", node = %node.id, error = %e, "registered p2p_peer_id does not parse")
                }
            }
        }
        peers
    }
}

/// Brings the allow list in line with the registry; connections of peers no longer allowed are
/// closed by the allow list itself.
fn update_peers(
    swarm: &mut libp2p::Swarm<Behaviour>,
    peers: &SharedPeers,
    membership: &Membership,
    metrics: &crate::metrics::Metrics,
) {
    let next = Peers::from_membership(membership);
    let local = *swarm.local_peer_id();
    metrics.set_peers_expected(next.peer_to_raft.keys().filter(|p| **p != local).count());
    let Ok(mut peers) = peers.write() else {
        return;
    };
    for peer in peers.peer_to_raft.keys() {
        if !next.peer_to_raft.contains_key(peer) {
            tracing::info!(target: "xinlian.node.p2p", %peer, "peer left the membership; disconnecting");
            swarm.behaviour_mut().allowed.disallow_peer(*peer);
        }
    }
    for peer in next.peer_to_raft.keys() {
        swarm.behaviour_mut().allowed.allow_peer(*peer);
    }
    *peers = next;
}

/// The queue of outgoing items: the handle for senders, the receiver for [`start`].
pub fn channel(chain: Arc<Chain>) -> (NetworkHandle, mpsc::Receiver<Outgoing>) {
    let (outgoing, receiver) = mpsc::channel(OUTGOING_MAX);
    (
        NetworkHandle {
            outgoing,
            chain,
            relay: Arc::default(),
            raft_inputs: Arc::default(),
        },
        receiver,
    )
}

/// Starts the transport, sending what arrives on `outgoing` (the receiver of `handle`'s queue).
pub fn start(
    chain: Arc<Chain>,
    config: &Config,
    p2p_key: &PrivateKey,
    handle: &NetworkHandle,
    outgoing: mpsc::Receiver<Outgoing>,
    raft_inputs: SyncSender<Input>,
    fault: FaultSwitch,
) -> Result<()> {
    // The chain checked this identity against the registry when it opened.
    let keypair = identity_of(p2p_key)?;
    let counting_chain = chain.clone();
    let codec = CountingCodec {
        inner: request_response::cbor::codec::Codec::default()
            .set_request_size_maximum(config.raft_message_bytes_max as u64)
            .set_response_size_maximum(config.raft_message_bytes_max as u64),
        on_unreadable: Arc::new(move || {
            counting_chain
                .metrics()
                .count_dropped_peer_message("unreadable_request")
        }),
    };
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| Error::Config(format!("p2p transport: {e}")))?
        .with_behaviour(|_| {
            let allowed = allow_block_list::Behaviour::default();
            let rpc = request_response::Behaviour::with_codec(
                codec,
                [(StreamProtocol::new(PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
            );
            Behaviour {
                allowed,
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established_per_peer(Some(PEER_CONNECTIONS_MAX)),
                ),
                rpc,
                streams: libp2p_stream::Behaviour::new(),
            }
        })
        .map_err(|e| Error::Config(format!("p2p behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    let listen: Multiaddr = config
        .p2p_listen
        .parse()
        .map_err(|e| Error::Config(format!("p2p_listen: {e}")))?;
    swarm
        .listen_on(listen)
        .map_err(|e| Error::Config(format!("p2p_listen: {e}")))?;
    let dial: Vec<Multiaddr> = config
        .peers
        .iter()
        .map(|p| {
            p.parse()
                .map_err(|e| Error::Config(format!("peers: {p:?}: {e}")))
        })
        .collect::<Result<_>>()?;
    let peers = SharedPeers::default();
    update_peers(&mut swarm, &peers, &chain.membership(), chain.metrics());
    let context = StreamContext {
        chain: chain.clone(),
        peers: peers.clone(),
        raft_inputs: raft_inputs.clone(),
        fault: fault.clone(),
        message_bytes_max: config.raft_message_bytes_max,
        relay: handle.relay(),
        outgoing: handle.outgoing.clone(),
    };
    let mut control = swarm.behaviour().streams.new_control();
    raft_stream::accept(&mut control, context.clone())?;
    let raft = RaftSenders::new(control, context);
    let pending = Pending {
        fetches: HashMap::new(),
        tx_fetches: HashMap::new(),
        asks: HashMap::new(),
        relay: handle.relay(),
        // Half the request limit per gossip request: room for CBOR's framing of each item.
        gossip: gossip::GossipFlow::new(config.raft_message_bytes_max / 2),
        sync_bytes_max: config.sync_bytes_max(),
        fault,
    };
    tokio::spawn(run(
        swarm,
        chain,
        Links { peers, raft },
        dial,
        outgoing,
        pending,
    ));
    Ok(())
}

/// Who the peers are, and the Raft streams to them.
struct Links {
    peers: SharedPeers,
    raft: RaftSenders,
}

async fn run(
    mut swarm: libp2p::Swarm<Behaviour>,
    chain: Arc<Chain>,
    mut links: Links,
    dial: Vec<Multiaddr>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    mut pending: Pending,
) {
    let mut membership = chain.watch_membership();
    let mut redial = tokio::time::interval(REDIAL_INTERVAL);
    let mut batch = Vec::with_capacity(OUTGOING_BATCH_MAX);
    loop {
        tokio::select! {
            Ok(()) = membership.changed() => {
                let current = membership.borrow_and_update().clone();
                update_peers(&mut swarm, &links.peers, &current, chain.metrics());
                links.raft.retain_members();
            }
            _ = redial.tick() => {
                for address in &dial {
                    let connected = address.iter().find_map(|p| match p {
                        libp2p::multiaddr::Protocol::P2p(peer) => Some(swarm.is_connected(&peer)),
                        _ => None,
                    });
                    if connected != Some(true) {
                        let _ = swarm.dial(address.clone());
                    }
                }
            }
            received = outgoing.recv_many(&mut batch, OUTGOING_BATCH_MAX) => {
                if received == 0 {
                    return;
                }
                send_outgoing(&mut swarm, &mut links, &chain, batch.drain(..), &mut pending);
            }
            event = swarm.select_next_some() => {
                if matches!(event, SwarmEvent::ConnectionEstablished { .. } | SwarmEvent::ConnectionClosed { .. }) {
                    chain.metrics().set_peers(swarm.connected_peers().count());
                }
                if let SwarmEvent::Behaviour(BehaviourEvent::Rpc(event)) = event {
                    handle_rpc(&mut swarm, &links.peers, &chain, event, &mut pending);
                }
            }
        }
    }
}

/// Sends what was queued. Transactions queued together travel to each peer as one request, so
/// gossip under load costs a request per batch rather than per transaction.
fn send_outgoing(
    swarm: &mut libp2p::Swarm<Behaviour>,
    links: &mut Links,
    chain: &Chain,
    items: impl Iterator<Item = Outgoing>,
    pending: &mut Pending,
) {
    let mut txs = Vec::new();
    let mut votes = Vec::new();
    for item in items {
        match item {
            // The Raft sender reports what it cannot deliver (isolated too), so Raft learns of
            // every lost snapshot and every unreachable peer.
            Outgoing::Raft(message) => links.raft.send(message),
            Outgoing::FetchBlocks { reply, .. } if pending.fault.is_isolated() => {
                let _ = reply.send(Err("isolated by the fault switch".into()));
            }
            Outgoing::FetchEntryTxs { reply, .. } if pending.fault.is_isolated() => {
                let _ = reply.send(Err("isolated by the fault switch".into()));
            }
            Outgoing::Ask { reply, .. } if pending.fault.is_isolated() => {
                let _ = reply.send(Err("isolated by the fault switch".into()));
            }
            _ if pending.fault.is_isolated() => {
                chain.metrics().count_dropped_peer_message("isolated")
            }
            Outgoing::FetchBlocks {
                peer,
                from,
                count,
                reply,
            } => request_peer(
                swarm,
                &links.peers,
                peer,
                PeerRequest::Blocks { from, count },
                reply,
                &mut pending.fetches,
            ),
            Outgoing::Ask {
                peer,
                request,
                reply,
            } => request_peer(swarm, &links.peers, peer, request, reply, &mut pending.asks),
            Outgoing::FetchEntryTxs {
                peer,
                request,
                reply,
            } => request_peer(
                swarm,
                &links.peers,
                peer,
                request,
                reply,
                &mut pending.tx_fetches,
            ),
            Outgoing::Tx(tx) => {
                let bytes = Bytes::from(tx.to_bytes());
                pending.relay.held(bytes.clone());
                txs.push(bytes);
            }
            Outgoing::Vote(vote) => votes.push(vote),
        }
    }
    let connected: Vec<PeerId> = swarm.connected_peers().copied().collect();
    // A vote per block: small and rare beside gossip, so each batch goes straight to every peer;
    // its answer is an acknowledgement nobody waits for.
    for batch in votes.chunks(VOTES_PER_REQUEST_MAX) {
        for peer in &connected {
            swarm
                .behaviour_mut()
                .rpc
                .send_request(peer, PeerRequest::Votes(batch.to_vec()));
        }
    }
    if txs.is_empty() {
        return;
    }
    pending.gossip.send(
        &mut swarm.behaviour_mut().rpc,
        &connected,
        &txs,
        chain.metrics(),
    );
}

/// The peer id of Raft member `raft_id`, if it is in the registry.
/// Sends `request` to the peer with Raft id `peer`, keeping `reply` under the request's id in
/// `waiting` for its answer; answers `reply` at once when no such peer is known.
fn request_peer<T>(
    swarm: &mut libp2p::Swarm<Behaviour>,
    peers: &SharedPeers,
    peer: u64,
    request: PeerRequest,
    reply: tokio::sync::oneshot::Sender<std::result::Result<T, String>>,
    waiting: &mut HashMap<
        request_response::OutboundRequestId,
        tokio::sync::oneshot::Sender<std::result::Result<T, String>>,
    >,
) {
    match peer_id_of(peers, peer) {
        Some(peer_id) => {
            let id = swarm.behaviour_mut().rpc.send_request(&peer_id, request);
            waiting.insert(id, reply);
        }
        None => {
            let _ = reply.send(Err(format!("no peer with Raft id {peer}")));
        }
    }
}

fn peer_id_of(peers: &SharedPeers, raft_id: u64) -> Option<PeerId> {
    peers.read().ok()?.raft_to_peer.get(&raft_id).copied()
}

/// The Raft id of `peer`, if it is in the registry (a member).
fn raft_id_of(peers: &SharedPeers, peer: &PeerId) -> Option<u64> {
    peers.read().ok()?.peer_to_raft.get(peer).copied()
}

fn handle_rpc(
    swarm: &mut libp2p::Swarm<Behaviour>,
    peers: &SharedPeers,
    chain: &Arc<Chain>,
    event: request_response::Event<PeerRequest, PeerResponse>,
    pending: &mut Pending,
) {
    match event {
        request_response::Event::Message {
            peer,
            message:
                request_response::Message::Request {
                    request, channel, ..
                },
            ..
        } => {
            let response = answer::answer(peers, chain, peer, request, pending);
            let _ = swarm.behaviour_mut().rpc.send_response(channel, response);
        }
        request_response::Event::Message {
            message:
                request_response::Message::Response {
                    request_id,
                    response,
                },
            ..
        } => {
            if let Some(reply) = pending.fetches.remove(&request_id) {
                let _ = reply.send(match response {
                    PeerResponse::Blocks(blocks) => Ok(blocks.into_iter().map(Vec::from).collect()),
                    other => Err(format!("peer answered {other:?}")),
                });
            } else if let Some(reply) = pending.tx_fetches.remove(&request_id) {
                let _ = reply.send(match response {
                    PeerResponse::Txs(txs) => Ok(txs),
                    PeerResponse::Refused(why) => Err(why),
                    other => Err(format!("peer answered {other:?}")),
                });
            } else if let Some(reply) = pending.asks.remove(&request_id) {
                let _ = reply.send(match response {
                    PeerResponse::Refused(why) => Err(why),
                    other => Ok(other),
                });
            } else {
                pending
                    .gossip
                    .ended(&mut swarm.behaviour_mut().rpc, request_id);
            }
        }
        // Gossip and sync failures say nothing about the Raft stream, which reports its own.
        request_response::Event::OutboundFailure {
            request_id, error, ..
        } => {
            if let Some(reply) = pending.fetches.remove(&request_id) {
                let _ = reply.send(Err(error.to_string()));
            } else if let Some(reply) = pending.tx_fetches.remove(&request_id) {
                let _ = reply.send(Err(error.to_string()));
            } else if let Some(reply) = pending.asks.remove(&request_id) {
                let _ = reply.send(Err(error.to_string()));
            } else {
                pending
                    .gossip
                    .ended(&mut swarm.behaviour_mut().rpc, request_id);
            }
        }
        _ => {}
    }
}

/// Tells the consensus loop how a snapshot send ended. The leader pauses replication to that
/// peer until it hears, so the report must not be lost: when the loop's queue is full it is
/// sent from a blocking thread that waits for room, never dropped.
fn report_snapshot(raft_inputs: &SyncSender<Input>, peer: u64, delivered: bool) {
    match raft_inputs.try_send(Input::SnapshotSent { peer, delivered }) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(report)) => {
            let raft_inputs = raft_inputs.clone();
            tokio::task::spawn_blocking(move || {
                let _ = raft_inputs.send(report);
            });
        }
    }
}
