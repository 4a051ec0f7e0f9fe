use xinlian_consensus::Entry;
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::types::{Block, BlockHeader, Call, SignedTransaction, SystemCall, Transaction};
use xinlian_core::{Hash, HashSuite};

use super::*;

fn tx(n: u64) -> SignedTransaction {
    let key = PrivateKey::from_seed(SignatureScheme::Sm2, [7; 32]).unwrap();
    Transaction {
        chain_id: "c".into(),
        sender: key.public_key(),
        nonce: n,
        created_at_ms: 0,
        valid_until_height: 5,
        call: Call::System(SystemCall::RemoveMember {
            public_key: key.public_key(),
        }),
    }
    .sign(&key)
    .unwrap()
}

/// A block of `n` transactions, its bytes and each transaction's encoded length.
fn block(n: u64) -> (Block, Bytes, Vec<usize>) {
    let key = PrivateKey::from_seed(SignatureScheme::Ed25519, [1; 32]).unwrap();
    let txs: Vec<SignedTransaction> = (0..n).map(tx).collect();
    let header = BlockHeader {
        chain_id: "c".into(),
        height: 3,
        parent_hash: Hash([2; 32]),
        tx_root: Block::compute_tx_root(HashSuite::Sm3, &txs),
        receipts_root: Hash([0; 32]),
        state_root: Hash([0; 32]),
        certificates_hash: Hash([0; 32]),
        timestamp_ms: 9,
        proposer: key.public_key(),
    };
    // A carried certificate sits before the transactions, in the prefix the relay sends whole.
    let certificate = xinlian_core::certificate::CommitCertificate::new(
        "c",
        2,
        Hash([2; 32]),
        vec![xinlian_core::certificate::CommitVote::sign(
            &key,
            "node0",
            "c",
            2,
            &Hash([2; 32]),
        )],
    );
    let block = Block {
        signature: header.sign(&key),
        header,
        certificates: vec![certificate],
        txs,
    };
    let lens = block
        .txs
        .iter()
        .map(SignedTransaction::encoded_len)
        .collect();
    let bytes = Bytes::from(block.to_bytes());
    (block, bytes, lens)
}

fn append(term: u64, index: u64, data: Bytes) -> Message {
    let entry = Entry {
        term,
        index,
        data,
        ..Default::default()
    };
    let mut message = Message::default();
    message.set_msg_type(xinlian_consensus::MessageType::MsgAppend);
    message.from = 1;
    message.to = 2;
    message.entries = vec![entry].into();
    message
}

/// The leader sends a proposed block as its prefix and wire ids; a follower that holds some of
/// its transactions fetches the others from the leader and rebuilds exactly the leader's bytes.
#[test]
fn a_follower_rebuilds_the_leaders_exact_entry_from_held_and_fetched_transactions() {
    let (block, data, lens) = block(5);
    let leader = TxRelay::default();
    leader.proposed(4, 17, data.clone(), &lens);
    let original = append(4, 17, data.clone());

    let mut sent = original.clone();
    let compact = leader.compact(&mut sent);
    assert_eq!(compact.len(), 1);
    assert!(sent.entries[0].data.is_empty());
    let body = encode_frame(&sent, &compact).unwrap();
    assert!(
        body.len() < data.len() / 2,
        "{} vs {}",
        body.len(),
        data.len()
    );

    let follower = TxRelay::default();
    for held in [0, 2, 3] {
        follower.held(Bytes::from(block.txs[held].to_bytes()));
    }
    let (mut received, compact) = decode_frame(&body).unwrap();
    let mut resolved = follower.resolve(&received, compact, 1 << 20).unwrap();
    assert_eq!(held_count(&resolved), 3);
    let missing = resolved[0].missing();
    assert_eq!(missing, vec![1, 4]);
    let fetched = leader.entry_txs(4, 17, &missing).unwrap();
    assert!(resolved[0].fill(&missing, fetched));
    let entry = resolved.pop().unwrap();
    let position = entry.position;
    received.entries[position].data = entry.assemble().unwrap();
    assert_eq!(received, original);
}

/// A fetched answer is trusted only if every transaction hashes to the id the block named.
#[test]
fn fetched_transactions_must_match_their_wire_ids() {
    let (_, data, lens) = block(3);
    let leader = TxRelay::default();
    leader.proposed(1, 2, data.clone(), &lens);
    let mut sent = append(1, 2, data);
    let compact = leader.compact(&mut sent);
    let follower = TxRelay::default();
    let mut resolved = follower.resolve(&sent, compact, 1 << 20).unwrap();
    let missing = resolved[0].missing();
    assert_eq!(missing.len(), 3);
    let mut fetched = leader.entry_txs(1, 2, &missing).unwrap();
    fetched.swap(0, 1);
    assert!(!resolved[0].fill(&missing, fetched));
    assert!(!resolved[0].fill(&missing, Vec::new()), "too few");
    assert!(
        resolved.pop().unwrap().assemble().is_none(),
        "still missing"
    );
}

/// Only the entries this node proposed, with exactly the proposed bytes, travel compactly; a
/// proposal no longer kept (or a position out of range) cannot be fetched.
#[test]
fn only_kept_proposals_with_the_same_bytes_are_compacted() {
    let (_, data, lens) = block(2);
    let leader = TxRelay::default();
    let mut other_term = append(5, 2, data.clone());
    assert!(
        leader.compact(&mut other_term).is_empty(),
        "nothing proposed"
    );
    leader.proposed(4, 2, data.clone(), &lens);
    assert!(leader.compact(&mut other_term).is_empty(), "another term");
    let mut other_bytes = append(4, 2, Bytes::from(vec![1; data.len()]));
    assert!(leader.compact(&mut other_bytes).is_empty(), "other bytes");
    assert!(leader.entry_txs(4, 2, &[2]).is_none(), "out of range");
    for index in 3..3 + PROPOSALS_KEPT_MAX as u64 {
        leader.proposed(4, index, data.clone(), &lens);
    }
    assert!(leader.entry_txs(4, 2, &[0]).is_none(), "forgotten");
    assert!(leader.entry_txs(4, 3, &[0, 1]).is_some());
    // A later term's proposal at an index replaces the old term's from there on.
    leader.proposed(5, 3, data.clone(), &lens);
    assert!(leader.entry_txs(4, 3, &[0]).is_none());
    assert!(leader.entry_txs(4, 4, &[0]).is_none());
    assert!(leader.entry_txs(5, 3, &[0]).is_some());
}

/// A compact entry that names no entry, an entry with data, the same entry twice, too many
/// transactions, or a rebuilt message beyond the limit is refused whole.
#[test]
fn malformed_or_oversized_compact_entries_are_refused() {
    let (block, data, _) = block(2);
    let message = append(1, 2, Bytes::new());
    let relay = TxRelay::default();
    for tx in &block.txs {
        relay.held(Bytes::from(tx.to_bytes()));
    }
    let ids: Vec<WireId> = block.txs.iter().map(|t| wire_id(&t.to_bytes())).collect();
    let entry = |position: u32, txs: Vec<WireId>| CompactEntry {
        position,
        prefix: vec![0; 8],
        txs,
    };
    let refused = |message: &Message, compact: Vec<CompactEntry>, max: usize| {
        relay.resolve(message, compact, max).err()
    };
    assert_eq!(
        refused(&message, vec![entry(1, ids.clone())], 1 << 20),
        Some(FrameError::Malformed)
    );
    assert_eq!(
        refused(
            &message,
            vec![entry(0, ids.clone()), entry(0, ids.clone())],
            1 << 20
        ),
        Some(FrameError::Malformed)
    );
    assert_eq!(
        refused(
            &message,
            vec![entry(0, vec![[0; 32]; BLOCK_TXS_MAX + 1])],
            1 << 20
        ),
        Some(FrameError::Malformed)
    );
    let with_data = append(1, 2, data.clone());
    assert_eq!(
        refused(&with_data, vec![entry(0, ids.clone())], 1 << 20),
        Some(FrameError::Malformed)
    );
    assert_eq!(
        refused(&message, vec![entry(0, ids.clone())], 200),
        Some(FrameError::Oversized)
    );
    assert!(refused(&message, vec![entry(0, ids)], 1 << 20).is_none());
    assert_eq!(
        decode_frame(&[0, 0, 0, 9, 1]).err(),
        Some(FrameError::Undecodable)
    );
    assert_eq!(decode_frame(&[]).err(), Some(FrameError::Undecodable));
}

/// Hostile frames (fuzzing by proptest, as node code cannot be built for cargo fuzz without
/// RocksDB): any bytes, and a genuine compact frame with bytes flipped, cut or appended, are
/// refused or decoded, never a panic; what decodes is resolved against held transactions within
/// the byte limit or refused, again without a panic. The CBOR peer requests go through libp2p's
/// codec, checked the same way below.
mod hostile_frames {
    use proptest::prelude::*;

    use super::*;

    fn genuine_frame() -> (Vec<u8>, TxRelay) {
        let (block, data, lens) = block(4);
        let leader = TxRelay::default();
        leader.proposed(4, 17, data.clone(), &lens);
        let mut sent = append(4, 17, data);
        let compact = leader.compact(&mut sent);
        let follower = TxRelay::default();
        follower.held(Bytes::from(block.txs[0].to_bytes()));
        (encode_frame(&sent, &compact).unwrap(), follower)
    }

    fn judge(body: &[u8], follower: &TxRelay) {
        if let Ok((message, compact)) = decode_frame(body)
            && let Ok(resolved) = follower.resolve(&message, compact, 1 << 20)
        {
            for entry in resolved {
                let _ = entry.missing();
                let _ = entry.size();
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn any_bytes(body in proptest::collection::vec(any::<u8>(), 0..2_048)) {
            let (_, follower) = genuine_frame();
            judge(&body, &follower);
        }

        #[test]
        fn a_genuine_frame_bent(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            cut in any::<prop::sample::Index>(),
            tail in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let (mut body, follower) = genuine_frame();
            for (at, xor) in flips {
                let at = at.index(body.len());
                body[at] ^= xor;
            }
            body.truncate(cut.index(body.len() + 1));
            body.extend_from_slice(&tail);
            judge(&body, &follower);
        }

        #[test]
        fn a_genuine_cbor_peer_request_bent(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            use libp2p::request_response::Codec as _;
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let mut codec = super::super::super::peer_codec_for_tests();
            let protocol = libp2p::StreamProtocol::new("/xinlian/peer/2");
            let (block, _, _) = block(2);
            let request = super::super::super::PeerRequest::Txs(
                block.txs.iter().map(|tx| Bytes::from(tx.to_bytes())).collect(),
            );
            let mut written = libp2p::futures::io::Cursor::new(Vec::new());
            runtime
                .block_on(codec.write_request(&protocol, &mut written, request))
                .unwrap();
            let mut body = written.into_inner();
            for (at, xor) in flips {
                let at = at.index(body.len());
                body[at] ^= xor;
            }
            body.truncate(cut.index(body.len() + 1));
            let mut io = libp2p::futures::io::Cursor::new(body);
            let _ = runtime.block_on(codec.read_request(&protocol, &mut io));
        }

        #[test]
        fn any_cbor_peer_request(body in proptest::collection::vec(any::<u8>(), 0..2_048)) {
            use libp2p::request_response::Codec as _;
            let mut codec = super::super::super::peer_codec_for_tests();
            let protocol = libp2p::StreamProtocol::new("/xinlian/peer/2");
            let mut io = libp2p::futures::io::Cursor::new(body);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let _ = runtime.block_on(codec.read_request(&protocol, &mut io));
        }
    }
}
