//! A client that trusts only the genesis follows governance's changes of the voters from any
//! node (issue 13): each change is proved under the block that made it and certified by the
//! voters before it, so a forged, altered or replayed change is refused. Driven by
//! `cluster::governance_adds_a_voter_and_a_learner_and_removes_the_leader`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use xinlian_core::api::{VoterChangesResponse, VotersResponse};
use xinlian_core::proof::Trust;
use xinlian_sdk::proof::follow_voter_changes;

use crate::cluster::Cluster;
use crate::harness::XINLIAN;

/// The voters `expected`, followed from the genesis as node `serving` serves the changes; the
/// block of the last change is certified by the voters before it. Returns the trust.
pub(crate) async fn follow_from_genesis(
    cluster: &Cluster,
    serving: usize,
    before: &VotersResponse,
    expected: &VotersResponse,
) -> Trust {
    let genesis = xinlian_node::load_genesis(&cluster.layout.genesis_file).unwrap();
    let trust = cluster
        .client(serving)
        .follow_voter_changes(&Trust::from_genesis(&genesis), None)
        .await
        .unwrap();
    assert_eq!(trust.voters, expected.voter_set());
    assert_eq!(trust.since, expected.since_height);
    let changed_at = trust.since - 1;
    cluster
        .assert_certified(serving, changed_at, &before.voter_set())
        .await;
    trust
}

/// Every way a node could lie about the changes is refused with its own reason.
pub(crate) async fn forged_changes_are_refused(cluster: &Cluster, serving: usize, trust: &Trust) {
    let genesis = xinlian_node::load_genesis(&cluster.layout.genesis_file).unwrap();
    let from_genesis = Trust::from_genesis(&genesis);
    let served: Value = crate::harness::http_get(format!(
        "{}/v1/gov/voter-changes",
        cluster.layout.nodes[serving].http_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let refused = |altered: &Value| {
        let changes: VoterChangesResponse = serde_json::from_value(altered.clone()).unwrap();
        follow_voter_changes(&from_genesis, &changes.changes)
            .unwrap_err()
            .code()
    };
    // A voter dropped from the list the change names.
    let mut altered = served.clone();
    altered["changes"][0]["voters"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert_eq!(refused(&altered), "answer_mismatch");
    // A registry entry altered: its proof no longer holds.
    let mut altered = served.clone();
    let entry = altered["changes"][0]["proof"]["entries"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["value"].is_string())
        .unwrap();
    let value = entry["value"].as_str().unwrap().to_string();
    let flipped = if value.ends_with('0') { "1" } else { "0" };
    entry["value"] = format!("{}{flipped}", &value[..value.len() - 1]).into();
    assert_eq!(refused(&altered), "bad_state_proof");
    // A header altered after signing: its certificate no longer certifies it.
    let mut altered = served.clone();
    altered["changes"][0]["proof"]["header"]["timestamp_ms"] = 1.into();
    assert_eq!(refused(&altered), "bad_certificate");
    // A registry entry left out: the voters cannot be derived.
    let mut altered = served.clone();
    altered["changes"][0]["proof"]["entries"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert_eq!(refused(&altered), "entry_missing");
    // An old change replayed to a client that already followed it.
    let changes: VoterChangesResponse = serde_json::from_value(served).unwrap();
    let replayed = follow_voter_changes(trust, &changes.changes[..1]).unwrap_err();
    assert_eq!(replayed.code(), "stale_voter_change", "{replayed}");
}

/// Node `i`'s proven answer about the first admin's key, saved to a file named after `what`.
pub(crate) async fn save_member_answer(cluster: &Cluster, i: usize, what: &str) -> PathBuf {
    let admin = xinlian_sdk::keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    let path = admin.public_key().to_string().replace(':', "%3A");
    let answer = crate::harness::http_get(format!(
        "{}/v1/members/{path}?proof=true",
        cluster.layout.nodes[i].http_url
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    let saved = cluster._dir.path().join(format!("member-{what}.json"));
    std::fs::write(&saved, answer).unwrap();
    saved
}

/// `xinlian verify --genesis … --node` on `saved`, following the changes node `i` serves up to
/// the answer's block: it verifies.
pub(crate) fn verify_following(cluster: &Cluster, saved: &PathBuf, i: usize) {
    let verified = Command::new(XINLIAN)
        .args(["verify", "--genesis"])
        .arg(&cluster.layout.genesis_file)
        .args(["--node", &cluster.layout.nodes[i].http_url])
        .arg(saved)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}: {}",
        saved.display(),
        String::from_utf8_lossy(&verified.stderr)
    );
}
