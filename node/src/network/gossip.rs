//! Transaction gossip with a window per peer.
//!
//! Every request-response request opens a substream, and libp2p's handler refuses inbound
//! substreams beyond 100 per connection ("Dropping inbound stream because we are at capacity").
//! Under load a node used to send a gossip request per batch to every peer without waiting for
//! answers, and a busy peer dropped some of them unread. Now each peer has at most
//! [`IN_FLIGHT_MAX`] gossip requests unanswered; what arrives meanwhile is held for it and goes
//! out, coalesced into as few requests as the byte budget allows, as answers come back
//! (`xinlian_peer_stream_waits_total{code="gossip_held"}` counts the batches that waited). Held
//! transactions are bounded in bytes per peer; beyond that the oldest are dropped and counted
//! (`gossip_backlog`), and the periodic re-gossip of the mempool sends them again.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use libp2p::PeerId;
use libp2p::request_response::{self, OutboundRequestId};

use super::{CountingCodec, PeerRequest};
use crate::metrics::Metrics;

/// Gossip requests one peer may have unanswered. With block sync's one request at a time this
/// stays far below the 100 inbound substreams a connection takes.
const IN_FLIGHT_MAX: usize = 8;
/// Most bytes of transactions held for one peer while its window is full.
const HELD_BYTES_MAX: usize = 32 << 20;

#[derive(Default)]
struct Held {
    txs: VecDeque<Bytes>,
    bytes: usize,
}

/// The gossip windows of the connected peers.
pub(super) struct GossipFlow {
    in_flight: HashMap<PeerId, usize>,
    requests: HashMap<OutboundRequestId, PeerId>,
    held: HashMap<PeerId, Held>,
    /// Most bytes of transactions in one request.
    request_bytes_max: usize,
}

impl GossipFlow {
    pub(super) fn new(request_bytes_max: usize) -> Self {
        GossipFlow {
            in_flight: HashMap::new(),
            requests: HashMap::new(),
            held: HashMap::new(),
            request_bytes_max,
        }
    }

    /// Gossips `txs` (canonical bytes) to every peer in `connected`, within each one's window.
    pub(super) fn send(
        &mut self,
        rpc: &mut request_response::Behaviour<CountingCodec>,
        connected: &[PeerId],
        txs: &[Bytes],
        metrics: &Metrics,
    ) {
        // Peers that left take what was held for them along.
        self.held.retain(|peer, _| connected.contains(peer));
        for peer in connected {
            let held = self.held.entry(*peer).or_default();
            for tx in txs {
                held.bytes += tx.len();
                held.txs.push_back(tx.clone());
            }
            while held.bytes > HELD_BYTES_MAX {
                let Some(oldest) = held.txs.pop_front() else {
                    break;
                };
                held.bytes -= oldest.len();
                metrics.count_dropped_peer_message("gossip_backlog");
            }
            if self.in_flight.get(peer).copied().unwrap_or(0) >= IN_FLIGHT_MAX {
                metrics.count_peer_stream_wait("gossip_held");
            }
            self.flush(rpc, *peer);
        }
    }

    /// A gossip request was answered or failed: its slot is free, and what was held for that
    /// peer goes out. Returns false for a request that was not gossip.
    pub(super) fn ended(
        &mut self,
        rpc: &mut request_response::Behaviour<CountingCodec>,
        request: OutboundRequestId,
    ) -> bool {
        let Some(peer) = self.requests.remove(&request) else {
            return false;
        };
        if let Some(n) = self.in_flight.get_mut(&peer) {
            *n = n.saturating_sub(1);
        }
        self.flush(rpc, peer);
        true
    }

    /// Sends what is held for `peer`, in requests of at most the byte budget, while its window
    /// has room.
    fn flush(&mut self, rpc: &mut request_response::Behaviour<CountingCodec>, peer: PeerId) {
        let Some(held) = self.held.get_mut(&peer) else {
            return;
        };
        let in_flight = self.in_flight.entry(peer).or_default();
        while *in_flight < IN_FLIGHT_MAX && !held.txs.is_empty() {
            let mut batch = Vec::new();
            let mut bytes = 0;
            while let Some(next) = held.txs.front() {
                // A single transaction larger than the budget travels alone (admission keeps
                // a transaction far below a request).
                if !batch.is_empty() && bytes + next.len() > self.request_bytes_max {
                    break;
                }
                let Some(tx) = held.txs.pop_front() else {
                    break;
                };
                bytes += tx.len();
                batch.push(tx);
            }
            held.bytes -= bytes;
            let id = rpc.send_request(&peer, PeerRequest::Txs(batch));
            self.requests.insert(id, peer);
            *in_flight += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use libp2p::StreamProtocol;
    use libp2p::request_response::ProtocolSupport;

    use super::*;

    fn rpc() -> request_response::Behaviour<CountingCodec> {
        let codec = CountingCodec {
            inner: request_response::cbor::codec::Codec::default(),
            on_unreadable: Arc::new(|| {}),
        };
        request_response::Behaviour::with_codec(
            codec,
            [(StreamProtocol::new("/test/1"), ProtocolSupport::Full)],
            request_response::Config::default(),
        )
    }

    /// A peer that does not answer gets at most the window of requests; the rest is held,
    /// coalesced, bounded in bytes, and goes out as answers come back.
    #[test]
    fn a_slow_peer_gets_a_window_of_requests_and_the_rest_waits() {
        let metrics = Metrics::new();
        let mut rpc = rpc();
        let peer = PeerId::random();
        let mut flow = GossipFlow::new(1_000);
        let mut sent = Vec::new();
        for _ in 0..20 {
            flow.send(&mut rpc, &[peer], &[Bytes::from(vec![0; 600])], &metrics);
        }
        sent.extend(flow.requests.keys().copied());
        assert_eq!(flow.in_flight[&peer], IN_FLIGHT_MAX);
        assert_eq!(flow.held[&peer].txs.len(), 20 - IN_FLIGHT_MAX);
        assert!(
            metrics
                .render()
                .contains("xinlian_peer_stream_waits_total{code=\"gossip_held\"}"),
            "{}",
            metrics.render()
        );

        // An answer frees one slot: one request goes out, of one 600-byte transaction (two
        // would pass the 1,000-byte budget).
        assert!(flow.ended(&mut rpc, sent[0]));
        assert_eq!(flow.in_flight[&peer], IN_FLIGHT_MAX);
        assert_eq!(flow.held[&peer].txs.len(), 20 - IN_FLIGHT_MAX - 1);
        assert!(!flow.ended(&mut rpc, sent[0]), "answered twice");

        // Beyond the held budget the oldest are dropped and counted.
        let big = Bytes::from(vec![0; HELD_BYTES_MAX / 4]);
        for _ in 0..6 {
            flow.send(&mut rpc, &[peer], std::slice::from_ref(&big), &metrics);
        }
        assert!(flow.held[&peer].bytes <= HELD_BYTES_MAX);
        assert!(
            metrics
                .render()
                .contains("xinlian_peer_messages_dropped_total{code=\"gossip_backlog\"}")
        );

        // A peer that left takes its held transactions along.
        flow.send(&mut rpc, &[], &[Bytes::from(vec![1])], &metrics);
        assert!(flow.held.is_empty());
    }
}
