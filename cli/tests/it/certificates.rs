//! Commit certificates from real nodes (issue 13, part): every block a four-node chain commits
//! gets, at every node, a certificate signed by a quorum of the genesis voters, which a client
//! checks with nothing but the genesis; with one node cut off, the other three still certify.

use std::time::{Duration, Instant};

use xinlian_core::certificate::{CommitCertificate, VoterSet};
use xinlian_sdk::Client;

use crate::cluster::{Cluster, metric};

/// The certificate of `height` at a node, once it formed there.
pub(crate) async fn certificate_at(client: &Client, height: u64) -> CommitCertificate {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match client.block_certificate(height).await {
            Ok(certificate) => return certificate,
            Err(e) => {
                assert_eq!(e.node_code(), Some("certificate_not_found"), "{e}");
                assert!(
                    Instant::now() < deadline,
                    "no certificate of height {height} at {} within 15 s",
                    client.base_url()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test]
async fn every_committed_block_is_certified_by_a_quorum_of_the_genesis_voters_at_every_node() {
    let cluster = Cluster::start(4).await;
    let genesis = xinlian_node::load_genesis(&cluster.layout.genesis_file).unwrap();
    let voters = VoterSet::from_genesis(&genesis);
    assert_eq!((voters.len(), voters.quorum()), (4, 3));
    let suite = genesis.hash_suite();
    let mut last = 0;
    for n in 0..4 {
        last = cluster.commit_via(n, &format!("certified-{n}")).await.1;
    }
    for i in 0..4 {
        cluster.wait_height(i, last).await;
    }
    for height in 1..=last {
        for i in 0..4 {
            let client = cluster.client(i);
            let certificate = certificate_at(&client, height).await;
            let block = client.block(height).await.unwrap();
            certificate
                .verify(
                    &genesis.chain_id,
                    height,
                    &block.header.hash(suite),
                    &voters,
                )
                .unwrap_or_else(|e| panic!("node {i}, height {height}: {e}"));
            assert_eq!(block.certificate.as_ref(), Some(&certificate));
            // A certificate is evidence about its own block only.
            assert!(
                certificate
                    .verify(
                        &genesis.chain_id,
                        height + 1,
                        &block.header.hash(suite),
                        &voters
                    )
                    .is_err()
            );
        }
    }
    // The certificates ride on chain: commit a few more blocks, then every block up to a few
    // below the head has its certificate carried in a later block, exactly once, and each
    // carried one verifies against the genesis voters.
    let mut head = last;
    for n in 0..4 {
        head = cluster.commit_via(n, &format!("carry-{n}")).await.1;
    }
    cluster.wait_height(0, head).await;
    let mut carried = Vec::new();
    for height in 1..=head {
        let block = cluster.client(0).block(height).await.unwrap();
        for certificate in block.carried_certificates {
            assert!(certificate.height < height);
            let at = cluster.client(0).block(certificate.height).await.unwrap();
            certificate
                .verify(&genesis.chain_id, certificate.height, &at.hash, &voters)
                .unwrap();
            carried.push(certificate.height);
        }
    }
    let expected: Vec<u64> = (1..=last).collect();
    assert!(
        carried.starts_with(&expected),
        "carried heights {carried:?}, expected 1..={last} first"
    );
    let url = &cluster.layout.nodes[0].http_url;
    assert!(metric(url, "xinlian_commit_votes_total{code=\"accepted\"}").await > 0);
    assert_eq!(
        metric(url, "xinlian_commit_votes_total{code=\"bad_signature\"}").await,
        0
    );
    let missing = cluster
        .client(0)
        .block_certificate(last + 1_000)
        .await
        .unwrap_err();
    assert_eq!(missing.node_code(), Some("certificate_not_found"));

    // The CLI checks a certificate against a genesis the user holds (exit 0), and refuses one
    // checked against another chain's voters (exit 3, with the reason).
    let genesis_file = cluster.layout.genesis_file.to_str().unwrap().to_string();
    let verify = |genesis: &str| {
        std::process::Command::new(crate::harness::XINLIAN)
            .args(["block", "verify", &last.to_string(), "--genesis", genesis])
            .args(["--node", url])
            .output()
            .unwrap()
    };
    let verified = verify(&genesis_file);
    assert!(verified.status.success(), "{verified:?}");
    let answer: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(answer["certified"], true);
    assert!(answer["signed_by"].as_array().unwrap().len() >= 3);
    let other = tempfile::NamedTempFile::new().unwrap();
    let text = std::fs::read_to_string(&genesis_file).unwrap();
    std::fs::write(
        other.path(),
        text.replace("\"xinlian-local\"", "\"xinlian-other\""),
    )
    .unwrap();
    let refused = verify(other.path().to_str().unwrap());
    assert_eq!(refused.status.code(), Some(3), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not certified"));

    // One node cut off: the three others still reach the quorum, without its vote.
    xinlian_testnet::set_isolated(cluster._dir.path(), 3, true)
        .await
        .unwrap();
    let (_, height) = cluster.commit_via(0, "three of four").await;
    let certificate = certificate_at(&cluster.client(0), height).await;
    assert_eq!(certificate.votes.len(), 3);
    assert!(certificate.votes.iter().all(|v| v.node_id != "node3"));
    let block = cluster.client(0).block(height).await.unwrap();
    certificate
        .verify(
            &genesis.chain_id,
            height,
            &block.header.hash(suite),
            &voters,
        )
        .unwrap();
    xinlian_testnet::set_isolated(cluster._dir.path(), 3, false)
        .await
        .unwrap();
}

/// A vote goes once, to the peers connected then; on an idle chain no later block follows. A
/// node that lost its head's certificate (stopped before the votes came, here: removed from its
/// store) gets it again from the votes its peers send again while the head stays put.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_heads_certificate_forms_again_at_a_node_that_missed_the_votes() {
    let mut cluster = Cluster::start(4).await;
    let (_, head) = cluster.commit_via(0, "the last block for a while").await;
    for i in 0..4 {
        cluster.wait_height(i, head).await;
        certificate_at(&cluster.client(i), head).await;
    }
    cluster.kill_9(3);
    {
        let storage = cluster.open_store(3);
        let db = storage.db();
        let meta = db.cf_handle("meta").unwrap();
        db.delete_cf(meta, [b"cert/".as_slice(), &head.to_be_bytes()].concat())
            .unwrap();
        assert!(storage.certificate(head).unwrap().is_none());
    }
    cluster.spawn(3);
    xinlian_testnet::wait_healthy(&cluster.layout, Duration::from_secs(30))
        .await
        .unwrap();
    let client = cluster.client(3);
    assert_eq!(
        client.status().await.unwrap().height,
        head,
        "the chain stayed idle"
    );
    let genesis = xinlian_node::load_genesis(&cluster.layout.genesis_file).unwrap();
    cluster
        .assert_certified(3, head, &VoterSet::from_genesis(&genesis))
        .await;
}
