//! Adversarial peers against real node processes, over real libp2p connections: a stranger is
//! refused at the connection; a member's key misused to send undecodable, impersonating,
//! impossible or oversized messages on the Raft stream or the request-response protocol, or
//! messages beyond its role (proposals, conf changes, leadership transfers), gets each one
//! refused and counted, and the chain carries on.

use std::time::Duration;

use libp2p::futures::{AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, identity, noise, tcp, yamux};
use protobuf::Message as _;
use xinlian_consensus::{Message, MessageType};
use xinlian_core::Hash;
use xinlian_core::crypto::Signature;
use xinlian_node::chain::PeerVote;
use xinlian_node::network::{CompactEntry, PeerRequest, PeerResponse, raft_frame};
use xinlian_sdk::keys;

use crate::cluster::{Cluster, metric};

/// A bare libp2p client speaking the node's protocols: request-response for gossip and sync,
/// raw streams for Raft.
#[derive(NetworkBehaviour)]
struct Client {
    rpc: request_response::cbor::Behaviour<PeerRequest, PeerResponse>,
    streams: libp2p_stream::Behaviour,
}

/// The client, with no size limit of its own on what it sends (the node's limit is what is
/// under test).
fn client_swarm(keypair: identity::Keypair) -> libp2p::Swarm<Client> {
    let codec = request_response::cbor::codec::Codec::default()
        .set_request_size_maximum(64 << 20)
        .set_response_size_maximum(64 << 20);
    libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| Client {
            rpc: request_response::Behaviour::with_codec(
                codec,
                [(
                    StreamProtocol::new("/xinlian/peer/2"),
                    ProtocolSupport::Full,
                )],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            ),
            streams: libp2p_stream::Behaviour::new(),
        })
        .unwrap()
        // Kept open between requests and streams: an idle connection closing under an opening
        // stream would fail the test for the wrong reason.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build()
}

/// What became of one request.
#[derive(Debug)]
#[allow(dead_code)] // the failure's text is read through Debug when an assertion fails
enum Outcome {
    Answered(PeerResponse),
    Failed(String),
}

/// Dials `address` and sends `request`; waits for the answer, a failure, or 15 seconds.
async fn ask(
    swarm: &mut libp2p::Swarm<Client>,
    address: &Multiaddr,
    request: PeerRequest,
) -> Outcome {
    let peer = connect(swarm, address);
    let id = swarm.behaviour_mut().rpc.send_request(&peer, request);
    let wait = async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(ClientEvent::Rpc(request_response::Event::Message {
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                })) if request_id == id => return Outcome::Answered(response),
                SwarmEvent::Behaviour(ClientEvent::Rpc(
                    request_response::Event::OutboundFailure {
                        request_id, error, ..
                    },
                )) if request_id == id => return Outcome::Failed(error.to_string()),
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), wait)
        .await
        .unwrap_or(Outcome::Failed("no answer within 15 s".into()))
}

/// The peer of `address`, dialled if not connected.
fn connect(swarm: &mut libp2p::Swarm<Client>, address: &Multiaddr) -> PeerId {
    let peer = address
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(peer) => Some(peer),
            _ => None,
        })
        .unwrap();
    if !swarm.is_connected(&peer) {
        swarm.dial(address.clone()).unwrap();
    }
    peer
}

/// Opens a Raft stream to `address` and writes `frames` on it as the node's peers do (a 4-byte
/// big-endian length, then the frame body), then closes it. Streams carry no answers: what the node
/// made of each frame shows in its drop counters.
async fn raft_stream(swarm: &mut libp2p::Swarm<Client>, address: &Multiaddr, frames: &[Vec<u8>]) {
    raft_stream_raw(swarm, address, &frame_all(frames)).await;
}

fn frame_all(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for frame in frames {
        bytes.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        bytes.extend_from_slice(frame);
    }
    bytes
}

async fn raft_stream_raw(swarm: &mut libp2p::Swarm<Client>, address: &Multiaddr, bytes: &[u8]) {
    let peer = connect(swarm, address);
    let mut control = swarm.behaviour().streams.new_control();
    let bytes = bytes.to_vec();
    let write = async move {
        let mut stream = control
            .open_stream(peer, StreamProtocol::new("/xinlian/raft/2"))
            .await
            .map_err(|e| e.to_string())?;
        stream.write_all(&bytes).await.map_err(|e| e.to_string())?;
        stream.close().await.map_err(|e| e.to_string())
    };
    let mut write = std::pin::pin!(write);
    // The swarm must be polled for the stream to open and its bytes to leave.
    let outcome = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            tokio::select! {
                done = &mut write => return done,
                _ = swarm.select_next_some() => {}
            }
        }
    })
    .await;
    assert!(matches!(outcome, Ok(Ok(()))), "Raft stream: {outcome:?}");
}

fn raft_message(from: u64, to: u64, term: u64) -> Vec<u8> {
    raft_message_of(MessageType::MsgHeartbeat, from, to, term)
}

fn raft_message_of(kind: MessageType, from: u64, to: u64, term: u64) -> Vec<u8> {
    let mut message = Message::default();
    message.set_msg_type(kind);
    message.from = from;
    message.to = to;
    message.term = term;
    raft_frame(&message, &[]).unwrap()
}

/// Answers every request for a compact block's transactions that the node makes in the next
/// three seconds (longer than the node waits for one) with what `respond` makes of the positions
/// asked; an earlier request the test left unanswered may be among them.
async fn answer_fetch(swarm: &mut libp2p::Swarm<Client>, respond: impl Fn(&[u32]) -> PeerResponse) {
    let mut answered = 0;
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let SwarmEvent::Behaviour(ClientEvent::Rpc(request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request: PeerRequest::EntryTxs { positions, .. },
                        channel,
                        ..
                    },
                ..
            })) = swarm.select_next_some().await
            {
                let _ = swarm
                    .behaviour_mut()
                    .rpc
                    .send_response(channel, respond(&positions));
                answered += 1;
            }
        }
    })
    .await;
    assert!(
        answered > 0,
        "the node never asked for the missing transactions"
    );
}

async fn dropped(cluster: &Cluster, i: usize, reason: &str) -> u64 {
    let text = crate::harness::http_get(format!("{}/metrics", cluster.layout.nodes[i].http_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("xinlian_peer_messages_dropped_total{{code=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Waits (at most 10 s) until node `i` has counted exactly these drops, by code.
async fn wait_dropped(cluster: &Cluster, i: usize, expected: &[(&str, u64)]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut counts = Vec::new();
        for (code, _) in expected {
            counts.push((*code, dropped(cluster, i, code).await));
        }
        if counts.as_slice() == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dropped counts {counts:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn address_of(cluster: &Cluster, i: usize, peer: &str) -> Multiaddr {
    let base = cluster.layout.nodes[i].p2p_address.clone().unwrap();
    format!("{base}/p2p/{peer}").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_are_refused_and_bad_member_messages_are_dropped_and_counted() {
    let mut cluster = Cluster::start(3).await;
    cluster.commit_via(0, "before").await;
    let registry = cluster.client(0).gov_nodes().await.unwrap();
    let target = address_of(&cluster, 0, &registry.nodes[0].p2p_peer_id);

    // A stranger's connection is refused before any request is read.
    let mut stranger = client_swarm(identity::Keypair::generate_ed25519());
    let outcome = ask(
        &mut stranger,
        &target,
        PeerRequest::Blocks { from: 1, count: 1 },
    )
    .await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    assert_eq!(dropped(&cluster, 0, "unreadable_request").await, 0);

    // Node 2's key in the wrong hands (node 2 itself is stopped).
    cluster.kill_9(2);
    let node2_dir = cluster.layout.nodes[2].config_file.parent().unwrap();
    let key = keys::read_key_file(&node2_dir.join("p2p.key.pem"), None).unwrap();
    let keypair = xinlian_node::network::identity_of(&key).unwrap();
    assert_eq!(
        PeerId::from(keypair.public()).to_string(),
        registry.nodes[2].p2p_peer_id
    );
    let mut member = client_swarm(keypair);
    let node2_raft_id = registry.nodes[2].raft_id;
    let term = 1_000;

    // On the Raft stream: an undecodable frame, a message claiming another member's Raft id,
    // and a term no election could reach (accepted by the transport, dropped by the driver).
    raft_stream(
        &mut member,
        &target,
        &[
            vec![0xff; 64],
            raft_message(1, 1, term),
            raft_message(node2_raft_id, 1, u64::MAX / 2),
        ],
    )
    .await;
    // A member has one Raft reader at a time: a new stream replaces the old one (as after a
    // reconnect), so each stream's frames are counted before the next stream opens.
    wait_dropped(
        &cluster,
        0,
        &[
            ("undecodable", 1),
            ("impersonation", 1),
            ("impossible_term", 1),
        ],
    )
    .await;
    // A frame longer than the node's message limit: the stream is closed unread, and a valid
    // frame after the oversized header on the same stream is never read.
    let mut oversized = (17u32 << 20).to_be_bytes().to_vec();
    oversized.extend_from_slice(&frame_all(&[raft_message(1, 1, term)]));
    raft_stream_raw(&mut member, &target, &oversized).await;
    wait_dropped(&cluster, 0, &[("oversized", 1), ("impersonation", 1)]).await;
    // A Raft message on the request-response protocol is refused with where it belongs.
    let outcome = ask(
        &mut member,
        &target,
        PeerRequest::Raft(raft_message(node2_raft_id, 1, term)),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Answered(PeerResponse::Refused(r)) if r.contains("/xinlian/raft/2")),
        "{outcome:?}"
    );

    let garbage_txs = PeerRequest::Txs(vec![vec![1, 2, 3].into(); 10]);
    let outcome = ask(&mut member, &target, garbage_txs).await;
    assert!(
        matches!(outcome, Outcome::Answered(PeerResponse::Ack)),
        "{outcome:?}"
    );

    // More than the node's 16 MiB message limit: the stream is dropped unread.
    let oversized = PeerRequest::Txs(vec![vec![0; 17 << 20].into()]);
    let outcome = ask(&mut member, &target, oversized).await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");

    // Commit votes in node 2's name: one whose signature does not verify (checked once: the
    // same again is dropped unverified), one for a height no chain is near, and a request of
    // more votes than one may carry.
    let head = cluster.client(0).status().await.unwrap().height;
    let forged = PeerVote {
        height: head + 5,
        block_hash: Hash([7; 32]),
        signature: Signature([1; 64]),
    };
    for _ in 0..2 {
        let outcome = ask(
            &mut member,
            &target,
            PeerRequest::Votes(vec![forged.clone()]),
        )
        .await;
        assert!(
            matches!(outcome, Outcome::Answered(PeerResponse::Ack)),
            "{outcome:?}"
        );
    }
    let far = PeerVote {
        height: u64::MAX,
        ..forged.clone()
    };
    let outcome = ask(&mut member, &target, PeerRequest::Votes(vec![far])).await;
    assert!(
        matches!(outcome, Outcome::Answered(PeerResponse::Ack)),
        "{outcome:?}"
    );
    let flood = PeerRequest::Votes(vec![forged.clone(); 65]);
    let outcome = ask(&mut member, &target, flood).await;
    assert!(
        matches!(&outcome, Outcome::Answered(PeerResponse::Refused(r)) if r.contains("64 votes")),
        "{outcome:?}"
    );
    let url = &cluster.layout.nodes[0].http_url;
    for (code, n) in [("bad_signature", 1), ("duplicate", 1), ("out_of_window", 1)] {
        let counted = metric(
            url,
            &format!("xinlian_commit_votes_total{{code=\"{code}\"}}"),
        )
        .await;
        assert_eq!(counted, n, "{code}");
    }
    assert!(
        cluster.client(0).block_certificate(head + 5).await.is_err(),
        "no certificate from a forged vote"
    );

    // Asking for a million blocks returns at most the sync batch.
    let greedy = PeerRequest::Blocks {
        from: 1,
        count: 1_000_000,
    };
    match ask(&mut member, &target, greedy).await {
        Outcome::Answered(PeerResponse::Blocks(blocks)) => {
            assert!(!blocks.is_empty() && blocks.len() <= 64, "{}", blocks.len())
        }
        other => panic!("{other:?}"),
    }

    wait_dropped(
        &cluster,
        0,
        &[
            ("undecodable", 1),
            ("impersonation", 1),
            ("impossible_term", 1),
            ("oversized", 2), // the Txs of 17 MiB and the 65 votes
            ("wrong_protocol", 1),
            ("undecodable_tx", 10),
            ("unreadable_request", 1),
        ],
    )
    .await;

    // Beyond its role: a member proposing into node 0's log (a conf change removing node 0),
    // asking it to transfer leadership, or telling it to campaign now. Each is accepted by the
    // transport (the key is a member's) and dropped by the driver's role checks.
    let term = 0;
    let mut propose = Message::default();
    propose.set_msg_type(MessageType::MsgPropose);
    propose.from = node2_raft_id;
    propose.to = registry.nodes[0].raft_id;
    propose.term = term;
    let mut change = xinlian_consensus::ConfChange {
        node_id: registry.nodes[0].raft_id,
        ..Default::default()
    };
    change.set_change_type(xinlian_consensus::ConfChangeType::RemoveNode);
    let mut entry = xinlian_consensus::Entry::default();
    entry.set_entry_type(xinlian_consensus::EntryType::EntryConfChange);
    entry.data = change.write_to_bytes().unwrap().into();
    propose.mut_entries().push(entry);
    let node0 = registry.nodes[0].raft_id;
    let misuses = [
        raft_frame(&propose, &[]).unwrap(),
        raft_message_of(MessageType::MsgTransferLeader, node2_raft_id, node0, term),
        raft_message_of(MessageType::MsgTimeoutNow, node2_raft_id, node0, term),
    ];
    raft_stream(&mut member, &target, &misuses).await;
    wait_dropped(
        &cluster,
        0,
        &[("peer_proposal", 1), ("leadership_transfer", 2)],
    )
    .await;
    let nodes = cluster.client(0).gov_nodes().await.unwrap();
    assert!(
        nodes.raft_voters.contains(&node0),
        "the injected conf change never reached the log: {:?}",
        nodes.raft_voters
    );

    // Heartbeats meant to crash raft-rs (a commit index far beyond node 0's log): in the current
    // term from a member that is not its leader, dropped; in the next term, stepped without the
    // commit. Node 0 stays up either way.
    let text = crate::harness::http_get(format!("{}/metrics", cluster.layout.nodes[0].http_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let current_term: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("xinlian_raft_term "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let heartbeats: Vec<Vec<u8>> = [current_term, current_term + 1]
        .into_iter()
        .map(|term| {
            let mut heartbeat = Message::default();
            heartbeat.set_msg_type(MessageType::MsgHeartbeat);
            heartbeat.from = node2_raft_id;
            heartbeat.to = node0;
            heartbeat.term = term;
            heartbeat.commit = u64::MAX / 2;
            raft_frame(&heartbeat, &[]).unwrap()
        })
        .collect();
    // Node 2 may have won an election by now (the tests share two cores): then the heartbeat in
    // the current term comes from node 0's leader and is stepped without its commit as well.
    let leader = cluster.client(0).status().await.unwrap().leader;
    let from_leader = leader.as_deref() == Some(registry.nodes[2].id.as_str());
    raft_stream(&mut member, &target, &heartbeats).await;
    let expected = if from_leader {
        [("not_leader", 0), ("commit_beyond_log", 2)]
    } else {
        [("not_leader", 1), ("commit_beyond_log", 1)]
    };
    wait_dropped(&cluster, 0, &expected).await;

    // Compact blocks from a member (an append whose block travels as wire ids): an id list for
    // an entry the message does not have is refused; ids of transactions node 0 does not hold
    // make it ask the sender, and no answer in time (`compact_unresolved`) or an answer whose
    // bytes do not hash to the ids (`compact_mismatch`) drops the message before Raft sees it.
    let mut append = Message::default();
    append.set_msg_type(MessageType::MsgAppend);
    append.from = node2_raft_id;
    append.to = node0;
    append.term = current_term;
    append.mut_entries().push(xinlian_consensus::Entry {
        term: current_term,
        index: 1_000_000,
        ..Default::default()
    });
    let unknown = CompactEntry {
        position: 0,
        prefix: vec![0; 16],
        txs: vec![[7; 32]; 3],
    };
    let misplaced = CompactEntry {
        position: 3,
        ..unknown.clone()
    };
    raft_stream(
        &mut member,
        &target,
        &[
            raft_frame(&append, &[misplaced]).unwrap(),
            raft_frame(&append, std::slice::from_ref(&unknown)).unwrap(),
        ],
    )
    .await;
    wait_dropped(
        &cluster,
        0,
        &[("compact_malformed", 1), ("compact_unresolved", 1)],
    )
    .await;
    raft_stream(
        &mut member,
        &target,
        &[raft_frame(&append, &[unknown]).unwrap()],
    )
    .await;
    answer_fetch(&mut member, |positions| {
        PeerResponse::Txs(positions.iter().map(|_| vec![1, 2, 3].into()).collect())
    })
    .await;
    wait_dropped(&cluster, 0, &[("compact_mismatch", 1)]).await;

    // The chain carries on with the two honest nodes.
    let (hash, height) = cluster.commit_via(0, "after the attack").await;
    cluster.wait_height(1, height).await;
    assert_eq!(
        cluster.client(1).tx(&hash).await.unwrap().status,
        xinlian_core::api::TxState::Committed
    );
}
