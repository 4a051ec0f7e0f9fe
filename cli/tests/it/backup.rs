//! Backups that cannot break Raft, with real processes: a checkpoint of a running node, then a
//! restore of the stopped node that brings back blocks and state but not Raft's vote, term or log;
//! the node rejoins and its peers bring it up to date, with every acknowledged transaction where
//! it was. Bad uses are refused with what to do.

use std::process::{Command, Output};

use xinlian_core::api::NodeMembership;

use crate::cluster::{Cluster, assert_everywhere};
use crate::harness::XINLIAN;

fn xinlian(args: &[&str]) -> Output {
    Command::new(XINLIAN).args(args).output().unwrap()
}

fn refused(output: &Output, says: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should have failed: {stderr}");
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_restored_from_a_backup_rejoins_without_its_old_raft_state() {
    let mut cluster = Cluster::start(4).await;
    let mut acknowledged = Vec::new();
    for memo in ["before 1", "before 2"] {
        acknowledged.push(cluster.commit_via(0, memo).await);
    }
    let node = 1;
    let config = cluster.layout.nodes[node]
        .config_file
        .to_str()
        .unwrap()
        .to_string();
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("node1-backup");
    let backup = backup.to_str().unwrap();

    // A checkpoint of the running node, once it holds those blocks.
    cluster.wait_height(node, acknowledged[1].1).await;
    let taken = xinlian(&["node", "backup", "--config", &config, "--out", backup]);
    assert!(
        taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&taken.stdout).unwrap();
    let backup_height = info["height"].as_u64().unwrap();
    assert!(backup_height >= acknowledged[1].1, "{info}");
    refused(
        &xinlian(&["node", "backup", "--config", &config, "--out", backup]),
        "exists already",
    );

    // The chain moves on past the backup.
    for memo in ["after 1", "after 2"] {
        acknowledged.push(cluster.commit_via(0, memo).await);
    }
    refused(
        &xinlian(&["node", "restore", "--config", &config, "--from", backup]),
        "stop the node",
    );
    cluster.kill_9(node);
    refused(
        &xinlian(&["node", "restore", "--config", &config, "--from", backup]),
        "--replace",
    );
    let not_a_backup = tempfile::tempdir().unwrap();
    refused(
        &xinlian(&[
            "node",
            "restore",
            "--config",
            &config,
            "--from",
            not_a_backup.path().to_str().unwrap(),
            "--replace",
        ]),
        "not a node store",
    );
    let restored = xinlian(&[
        "node",
        "restore",
        "--config",
        &config,
        "--from",
        backup,
        "--replace",
    ]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&restored.stdout).unwrap();
    assert_eq!(info["height"].as_u64(), Some(backup_height));
    let data_dir = &cluster.layout.nodes[node].data_dir;
    let moved_aside = std::fs::read_dir(data_dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("data.before-restore-")
        });
    assert!(moved_aside, "the old store was moved aside, not deleted");

    // Back in: its peers bring it up to date and it votes again.
    cluster.spawn(node);
    let (_, height) = cluster.commit_via(0, "after the restore").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while cluster.client(node).status().await.map_or(0, |s| s.height) < height {
        assert!(
            std::time::Instant::now() < deadline,
            "the restored node did not catch up to {height}:\n{}",
            cluster.log_tail(node)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cluster.assert_identical(height).await;
    let client = cluster.client(node);
    let acknowledged = acknowledged.iter().map(|(hash, at)| (hash, at));
    assert_everywhere(
        std::slice::from_ref(&client),
        acknowledged,
        "after the restore",
    )
    .await;
    assert_eq!(
        client.status().await.unwrap().membership,
        NodeMembership::Voter
    );
}
